"""Budgets give "unknown" (never "proved"); verdicts are cached on disk."""

from __future__ import annotations

from pathlib import Path

from tests.verification.conftest import find, run
from verification.outcome import Proved, Unknown


def test_tiny_rlimit_is_unknown_never_proved() -> None:
    report = run("pool_ok", rlimit=1, vacuity=False, invariant="k_never_decreases")
    r = find(report, "pool.k_never_decreases", "pool.swap_a_for_b")
    assert isinstance(r.outcome, Unknown) and r.outcome.reason == "rlimit"
    assert report.exit_code() == 2


def test_small_timeout_is_unknown_never_proved() -> None:
    report = run("hard", timeout=0.5, encoding="int")
    r = find(report, "fermat.no_cube_sums", "-")
    assert isinstance(r.outcome, Unknown) and r.outcome.reason == "timeout"
    assert report.exit_code() == 2


def test_small_rlimit_is_unknown_on_a_hard_theorem_too() -> None:
    report = run("hard", rlimit=100_000)
    r = find(report, "fermat.no_cube_sums", "-")
    assert isinstance(r.outcome, Unknown) and r.outcome.reason == "rlimit"


def test_cache_hit_on_rerun(cache_dir: Path) -> None:
    first = run("timelock_early", cache_dir, vacuity=False)
    assert not any(r.cached for r in first.results if r.outcome.kind != "proved" or r.outcome.method != "frame")
    assert list(cache_dir.rglob("*.json"))
    second = run("timelock_early", cache_dir, vacuity=False)
    solved = [r for r in second.results if not (isinstance(r.outcome, Proved) and r.outcome.method == "frame")]
    assert solved and all(r.cached for r in solved)
    assert [r.outcome.kind for r in first.results] == [r.outcome.kind for r in second.results]
    # the bounded search and its replay are cached too
    bmc = [r.bmc for r in second.results if r.bmc]
    assert bmc and all(b.get("cached") for b in bmc)
    # another budget is another query
    third = run("timelock_early", cache_dir, vacuity=False, rlimit=19_000_000, invariant="eta_respects_delay")
    assert not any(r.cached for r in third.results if r.job.kind == "step" and r.outcome.kind == "proved"
                   and r.outcome.method != "frame")
