"""The bundled Vyper contracts of docs/protocol.md sections 1-6 (dcep, mt, pool,
phases, reserve, offering, farm, member, buyback; evm_backend/contracts/
binding.json) against the reference model, on both EVMs.

- a short generated campaign from the binding's prelude;
- a short generated campaign from a launched pool (the prelude cannot move
  the clock, so a generated sequence reaches the pool only after a clock
  move and `offering.finalize`; this starts every sequence past the launch);
- a scripted life cycle that reaches every phase (Silver at the launch, Gold,
  Iron) and a failed offering, compared in full after every step;
- the spec functions other modules call (`pool.twap`, `phases.current`,
  `mt.prior_votes`) evaluated on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from conformance.binding import load_binding, load_implementation
from conformance.harness import Harness, Step, to_checksum
from conformance.machine import Divergence, RunStats, build_machine
from conformance.runner import format_trace, run_campaign
from evm_backend.errors import CallReverted
from reference.runtime import Revert

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"
BACKENDS = ["py-evm", "pyrevm"]
W = 10**18
BIG = 2**256 - 1


@pytest.fixture(scope="module")
def protocol() -> tuple[Any, Any]:
    return load_implementation(BINDING)


class Script:
    """Scripted steps on a harness; every step must agree on both sides."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.actors = harness.actors

    def act(self, module: str, action: str, who: int, *args: Any, expect: str | None = "ok") -> Any:
        report = self.h.run(Step("action", module, action, who, tuple(args)))
        assert report.ok, f"{report.step.describe()}: {[str(d) for d in report.differences]}"
        assert report.model is not None
        got = "ok" if report.model.ok else report.model.reason
        if expect is not None:
            assert got == expect, f"{report.step.describe()}: expected {expect}, got {got}"
        return report.model.value

    def tick(self, seconds: int, blocks: int = 1) -> None:
        self.h.run(Step("time", seconds=seconds, blocks=blocks))

    def quote(self, mt_in: int) -> int:
        """What the pool pays now for `mt_in` MT (the model's formula)."""
        pool = self.h.model.state("pool")
        env = self.h.env(self.actors[0])
        return int(self.h.model.call_fn("pool", "get_amount_out", env, mt_in, pool.reserve_mt, pool.reserve_dcep))

    def phase(self) -> int:
        return int(self.h.model.call_fn("phases", "current", self.h.env(self.actors[0])))


def _launch(s: Script, extra: int = 10**24) -> None:
    """The prelude raises most of the soft cap and the window closes a second
    after deployment: one more contribution (of 1,000,000 DCEP, the soft cap),
    a clock move and `finalize` launch the pool."""
    a1, a3 = s.actors[1], s.actors[3]
    s.act("offering", "contribute", a3, extra)
    s.act("offering", "finalize", a1, expect="OFFERING_OPEN")
    s.tick(2)
    s.act("offering", "contribute", a3, 1, expect="OUTSIDE_WINDOW")
    s.act("offering", "finalize", a1)
    s.act("offering", "finalize", a1, expect="ALREADY_FINALIZED")
    s.act("offering", "refund", a1, expect="NOT_FAILED")
    for who in s.actors:
        s.act("offering", "claim", who)
    s.act("offering", "claim", a1, expect="NOTHING_TO_CLAIM")


