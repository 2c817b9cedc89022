"""Issue 12: the money market's interest model, oracle, controller and its
two markets (mdcep and musdc, one source market.vy, with signed requests) in
Vyper, against the spec, on both EVMs.

The bundled binding deploys them next to the merchant side; here they run on
their own (a binding of just these modules, closed under imports), so that a
short campaign spends its steps on them, and a wrong contract is caught."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step
from conformance.runner import run_campaign
from conformance.signatures import SigDraw, SignedValue, sign_requests
from tests.conformance.conftest import money_market_binding, standalone

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "evm_backend" / "contracts"
MODULES = ("interest", "oracle", "controller")


def _binding(dst: Path, replace: tuple[str, str, str] | None = None) -> Path:
    """A binding of the three money-market contracts in ``dst``; ``replace``
    (file, old, new) makes a mutant of one of them."""
    dst.mkdir(parents=True, exist_ok=True)
    for m in MODULES:
        source = (CONTRACTS / f"{m}.vy").read_text()
        if replace is not None and replace[0] == f"{m}.vy":
            assert replace[1] in source, f"{replace[1]!r} is not in {m}.vy"
            source = source.replace(replace[1], replace[2], 1)
        (dst / f"{m}.vy").write_text(source)
    bundled = json.loads((CONTRACTS / "binding.json").read_text())["modules"]
    data = {"name": "money-market", "spec": str(ROOT / "spec" / "protocol"),
            "modules": {m: standalone(bundled[m]) for m in MODULES}}
    # no market here: a rate change has nothing to touch
    data["modules"]["interest"]["constructor"] = ["annual_rate", "deployer", []]
    (dst / "binding.json").write_text(json.dumps(data))
    return dst / "binding.json"


def test_bundled_binding_deploys_the_money_market_too() -> None:
    binding, _ = load_implementation(CONTRACTS / "binding.json")
    assert {*MODULES, "mdcep", "usdc", "musdc"} <= set(binding.modules)
    assert binding.modules["mdcep"].vyper == binding.modules["musdc"].vyper  # one source, two markets


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_markets_conform_with_real_signatures(backend: str, tmp_path: Path) -> None:
    """Both markets (18 and 6 decimals) against the model, signed requests signed by the actors'
    keys: every signed action both succeeds and reverts, and the kinds of bad
    signature are drawn (each step compared in full: the same outcome and
    reason on both sides)."""
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl"))
    examples = 30 if backend == "pyrevm" else 12
    seen: set[str] = set()

    def on_step(report: Any) -> None:
        for a in report.step.args:
            if isinstance(a, SignedValue):
                seen.add(a.kind)

    result = run_campaign(spec, binding, backend=backend, examples=examples, steps=25, seed=3,
                          fixture_dir=tmp_path, on_step=on_step)
    assert result.ok, result.divergence
    for action in (f"{mk}.{a}" for mk in ("mdcep", "musdc") for a in (
            "mint", "redeem", "permit", "allocate_to_rwa", "return_from_rwa")):
        ok, reverted = result.stats.outcomes[action]
        assert ok > 0 and reverted > 0, action
    if backend == "pyrevm":
        for action in (f"{mk}.{a}" for mk in ("mdcep", "musdc") for a in (
                "mint_from_gasless_request", "redeem_from_gasless_request")):
            ok, reverted = result.stats.outcomes[action]
            assert ok > 0 and reverted > 0, action
        assert "valid" in seen and len(seen - {"valid"}) >= 4, seen


EXPECTED = {"valid": None, "wrong_signer": "INVALID_SIGNATURE", "stranger": "INVALID_SIGNATURE",
            "wrong_chain": "INVALID_SIGNATURE", "wrong_contract": "INVALID_SIGNATURE",
            "wrong_type": "INVALID_SIGNATURE", "tampered": "INVALID_SIGNATURE", "expired": "REQUEST_EXPIRED",
            "replayed": "INVALID_NONCE", "high_s": "INVALID_SIGNATURE", "zero": "INVALID_SIGNATURE"}


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_every_kind_of_signature_has_the_same_outcome_on_both_sides(backend: str, tmp_path: Path) -> None:
    """Each kind of signature the generator draws, on each signed action:
    the model and the contract agree in full, with the outcome the kind
    calls for (a valid request succeeds, and a second valid one with the
    next nonce too)."""
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl"))
    h = Harness(spec, binding, backend)
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    owner, relayer = h.actors[1], h.actors[2]
    m = spec.modules["mdcep"]
    # (owner, recipient|spender, nonce, expiry, amount|value, fee, fee recipient)
    requests = {"mint_from_gasless_request": (owner, owner, 0, 0, 5 * 10**18, 10**17, relayer),
                "redeem_from_gasless_request": (owner, owner, 0, 0, 3 * 10**18, 10**17, relayer),
                "permit": (owner, relayer, 0, 0, 7 * 10**18, 10**17, relayer)}
    for action, request in requests.items():
        for kind, reason in EXPECTED.items():
            for pick in (1, 2):  # actor 1 signs (1 of 4), and another variation
                h.reset()
                args = (request, SigDraw(kind, pick + 4 * (1 + 7 * pick)))
                signed = sign_requests(args, "mdcep", m.actions[action], spec, h.signing,
                                       h.model.state("mdcep").nonces, h.backend.timestamp)
                sig = signed[1]
                assert isinstance(sig, SignedValue) and sig.kind == kind
                report = h.run(Step("action", "mdcep", action, relayer, signed))
                assert report.ok, (kind, action, report.differences)
                assert report.model is not None and report.evm is not None
                assert report.model.reason == reason == report.evm.revert_reason, (kind, action)
                if kind == "valid":
                    # the next nonce, signed again: valid once more; the same request again: a replay
                    again = sign_requests(args, "mdcep", m.actions[action], spec, h.signing,
                                          h.model.state("mdcep").nonces, h.backend.timestamp)
                    assert again[0][2] == signed[0][2] + 1
                    replay = h.run(Step("action", "mdcep", action, relayer, signed))
                    assert replay.ok and replay.evm is not None and replay.evm.revert_reason == "INVALID_NONCE"
                    fresh = h.run(Step("action", "mdcep", action, relayer, again))
                    assert fresh.ok and fresh.model is not None and fresh.model.ok, (action, fresh.differences)


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_a_request_drawn_near_an_unlimited_number_stays_a_uint256(backend: str, tmp_path: Path) -> None:
    """A valid request's amounts are drawn near the numbers the state holds
    for its owner, one off included; an unlimited allowance (2**256 - 1) is
    one of them, and one more than it is no uint256: no request may carry
    it (a million-step campaign drew one, and signing it raised). Every
    such request is signed, and runs alike on both sides."""
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl"))
    h = Harness(spec, binding, backend)
    owner, relayer = h.actors[1], h.actors[2]
    m = spec.modules["mdcep"]
    request = (owner, owner, 0, 0, 5 * 10**18, 10**17, relayer)
    amounts = set()
    for pick in range(0, 256, 4):  # (pick // 2 % 2 == 0: the amounts near the owner's own)
        signed = sign_requests((request, SigDraw("valid", pick)), "mdcep", m.actions["permit"], spec, h.signing,
                               h.model.state("mdcep").nonces, h.backend.timestamp, relayer,
                               lambda who: [2**256 - 1])
        amounts.add(signed[0][4])
        assert all(0 <= v < 2**256 for v in signed[0] if isinstance(v, int))
        report = h.run(Step("action", "mdcep", "permit", relayer, signed))
        assert report.ok, report.differences
    assert 2**256 - 1 in amounts


@pytest.mark.slow  # ten campaigns of 40 sequences: minutes
@pytest.mark.parametrize(
    ("old", "new"),
    [
        # (a contract that accepts high-s twins, or the zero address's
        # signature for a request in its name, is caught by
        # test_every_kind_of_signature_has_the_same_outcome_on_both_sides and
        # test_money_market_attacks.py, not reliably by a 40-sequence campaign)
        ('"MintRequest(address owner,address recipient', '"RedeemRequest(address owner,address recipient'),
        ("assert block.timestamp <= expiry", "assert block.timestamp <= expiry + 1"),
        ("self.nonces[owner] += 1", "pass"),
        ("minted: uint256 = amount * WAD // self.er", "minted: uint256 = (amount * WAD + self.er - 1) // self.er"),
        ("assert self._redeem_size_ok(burned, amount, self.balanceOf[holder])",
         "assert burned >= self.min_redeem_amount"),
        ("    assert not staticcall Controller(controller).paused(), \"PAUSED\"\n    assert staticcall "
         "Controller(controller).market_enabled() == 1, \"MARKET_DISABLED\"\n    assert self.listed == 1, "
         "\"MARKET_NOT_LISTED\"\n    assert amount > 0", "    assert amount > 0"),
        ("self.last_return_at = block.timestamp", "pass"),
        ("log InterestAccrued(er=self.er, rate=self.accrual_rate)",
         "log InterestAccrued(er=self.accrual_rate, rate=self.er)"),
    ],
)
def test_wrong_market_is_caught(old: str, new: str, tmp_path: Path) -> None:
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl", ("market.vy", old, new)))
    result = run_campaign(spec, binding, backend="pyrevm", examples=40, steps=25, seed=1,
                          fixture_dir=tmp_path / "fixtures")
    assert not result.ok, f"mutant not caught: {new}"


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_money_market_contracts_conform(backend: str, tmp_path: Path) -> None:
    binding, spec = load_implementation(_binding(tmp_path / "impl"))
    result = run_campaign(spec, binding, backend=backend, examples=15, steps=20, seed=2, fixture_dir=tmp_path)
    assert result.ok, result.divergence
    for action in ("controller.pause", "controller.unpause", "oracle.report"):
        ok, reverted = result.stats.outcomes[action]
        assert ok > 0 and reverted > 0, action


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("oracle.vy", "assert observed_at > self.reported_at", "assert observed_at >= self.reported_at"),
        ("oracle.vy", 'block.timestamp, "FUTURE_TIMESTAMP"', 'block.timestamp, "FROM_THE_FUTURE"'),
        ("controller.vy", "log Unpaused(account=msg.sender)", "pass"),
        ("controller.vy", "self.paused = False", "self.paused = True"),
    ],
)
def test_wrong_money_market_contract_is_caught(file: str, old: str, new: str, tmp_path: Path) -> None:
    binding, spec = load_implementation(_binding(tmp_path / "impl", (file, old, new)))
    result = run_campaign(spec, binding, backend="pyrevm", examples=30, steps=20, seed=1,
                          fixture_dir=tmp_path / "fixtures")
    assert not result.ok, f"mutant not caught: {file}: {new}"


@pytest.mark.slow
def test_money_market_campaign_of_20000_steps(tmp_path: Path) -> None:
    """The money market alone (interest, oracle, controller, both markets with
    real signatures, DCEP and USDC): 800 sequences of 25 steps on pyrevm, clean."""
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl"))
    result = run_campaign(spec, binding, backend="pyrevm", examples=800, steps=25, seed=20000,
                          fixture_dir=tmp_path)
    assert result.ok, result.divergence
    assert result.stats.steps >= 20_000 - 800  # hypothesis may end a sequence early
    never = [a for a, (ok, _) in result.stats.outcomes.items() if a.startswith(("mdcep.", "musdc.")) and ok == 0]
    assert never == [], never
