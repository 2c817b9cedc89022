"""The published DMM vectors (defi-money-market-ecosystem/protocol, test/protocol)
on the money market's contracts, on both EVMs: the same vectors
tests/reference/test_vectors.py checks on the model, here with every step
also compared in full between the model and the contracts (the
documented differences there hold here too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.test_money_market_attacks import BACKENDS, DAY, WAD, Market, _market

E18 = 10**18
RATE = 62500000000000000  # DMM's InterestRateImplV1: 6.25% APY


@pytest.fixture(params=BACKENDS)
def m(request: pytest.FixtureRequest, tmp_path: Path) -> Market:
    return _market(request.param, tmp_path)


def test_dmm_interest_rate(m: Market) -> None:
    """InterestRateImplV1.test.js: the rate is 62500000000000000; the market accrues at it from 1e18."""
    assert m.state("interest").annual_rate == RATE == m.state("mdcep").accrual_rate
    assert m.ok("mdcep", "accrue_interest", m.attacker) == WAD


@pytest.mark.parametrize(("days", "expected_er"), [(365, 1062500000000000000), (180, 1030821917808219178)])
def test_dmm_exchange_rate_accrual(m: Market, days: int, expected_er: int) -> None:
    """DmmToken.Misc.test.js, 'update properly over 1 year' / 'over awkward
    time': a mint after the time passes sets the rate to
    1e18 + elapsed*rate/31536000 (elapsed exact here) and stamps the time."""
    start = m.state("mdcep").last_accrual
    m.wait(start + days * DAY - m.now)
    m.report()
    minted = m.ok("mdcep", "mint", m.holder, 100 * E18)
    assert m.state("mdcep").er == expected_er
    assert m.state("mdcep").last_accrual == start + days * DAY
    assert minted == 100 * E18 * WAD // expected_er


def test_dmm_mint_and_redeem(m: Market) -> None:
    """DmmToken.UserInteractions.test.js: mint 25 gives 25 (Mint event with
    25), redeem 25 pays 25 back."""
    mdcep_before = m.state("mdcep").balance_of[m.holder]
    dcep_before = m.state("dcep").balance_of[m.holder]
    report = m.step("mdcep", "mint", m.holder, 25 * E18)
    assert report.model.ok and report.model.value == 25 * E18
    mint_events = [dict(e.args) for e in report.model.events if e.name == "Mint"]
    assert mint_events == [{"payer": m.holder, "recipient": m.holder, "underlying": 25 * E18, "minted": 25 * E18}]
    assert m.state("mdcep").balance_of[m.holder] == mdcep_before + 25 * E18
    assert m.ok("mdcep", "redeem", m.holder, 25 * E18) == 25 * E18
    assert m.state("dcep").balance_of[m.holder] == dcep_before


def test_dmm_mint_refusals(m: Market) -> None:
    """DmmToken.UserInteractions.test.js: 'should not mint if ecosystem is
    paused' (PAUSED), 'amount is too small' (1 wei: AMOUNT_TOO_SMALL);
    redeeming stays open while paused (documented difference)."""
    m.ok("mdcep", "mint", m.holder, 25 * E18)
    m.reverts("AMOUNT_TOO_SMALL", "mdcep", "mint", m.holder, 1)
    m.ok("controller", "pause", m.manager)
    m.reverts("PAUSED", "mdcep", "mint", m.holder, 25 * E18)
    assert m.ok("mdcep", "redeem", m.holder, 10 * E18) == 10 * E18


def test_dmm_gasless_mint(m: Market) -> None:
    """DmmToken.GaslessMint.test.js: 'should mint using gasless request'
    (nonce 0, amount 25), '... with fees' (fee 1: recipient 24, fee
    recipient 1), '... consecutively' (nonce 2 after two); expiry 0 is
    refused (documented difference: DMM's 0 meant "never")."""
    owner, carol, dave, relayer = m.holder, m.attacker, m.manager, m.relayer

    def gasless(nonce: int, amount: int, fee: int, fee_recipient: int, expiry: int | None = None) -> object:
        req = (owner, carol, nonce, m.now + DAY if expiry is None else expiry, amount, fee, fee_recipient)
        return m.step("mdcep", "mint_from_gasless_request", relayer, req,
                     m.signed("mint_from_gasless_request", req)).model

    carol0, dave0 = m.state("mdcep").balance_of[carol], m.state("mdcep").balance_of[dave]
    out = gasless(0, 25 * E18, 0, 0)
    assert out.ok and out.value == 25 * E18  # type: ignore[attr-defined]
    out = gasless(1, 25 * E18, 1 * E18, dave)
    assert out.ok and out.value == 24 * E18  # type: ignore[attr-defined]
    assert m.state("mdcep").balance_of[carol] == carol0 + 49 * E18
    assert m.state("mdcep").balance_of[dave] == dave0 + 1 * E18
    assert m.state("mdcep").nonces[owner] == 2
    assert gasless(2, 25 * E18, 0, 0, expiry=0).reason == "REQUEST_EXPIRED"  # type: ignore[attr-defined]
    # DmmToken.GaslessMint.test.js refusals: fee too large, fee recipient 0x0, bad nonce
    assert gasless(2, 1 * E18, 25 * E18, dave).reason == "FEE_TOO_LARGE"  # type: ignore[attr-defined]
    assert gasless(2, 25 * E18, 1 * E18, 0).reason == "ZERO_ADDRESS"  # type: ignore[attr-defined]
    assert gasless(24832, 25 * E18, 1 * E18, dave).reason == "INVALID_NONCE"  # type: ignore[attr-defined]
    # 'actual mint amount is too small': accepted here (the minimum is on the underlying)
    out = gasless(2, 25 * E18, 24_990_000_000_000_000_000, dave)
    assert out.ok and out.value == 10**16  # type: ignore[attr-defined]


@pytest.mark.parametrize("mutant", [None, ("if fee > 0:\n        self._mint(fee_recipient, fee)",
                                           "if fee > 1:\n        self._mint(fee_recipient, fee)")])
def test_a_fee_of_one_wei_is_minted_to_the_fee_recipient(mutant: tuple[str, str] | None, tmp_path: Path) -> None:
    """The smallest fee of a signed mint (a mutant that skips a fee of 1 wei
    survived the campaigns' sample: docs/money-market.md)."""
    replace = None if mutant is None else ("market.vy", *mutant)
    m = _market("pyrevm", tmp_path, replace)  # type: ignore[arg-type]
    req = (m.holder, m.holder, 0, m.now + DAY, 5 * E18, 1, m.relayer)
    before = m.state("mdcep").balance_of[m.relayer]

    def run() -> None:
        assert m.ok("mdcep", "mint_from_gasless_request", m.relayer, req,
                     m.signed("mint_from_gasless_request", req)) == 5 * E18 - 1
        assert m.state("mdcep").balance_of[m.relayer] == before + 1

    if mutant is None:
        run()
    else:
        with pytest.raises(AssertionError):
            run()
