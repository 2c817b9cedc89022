"""Tiers, their decay schedule, and the MEMBER card (docs/protocol.md section 5), on
the bundled contracts against the model, every step compared in full.

The generated campaigns rarely hold a stake for weeks or move a card; this
walks one member through a whole decay and a card transfer, and checks the
tier functions at many instants on both sides against the schedule computed
here (thresholds 100, 1,000 and 10,000 LP; periods 7, 14 and 30 days).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step, normal, to_abi, to_checksum

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"
WAD = 10**18
DAY = 86400
MAX = 2**256 - 1
THRESHOLDS = (100 * WAD, 1000 * WAD, 10000 * WAD)
PERIODS = (7 * DAY, 14 * DAY, 30 * DAY)
PRICES = (100 * WAD, 500 * WAD, 2000 * WAD)


def level_of(stake: int) -> int:
    return sum(1 for t in THRESHOLDS if stake >= t)


def decayed(level: int, backed: int, since: int, at: int) -> int:
    """docs/protocol.md section 5: one level less every PERIODS[level - 1] seconds,
    never below the level the stake backs."""
    if level <= backed:
        return backed
    elapsed = max(at - since, 0)
    while level > backed and elapsed >= PERIODS[level - 1]:
        elapsed -= PERIODS[level - 1]
        level -= 1
    return level


class Driver:
    def __init__(self, h: Harness) -> None:
        self.h = h

    def act(self, module: str, action: str, who: int, *args: Any, expect: str | None = "ok") -> Any:
        report = self.h.run(Step("action", module, action, who, tuple(args)))
        assert report.ok, f"{report.step.describe()}: " + "; ".join(str(d) for d in report.differences)
        assert report.model is not None and report.evm is not None
        got = "ok" if report.model.ok else report.model.reason
        assert got == expect, f"{report.step.describe()}: expected {expect}, got {got}"
        if not report.model.ok:
            assert report.evm.revert_reason == expect
        return report.model.value

    def wait(self, seconds: int) -> None:
        self.h.run(Step("time", seconds=seconds, blocks=1))

    def view(self, module: str, fn: str, *args: Any) -> Any:
        decl = self.h.spec.modules[module].fns[fn]
        abi = [to_abi(a, t) for a, (_, t) in zip(args, decl.params, strict=True)]
        evm = normal(self.h.backend.call(to_checksum(self.h.addresses[module]), fn, abi))
        model = normal(self.h.model.call_fn(module, fn, self.h.env(self.h.deployer), *args))
        assert evm == model, f"{module}.{fn}{args}: model {model} != evm {evm}"
        return evm

    @property
    def now(self) -> int:
        return self.h.backend.timestamp


@pytest.fixture(params=["pyrevm", "py-evm"])
def d(request: pytest.FixtureRequest) -> Driver:
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, request.param, full_compare=True)
    assert all(r.ok for r in h.prelude_reports)
    d = Driver(h)
    # launch: the prelude's raise plus one more contribution, the window closes, claims
    off = h.model.state("offering")
    if d.now < off.start:
        d.wait(off.start - d.now)
    d.act("offering", "contribute", h.actors[3], 10**24)
    d.wait(off.start + off.duration - d.now)
    d.act("offering", "finalize", h.actors[3])
    for who in h.actors:
        if h.model.state("offering").contributed[who] > 0:
            d.act("offering", "claim", who)
    return d


def test_tier_decays_one_level_per_period_and_the_card_keeps_it(d: Driver) -> None:
    h = d.h
    merchant = h.model.state("offering").merchant
    member, other, stranger = h.actors[1], h.actors[2], h.actors[3]
    d.act("member", "mint", member, expect="NO_TIER")
    d.act("farm", "deposit", member, 10_000 * WAD)
    # stake backs a tier once held TIER_HOLD (a day), not before
    assert d.view("farm", "staking_tier", member) == 0
    d.act("member", "mint", member, expect="NO_TIER")
    d.wait(DAY - 1)
    assert d.view("farm", "staking_tier", member) == 0
    d.wait(1)
    assert d.view("farm", "staking_tier", member) == 3
    # the card carries the staking tier, for its price, paid to the merchant
    paid_before = h.model.state("dcep").balance_of[merchant]
    assert d.act("member", "mint", member) == 1
    assert h.model.state("member").tier_of[1] == 3
    assert h.model.state("dcep").balance_of[merchant] == paid_before + PRICES[2]
    d.act("member", "mint", member, expect="ALREADY_MEMBER")

    # a withdrawal starts the decay from tier 3; the rest of the stake backs tier 1
    d.act("farm", "withdraw", member, 9_500 * WAD)
    since = d.now
    farm = h.model.state("farm")
    assert (farm.tier_level[member], farm.tier_since[member]) == (3, since)
    for offset in (0, 1, PERIODS[2] - 1, PERIODS[2], PERIODS[2] + PERIODS[1] - 1, PERIODS[2] + PERIODS[1], 10**9):
        at = since + offset
        expected = decayed(3, 1, since, at)
        assert d.view("farm", "staking_tier_at", member, at) == expected
        assert d.view("member", "effective_tier_at", member, at) == 3  # the card's tier
    assert decayed(3, 1, since, since + PERIODS[2]) == 2
    assert decayed(3, 1, since, since + 10**9) == 1

    # touching the stake while it decays does not restart the clock
    d.wait(PERIODS[2] + DAY)
    assert d.view("farm", "staking_tier", member) == 2
    d.act("farm", "deposit", member, 1 * WAD)
    farm = h.model.state("farm")
    assert (farm.tier_level[member], farm.tier_since[member]) == (3, since)
    # new stake that backs the current tier backs it once held a day
    d.act("farm", "deposit", member, 2_000 * WAD)
    farm = h.model.state("farm")
    assert (farm.tier_level[member], farm.tier_since[member]) == (3, since)
    d.wait(DAY)
    assert d.view("farm", "staking_tier", member) == 2
    d.act("farm", "emergency_withdraw", member)
    farm = h.model.state("farm")
    assert (farm.tier_level[member], farm.tier_since[member]) == (2, d.now)
    assert d.view("farm", "staking_tier", member) == 2
    d.wait(PERIODS[1] + PERIODS[0])
    assert d.view("farm", "staking_tier", member) == 0
    assert d.view("member", "effective_tier", member) == 3

    # the card moves; its tier goes with it, the old holder keeps only its stake's
    d.act("member", "approve", stranger, stranger, 1, expect="NOT_APPROVED")
    d.act("member", "transfer_from", stranger, member, stranger, 1, expect="NOT_APPROVED")
    d.act("member", "transfer_from", member, other, stranger, 1, expect="NOT_OWNER")
    d.act("member", "transfer_from", member, member, 0, 1, expect="ZERO_ADDRESS")
    d.act("member", "transfer_from", member, member, other, 2, expect="INVALID_TOKEN")
    d.act("member", "set_approval_for_all", member, stranger, True)
    d.act("member", "approve", stranger, other, 1)
    assert h.model.state("member").get_approved[1] == other
    d.act("member", "transfer_from", other, member, other, 1)
    st = h.model.state("member")
    assert (st.owner_of[1], st.token_of[other], st.token_of[member], st.get_approved[1]) == (other, 1, 0, 0)
    assert (st.balance_of[member], st.balance_of[other]) == (0, 1)
    assert d.view("member", "effective_tier", other) == 3
    assert d.view("member", "effective_tier", member) == 0
    # one card each: the member stakes again, mints a tier-1 card, and cannot take the other back
    d.act("farm", "deposit", member, 100 * WAD)
    d.wait(DAY)
    assert d.act("member", "mint", member) == 2
    assert h.model.state("member").tier_of[2] == 1
    d.act("member", "transfer_from", other, other, member, 1, expect="ALREADY_MEMBER")
    d.act("member", "transfer_from", other, other, other, 1)  # to oneself: nothing changes
    st = h.model.state("member")
    assert (st.owner_of[1], st.token_of[other], st.balance_of[other]) == (other, 1, 1)
    assert st.next_id == 3
