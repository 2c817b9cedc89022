"""The main job: `imospec verify` and `imospec prove` on the bundled protocol.

One cold proof of the bundled protocol (its verdicts cached in a directory of
this test session) serves both tests: `verify` proves it and counts how often
the spec is parsed and checked; `prove` then runs on the same cache. The
budget that decides is the rlimit, so the verdicts do not depend on the
machine's load (the wall-clock timeout is only a safety net).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import spec.driver
from imospec_cli.main import main
from imospec_cli.pipeline import Pipeline


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _failure(out: str, err: str, summary: Path) -> str:
    """Why verify failed: each stage's verdict, the lines that name a query or action not ok, the error tail.

    The whole output is long (the prove table alone has hundreds of lines), so a plain tail would hide
    the prove stage's lines behind the conformance stages'.
    """
    parts = []
    if summary.exists():
        stages = json.loads(summary.read_text()).get("stages", [])
        parts.append("stages: " + ", ".join(f"{s.get('name')}={s.get('exit_code')}" for s in stages))
    flagged = [line for line in out.splitlines()
               if re.search(r"refuted|unknown|never succeeded|diverge|error", line, re.IGNORECASE)]
    parts.append("\n".join(flagged[:200]))
    parts.append(err[-3000:])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def proof_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proofs")


@pytest.fixture(scope="module")
def expected() -> dict[str, int]:
    """What every query of the bundled protocol proved means, from the plan (not hard-coded)."""
    jobs, free = Pipeline().plan
    return {"queries": len([j for j in jobs if not j.kind.startswith("vacuity")]) + len(free), "frame": len(free)}


def test_verify_runs_every_stage_on_one_pipeline(monkeypatch: pytest.MonkeyPatch, proof_cache: Path,
                                                  tmp_path: Path, expected: dict[str, int]) -> None:
    calls: Counter[str] = Counter()
    parse, check = spec.driver.parse_module, spec.driver.check_modules

    def counting_parse(*args: Any, **kw: Any) -> Any:
        calls["parse"] += 1
        return parse(*args, **kw)

    def counting_check(*args: Any, **kw: Any) -> Any:
        calls["check"] += 1
        return check(*args, **kw)

    monkeypatch.setattr(spec.driver, "parse_module", counting_parse)
    monkeypatch.setattr(spec.driver, "check_modules", counting_check)
    monkeypatch.setattr(spec.driver, "_parse_cache", {})  # every parse counts, none comes from earlier tests
    summary = tmp_path / "verify.json"
    # (4 sequences leave actions never succeeding, exit 2 without the flag: the default budget makes every
    # one succeed, tests/conformance/test_default_campaign_reach.py)
    code, out, err = _run("verify", "--examples", "4", "--steps", "6", "--seed", "3", "--allow-never-succeeded",
                          "--cache-dir", str(proof_cache), "--json", str(summary), "--report", str(tmp_path / "report"))
    assert code == 0, _failure(out, err, summary)
    files = len(list(spec.driver.BUNDLED_PROTOCOL.glob("*.imo")))
    assert calls == {"parse": files, "check": 1}, "verify must read, parse and check the spec once for all stages"
    data = json.loads(summary.read_text())
    assert data["exit_code"] == 0
    assert [s["name"] for s in data["stages"]] == ["check", "prove", "conform (py-evm)", "conform (pyrevm)"]
    assert all(s["exit_code"] == 0 for s in data["stages"])
    prove = data["stages"][1]
    assert prove["summary"]["proved"] == expected["queries"] and prove["summary"]["frame"] == expected["frame"]
    assert prove["summary"]["refuted"] == 0 and prove["summary"]["unknown"] == 0 and prove["unknown"] == []
    for stage in data["stages"][2:]:
        assert stage["ok"] and stage["steps"] > 0
        # steps that only move the clock compare nothing: actions must have run, and succeeded
        # (every starting state's first sequence once ran clock moves only, so a small budget ran none)
        succeeded = {a for a, (ok, _) in stage["outcomes"].items() if ok > 0}
        assert len(succeeded) >= 3, stage["outcomes"]
        # never succeeded: every action that ran without a success, and every action never called
        never = set(stage["never_succeeded"])
        assert {a for a, (ok, _) in stage["outcomes"].items() if ok == 0} <= never
        assert all(stage["outcomes"].get(a, (0, 0))[0] == 0 for a in never)
    _check_report(tmp_path / "report", prove["summary"])
    assert re.search(r"== summary\n  check\s+ok\n  prove\s+ok\n  conform \(py-evm\)\s+ok\n  conform \(pyrevm\)\s+ok",
                     out), out[-2000:]


def test_prove_on_the_bundled_protocol(proof_cache: Path, expected: dict[str, int]) -> None:
    code, out, _ = _run("prove", "--cache-dir", str(proof_cache))
    assert code == 0
    lines = out.strip().splitlines()
    summary = next((ln for ln in lines if re.match(r"\d+ proved \(", ln)), lines[-1])
    m = re.match(r"(\d+) proved \((\d+) by the frame rule\), (\d+) refuted, (\d+) unknown", summary)
    assert m, summary
    proved, frame, refuted, unknown = map(int, m.groups())
    assert (proved, frame, refuted, unknown) == (expected["queries"], expected["frame"], 0, 0)
    # then the covers: every explicit one met (no error), the generated ones met or warned about
    covers = lines[-1]
    assert re.match(r"\d+ met, \d+ stated unreachable in the spec; 0 error\(s\)", covers), covers


def _check_report(directory: Path, proofs: dict[str, int]) -> None:
    """The assurance report of the run: each form valid, and agreeing with the summary."""
    import xml.etree.ElementTree as ET

    from tests.imospec_cli.test_report import validate_report, validate_sarif

    data = json.loads((directory / "assurance.json").read_text())
    validate_report(data)
    cells = [c for r in data["rules"] for c in r["cells"]]
    assert len(cells) == proofs["proved"] and all(c["verdict"] == "proved" for c in cells)
    assert [c["backend"] for c in data["campaigns"]] == ["py-evm", "pyrevm"]
    public = [a for a in data["actions"] if not a["internal"]]
    steps = sum(a["successes"] + sum(a["reverts"].values()) for a in public)
    assert steps <= sum(c["steps"] for c in data["campaigns"])  # (the rest move the clock)
    assert all(r["exercised"] is not None for r in data["rules"])
    junit = ET.parse(directory / "junit.xml").getroot()
    assert len(junit.findall("./testsuite[@name='proofs']/testcase")) == len(cells)
    assert len(junit.findall("./testsuite[@name='conformance']/testcase")) == 2
    assert not junit.findall(".//failure") and not junit.findall(".//error")
    validate_sarif(json.loads((directory / "assurance.sarif").read_text()))
    assert "rule-matrix" in (directory / "assurance.html").read_text()
