"""Scenario tests of the bundled protocol's own rules (docs/protocol.md), on the
reference model generated from spec/protocol.

Every action runs with check_rules=True (see imo_protocol.Protocol): each
invariant and `ensures` of the spec is also checked after every successful
step. The expected numbers are computed here from docs/protocol.md's formulas,
independently of the model.
"""

from __future__ import annotations

from math import isqrt

import pytest
from imo_protocol import (
    ADMIN,
    ALICE,
    ASSET_MANAGER,
    ATTACKER,
    BOB,
    BPS,
    CAROL,
    DAVE,
    DAY,
    GUARDIAN,
    MERCHANT,
    RELAYER,
    REPORTER,
    T0,
    TREASURY,
    WAD,
    Protocol,
)

from reference.model import default_address
from reference.runtime import hash_, key_of
from spec import ir

E18 = WAD
MILLION = 1_000_000 * E18


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """docs/protocol.md section 2: in*997*R_out / (R_in*1000 + in*997), rounded down."""
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


def div_up(a: int, b: int) -> int:
    return -(-a // b)


def phase_of(p: Protocol) -> str:
    return str(p.fn("phases", "current").name)


def launched(spec: ir.Spec, params: dict[str, int] | None = None, raised: int = MILLION) -> tuple[Protocol, int]:
    """A protocol whose offering raised `raised` DCEP (all from Dave) and
    launched the pool; returns it and the launch time."""
    p = Protocol(spec, params)
    launch = p.launch({DAVE: raised})
    return p, launch


# ====================================================== 3. the floor guarantee


def test_top_up_and_exit_round_against_the_caller(protocol_spec: ir.Spec) -> None:
    """reserve.top_up adds floor(amount*WAD/floor) capacity and records the
    share; reserve.exit burns ceil(amount*WAD/floor) MT and lowers capacity by
    the same. With floor = 0.3: top_up(1) adds 3, top_up(10) adds 33, exit(1)
    burns 4, exit(10) burns 34. A top-up followed by an exit never returns more
    DCEP than it put in, and capacity ends 2 lower. The floor guarantee
    reserve_dcep*WAD >= floor*capacity holds after every step. Exit is open
    in Iron only."""
    floor = 3 * 10**17
    p, launch = launched(protocol_spec, {"phases.floor": floor})
    r = p.st("reserve")
    assert r.reserve_dcep == 700_000 * E18
    capacity0 = 700_000 * E18 * WAD // floor
    assert r.capacity == capacity0 == 2333333333333333333333333
    assert p.floor_holds()
    # exit is open in Iron only: the merchant's sale at the launch takes the TWAP there
    p.ok("offering", "merchant_sell", MERCHANT, 600_000 * E18, 0, p.now)
    p.at(launch + 1800)
    assert phase_of(p) == "Iron"
    p.give_dcep(BOB, 100, "reserve")
    p.reverts("ZERO_AMOUNT", "reserve", "top_up", BOB, 0)
    assert p.ok("reserve", "top_up", BOB, 1) == 3
    assert p.floor_holds()
    assert p.ok("reserve", "top_up", BOB, 10) == 33
    assert p.floor_holds()
    r = p.st("reserve")
    assert (r.capacity, r.reserve_dcep, r.contributed[BOB]) == (capacity0 + 36, 700_000 * E18 + 11, 11)
    # Bob buys some MT to burn, and lets the reserve burn it.
    mt_bought = p.swap_dcep_for_mt(BOB, 10 * E18)
    p.approve("mt", BOB, "reserve")
    supply = p.st("mt").total_supply
    p.reverts("ZERO_AMOUNT", "reserve", "exit", BOB, 0)
    p.reverts("EXCEEDS_CONTRIBUTION", "reserve", "exit", BOB, 12)
    p.reverts("EXCEEDS_CONTRIBUTION", "reserve", "exit", CAROL, 1)
    assert p.ok("reserve", "exit", BOB, 1) == 4 == div_up(1 * WAD, floor)
    assert p.floor_holds()
    assert p.ok("reserve", "exit", BOB, 10) == 34 == div_up(10 * WAD, floor)
    assert p.floor_holds()
    r = p.st("reserve")
    assert r.capacity == capacity0 - 2
    assert r.reserve_dcep == 700_000 * E18
    assert r.contributed[BOB] == 0 and r.total_contributed == 700_000 * E18
    assert p.balance("mt", BOB) == mt_bought - 38
    assert p.st("mt").total_supply == supply - 38
    assert p.balance("dcep", BOB) == 100  # 11 in, 11 back: never more


def test_redeem_only_in_iron_pays_the_floor_and_contributors_stand_behind(protocol_spec: ir.Spec) -> None:
    """reserve.redeem: only in Iron (TWAP below the floor), q <= capacity MT
    burned for floor(q*floor/WAD) DCEP, capacity down by q. A contributor's exit
    comes after the holders (劣后): once redemptions used the capacity, an exit
    whose MT (rounded up) exceeds what is left is refused. The pool cannot open
    below the floor (OPENS_BELOW_FLOOR): it opens at the floor exactly, and the
    merchant's sale at the launch takes the price into Iron."""
    floor = 3 * 10**17
    p, launch = launched(protocol_spec, {
        "phases.floor": floor, "offering.soft_cap": 1000 * E18, "offering.pool_mt_bps": 10,
        "offering.cashout_cap_bps": BPS}, raised=1000 * E18)
    # reserve 700 DCEP; pool 1,000 MT against 300 DCEP: price 0.3, the floor
    assert (p.st("pool").reserve_mt, p.st("pool").reserve_dcep) == (1000 * E18, 300 * E18)
    sold = amount_out(99_000 * E18, 1000 * E18, 300 * E18)
    assert p.ok("offering", "merchant_sell", MERCHANT, 99_000 * E18, 0, p.now) == sold
    r_mt, r_dcep = 100_000 * E18, 300 * E18 - sold
    assert (p.st("pool").reserve_mt, p.st("pool").reserve_dcep) == (r_mt, r_dcep)
    capacity0 = 700 * E18 * WAD // floor
    assert p.st("reserve").capacity == capacity0 == 2333333333333333333333
    p.reverts("TWAP_NOT_READY", "reserve", "redeem", CAROL, 1, p.now)
    p.at(launch + 1800)
    assert p.fn("pool", "twap") == r_dcep * WAD // r_mt
    assert phase_of(p) == "Iron"
    carol_mt = p.swap_dcep_for_mt(CAROL, 10 * E18)
    assert carol_mt == amount_out(10 * E18, r_dcep, r_mt)
    p.approve("mt", CAROL, "reserve")
    p.give_dcep(BOB, 300 * E18, "reserve")
    assert p.ok("reserve", "top_up", BOB, 300 * E18) == 1000 * E18
    supply = p.st("mt").total_supply
    p.reverts("EXPIRED", "reserve", "redeem", CAROL, 3000 * E18, p.now - 1)
    p.reverts("ZERO_AMOUNT", "reserve", "redeem", CAROL, 0, p.now)
    p.reverts("INSUFFICIENT_CAPACITY", "reserve", "redeem", CAROL, capacity0 + 1000 * E18 + 1, p.now)
    assert p.ok("reserve", "redeem", CAROL, 3000 * E18, p.now) == 900 * E18
    assert p.floor_holds()
    r = p.st("reserve")
    assert r.capacity == capacity0 + 1000 * E18 - 3000 * E18 == 333333333333333333333
    assert r.reserve_dcep == 100 * E18
    assert p.balance("dcep", CAROL) == 900 * E18
    assert p.st("mt").total_supply == supply - 3000 * E18
    # rounding down: 4 wei of MT pay 1 wei (1.2), 3 wei would pay 0.9 -> refused
    p.reverts("INSUFFICIENT_OUTPUT_AMOUNT", "reserve", "redeem", CAROL, 3, p.now)
    assert p.ok("reserve", "redeem", CAROL, 4, p.now) == 1
    assert p.floor_holds()
    capacity = p.st("reserve").capacity
    assert capacity == 333333333333333333329
    # Bob's 100 DCEP would burn ceil(333.33..) MT = 333333333333333333334 > capacity
    p.reverts("INSUFFICIENT_CAPACITY", "reserve", "exit", BOB, 100 * E18)
    p.swap_dcep_for_mt(BOB, 2 * E18)
    p.approve("mt", BOB, "reserve")
    assert p.ok("reserve", "exit", BOB, 99 * E18) == 330 * E18
    assert p.floor_holds()
    r = p.st("reserve")
    assert r.capacity == capacity - 330 * E18 == 3333333333333333329
    assert r.reserve_dcep == E18 - 1
    assert r.contributed[BOB] == 201 * E18  # recorded, but capacity covers none of it now
    p.reverts("INSUFFICIENT_CAPACITY", "reserve", "exit", BOB, E18)


# ================================================================ 4. phases

# pool_mt_bps chosen so that 300,000 DCEP against the MT seed opens at this
# price. The pool cannot open in Iron (OPENS_BELOW_FLOOR): the Iron case opens
# at the floor and the merchant sells 100,000 MT at the launch, for
# amount_out(100,000, 600,000, 300,000) DCEP: the price is then
# (300,000 - that) / 700,000, about 0.3676.
IRON_SALE = 100_000 * E18
IRON_PRICE = (300_000 * E18 - amount_out(IRON_SALE, 600_000 * E18, 300_000 * E18)) * WAD // (700_000 * E18)
PHASE_CASES = [
    ("Gold", 300, 10 * E18),        # 30,000 MT: exactly the issue price -> Gold
    ("Silver", 3000, E18),          # 300,000 MT: exactly the bronze price -> Silver
    ("Bronze", 5000, 6 * 10**17),   # 500,000 MT: 0.6
    ("Bronze", 6000, 5 * 10**17),   # 600,000 MT: exactly the floor -> Bronze
    ("Iron", 6000, IRON_PRICE),     # 600,000 MT, then the merchant's sale
]


@pytest.mark.parametrize(("phase", "bps", "price"), PHASE_CASES)
def test_phase_gates(protocol_spec: ir.Spec, phase: str, bps: int, price: int) -> None:
    """Each phase-gated action reverts WRONG_PHASE outside its phases
    (phases.imo: reserve.redeem in Iron; buyback.execute in Gold and Silver;
    farm.boost in Gold), and passes the gate inside them (it then stops at its
    own next check). Before the TWAP has a full window, the gate cannot be read
    (TWAP_NOT_READY)."""
    p, launch = launched(protocol_spec, {"offering.pool_mt_bps": bps})
    if phase == "Iron":
        p.ok("offering", "merchant_sell", MERCHANT, IRON_SALE, 0, p.now)
    gated = {
        "redeem": (("reserve", "redeem", ALICE, 0, T0 + 100 * DAY), "Iron", "ZERO_AMOUNT"),
        "buyback": (("buyback", "execute", MERCHANT, 0, 0, T0 + 100 * DAY), "Gold Silver", "ZERO_AMOUNT"),
        "boost": (("farm", "boost", MERCHANT, 7 * DAY + 1), "Gold", "BOOST_TOO_LONG"),
    }
    for call, _, _ in gated.values():
        p.reverts("TWAP_NOT_READY", *call)
    p.at(launch + 1799)
    p.reverts("TWAP_NOT_READY", "reserve", "redeem", ALICE, 0, T0 + 100 * DAY)
    p.at(launch + 1800)
    assert p.fn("pool", "twap") == price
    assert phase_of(p) == phase
    for call, allowed, inside in gated.values():
        p.reverts(inside if phase in allowed.split() else "WRONG_PHASE", *call)


def test_one_block_pump_does_not_open_gold(protocol_spec: ir.Spec) -> None:
    """A spot price pushed above the issue price for one block leaves the TWAP
    phase Silver: the Gold-only boost stays closed in that block and the next."""
    p, launch = launched(protocol_spec)  # 300,000 MT / 300,000 DCEP: price 1, Silver
    p.at(launch + 3600)
    assert phase_of(p) == "Silver"
    bought = p.swap_dcep_for_mt(ATTACKER, 900_000 * E18)
    assert p.fn("pool", "spot_price") > 10 * E18  # the spot price says Gold
    assert phase_of(p) == "Silver"
    p.reverts("WRONG_PHASE", "farm", "boost", MERCHANT, 100)
    p.at(p.now + 12)
    p.approve("mt", ATTACKER, "pool")
    p.ok("pool", "swap_mt_for_dcep", ATTACKER, bought, 0, ATTACKER, p.now)
    assert p.fn("pool", "twap") < 10 * E18
    assert phase_of(p) == "Silver"
    p.reverts("WRONG_PHASE", "farm", "boost", MERCHANT, 100)


def test_one_block_dump_does_not_open_the_floor(protocol_spec: ir.Spec) -> None:
    """A spot price pushed below the floor for one block leaves the TWAP phase
    Bronze: floor redemption stays closed ("opening the floor with a one-block
    price move")."""
    p, launch = launched(protocol_spec, {"offering.pool_mt_bps": 5000})  # price 0.6, Bronze
    p.at(launch + 100)
    lp = p.ok("offering", "claim", DAVE)
    p.ok("pool", "remove_liquidity", DAVE, lp * 99 // 100, 0, 0, DAVE, p.now)
    p.at(launch + 3600)
    assert phase_of(p) == "Bronze"
    p.approve("mt", DAVE, "pool")
    p.approve("mt", DAVE, "reserve")
    p.ok("pool", "swap_mt_for_dcep", DAVE, 10_000 * E18, 0, DAVE, p.now)
    assert p.fn("pool", "spot_price") < 5 * 10**17  # the spot price says Iron
    assert phase_of(p) == "Bronze"
    p.reverts("WRONG_PHASE", "reserve", "redeem", DAVE, 1000 * E18, p.now)
    p.at(p.now + 12)
    assert phase_of(p) == "Bronze"
    p.reverts("WRONG_PHASE", "reserve", "redeem", DAVE, 1000 * E18, p.now)


# ============================================================ 5. tiers, NFT

TIER = {1: 100 * E18, 2: 1000 * E18, 3: 10_000 * E18}


def _members(spec: ir.Spec) -> tuple[Protocol, int]:
    p, launch = launched(spec)
    p.ok("offering", "claim", DAVE)
    for who in (ALICE, BOB, CAROL):
        p.ok("pool", "transfer", DAVE, who, 30_000 * E18)
        p.approve("pool", who, "farm")
    t1 = launch + 100
    p.at(t1)
    return p, t1


def _tiers(p: Protocol, who: int, times: list[int]) -> list[int]:
    return [p.fn("farm", "staking_tier_at", who, t) for t in times]


def test_tier_decays_one_level_per_period_of_the_current_tier(protocol_spec: ir.Spec) -> None:
    """Stake backs a tier once held TIER_HOLD (a day). After a withdrawal the
    tier falls one level every decay_period[tier] seconds (30 days at tier 3,
    14 at tier 2, 7 at tier 1), never below the tier the remaining stake
    backs; new stake raises it once held a day; touching the stake during a
    decay does not restart the clock."""
    p, t1 = _members(protocol_spec)
    for who in (ALICE, BOB, CAROL):
        p.ok("farm", "deposit", who, 20_000 * E18)
    assert _tiers(p, ALICE, [t1, t1 + DAY - 1, t1 + DAY]) == [0, 0, 3]
    t = t1 + DAY
    p.at(t)
    p.ok("farm", "withdraw", ALICE, 19_950 * E18)  # 50 LP left: backs no tier
    times = [t, t + 30 * DAY - 1, t + 30 * DAY, t + 44 * DAY - 1, t + 44 * DAY, t + 51 * DAY - 1,
             t + 51 * DAY, t + 400 * DAY]
    assert _tiers(p, ALICE, times) == [3, 3, 2, 2, 1, 1, 0, 0]
    # Bob keeps 150 LP: tier 1 is backed, so the decay stops there.
    p.ok("farm", "withdraw", BOB, 19_850 * E18)
    assert _tiers(p, BOB, [t + 30 * DAY - 1, t + 30 * DAY, t + 44 * DAY, t + 400 * DAY]) == [3, 2, 1, 1]
    # Carol withdraws only down to 15,000 LP: tier 3 stays backed, no decay.
    p.ok("farm", "withdraw", CAROL, 5_000 * E18)
    assert _tiers(p, CAROL, [t + 400 * DAY]) == [3]
    # Bob tops up 10 LP during the decay (still backing tier 1): the clock runs on.
    p.at(t + 20 * DAY)
    p.ok("farm", "deposit", BOB, 10 * E18)
    assert _tiers(p, BOB, [t + 30 * DAY - 1, t + 30 * DAY, t + 44 * DAY]) == [3, 2, 1]
    # Alice, down to tier 1 at day 45, stakes 1000 LP: tier 2 a day later, then
    # 9,000 more: tier 3 a day after that. The decay runs on meanwhile.
    p.at(t + 45 * DAY)
    assert p.fn("farm", "staking_tier", ALICE) == 1
    p.ok("farm", "deposit", ALICE, 1000 * E18)
    assert p.fn("farm", "staking_tier", ALICE) == 1
    p.at(t + 46 * DAY)
    assert p.fn("farm", "staking_tier", ALICE) == 2
    p.ok("farm", "deposit", ALICE, 9000 * E18)
    assert p.fn("farm", "staking_tier", ALICE) == 2
    p.at(t + 47 * DAY)
    assert p.fn("farm", "staking_tier", ALICE) == 3
    # and a new decay starts from the new level when she leaves again
    t2 = p.now
    p.ok("farm", "emergency_withdraw", ALICE)
    assert _tiers(p, ALICE, [t2 + 30 * DAY - 1, t2 + 30 * DAY, t2 + 44 * DAY, t2 + 51 * DAY]) == [3, 2, 1, 0]


def test_flash_stake_earns_no_tier(protocol_spec: ir.Spec) -> None:
    """Stake deposited and withdrawn within one block (or within TIER_HOLD)
    earns no tier and no card."""
    p, t1 = _members(protocol_spec)
    p.give_dcep(ALICE, 5_000 * E18, "member")
    p.ok("farm", "deposit", ALICE, 20_000 * E18)
    p.ok("farm", "withdraw", ALICE, 20_000 * E18)
    assert _tiers(p, ALICE, [t1, t1 + DAY, t1 + 400 * DAY]) == [0, 0, 0]
    p.reverts("NO_TIER", "member", "mint", ALICE)
    p.ok("farm", "deposit", ALICE, 20_000 * E18)
    p.at(t1 + DAY - 1)
    p.ok("farm", "withdraw", ALICE, 20_000 * E18)
    assert _tiers(p, ALICE, [t1 + DAY - 1, t1 + DAY, t1 + 400 * DAY]) == [0, 0, 0]
    p.reverts("NO_TIER", "member", "mint", ALICE)


def test_member_nft_is_a_floor_that_never_changes_and_transfers(protocol_spec: ir.Spec) -> None:
    """A member pays NFT_PRICES[tier] DCEP to the merchant for a MEMBER card
    carrying their tier; the card's tier never changes; its holder's effective
    tier is never below it; it can be transferred."""
    p, t1 = _members(protocol_spec)
    p.ok("farm", "deposit", ALICE, 20_000 * E18)
    p.ok("farm", "deposit", BOB, 150 * E18)
    t1 += DAY  # the stakes back their tiers once held a day
    p.at(t1)
    for who in (ALICE, BOB, CAROL):
        p.give_dcep(who, 5_000 * E18, "member")
    p.reverts("NO_TIER", "member", "mint", CAROL)
    assert p.ok("member", "mint", ALICE) == 1
    assert p.balance("dcep", MERCHANT) == 2000 * E18
    assert p.balance("dcep", ALICE) == 3000 * E18
    p.reverts("ALREADY_MEMBER", "member", "mint", ALICE)
    assert p.ok("member", "mint", BOB) == 2
    assert p.balance("dcep", MERCHANT) == 2100 * E18
    m = p.st("member")
    assert (m.tier_of[1], m.tier_of[2], m.token_of[ALICE], m.owner_of[2]) == (3, 1, 1, BOB)
    # Alice leaves the farm: her staking tier decays to 0, her effective tier stays 3.
    p.ok("farm", "withdraw", ALICE, 20_000 * E18)
    late = t1 + 60 * DAY
    assert p.fn("farm", "staking_tier_at", ALICE, late) == 0
    assert p.fn("member", "effective_tier_at", ALICE, late) == 3
    # Transfer: the card moves with its tier; the sender is left with her stake's tier.
    p.at(late)
    p.reverts("NOT_APPROVED", "member", "transfer_from", DAVE, ALICE, CAROL, 1)
    p.reverts("ALREADY_MEMBER", "member", "transfer_from", ALICE, ALICE, BOB, 1)
    p.ok("member", "approve", ALICE, DAVE, 1)
    p.ok("member", "transfer_from", DAVE, ALICE, CAROL, 1)
    m = p.st("member")
    assert (m.owner_of[1], m.token_of[CAROL], m.token_of[ALICE], m.tier_of[1]) == (CAROL, 1, 0, 3)
    assert p.fn("member", "effective_tier", CAROL) == 3
    assert p.fn("member", "effective_tier", ALICE) == 0
    assert p.fn("member", "effective_tier", BOB) == 1
    # The receiver has no stake and holds the card: tier 3 for as long as she holds it.
    assert p.fn("member", "effective_tier_at", CAROL, late + 1000 * DAY) == 3


# ============================================================ 1. offering


def test_offering_lifecycle_success(protocol_spec: ir.Spec) -> None:
    """Contributions only inside [start, end); finalize after the end; 70% of the
    raise (rounded up) to the reserve, the rest and the MT seed to the pool;
    claims pro rata, rounded down, the dust locked in the offering."""
    p = Protocol(protocol_spec, now=T0 - 10)
    a, b, c = 333_333 * E18 + 1, 333_333 * E18 + 2, 333_334 * E18
    raised = a + b + c
    for who, amount in ((ALICE, a), (BOB, b), (CAROL, c)):
        p.give_dcep(who, amount, "offering")
    p.at(T0 - 1)
    p.reverts("OUTSIDE_WINDOW", "offering", "contribute", ALICE, a)
    p.at(T0)
    p.reverts("ZERO_AMOUNT", "offering", "contribute", ALICE, 0)
    p.ok("offering", "contribute", ALICE, a)
    p.ok("offering", "contribute", BOB, b)
    end = T0 + 3 * DAY
    p.at(end - 1)
    p.ok("offering", "contribute", CAROL, c)
    p.reverts("OFFERING_OPEN", "offering", "finalize", DAVE)
    # first-depositor attack: nobody but the offering can open the pool
    p.give_dcep(DAVE, 10 * E18, "pool")
    p.reverts("UNAUTHORIZED", "pool", "add_liquidity", DAVE, 0, 10 * E18, 0, 0, DAVE, p.now)
    p.reverts("NOT_SUCCEEDED", "offering", "claim", ALICE)
    p.reverts("NOT_FAILED", "offering", "refund", ALICE)
    p.at(end)
    p.give_dcep(DAVE, E18, "offering")
    p.reverts("OUTSIDE_WINDOW", "offering", "contribute", DAVE, E18)
    out = p.run("offering", "finalize", DAVE)
    assert out.ok
    to_reserve = div_up(raised * 7000, BPS)
    to_pool = raised - to_reserve
    assert (to_reserve, to_pool) == (700_000 * E18 + 3, 300_000 * E18)
    assert p.st("reserve").reserve_dcep == to_reserve
    assert p.st("reserve").contributed[p.addr("offering")] == to_reserve
    assert (p.st("pool").reserve_mt, p.st("pool").reserve_dcep) == (300_000 * E18, to_pool)
    lp_total = isqrt(300_000 * E18 * to_pool) - 1000
    assert p.st("offering").lp_total == lp_total
    assert [dict(e.args) for e in out.events if e.name == "Finalize"] == [
        {"success": True, "raised": raised, "lp_minted": lp_total}]
    assert p.st("offering").merchant_mt == 700_000 * E18
    p.reverts("ALREADY_FINALIZED", "offering", "finalize", DAVE)
    claims = {who: amount * lp_total // raised for who, amount in ((ALICE, a), (BOB, b), (CAROL, c))}
    for who, lp in claims.items():
        assert p.ok("offering", "claim", who) == lp
        assert p.balance("pool", who) == lp
    dust = lp_total - sum(claims.values())
    assert dust == 2
    assert p.balance("pool", p.addr("offering")) == dust
    p.reverts("NOTHING_TO_CLAIM", "offering", "claim", ALICE)
    p.reverts("NOTHING_TO_CLAIM", "offering", "claim", DAVE)
    p.reverts("NOT_FAILED", "offering", "refund", BOB)


def test_offering_hard_cap(protocol_spec: ir.Spec) -> None:
    """The raise never exceeds hard_cap: the contribution that would cross it
    reverts whole; one that reaches it exactly is accepted."""
    p = Protocol(protocol_spec, {"offering.hard_cap": 2 * MILLION})
    p.at(T0)
    p.contribute(ALICE, 1_500_000 * E18)
    p.give_dcep(BOB, 600_000 * E18, "offering")
    p.reverts("HARD_CAP", "offering", "contribute", BOB, 500_000 * E18 + 1)
    p.ok("offering", "contribute", BOB, 500_000 * E18)
    assert p.st("offering").raised == 2 * MILLION
    p.reverts("HARD_CAP", "offering", "contribute", BOB, 1)
    assert p.balance("dcep", BOB) == 100_000 * E18


def test_offering_failure_refunds(protocol_spec: ir.Spec) -> None:
    """Below the soft cap the offering fails: nothing launches, claims and the
    merchant's sales are refused, each contributor gets exactly their DCEP
    back, once."""
    p = Protocol(protocol_spec)
    p.at(T0)
    p.contribute(ALICE, 600_000 * E18)
    p.contribute(BOB, 399_999 * E18)
    p.at(T0 + 3 * DAY)
    p.reverts("NOT_FAILED", "offering", "refund", ALICE)
    out = p.run("offering", "finalize", CAROL)
    assert out.ok
    assert [dict(e.args) for e in out.events if e.name == "Finalize"] == [
        {"success": False, "raised": 999_999 * E18, "lp_minted": 0}]
    assert p.st("pool").total_supply == 0 and p.st("reserve").reserve_dcep == 0
    p.reverts("NOT_SUCCEEDED", "offering", "claim", ALICE)
    p.reverts("NOT_SUCCEEDED", "offering", "merchant_sell", MERCHANT, E18, 0, p.now)
    p.reverts("NOT_SUCCEEDED", "offering", "fund_farm", MERCHANT, E18)
    assert p.ok("offering", "refund", ALICE) == 600_000 * E18
    assert p.balance("dcep", ALICE) == 600_000 * E18
    p.reverts("NOTHING_TO_CLAIM", "offering", "refund", ALICE)
    p.reverts("NOTHING_TO_CLAIM", "offering", "refund", CAROL)
    assert p.ok("offering", "refund", BOB) == 399_999 * E18
    assert p.balance("dcep", p.addr("offering")) == 0


def test_merchant_cashout_cap_over_many_small_sales(protocol_spec: ir.Spec) -> None:
    """The merchant's DCEP from selling MT, summed over time, never exceeds
    cashout_cap_bps (20%) of the raise, however the sales are split: 10,000 MT
    at a time, the sale that would cross the cap reverts whole."""
    p, launch = launched(protocol_spec)  # raise 1,000,000: cap 200,000 DCEP
    cap = 2000 * MILLION // BPS
    p.reverts("UNAUTHORIZED", "offering", "merchant_sell", ALICE, 10_000 * E18, 0, launch)
    p.reverts("EXCEEDS_MERCHANT_MT", "offering", "merchant_sell", MERCHANT, 700_000 * E18 + 1, 0, launch)
    r_mt, r_dcep, cashed, sales = 300_000 * E18, 300_000 * E18, 0, 0
    chunk = 10_000 * E18
    while True:
        p.at(p.now + 12)
        expected = amount_out(chunk, r_mt, r_dcep)
        if cashed + expected > cap:
            p.reverts("CASHOUT_CAP", "offering", "merchant_sell", MERCHANT, chunk, 0, p.now)
            break
        assert p.ok("offering", "merchant_sell", MERCHANT, chunk, 0, p.now) == expected
        r_mt, r_dcep, cashed, sales = r_mt + chunk, r_dcep - expected, cashed + expected, sales + 1
        o = p.st("offering")
        assert o.cashed_out == cashed == p.balance("dcep", MERCHANT)
        assert o.cashed_out * BPS <= o.cashout_cap_bps * o.raised
    assert sales == 60
    o = p.st("offering")
    assert (o.cashed_out, o.merchant_mt) == (cashed, 700_000 * E18 - sales * chunk)
    assert (p.st("pool").reserve_mt, p.st("pool").reserve_dcep) == (r_mt, r_dcep)
    assert cap - cashed < amount_out(chunk, r_mt, r_dcep)


# ============================================================== 6. buyback


def test_buyback_min_out_from_twap(protocol_spec: ir.Spec) -> None:
    """BUYBACK_BPS (20%) of booked revenue, rounded up, is set aside; a buyback
    swaps it for MT with min_out = ceil(ceil(d*WAD/twap)*(BPS - slippage)/BPS)
    and burns the MT. A front-run that moves the spot price by more than the
    slippage makes it revert; the TWAP (and so min_out) does not move in that
    block."""
    p, launch = launched(protocol_spec)  # price 1, Silver
    p.give_dcep(MERCHANT, 100_000 * E18, "buyback")
    p.reverts("UNAUTHORIZED", "buyback", "book_revenue", ALICE, 100 * E18)
    assert p.ok("buyback", "book_revenue", MERCHANT, 100_000 * E18) == 20_000 * E18
    assert p.ok("buyback", "book_revenue", MERCHANT, 1) == 1  # 0.2 rounded up
    p.at(launch + 3600)
    # move the price a little so that the TWAP is not round (this swap also
    # rolls the oracle's newest observation to launch + 3600)
    p.swap_dcep_for_mt(BOB, 300 * E18)
    p.at(launch + 4000)  # no observation roll is due before launch + 5400
    twap = p.fn("pool", "twap")
    assert twap != E18
    d = 500 * E18
    min_out = div_up(div_up(d * WAD, twap) * (BPS - 100), BPS)
    assert p.fn("buyback", "min_out_for", d) == min_out
    # sandwich: the attacker buys first in the same block
    p.swap_dcep_for_mt(ATTACKER, 3000 * E18)
    assert p.fn("buyback", "min_out_for", d) == min_out
    before = p.st("buyback").spent
    p.reverts("INSUFFICIENT_OUTPUT_AMOUNT", "buyback", "execute", MERCHANT, d, 0, p.now)
    assert p.st("buyback").spent == before == 0
    # without the front-run the buyback fills and burns what it buys
    p.approve("mt", ATTACKER, "pool")
    p.ok("pool", "swap_mt_for_dcep", ATTACKER, p.balance("mt", ATTACKER), 0, ATTACKER, p.now)
    pool = p.st("pool")
    expected = amount_out(d, pool.reserve_dcep, pool.reserve_mt)
    assert expected >= min_out
    supply = p.st("mt").total_supply
    out = p.run("buyback", "execute", MERCHANT, d, 0, p.now)
    assert out.ok and out.value == expected
    assert [dict(e.args) for e in out.events if e.name == "Buyback"] == [
        {"dcep_amount": d, "mt_amount": expected, "min_out": min_out}]
    assert p.st("mt").total_supply == supply - expected
    assert p.balance("mt", p.addr("buyback")) == 0
    b = p.st("buyback")
    assert (b.spent, b.burned, b.allocated, b.guaranteed) == (d, expected, 20_000 * E18 + 1, min_out)
    p.reverts("EXCEEDS_ALLOCATION", "buyback", "execute", MERCHANT, 19_500 * E18 + 2, 0, p.now)
    p.reverts("EXPIRED", "buyback", "execute", MERCHANT, d, 0, p.now - 1)
    p.reverts("UNAUTHORIZED", "buyback", "execute", ALICE, d, 0, p.now)


# ========================================================= 7. gasless mDCEP


def _signed_market(spec: ir.Spec) -> Protocol:
    p = Protocol(spec)
    p.give_dcep(ALICE, 10_000 * E18, "mdcep")
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    return p


def test_gasless_requests_reject_replays_and_bad_signatures(protocol_spec: ir.Spec) -> None:
    """mint_from_gasless_request / redeem_from_gasless_request / permit: a
    replay (INVALID_NONCE), another chain id, another verifying contract,
    another signer, another request kind, altered terms and a malleable
    (non-canonical) signature (INVALID_SIGNATURE), an expired request or expiry
    0 (REQUEST_EXPIRED) are all refused, and none of them uses up a nonce;
    checks run expiry, then nonce, then signature."""
    p = _signed_market(protocol_spec)
    mdcep = p.addr("mdcep")

    def mint_req(nonce: int, expiry: int, fee: int = 0) -> object:
        return p.record("mdcep", "MintRequest", ALICE, ALICE, nonce, expiry, 10 * E18, fee, DAVE if fee else 0)

    def submit(req: object, sig: object) -> object:
        return p.run("mdcep", "mint_from_gasless_request", RELAYER, req, sig)

    req0 = mint_req(0, p.now + 100)
    sig0 = p.sign(ALICE, "MintRequest", req0)
    assert submit(req0, sig0).ok  # type: ignore[attr-defined]
    assert p.st("mdcep").nonces[ALICE] == 1
    assert submit(req0, sig0).reason == "INVALID_NONCE"  # type: ignore[attr-defined]
    req1 = mint_req(1, p.now + 100)
    for bad in ({"chain_id": 5}, {"verifying_contract": p.addr("pool")}, {"signer": BOB},
                {"request_type": "RedeemRequest"}, {"canonical": False}):
        assert submit(req1, p.sign(ALICE, "MintRequest", req1, **bad)).reason == "INVALID_SIGNATURE", bad  # type: ignore[attr-defined]
    # the relayer raises the fee of a signed request
    signed = mint_req(1, p.now + 100, fee=0)
    altered = mint_req(1, p.now + 100, fee=E18)
    assert submit(altered, p.sign(ALICE, "MintRequest", signed)).reason == "INVALID_SIGNATURE"  # type: ignore[attr-defined]
    # a valid chain-1 signature replayed on another chain (same contract state)
    p.chain_id = 5
    assert submit(req1, p.sign(ALICE, "MintRequest", req1, chain_id=1)).reason == "INVALID_SIGNATURE"  # type: ignore[attr-defined]
    p.chain_id = 1
    expired = mint_req(1, p.now - 1)
    assert submit(expired, p.sign(ALICE, "MintRequest", expired)).reason == "REQUEST_EXPIRED"  # type: ignore[attr-defined]
    never = mint_req(1, 0)
    assert submit(never, p.sign(ALICE, "MintRequest", never)).reason == "REQUEST_EXPIRED"  # type: ignore[attr-defined]
    # order of the checks: expiry before nonce, nonce before signature
    late_and_used = mint_req(0, p.now - 1)
    assert submit(late_and_used, sig0).reason == "REQUEST_EXPIRED"  # type: ignore[attr-defined]
    assert submit(req0, p.sign(BOB, "MintRequest", req0)).reason == "INVALID_NONCE"  # type: ignore[attr-defined]
    assert p.st("mdcep").nonces[ALICE] == 1
    assert p.balance("mdcep", ALICE) == 10 * E18
    # an expiry equal to now is still valid
    edge = mint_req(1, p.now)
    assert submit(edge, p.sign(ALICE, "MintRequest", edge)).ok  # type: ignore[attr-defined]
    assert p.st("mdcep").nonces[ALICE] == 2
    assert p.st("mdcep").nonces[mdcep] == 0


def test_gasless_nonces_are_shared_and_rise_by_one(protocol_spec: ir.Spec) -> None:
    """One nonce sequence per owner for all request kinds, rising by exactly 1
    per accepted request; the relayer's fee is paid in mDCEP to the signed fee
    recipient; FEE_TOO_LARGE when the owner holds less than the fee."""
    p = _signed_market(protocol_spec)
    expiry = p.now + DAY

    def go(action: str, kind: str, *fields: int) -> object:
        req = p.record("mdcep", kind, *fields)
        return p.run("mdcep", action, RELAYER, req, p.sign(ALICE, kind, req))

    out = go("mint_from_gasless_request", "MintRequest", ALICE, ALICE, 0, expiry, 100 * E18, 2 * E18, DAVE)
    assert out.ok and out.value == 98 * E18  # type: ignore[attr-defined]
    assert (p.balance("mdcep", ALICE), p.balance("mdcep", DAVE)) == (98 * E18, 2 * E18)
    assert p.st("mdcep").nonces[ALICE] == 1
    # a redeem request may not reuse nonce 0
    assert go("redeem_from_gasless_request", "RedeemRequest", ALICE, BOB, 0, expiry, 10 * E18, E18,
              DAVE).reason == "INVALID_NONCE"  # type: ignore[attr-defined]
    out = go("redeem_from_gasless_request", "RedeemRequest", ALICE, BOB, 1, expiry, 10 * E18, E18, DAVE)
    assert out.ok and out.value == 9 * E18  # type: ignore[attr-defined]  # rate accrues nothing in 0 s
    assert (p.balance("mdcep", ALICE), p.balance("mdcep", DAVE), p.balance("dcep", BOB)) == (
        88 * E18, 3 * E18, 9 * E18)
    assert p.st("mdcep").nonces[ALICE] == 2
    assert go("permit", "PermitRequest", ALICE, BOB, 2, expiry, 7, 89 * E18, DAVE).reason == "FEE_TOO_LARGE"  # type: ignore[attr-defined]
    assert p.st("mdcep").nonces[ALICE] == 2
    out = go("permit", "PermitRequest", ALICE, BOB, 2, expiry, 7, E18, DAVE)
    assert out.ok  # type: ignore[attr-defined]
    assert p.st("mdcep").allowance[ALICE][BOB] == 7
    assert p.st("mdcep").nonces[ALICE] == 3
    # nonce 2 was used by the permit: a mint request with it is a replay
    assert go("mint_from_gasless_request", "MintRequest", ALICE, ALICE, 2, expiry, 10 * E18, 0,
              0).reason == "INVALID_NONCE"  # type: ignore[attr-defined]
    assert go("mint_from_gasless_request", "MintRequest", ALICE, ALICE, 3, expiry, 10 * E18, 0, 0).ok  # type: ignore[attr-defined]
    assert p.st("mdcep").nonces[ALICE] == 4
    assert p.st("mdcep").nonces[BOB] == 0


# ========================================================= 7. money market


def _mm(spec: ir.Spec, params: dict[str, int] | None = None) -> Protocol:
    p = Protocol(spec, params)
    p.give_dcep(ALICE, 10_000 * E18, "mdcep")
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    return p


def test_mint_and_redeem_round_down_and_never_profit(protocol_spec: ir.Spec) -> None:
    """mint gives floor(u*WAD/er) mDCEP, redeem gives floor(m*er/WAD) DCEP; after
    180 days at 6.25% (er = 1030821917808219178) minting then redeeming at once
    never returns more than was paid in."""
    p = _mm(protocol_spec)
    assert p.ok("mdcep", "mint", ALICE, 100 * E18) == 100 * E18
    p.at(p.now + 180 * DAY)
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    p.ok("mdcep", "accrue_interest", BOB)
    er = p.st("mdcep").er
    assert er == 1030821917808219178
    start = p.balance("dcep", ALICE)
    for u in (2 * E18, 2 * E18 + 7, 3 * E18 + 1, 123_456_789_012_345_678_901):
        held = p.st("mdcep").underlying_held
        minted = p.ok("mdcep", "mint", ALICE, u)
        assert minted == u * WAD // er
        paid = p.ok("mdcep", "redeem", ALICE, minted)
        assert paid == minted * er // WAD
        assert paid <= u
        assert p.st("mdcep").underlying_held == held + u - paid
    assert p.balance("dcep", ALICE) <= start
    # the first 100 mDCEP are worth the accrued rate, rounded down
    assert p.ok("mdcep", "redeem", ALICE, 3 * E18 + 1) == (3 * E18 + 1) * er // WAD
    p.reverts("AMOUNT_TOO_SMALL", "mdcep", "mint", ALICE, E18 - 1)
    p.reverts("AMOUNT_TOO_SMALL", "mdcep", "redeem", ALICE, E18 - 1)
    # a donation changes neither the rate nor the books
    p.ok("dcep", "transfer", ALICE, p.addr("mdcep"), 5 * E18)
    assert p.st("mdcep").er == er


def test_stale_oracle_blocks_mint_not_redeem(protocol_spec: ir.Spec) -> None:
    """A report older than max_staleness (1 day) blocks minting (STALE_ORACLE);
    a never-reported oracle is stale; redeeming never needs the oracle."""
    fresh = Protocol(protocol_spec)
    fresh.give_dcep(ALICE, 10 * E18, "mdcep")
    fresh.reverts("STALE_ORACLE", "mdcep", "mint", ALICE, E18)
    p = _mm(protocol_spec)
    reported = p.now
    p.ok("mdcep", "mint", ALICE, 10 * E18)
    p.at(reported + DAY)
    p.ok("mdcep", "mint", ALICE, 10 * E18)
    p.at(reported + DAY + 1)
    p.reverts("STALE_ORACLE", "mdcep", "mint", ALICE, 10 * E18)
    assert p.ok("mdcep", "redeem", ALICE, 5 * E18) >= 5 * E18
    p.reverts("FUTURE_TIMESTAMP", "oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now + 1)
    p.reverts("OUTDATED_REPORT", "oracle", "report", REPORTER, p.addr("mdcep"), MILLION, reported)
    p.reverts("UNAUTHORIZED", "oracle", "report", ALICE, p.addr("mdcep"), MILLION, p.now)
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now - 10)
    p.ok("mdcep", "mint", ALICE, 10 * E18)


def test_pause_blocks_mint_but_redeem_works(protocol_spec: ir.Spec) -> None:
    """The guardian's pause stops mint (PAUSED), not redeem; only the guardian
    pauses and unpauses."""
    p = _mm(protocol_spec)
    p.ok("mdcep", "mint", ALICE, 10 * E18)
    p.reverts("UNAUTHORIZED", "controller", "pause", ALICE)
    p.ok("controller", "pause", GUARDIAN)
    p.reverts("PAUSED", "mdcep", "mint", ALICE, 10 * E18)
    assert p.ok("mdcep", "redeem", ALICE, 10 * E18) == 10 * E18
    p.reverts("UNAUTHORIZED", "controller", "unpause", ALICE)
    p.ok("controller", "unpause", GUARDIAN)
    assert p.ok("mdcep", "mint", ALICE, 10 * E18) == 10 * E18


def test_overcollateralisation_threshold(protocol_spec: ir.Spec) -> None:
    """A mint is refused unless (offchain + onchain)*WAD >= min_collateralization *
    liabilities_next_year / WAD: minting 100 at er = 1 and 6.25% needs
    (offchain + 100)*1e18 >= 1.1e18 * 1.0625e38 / 1e18, i.e. offchain >= 16.875."""
    p = Protocol(protocol_spec)
    p.give_dcep(ALICE, 1000 * E18, "mdcep")
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), 16_875 * 10**15 - 1, p.now - 1)
    p.reverts("UNDERCOLLATERALIZED", "mdcep", "mint", ALICE, 100 * E18)
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), 16_875 * 10**15, p.now)
    assert p.ok("mdcep", "mint", ALICE, 100 * E18) == 100 * E18


