"""Issue 12: the money-market rules made complete, on the reference model.

Each test drives the model with every rule checked (imo_protocol.Protocol) and
pins one hole the review found: interest that compounded on every touch, an
allocation cap per fixed window, allocation while paused or disabled, dust
that could not leave, and a report that counted returned funds twice. The
expected numbers come from docs/protocol.md §7's formulas, computed here.
"""

from __future__ import annotations

import pytest
from imo_protocol import ADMIN, ALICE, ASSET_MANAGER, BOB, DAY, GUARDIAN, REPORTER, WAD, YEAR, Protocol

from reference.runtime import key_of
from spec import ir

E18 = WAD
MILLION = 1_000_000 * E18


def _mm(spec: ir.Spec, params: dict[str, int] | None = None) -> Protocol:
    p = Protocol(spec, params)
    p.give_dcep(ALICE, 10_000 * E18, "mdcep")
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    return p


@pytest.mark.parametrize("period", [
    pytest.param(86400, id="daily"),
    # the same rule touched 24 times as often: minutes of model steps, so `slow`
    pytest.param(3600, id="hourly", marks=pytest.mark.slow),
])
def test_touching_the_market_all_year_pays_exactly_the_stated_apy(protocol_spec: ir.Spec, period: int) -> None:
    """The seed: 1 at 6.25% APY is 1.0625 after a year. Accrual is simple
    interest from a checkpoint, so touching the market every day (365
    touches) or every hour (8,760) for a year ends at exactly 1.0625e18;
    compounding on every touch, as before, reached 1.06449e18 (daily and
    hourly alike)."""
    p = _mm(protocol_spec)
    start = p.now
    for k in range(1, YEAR // period + 1):
        p.at(start + k * period)
        p.ok("mdcep", "accrue_interest", BOB)
    assert p.now == start + YEAR
    assert p.st("mdcep").er == 10625 * 10**14
    # halfway through the next year, still from the same checkpoint
    p.at(start + YEAR + YEAR // 2)
    assert p.ok("mdcep", "accrue_interest", BOB) == WAD * (WAD + 625 * 10**14 * (YEAR + YEAR // 2) // YEAR) // WAD


def test_overcollateralisation_projects_with_the_accrual_rule(protocol_spec: ir.Spec) -> None:
    """liabilities_next_year is the supply times the exchange rate a year
    after now by the same simple-interest rule: half a year after the
    checkpoint, 100 mDCEP are projected at er(1.5 years) = 1.09375, not at
    er(0.5 years) * 1.0625 (1.0966...)."""
    p = _mm(protocol_spec)
    base = p.now
    p.at(base + YEAR // 2)
    projected = p.fn("controller", "liabilities_next_year", 100 * E18, WAD, 625 * 10**14, YEAR // 2)
    assert projected == 100 * E18 * 109375 * 10**13
    compounded = 100 * E18 * (WAD * (WAD + 625 * 10**14 // 2) // WAD) * (WAD + 625 * 10**14) // WAD
    assert projected < compounded


def test_pause_and_disable_stop_allocation(protocol_spec: ir.Spec) -> None:
    """The guardian's pause and governance's disable stop every outflow to
    real-world assets (PAUSED, MARKET_DISABLED); holders still redeem."""
    p = _mm(protocol_spec)
    p.ok("mdcep", "mint", ALICE, 100 * E18)
    p.ok("controller", "pause", GUARDIAN)
    p.reverts("PAUSED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, E18)
    assert p.ok("mdcep", "redeem", ALICE, 10 * E18) == 10 * E18
    p.ok("controller", "unpause", GUARDIAN)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, E18)
    off = _mm(protocol_spec, {"controller.market_enabled": 0})
    off.reverts("MARKET_DISABLED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, E18)


def test_dust_below_the_minimum_can_leave(protocol_spec: ir.Spec) -> None:
    """A holder left with 0.5 mDCEP (below the 1 mDCEP minimum) redeems it
    all; part of a balance below the minimum is still refused."""
    p = _mm(protocol_spec, {"interest.annual_rate": 0})
    p.ok("mdcep", "mint", ALICE, 10 * E18)
    p.ok("mdcep", "transfer", ALICE, BOB, E18 // 2)
    p.reverts("AMOUNT_TOO_SMALL", "mdcep", "redeem", BOB, E18 // 2 - 1)
    assert p.ok("mdcep", "redeem", BOB, E18 // 2) == E18 // 2
    assert p.balance("mdcep", BOB) == 0
    # a redemption of nothing is no whole balance
    p.reverts("AMOUNT_TOO_SMALL", "mdcep", "redeem", BOB, 0)


def test_allocation_cap_bounds_every_interval(protocol_spec: ir.Spec) -> None:
    """The cap is a rolling budget: after moving the whole cap, one second
    later only cap/86400 more may leave (fixed windows let the whole cap
    leave again at the window boundary); a full interval later the cap again."""
    cap = 86_400 * E18
    p = _mm(protocol_spec, {"interest.annual_rate": 0, "mdcep.allocation_cap": cap,
                            "controller.min_reserve_ratio": 5 * 10**16})
    p.give_dcep(BOB, 1_000_000 * E18, "mdcep")
    p.ok("mdcep", "mint", BOB, 1_000_000 * E18)
    p.at(p.now + DAY - 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, cap)
    p.at(p.now + 1)
    p.reverts("ALLOCATION_CAP_EXCEEDED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, E18 + 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, E18)
    p.at(p.now + 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, E18)
    p.at(p.now + DAY)
    p.reverts("ALLOCATION_CAP_EXCEEDED", "mdcep", "allocate_to_rwa", ASSET_MANAGER, cap + 1)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, cap)


def test_returned_funds_are_not_counted_twice(protocol_spec: ir.Spec) -> None:
    """After return_from_rwa, minting waits for a report observed after the
    return (STALE_ORACLE), so the repaid loans are not counted off chain while
    the returned DCEP counts on chain; redeeming never waits."""
    p = _mm(protocol_spec)
    p.ok("mdcep", "mint", ALICE, 100 * E18)
    p.ok("mdcep", "allocate_to_rwa", ASSET_MANAGER, 50 * E18)
    p.approve("dcep", ASSET_MANAGER, "mdcep")
    p.at(p.now + 60)
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    p.ok("mdcep", "return_from_rwa", ASSET_MANAGER, 50 * E18)
    p.reverts("STALE_ORACLE", "mdcep", "mint", ALICE, 10 * E18)
    assert p.ok("mdcep", "redeem", ALICE, 10 * E18) >= 10 * E18
    p.at(p.now + 1)
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), MILLION - 50 * E18, p.now)
    p.ok("mdcep", "mint", ALICE, 10 * E18)


def test_a_rate_change_accrues_at_the_old_rate_first(protocol_spec: ir.Spec) -> None:
    """A rate change through the timelock accrues first, as Compound's setter
    does: half a year at 6.25%, a cut to 0 executed, then a gap of 180 days
    before the next touch. The touch pays the half year at 6.25% and nothing
    for the gap (before, the first touch after the cut paid the gap at the
    old rate too, and the rate in force lagged the governed one)."""
    p = _mm(protocol_spec)
    start = p.now
    eta = start + YEAR // 2
    target, key = p.addr("interest"), key_of("interest.annual_rate")
    p.ok("timelock", "queue", ADMIN, target, key, 0, eta)
    p.at(eta)
    p.ok("timelock", "execute", ADMIN, target, key, 0, eta)
    half_year = WAD * (WAD + 625 * 10**14 * (YEAR // 2) // YEAR) // WAD
    mm = p.st("mdcep")
    assert (mm.er, mm.last_accrual, mm.accrual_rate, mm.er_base, mm.base_time) == (half_year, eta, 0, half_year, eta)
    p.at(eta + 180 * DAY)
    assert p.ok("mdcep", "accrue_interest", BOB) == half_year
    # and a raise applies from its execution on, not from the last touch
    eta2 = p.now + 2 * DAY
    p.ok("timelock", "queue", ADMIN, target, key, 10**17, eta2)
    p.at(eta2 + 10 * DAY)
    p.ok("timelock", "execute", ADMIN, target, key, 10**17, eta2)
    assert p.st("mdcep").er == half_year
    p.at(p.now + YEAR)
    assert p.ok("mdcep", "accrue_interest", BOB) == half_year * (WAD + 10**17) // WAD


def test_the_reporter_is_replaced_only_through_the_timelock(protocol_spec: ir.Spec) -> None:
    """The oracle's reporter is governed: the timelock hands reporting to
    another address (after its delay), the old reporter is then refused, and
    the zero address is refused as a reporter (OUT_OF_BOUNDS)."""
    p = _mm(protocol_spec)
    target, key = p.addr("oracle"), key_of("oracle.reporter")
    eta = p.now + 2 * DAY
    p.ok("timelock", "queue", ADMIN, target, key, BOB, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 0, eta)
    p.at(eta)
    p.reverts("OUT_OF_BOUNDS", "timelock", "execute", ADMIN, target, key, 0, eta)
    assert p.st("oracle").reporter == REPORTER
    p.ok("timelock", "execute", ADMIN, target, key, BOB, eta)
    assert p.st("oracle").reporter == BOB
    p.reverts("UNAUTHORIZED", "oracle", "report", REPORTER, p.addr("mdcep"), MILLION, p.now)
    p.ok("oracle", "report", BOB, p.addr("mdcep"), MILLION, p.now)


USDC = 10**6  # one USDC in its smallest units


def test_adding_a_market_is_governed(protocol_spec: ir.Spec) -> None:
    """A market deployed unlisted (musdc) mints nothing and allocates nothing
    until governance lists it through the timelock, after its delay; delisted
    again, it mints nothing but its holders still redeem. Its off-chain
    collateral is reported apart, in its own units: mDCEP's report does not
    back it."""
    p = _mm(protocol_spec)
    p.ok("usdc", "mint", ALICE, ALICE, 10_000 * USDC)
    p.approve("usdc", ALICE, "musdc")
    assert p.st("musdc").listed == 0 and p.st("mdcep").listed == 1
    p.reverts("MARKET_NOT_LISTED", "musdc", "mint", ALICE, 100 * USDC)
    p.reverts("MARKET_NOT_LISTED", "musdc", "allocate_to_rwa", ASSET_MANAGER, USDC)
    target, key = p.addr("musdc"), key_of("musdc.listed")
    eta = p.now + 2 * DAY
    p.reverts("UNAUTHORIZED", "timelock", "queue", ALICE, target, key, 1, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 1, eta)
    p.ok("timelock", "queue", ADMIN, target, key, 2, eta)
    p.at(eta - 1)
    p.reverts("ETA_NOT_REACHED", "timelock", "execute", ADMIN, target, key, 1, eta)
    p.at(eta)
    p.reverts("OUT_OF_BOUNDS", "timelock", "execute", ADMIN, target, key, 2, eta)
    p.ok("timelock", "execute", ADMIN, target, key, 1, eta)
    assert p.st("musdc").listed == 1
    # the report on file is mDCEP's (fresh, in DCEP wei): none for mUSDC yet
    p.reverts("STALE_ORACLE", "musdc", "mint", ALICE, 100 * USDC)
    p.ok("oracle", "report", REPORTER, p.addr("musdc"), 1_000_000 * USDC, p.now)
    er = p.fn("musdc", "er_at", p.now)  # two days of interest since its deployment
    assert er > WAD and p.ok("musdc", "mint", ALICE, 100 * USDC) == 100 * USDC * WAD // er
    # delisted: no more minting, redeeming stays open
    eta2 = p.now + 2 * DAY
    p.ok("timelock", "queue", ADMIN, target, key, 0, eta2)
    p.at(eta2)
    p.ok("timelock", "execute", ADMIN, target, key, 0, eta2)
    p.reverts("MARKET_NOT_LISTED", "musdc", "mint", ALICE, 100 * USDC)
    assert p.ok("musdc", "redeem", ALICE, 50 * USDC) >= 50 * USDC


def test_a_six_decimal_market_counts_in_its_own_units(protocol_spec: ir.Spec) -> None:
    """mUSDC's minimums and allocation cap default to 1 and 1,000,000 USDC in
    USDC's 6 decimals (not 10**18 units, which would be 10**12 USDC), and a
    report of mDCEP's collateral counts nothing for mUSDC: each market's
    collateral test reads its own report."""
    p = Protocol(protocol_spec, {"musdc.listed": 1, "interest.annual_rate": 0})
    assert (p.st("musdc").min_mint_amount, p.st("musdc").min_redeem_amount) == (USDC, USDC)
    assert p.st("musdc").allocation_cap == 1_000_000 * USDC
    assert p.st("mdcep").allocation_cap == 1_000_000 * WAD
    p.ok("usdc", "mint", ALICE, ALICE, 10_000_000 * USDC)
    p.approve("usdc", ALICE, "musdc")
    p.ok("oracle", "report", REPORTER, p.addr("mdcep"), 10**30, p.now)
    p.ok("oracle", "report", REPORTER, p.addr("musdc"), 100 * USDC, p.now)
    p.reverts("AMOUNT_TOO_SMALL", "musdc", "mint", ALICE, USDC - 1)
    # 100 USDC off chain back at most 100/1.1 = 90.9 USDC of next year's liabilities
    # with nothing on chain; with the deposit on chain too, (100 + x)/1.1 >= x: x <= 1000
    p.reverts("UNDERCOLLATERALIZED", "musdc", "mint", ALICE, 1000 * USDC + 1)
    assert p.ok("musdc", "mint", ALICE, 1000 * USDC) == 1000 * USDC
    assert p.ok("musdc", "redeem", ALICE, USDC) == USDC
