"""Helpers for the prover's tests: small specs under ``specs/``, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec.driver import load_spec
from verification.outcome import Result
from verification.runner import Options, Report, prove

SPECS = Path(__file__).parent / "specs"


def run(name: str, tmp: Path | None = None, **kw: object) -> Report:
    """Prove the spec directory ``specs/<name>`` in-process, without cache
    unless ``tmp`` gives a cache directory."""
    opts = Options(jobs=1, rlimit=20_000_000, cache=tmp is not None, cache_dir=tmp)
    for k, v in kw.items():
        setattr(opts, k, v)
    res = load_spec([SPECS / name])
    assert res.ok and res.spec is not None, [d.message for d in res.diagnostics]
    return prove(opts, res.spec)


def find(report: Report, rule: str, action: str, kind: str | None = None) -> Result:
    """The result for ``rule`` (label ``module.rule``) and ``action`` (``module.action``, ``init`` or ``-``)."""
    hits = [r for r in report.results if r.job.rule_label == rule and r.job.action_label == action
            and (kind is None or r.job.kind == kind)]
    assert len(hits) == 1, (rule, action, [(r.job.rule_label, r.job.action_label) for r in report.results])
    return hits[0]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "proofs"