def test_reserve_ratio_and_allocation_cap(protocol_spec: ir.Spec) -> None:
    """Underlying leaves for real-world assets only while the rest covers
    min_reserve_ratio (25%) of the liabilities, and no more than allocation_cap
    per allocation_interval (1 day); redemptions beyond what is on chain revert
    INSUFFICIENT_LIQUIDITY until the asset manager brings funds back."""
    p = _mm(protocol_spec, {"interest.annual_rate": 0, "mdcep.allocation_cap": 60 * E18})
    p.ok("mdcep", "mint", ALICE, 100 * E18)
    p.reverts("UNAUTHORIZED", "mdcep", "allocate_to_rwa", ALICE, E18)
    p.reverts("ALLOCATION_CAP_EXCEEDED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, 60 * E18 + 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, 50 * E18)
    p.reverts("ALLOCATION_CAP_EXCEEDED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, 10 * E18 + 1)
    p.at(p.now + DAY)  # a new window
    # 50 on chain, liabilities 100: at most 25 more may leave
    p.reverts("RESERVE_RATIO_BREACHED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, 25 * E18 + 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, 25 * E18)
    m = p.st("mdcep")
    assert (m.underlying_held, m.allocated) == (25 * E18, 75 * E18)
    assert p.balance("dcep", ASSET_MANAGER) == 75 * E18
    p.reverts("INSUFFICIENT_LIQUIDITY", "mdcep", "redeem", ALICE, 25 * E18 + 1)
    assert p.ok("mdcep", "redeem", ALICE, 25 * E18) == 25 * E18
    p.approve("dcep", ASSET_MANAGER, "mdcep")
    p.ok("mdcep", "return_from_rwa", ASSET_MANAGER, 75 * E18)
    m = p.st("mdcep")
    assert (m.underlying_held, m.allocated) == (75 * E18, 0)
    assert p.ok("mdcep", "redeem", ALICE, 75 * E18) == 75 * E18


# ============================================================ 8. timelock


def test_timelock_windows_and_cancel(protocol_spec: ir.Spec) -> None:
    """Execute only when eta <= now <= eta + GRACE_PERIOD (14 days), never after
    a cancel, never twice; a spent id cannot be queued again."""
    p = Protocol(protocol_spec)
    target, key = p.addr("oracle"), key_of("oracle.max_staleness")
    delay = p.st("timelock").delay
    assert delay == 2 * DAY
    eta = p.now + delay
    p.reverts("UNAUTHORIZED", "timelock", "queue", ALICE, target, key, 7200, eta)
    p.reverts("ETA_BEFORE_DELAY", "timelock", "queue", ADMIN, target, key, 7200, eta - 1)
    p.ok("timelock", "queue", ADMIN, target, key, 7200, eta)
    p.reverts("ALREADY_QUEUED", "timelock", "queue", ADMIN, target, key, 7200, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 3600, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 5000, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 9000, eta)
    p.reverts("UNAUTHORIZED", "timelock", "cancel", ALICE, target, key, 5000, eta)
    p.ok("timelock", "cancel", ADMIN, target, key, 5000, eta)
    p.reverts("TRANSACTION_SPENT", "timelock", "queue", ADMIN, target, key, 5000, eta)  # same block
    p.at(eta - 1)
    p.reverts("ETA_NOT_REACHED", "timelock", "execute", ADMIN, target, key, 7200, eta)
    p.at(eta)
    p.reverts("UNAUTHORIZED", "timelock", "execute", ALICE, target, key, 7200, eta)
    p.ok("timelock", "execute", ADMIN, target, key, 7200, eta)
    assert p.st("oracle").max_staleness == 7200
    p.reverts("NOT_QUEUED", "timelock", "execute", ADMIN, target, key, 7200, eta)
    p.reverts("NOT_QUEUED", "timelock", "execute", ADMIN, target, key, 5000, eta)
    p.reverts("NOT_QUEUED", "timelock", "cancel", ADMIN, target, key, 5000, eta)
    p.reverts("NOT_QUEUED", "timelock", "cancel", ADMIN, target, key, 7200, eta)
    p.at(eta + 14 * DAY)
    p.ok("timelock", "execute", ADMIN, target, key, 3600, eta)  # the last second of grace
    assert p.st("oracle").max_staleness == 3600
    p.at(eta + 14 * DAY + 1)
    p.reverts("TRANSACTION_STALE", "timelock", "execute", ADMIN, target, key, 9000, eta)
    tl = p.st("timelock")
    assert tl.cancelled[hash_(target, key, 5000, eta)] and not tl.executed[hash_(target, key, 5000, eta)]


def test_govern_applies_parameters_only_within_bounds(protocol_spec: ir.Spec) -> None:
    """`govern` sets a governed parameter inside its declared bounds; a value
    outside them reverts OUT_OF_BOUNDS (and the transaction stays queued); an
    unknown key, or a key of another module, reverts UNKNOWN_PARAMETER. The
    timelock's own delay changes only this way, and then rules later queues."""
    p = Protocol(protocol_spec)
    eta = p.now + 2 * DAY
    calls = [
        ("oracle", "oracle.max_staleness", 7 * DAY + 1, "OUT_OF_BOUNDS"),
        ("oracle", "oracle.max_staleness", 3599, "OUT_OF_BOUNDS"),
        ("controller", "controller.min_reserve_ratio", 5 * 10**16 - 1, "OUT_OF_BOUNDS"),
        ("controller", "controller.market_enabled", 2, "OUT_OF_BOUNDS"),
        ("interest", "interest.annual_rate", 25 * 10**16 + 1, "OUT_OF_BOUNDS"),
        ("timelock", "timelock.delay", DAY, "OUT_OF_BOUNDS"),
        ("oracle", "oracle.reporter", 0, "OUT_OF_BOUNDS"),
        ("oracle", "oracle.offchain_value", 1, "UNKNOWN_PARAMETER"),
        ("oracle", "oracle.nope", 1, "UNKNOWN_PARAMETER"),
        ("oracle", "controller.min_reserve_ratio", 3 * 10**17, "UNKNOWN_PARAMETER"),
        ("controller", "controller.min_reserve_ratio", 3 * 10**17, None),
        ("interest", "interest.annual_rate", 25 * 10**16, None),
        ("timelock", "timelock.delay", 3 * DAY, None),
    ]
    for module, name, value, _ in calls:
        p.ok("timelock", "queue", ADMIN, p.addr(module), key_of(name), value, eta)
    p.at(eta)
    for module, name, value, reason in calls:
        if reason is None:
            p.ok("timelock", "execute", ADMIN, p.addr(module), key_of(name), value, eta)
        else:
            p.reverts(reason, "timelock", "execute", ADMIN, p.addr(module), key_of(name), value, eta)
            assert p.st("timelock").queued[hash_(p.addr(module), key_of(name), value, eta)]
    assert p.st("controller").min_reserve_ratio == 3 * 10**17
    assert p.st("interest").annual_rate == 25 * 10**16
    assert p.st("oracle").max_staleness == DAY
    assert p.st("timelock").delay == 3 * DAY
    p.reverts("ETA_BEFORE_DELAY", "timelock", "queue", ADMIN, p.addr("oracle"), key_of("oracle.max_staleness"),
              7200, p.now + 3 * DAY - 1)
    p.ok("timelock", "queue", ADMIN, p.addr("oracle"), key_of("oracle.max_staleness"), 7200, p.now + 3 * DAY)


def test_governor_to_timelock_end_to_end(protocol_spec: ir.Spec) -> None:
    """DMG holders propose, vote with the votes they had at the start block, and
    enact a parameter change through the timelock (docs/protocol.md section 8).
    Tokens that arrive after the start block carry no weight."""
    governor = default_address(list(protocol_spec.modules).index("governor"))
    p = Protocol(protocol_spec, {"timelock.admin": governor})
    assert p.addr("governor") == governor
    p.at(p.now + 12, 10)
    p.ok("dmg", "transfer", TREASURY, ALICE, 3_000_000 * E18)
    p.ok("dmg", "transfer", TREASURY, BOB, 11_000_000 * E18)
    p.ok("dmg", "delegate", ALICE, ALICE)
    p.ok("dmg", "delegate", BOB, BOB)
    p.at(p.now + 12, 11)
    p.reverts("BELOW_PROPOSAL_THRESHOLD", "governor", "propose", CAROL, p.addr("oracle"),
              key_of("oracle.max_staleness"), 7200)
    # Dave's tokens arrive and are delegated in the block he proposes in: no weight yet
    p.ok("dmg", "transfer", TREASURY, DAVE, 5_000_000 * E18)
    p.ok("dmg", "delegate", DAVE, DAVE)
    p.reverts("BELOW_PROPOSAL_THRESHOLD", "governor", "propose", DAVE, p.addr("oracle"),
              key_of("oracle.max_staleness"), 7200)
    pid = p.ok("governor", "propose", ALICE, p.addr("oracle"), key_of("oracle.max_staleness"), 7200)
    assert pid == 1
    start = p.st("governor").proposals[1].start_block
    assert start == 12
    p.at(p.now + 12, 12)
    p.reverts("VOTING_CLOSED", "governor", "cast_vote", BOB, 1, True)
    p.at(p.now + 12, 13)
    p.ok("dmg", "transfer", TREASURY, CAROL, 50_000_000 * E18)  # arrives after the start block
    p.ok("dmg", "delegate", CAROL, CAROL)
    assert p.ok("governor", "cast_vote", BOB, 1, True) == 11_000_000 * E18
    assert p.ok("governor", "cast_vote", CAROL, 1, False) == 0
    p.reverts("ALREADY_VOTED", "governor", "cast_vote", BOB, 1, True)
    end = p.st("governor").proposals[1].end_block
    p.at(p.now + 12, end)
    p.reverts("NOT_SUCCEEDED", "governor", "queue", ALICE, 1)
    p.at(p.now + 12, end + 1)
    p.ok("governor", "queue", ALICE, 1)
    eta = p.st("governor").proposals[1].eta
    assert eta == p.now + 2 * DAY
    p.at(eta - 1)
    p.reverts("ETA_NOT_REACHED", "governor", "execute", ALICE, 1)
    p.at(eta)
    p.ok("governor", "execute", ALICE, 1)
    assert p.st("oracle").max_staleness == 7200


# ===================================================== more protocol rules


@pytest.mark.parametrize(("params", "reason"), [
    ({"phases.floor": 10**18}, "BAD_PHASE_ORDER"),            # floor == bronze_price
    ({"phases.bronze_price": 10 * E18}, "BAD_PHASE_ORDER"),   # bronze_price == issue_price
    ({"phases.floor": 2 * E18}, "BAD_PHASE_ORDER"),           # floor above bronze_price
    ({"phases.floor": 0}, "ZERO_FLOOR"),
])
def test_phase_thresholds_must_ascend(protocol_spec: ir.Spec, params: dict[str, int], reason: str) -> None:
    """floor < bronze_price < issue_price; the spec rejects any other ordering at
    creation (docs/protocol.md section 4)."""
    from reference.runtime import Revert

    with pytest.raises(Revert) as err:
        Protocol(protocol_spec, params)
    assert err.value.reason == reason


def test_farm_never_pays_beyond_its_budget(protocol_spec: ir.Spec) -> None:
    """Paid plus pending never exceeds the funded budget: emission stops when the
    budget is spent, and each reward share rounds down (the dust stays)."""
    p, launch = launched(protocol_spec)
    p.ok("offering", "claim", DAVE)
    for who in (ALICE, BOB):
        p.ok("pool", "transfer", DAVE, who, 1000)
        p.approve("pool", who, "farm")
    t = launch + 100
    p.at(t)
    p.ok("offering", "fund_farm", MERCHANT, 1000)  # 1000 MT wei; the rate is 1e17 per second
    p.ok("farm", "deposit", ALICE, 10)
    p.ok("farm", "deposit", BOB, 30)
    p.at(t + 50)
    assert (p.fn("farm", "pending_reward", ALICE), p.fn("farm", "pending_reward", BOB)) == (250, 750)
    assert p.ok("farm", "harvest", ALICE) == 250
    assert p.ok("farm", "harvest", BOB) == 750
    p.at(t + 5000)
    assert p.ok("farm", "harvest", BOB) == 0
    f = p.st("farm")
    assert (f.funded, f.emitted, f.paid) == (1000, 1000, 1000)
    p.ok("offering", "fund_farm", MERCHANT, 101)
    p.at(t + 5001)
    # acc grows by floor(101e12/40); 10 and 30 LP earn 25.25 and 75.75
    assert p.ok("farm", "harvest", ALICE) == 25
    assert p.ok("farm", "harvest", BOB) == 75
    f = p.st("farm")
    assert (f.funded, f.emitted, f.paid) == (1101, 1101, 1100)
    assert p.balance("mt", p.addr("farm")) == 1


def test_donations_move_no_price_share_or_capacity(protocol_spec: ir.Spec) -> None:
    """Donation inflation: tokens sent straight to the pool, the reserve, the farm
    or the market change no reserve, price, LP share, capacity, stake or rate:
    every module counts with its own accounting variables."""
    p, launch = launched(protocol_spec)
    p.at(launch + 1800)
    twap = p.fn("pool", "twap")
    pool = p.st("pool")
    reserves = (pool.reserve_mt, pool.reserve_dcep)
    p.give_dcep(ATTACKER, 3 * MILLION)
    p.ok("dcep", "transfer", ATTACKER, p.addr("pool"), MILLION)
    p.ok("dcep", "transfer", ATTACKER, p.addr("reserve"), MILLION)
    p.ok("dcep", "transfer", ATTACKER, p.addr("mdcep"), MILLION)
    assert (p.st("pool").reserve_mt, p.st("pool").reserve_dcep) == reserves
    assert p.fn("pool", "twap") == twap and p.fn("pool", "spot_price") == E18
    assert (p.st("reserve").reserve_dcep, p.st("reserve").capacity) == (700_000 * E18, 1_400_000 * E18)
    assert p.st("mdcep").underlying_held == 0 and p.st("mdcep").er == E18
    # a later deposit is priced from the reserves, not the balances:
    # min(mt*S/R_mt, dcep*S/R_dcep) with the router's optimal amounts
    mt_in = p.swap_dcep_for_mt(BOB, 1000 * E18)
    pool = p.st("pool")
    r_mt, r_dcep, supply = pool.reserve_mt, pool.reserve_dcep, pool.total_supply
    p.approve("mt", BOB, "pool")
    p.give_dcep(BOB, 2000 * E18, "pool")
    dcep_in = mt_in * r_dcep // r_mt
    assert dcep_in <= 2000 * E18
    p.reverts("INSUFFICIENT_DCEP_AMOUNT", "pool", "add_liquidity", BOB, mt_in, 2000 * E18, 0, dcep_in + 1, BOB,
              p.now)
    p.reverts("EXPIRED", "pool", "add_liquidity", BOB, mt_in, 2000 * E18, 0, 0, BOB, p.now - 1)
    lp = p.ok("pool", "add_liquidity", BOB, mt_in, 2000 * E18, 0, 0, BOB, p.now)
    assert lp == min(mt_in * supply // r_mt, dcep_in * supply // r_dcep)
    assert p.balance("dcep", BOB) == 2000 * E18 - dcep_in
    # adding then removing liquidity at once never returns more of either token
    half = lp // 2
    pool = p.st("pool")
    mt_back, dcep_back = half * pool.reserve_mt // pool.total_supply, half * pool.reserve_dcep // pool.total_supply
    p.ok("pool", "remove_liquidity", BOB, half, 0, 0, BOB, p.now)
    assert (p.balance("mt", BOB), p.balance("dcep", BOB)) == (mt_back, 2000 * E18 - dcep_in + dcep_back)
    assert 2 * mt_back <= mt_in and 2 * dcep_back <= dcep_in
    lp -= half
    # LP sent to the farm is no stake
    p.ok("offering", "claim", DAVE)
    p.approve("pool", DAVE, "farm")
    p.ok("offering", "fund_farm", MERCHANT, 1000 * E18)
    p.ok("farm", "deposit", DAVE, 1000 * E18)
    p.ok("pool", "transfer", BOB, p.addr("farm"), lp)
    assert p.st("farm").total_staked == 1000 * E18
    p.at(p.now + 10)
    assert p.fn("farm", "pending_reward", DAVE) == 10 * 10**17  # the whole emission: 10 s at 0.1 MT


def test_vesting_cliff_then_linear(protocol_spec: ir.Spec) -> None:
    """Nothing vests before the cliff; then vesting is linear from the start;
    everything has vested at the end; released never exceeds vested
    (docs/protocol.md section 8). Locked DMG does not vote."""
    from imo_protocol import FUNDER

    p = Protocol(protocol_spec)
    assert p.st("dmg").total_supply == 250_000_000 * E18
    p.ok("dmg", "transfer", TREASURY, FUNDER, 1000 * E18)
    p.approve("dmg", FUNDER, "vesting")
    s = p.now + 10
    p.reverts("UNAUTHORIZED", "vesting", "add_grant", ALICE, ALICE, 1000 * E18, s, s + 100, s + 1000)
    p.reverts("BAD_SCHEDULE", "vesting", "add_grant", FUNDER, ALICE, 1000 * E18, s, s + 1001, s + 1000)
    p.ok("vesting", "add_grant", FUNDER, ALICE, 1000 * E18, s, s + 100, s + 1000)
    p.reverts("GRANT_EXISTS", "vesting", "add_grant", FUNDER, ALICE, 1, s, s, s + 1)
    p.at(s + 99)
    p.reverts("NOTHING_TO_RELEASE", "vesting", "release", ALICE)
    p.at(s + 100)
    assert p.ok("vesting", "release", ALICE) == 100 * E18
    p.at(s + 333)
    assert p.ok("vesting", "release", ALICE) == 1000 * E18 * 333 // 1000 - 100 * E18
    p.at(s + 1000)
    assert p.ok("vesting", "release", ALICE) == 1000 * E18 - 333 * E18
    p.at(s + 5000)
    p.reverts("NOTHING_TO_RELEASE", "vesting", "release", ALICE)
    assert p.balance("dmg", ALICE) == 1000 * E18
    assert p.st("dmg").current_votes[p.addr("vesting")] == 0
    assert p.st("dmg").total_supply == 250_000_000 * E18


def test_merchant_cannot_earn_back_its_mt_through_the_farm(protocol_spec: ir.Spec) -> None:
    """docs/protocol.md section 1: "the DCEP the merchant receives from selling MT into
    the pool, summed over time, never exceeds cashout_cap_bps of the raise".

    Attack (found by this suite): the merchant contributes 10% of the raise,
    stakes its LP as the only staker, funds the farm with all its retained MT,
    harvests it back and sells it outside `merchant_sell`, receiving about
    210,000 DCEP against a 200,000 cap. The spec now refuses the merchant's
    stake (farm.deposit: MERCHANT_CANNOT_STAKE), so the retained MT can only
    reach the merchant through the capped `merchant_sell`. Anyone else may stake.
    """
    p = Protocol(protocol_spec)
    p.launch({DAVE: 900_000 * E18, MERCHANT: 100_000 * E18})
    lp = p.ok("offering", "claim", MERCHANT)
    p.approve("pool", MERCHANT, "farm")
    p.reverts("MERCHANT_CANNOT_STAKE", "farm", "deposit", MERCHANT, lp)
    dave_lp = p.ok("offering", "claim", DAVE)
    p.approve("pool", DAVE, "farm")
    p.ok("farm", "deposit", DAVE, dave_lp)
    assert p.st("farm").staked[MERCHANT] == 0 and p.st("farm").staked[DAVE] == dave_lp


def test_reserves_fit_in_112_bits(protocol_spec: ir.Spec) -> None:
    """Reserves fit in 112 bits: a swap that would push a reserve above
    MAX_UINT112 reverts OVERFLOW (docs/protocol.md section 2)."""
    p, _ = launched(protocol_spec)
    big = (2**112 - 1) - 300_000 * E18
    p.give_dcep(ATTACKER, big + 1, "pool")
    p.reverts("OVERFLOW", "pool", "swap_dcep_for_mt", ATTACKER, big + 1, 0, ATTACKER, p.now)
    p.ok("pool", "swap_dcep_for_mt", ATTACKER, big, 0, ATTACKER, p.now)
    assert p.st("pool").reserve_dcep == 2**112 - 1