# py-evm's campaign (107 s of a 67 min run at load 8) is `slow`: the default run has a generated campaign on
# py-evm in tests/imospec_cli/test_verify.py (verify's conform stage), and this one on pyrevm
@pytest.mark.parametrize("backend", [pytest.param("py-evm", marks=pytest.mark.slow), "pyrevm"])
def test_campaign_conforms(protocol: tuple[Any, Any], backend: str, tmp_path: Path) -> None:
    binding, spec = protocol
    result = run_campaign(spec, binding, backend=backend, examples=30, steps=20, seed=11, fixture_dir=tmp_path)
    assert result.ok, format_trace(result.divergence or [])
    assert result.stats.steps > 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_campaign_from_launched_pool_conforms(protocol: tuple[Any, Any], backend: str) -> None:
    binding, spec = protocol
    h = Harness(spec, binding, backend)
    s = Script(h)
    m0, a1, a2, _ = s.actors
    _launch(s, extra=10**24 + 1)  # an odd raise: the reserve's 70% rounds up
    raised = h.model.state("offering").raised
    assert raised % 10 != 0 and h.model.state("reserve").reserve_dcep == (7 * raised + 9) // 10
    s.act("pool", "swap_dcep_for_mt", a1, 10**22, 0, a1, BIG)
    s.act("farm", "deposit", a1, 1000 * W)
    s.act("offering", "fund_farm", m0, 10000 * W)
    s.act("buyback", "book_revenue", m0, 100000 * W)
    s.tick(1800)
    s.act("pool", "observe", a2)
    # make this the state every generated sequence starts from (the harness
    # resets to its base snapshot before each sequence)
    h.rebase()
    stats = RunStats()
    failing: dict[str, Any] = {}

    def keep(trace: Any) -> None:
        failing["trace"] = list(trace)

    machine = build_machine(h, stats, None, keep)
    config = settings(max_examples=30, stateful_step_count=20, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
                      report_multiple_bugs=False, print_blob=False)
    try:
        hypothesis_seed(5)(lambda: run_state_machine_as_test(machine, settings=config))()
    except Divergence:
        pytest.fail(format_trace(failing["trace"]))
    assert stats.steps > 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_life_cycle_through_every_phase_conforms(protocol: tuple[Any, Any], backend: str) -> None:
    binding, spec = protocol
    h = Harness(spec, binding, backend, full_compare=True)
    assert h.deployment_differences == []
    assert all(r.ok for r in h.prelude_reports)
    s = Script(h)
    m0, a1, a2, a3 = s.actors
    _launch(s)
    # the pool: swaps both ways, liquidity in and out, the oracle's first window
    s.act("pool", "add_liquidity", a1, 10**21, 10**21, 0, 0, a1, BIG, expect="INSUFFICIENT_BALANCE")
    s.act("pool", "swap_dcep_for_mt", a1, 10**22, 0, a1, BIG)
    s.act("pool", "swap_mt_for_dcep", a1, 10**21, 0, a1, BIG)
    s.act("pool", "swap_mt_for_dcep", a1, 10**21, 10**24, a1, BIG, expect="INSUFFICIENT_OUTPUT_AMOUNT")
    # the minimum output is inclusive: exactly the quote passes, one more fails
    quote = s.quote(10**21)
    s.act("pool", "swap_mt_for_dcep", a1, 10**21, quote + 1, a1, BIG, expect="INSUFFICIENT_OUTPUT_AMOUNT")
    assert s.act("pool", "swap_mt_for_dcep", a1, 10**21, quote, a1, BIG) == quote
    s.act("pool", "swap_mt_for_dcep", a1, 10**21, 0, a1, 0, expect="EXPIRED")
    s.act("pool", "add_liquidity", a1, 1000 * W, 1000 * W, 0, 0, a1, BIG)
    s.act("pool", "remove_liquidity", a1, 100 * W, 0, 0, a2, BIG)
    s.act("pool", "observe", a2, expect="WINDOW_NOT_ELAPSED")
    s.tick(1800)
    s.act("pool", "observe", a2)
    assert s.phase() == 2  # Silver: the launch price is 2 DCEP per MT
    # Silver: buybacks run, boosts and floor redemption do not
    s.act("buyback", "execute", m0, 1000 * W, 0, BIG, expect="EXCEEDS_ALLOCATION")
    s.act("buyback", "book_revenue", m0, 100000 * W)
    s.act("buyback", "execute", m0, 1000 * W, 0, BIG)
    s.act("farm", "boost", m0, 3600, expect="WRONG_PHASE")
    s.act("reserve", "redeem", a3, 10 * W, BIG, expect="WRONG_PHASE")
    # Gold: a large buy, then the TWAP catches up
    s.act("pool", "swap_dcep_for_mt", a3, 3 * 10**24, 0, a3, BIG)
    s.tick(7200)
    s.act("pool", "observe", a2)
    s.tick(86400)
    assert s.phase() == 3
    s.act("farm", "boost", m0, 3600)
    # rewards, tiers, membership, votes
    s.act("offering", "fund_farm", a1, 10000 * W, expect="UNAUTHORIZED")
    s.act("offering", "fund_farm", m0, 10000 * W)
    s.act("farm", "deposit", a1, 20000 * W)
    s.tick(600)
    s.act("member", "mint", a1, expect="NO_TIER")  # stake backs a tier once held a day
    s.tick(86400 - 600)
    s.act("farm", "harvest", a1)
    s.act("member", "mint", a1)
    s.act("member", "transfer_from", a1, a1, a2, 1)
    s.act("farm", "withdraw", a1, 15000 * W)
    s.act("mt", "delegate", a1, a2)
    s.act("mt", "transfer", a1, a3, 10 * W)
    s.act("mt", "burn", a3, W)
    # Iron: the buyer sells back and the merchant sells under the cash-out cap
    s.act("pool", "swap_mt_for_dcep", a3, 240000 * W, 0, a3, BIG)
    s.act("offering", "merchant_sell", m0, 600000 * W, 0, BIG, expect="CASHOUT_CAP")
    s.act("offering", "merchant_sell", m0, 400000 * W, 0, BIG)
    # the cap is inclusive: a sale that lands exactly on it passes (the price
    # is below 1 now, so some MT amount is quoted at exactly the room left)
    offering = h.model.state("offering")
    room = offering.cashout_cap_bps * offering.raised // 10000 - offering.cashed_out
    assert offering.cashout_cap_bps * offering.raised % 10000 == 0
    lo, hi = 0, offering.merchant_mt
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if s.quote(mid) < room else (lo, mid)
    assert s.quote(lo) == room
    s.act("offering", "merchant_sell", m0, lo, room, BIG)
    assert offering.cashed_out * 10000 == offering.cashout_cap_bps * offering.raised
    s.act("offering", "merchant_sell", m0, W, 0, BIG, expect="CASHOUT_CAP")
    s.tick(3600)
    s.act("pool", "observe", a2)
    s.tick(86400)
    s.act("pool", "observe", a2)
    s.tick(86400)
    assert s.phase() == 0
    s.act("buyback", "execute", m0, 1000 * W, 0, BIG, expect="WRONG_PHASE")
    s.act("reserve", "redeem", a3, 1000 * W, BIG)
    s.act("reserve", "top_up", a3, 1000 * W)
    s.act("reserve", "exit", a3, 100 * W)
    s.act("mt", "approve", a3, m0, 7 * W)
    s.act("mt", "burn_from", m0, a3, 5 * W)
    s.act("mt", "burn_from", m0, a3, 5 * W, expect="INSUFFICIENT_ALLOWANCE")
    s.act("pool", "transfer", a1, a2, 5 * W)
    s.act("pool", "transfer", a1, 0, 5 * W, expect="ZERO_ADDRESS")
    # arithmetic faults are bare reverts on both sides
    s.act("pool", "swap_mt_for_dcep", a3, 2**255, 0, a3, BIG, expect=None)
    assert h.compare_state(None) == []


