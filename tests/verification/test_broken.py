"""Deliberately broken specs: each is refuted with a counterexample, the bounded
search finds the violation from deployment with its action sequence, and the
reference model confirms it."""

from __future__ import annotations

import pytest

from tests.verification.conftest import find, run
from verification.outcome import Refuted
from verification.report import render_counterexample, render_trace

CASES = [
    # (spec, rule, action, steps needed, what is wrong)
    ("pool_nofee", "pool.k_never_decreases", "pool.swap_a_for_b", 2, "a swap without the fee"),
    ("reserve_overpay", "reserve.floor_guarantee", "reserve.redeem", 2, "a redemption paying more than the floor"),
    ("reserve_topup", "reserve.floor_guarantee", "reserve.top_up", 1, "a top-up raising capacity too much"),
    ("tiers_jump", "member.decay_never_jumps_up", "member.refresh", 1, "decay that can jump up"),
    ("timelock_early", "timelock.executed_after_delay", "timelock.execute", 2, "a timelock executing early"),
    ("vault_nocheck", "vault.collateralized", "vault.mint", 1, "a mint skipping the collateral check"),
]


@pytest.mark.parametrize(("spec", "rule", "action", "steps", "what"), CASES, ids=[c[0] for c in CASES])
def test_broken_spec_is_refuted_and_replayed(spec: str, rule: str, action: str, steps: int, what: str) -> None:
    report = run(spec, vacuity=False)
    r = find(report, rule, action, "step")
    assert isinstance(r.outcome, Refuted), what
    cex = r.outcome.counterexample
    # the violated clause is quoted from the source, with a caret
    assert rule.split(".")[1] in cex["clause"]["text"] or "^" in cex["clause"]["text"]
    assert "^" in cex["clause"]["text"] and spec in cex["clause"]["at"]
    assert cex["state"], "the pre- and post-state of what matters"
    assert all("before" in row and "after" in row for row in cex["state"])
    text = render_counterexample(cex)
    assert "violated at" in text and "state (before -> after" in text
    # reachable from deployment, with the concrete sequence, confirmed by the model
    assert r.bmc is not None and r.bmc.status == "reachable", r.bmc
    assert r.bmc.depth == steps
    assert [s["action"] for s in r.bmc.steps][-1] == action
    assert r.bmc.replay is not None and r.bmc.replay.status == "confirmed", r.bmc.replay
    assert r.error is None
    assert f"reachable from deployment in {steps} step(s)" in render_trace(r.bmc)
    assert report.exit_code() == 1


def test_two_step_violation_needs_the_first_step() -> None:
    report = run("timelock_early", vacuity=False, invariant="executed_after_delay")
    r = find(report, "timelock.executed_after_delay", "timelock.execute")
    steps = r.bmc.steps if r.bmc else []
    assert [s["action"] for s in steps] == ["timelock.queue", "timelock.execute"]
    queue, execute = steps
    # the same transaction is queued and then executed before its eta
    for field in ("target", "key", "value", "eta"):
        assert queue["args"][field] == execute["args"][field]
    assert execute["env"]["now"] < execute["args"]["eta"]


def test_depth_zero_disables_the_search() -> None:
    report = run("vault_nocheck", vacuity=False, depth=0)
    r = find(report, "vault.collateralized", "vault.mint")
    assert isinstance(r.outcome, Refuted) and r.bmc is None


def test_bounded_search_respects_the_depth() -> None:
    report = run("pool_nofee", vacuity=False, depth=1, invariant="k_never_decreases")
    r = find(report, "pool.k_never_decreases", "pool.swap_a_for_b")
    assert isinstance(r.outcome, Refuted)
    assert r.bmc is not None and r.bmc.status == "unreachable" and r.bmc.depth == 1
