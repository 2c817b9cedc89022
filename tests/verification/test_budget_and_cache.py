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
    assert bmc and all(b.cached for b in bmc)
    # another budget is another query
    third = run("timelock_early", cache_dir, vacuity=False, rlimit=19_000_000, invariant="eta_respects_delay")
    assert not any(r.cached for r in third.results if r.job.kind == "step" and r.outcome.kind == "proved"
                   and r.outcome.method != "frame")


def test_a_timeout_is_never_cached(cache_dir: Path) -> None:
    """A verdict the wall clock decided depends on the machine's load: a re-run must solve again."""
    first = run("hard", cache_dir, timeout=0.5, encoding="int", vacuity=False)
    r = find(first, "fermat.no_cube_sums", "-")
    assert isinstance(r.outcome, Unknown) and r.outcome.reason == "timeout"
    for f in cache_dir.rglob("*.json"):
        assert '"timeout"' not in f.read_text(), f"a timeout was cached in {f.name}"
    second = run("hard", cache_dir, timeout=0.5, encoding="int", vacuity=False)
    again = find(second, "fermat.no_cube_sums", "-")
    assert isinstance(again.outcome, Unknown) and not again.cached


def test_an_rlimit_verdict_is_cached_whatever_the_timeout(cache_dir: Path) -> None:
    """The rlimit decides, so its verdicts are the same on any machine: cached, and found
    again under another wall-clock safety net."""
    first = run("hard", cache_dir, rlimit=100_000, vacuity=False)
    r1 = find(first, "fermat.no_cube_sums", "-")
    assert isinstance(r1.outcome, Unknown) and r1.outcome.reason == "rlimit"
    second = run("hard", cache_dir, rlimit=100_000, vacuity=False, timeout=123.0)
    r2 = find(second, "fermat.no_cube_sums", "-")
    assert r2.cached and r2.outcome == r1.outcome


def test_a_timeout_found_in_the_cache_is_solved_again(cache_dir: Path) -> None:
    """A cache filled elsewhere (another version, another machine) may hold a timeout: it is not believed."""
    import json

    run("hard", cache_dir, rlimit=100_000, vacuity=False)
    rewritten = 0
    for path in cache_dir.rglob("*.json"):
        data = json.loads(path.read_text())
        verdict = data["outcome"] if isinstance(data.get("outcome"), dict) else data
        if verdict.get("outcome") == "unknown":
            verdict["reason"] = "timeout"
            path.write_text(json.dumps(data))
            rewritten += 1
    assert rewritten
    again = find(run("hard", cache_dir, rlimit=100_000, vacuity=False), "fermat.no_cube_sums", "-")
    assert isinstance(again.outcome, Unknown) and again.outcome.reason == "rlimit" and not again.cached