def _binding_without_raise(tmp_path: Path) -> Path:
    """The bundled binding without the prelude's contributions (its raise
    reaches the soft cap, so an offering on it cannot fail)."""
    data = json.loads(BINDING.read_text())
    data["spec"] = str((BINDING.parent / data["spec"]).resolve())
    for m in data["modules"].values():
        m["vyper"] = str((BINDING.parent / m["vyper"]).resolve())
    if "attacks" in data:
        data["attacks"] = str((BINDING.parent / data["attacks"]).resolve())
    data["prelude"] = [p for p in data["prelude"] if p[:2] != ["offering", "contribute"]]
    out = tmp_path / "binding.json"
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_offering_refunds_conform(protocol: tuple[Any, Any], backend: str, tmp_path: Path) -> None:
    _, spec = protocol
    h = Harness(spec, load_binding(_binding_without_raise(tmp_path)), backend, full_compare=True)
    s = Script(h)
    m0, a1, a2, a3 = s.actors
    s.act("offering", "contribute", a3, 0, expect="ZERO_AMOUNT")
    s.act("offering", "contribute", a3, 10**25 + 1, expect="HARD_CAP")
    for who in (m0, a1, a2):
        s.act("offering", "contribute", who, 3 * 10**23)
    s.act("offering", "refund", m0, expect="NOT_FAILED")
    s.tick(5)
    s.act("offering", "contribute", a3, 10**23, expect="OUTSIDE_WINDOW")
    s.act("offering", "finalize", a3)
    for who in (m0, a1, a2):
        s.act("offering", "refund", who)
    s.act("offering", "refund", m0, expect="NOTHING_TO_CLAIM")
    s.act("offering", "refund", a3, expect="NOTHING_TO_CLAIM")
    s.act("offering", "claim", m0, expect="NOT_SUCCEEDED")
    s.act("offering", "merchant_sell", m0, 1, 0, BIG, expect="NOT_SUCCEEDED")
    s.act("offering", "fund_farm", m0, 1, expect="NOT_SUCCEEDED")
    s.act("pool", "swap_dcep_for_mt", a3, W, 0, a3, BIG, expect="INSUFFICIENT_LIQUIDITY")
    s.act("pool", "observe", a3, expect="NOT_LAUNCHED")
    s.act("pool", "add_liquidity", a3, W, W, 0, 0, a3, BIG, expect="UNAUTHORIZED")
    s.act("dcep", "mint", a3, 0, 5, expect="ZERO_ADDRESS")
    assert h.compare_state(None) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_functions_other_modules_call_agree(protocol: tuple[Any, Any], backend: str) -> None:
    """`pool.twap`, `phases.current` and `mt.prior_votes` (binary search over
    checkpoints written in many blocks) on the model and the contracts."""
    binding, spec = protocol
    h = Harness(spec, binding, backend)
    s = Script(h)
    m0, a1, a2, a3 = s.actors

    def both(module: str, fn: str, *args: Any) -> tuple[Any, Any]:
        """The function's value, or its revert reason, on each side."""
        try:
            mine: Any = int(h.model.call_fn(module, fn, h.env(m0), *args))
        except Revert as exc:
            mine = exc.reason
        abi = [to_checksum(a) if a in h.actors else a for a in args]
        try:
            theirs: Any = int(h.backend.call(to_checksum(h.addresses[module]), fn, abi, sender=to_checksum(m0)))
        except CallReverted as exc:
            theirs = exc.reason
        return mine, theirs

    assert both("pool", "twap") == ("NOT_LAUNCHED", "NOT_LAUNCHED")
    assert both("phases", "current") == ("NOT_LAUNCHED", "NOT_LAUNCHED")
    _launch(s)
    moves = [
        ("pool", "swap_dcep_for_mt", a1, 10**22, 0, a2, BIG), ("mt", "delegate", a2, a3),
        ("pool", "swap_dcep_for_mt", a3, 10**22, 0, a3, BIG), ("mt", "transfer", a3, a1, 10**20),
        ("mt", "delegate", a1, a2), ("mt", "burn", a3, 10**19), ("mt", "transfer", a2, a1, 10**20),
        ("mt", "delegate", a3, 0), ("pool", "swap_mt_for_dcep", a1, 10**19, 0, a1, BIG),
    ]
    for i in range(3):
        for module, action, who, *args in moves:
            s.act(module, action, who, *args)
            s.tick(700 + 300 * i, blocks=1 + i % 2)
    for who in s.actors:
        for block in range(h.backend.block_number + 1):
            mine, theirs = both("mt", "prior_votes", who, block)
            assert mine == theirs, (who, block)
    assert both("mt", "prior_votes", a2, h.backend.block_number) == ("NOT_YET_DETERMINED",) * 2
    assert max(h.model.state("mt").num_checkpoints.values()) >= 5
    for _ in range(3):
        for fn in (("pool", "twap"), ("phases", "current")):
            mine, theirs = both(*fn)
            assert mine == theirs, fn
        s.tick(900)
