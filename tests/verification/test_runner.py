"""`prove` proves the IR it is given, in-process and in workers; a crash is exit 3."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from imospec_cli.main import main as imospec
from spec.driver import load_spec
from tests.verification.conftest import SPECS, find
from verification.outcome import Proved, Refuted
from verification.runner import Options, prove


def _options(**kw: Any) -> Options:
    """Options for a quick run; where the options can name spec paths (they
    could once), they name another spec: the one given as IR must win."""
    if "paths" in {f.name for f in dataclasses.fields(Options)}:
        kw["paths"] = [str(SPECS / "vault_ok")]
    return Options(cache=False, vacuity=False, depth=0, **kw)


@pytest.mark.parametrize("jobs", [1, 2])
def test_prove_proves_the_ir_it_is_given(jobs: int) -> None:
    sound = load_spec([SPECS / "vault_ok"]).spec
    broken = load_spec([SPECS / "vault_nocheck"]).spec
    assert sound is not None and broken is not None
    assert prove(_options(jobs=1), sound).exit_code() == 0
    report = prove(_options(jobs=jobs), broken)
    assert len(report.results) > 2  # enough queries for a pool of workers when jobs > 1
    assert isinstance(find(report, "vault.collateralized", "vault.mint").outcome, Refuted)
    assert report.exit_code() == 1


def test_a_crash_inside_a_query_is_an_internal_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import verification.runner as runner

    def crash(*args: object, **kw: object) -> object:
        raise RuntimeError("the encoder fell over")

    monkeypatch.setattr(runner, "solve_job", crash)
    spec = load_spec([SPECS / "vault_ok"]).spec
    assert spec is not None
    report = prove(Options(jobs=1, cache=False, depth=0), spec)
    assert report.exit_code() == 3
    assert not any(isinstance(r.outcome, Proved) and r.outcome.method != "frame" for r in report.results)
    monkeypatch.chdir(tmp_path)
    code = imospec(["prove", str(SPECS / "vault_ok"), "--jobs", "1", "--no-cache"])
    _, err = capsys.readouterr()
    assert code == 3
    assert "internal error" in err and "Traceback" not in err
    assert "RuntimeError: the encoder fell over" in (tmp_path / ".imospec-cache" / "crash.log").read_text()


def test_a_query_is_numbered_the_same_whatever_the_worker_built_before() -> None:
    """Each action's step is encoded once and copied into each query's fresh
    context: the query's terms (their text and Z3's numbering, which steers
    its heuristics and so the rlimit spent) do not depend on the jobs a
    worker ran before it."""
    from spec.analysis import Analysis
    from verification.build import Builder
    from verification.outcome import Job
    from verification.runner import _fresh_solver_context

    res = load_spec([SPECS / "reserve_ok"])
    assert res.spec is not None
    spec, analysis = res.spec, Analysis(res.spec)
    module = next(iter(spec.modules.values()))
    actions = [a for a in module.actions.values() if not a.internal]
    rule = next(r for r in module.rules if not r.transition)
    target = Job("step", module.name, rule.name, (module.name, actions[0].name))
    other = [Job("step", module.name, r.name, (module.name, a.name)) for r in module.rules for a in actions]

    def query(builder: Builder) -> tuple[str, list[int]]:
        built = builder.build(target)
        terms = [*built.assertions, *built.tracked.values(), *built.assumed]
        return "\n".join(t.sexpr() for t in terms), [t.get_id() for t in terms]

    _fresh_solver_context()
    alone = query(Builder(spec, analysis, "int"))
    busy = Builder(spec, analysis, "int")
    for job in other:  # a worker that ran every other job first, each in its own context
        _fresh_solver_context()
        busy.build(job)
    _fresh_solver_context()
    assert query(busy) == alone
