"""The model machinery on the small fixture spec: atomic reverts, events,
phase gates, signed requests, governed parameters, rule checking."""

from __future__ import annotations

import dataclasses

import pytest

from reference.model import Deployment, Model
from reference.runtime import MAX_UINT256, Env, Signature, SpecViolation, key_of
from spec import ir

ALICE = 0xA11CE
OWNER = 0xABC
T0 = 1_000


@pytest.fixture
def model(mini_spec: ir.Spec) -> Model:
    m = Model.deploy(mini_spec)
    assert m.execute("cash", "mint", Env(ALICE, T0), ALICE, 10**21).ok
    assert m.execute("cash", "approve", Env(ALICE, T0), m.address("vault"), MAX_UINT256).ok
    return m


def test_top_up_rounds_capacity_down_and_emits(model: Model) -> None:
    out = model.execute("vault", "top_up", Env(ALICE, T0), 3, check_rules=True)
    assert out.ok and out.value == 6  # 3 * 1e18 / 0.5e18
    names = [(e.module, e.name) for e in out.events]
    assert names == [("cash", "Transfer"), ("vault", "TopUp")]
    assert model.state("cash").balance_of[model.address("vault")] == 3


def test_revert_undoes_every_module(model: Model) -> None:
    before = dataclasses.asdict(model.state("cash")), dataclasses.asdict(model.state("vault"))
    # more than Alice holds: cash.transfer_from underflows after vault's require passed
    out = model.execute("vault", "top_up", Env(ALICE, T0), 10**22)
    assert not out.ok and out.reason is None and out.error == "Underflow"
    assert (dataclasses.asdict(model.state("cash")), dataclasses.asdict(model.state("vault"))) == before
    assert out.events == ()


def test_phase_gate(model: Model) -> None:
    model.execute("vault", "top_up", Env(ALICE, T0), 10**18)
    out = model.execute("vault", "redeem", Env(ALICE, T0), 1)
    assert out.reason == "WRONG_PHASE"
    assert model.execute("vault", "set_price", Env(ALICE, T0), 1).reason == "UNAUTHORIZED"
    assert model.execute("vault", "set_price", Env(OWNER, T0), 1).ok
    assert model.execute("vault", "redeem", Env(ALICE, T0), 10**18, check_rules=True).ok
    assert model.execute("vault", "redeem", Env(ALICE, T0), 10**19).reason == "OVER_CAPACITY"


def _claim(model: Model, nonce: int, expiry: int, **sig: object) -> tuple[object, Signature]:
    req = model.record("vault", "Claim", ALICE, 5, nonce, expiry)
    fields = {"signer": ALICE, "request_type": "Claim", "request": req, "chain_id": 1,
              "verifying_contract": model.address("vault")} | sig
    return req, Signature(**fields)  # type: ignore[arg-type]


def test_signed_request_nonce_expiry_and_replay(model: Model) -> None:
    env = Env(ALICE, T0)
    req, sig = _claim(model, 0, T0)
    assert model.execute("vault", "claim", env, req, sig).ok
    assert model.execute("vault", "claim", env, req, sig).reason == "INVALID_NONCE"  # replay
    req, sig = _claim(model, 1, T0 - 1)
    assert model.execute("vault", "claim", env, req, sig).reason == "REQUEST_EXPIRED"
    req, sig = _claim(model, 1, 0)
    assert model.execute("vault", "claim", env, req, sig).reason == "REQUEST_EXPIRED"  # 0 is not "never"
    for bad in ({"chain_id": 2}, {"verifying_contract": 0x1}, {"signer": 0xB0B}, {"canonical": False}):
        req, sig = _claim(model, 1, T0, **bad)
        assert model.execute("vault", "claim", env, req, sig).reason == "INVALID_SIGNATURE", bad
    assert model.state("vault").nonces[ALICE] == 1


def test_governed_parameter_changes_only_within_bounds(model: Model) -> None:
    env = Env(ALICE, T0)
    vault, key = model.address("vault"), key_of("vault.fee_bps")
    assert model.execute("lock", "execute", env, vault, key, 50).reason == "NOT_QUEUED"
    model.execute("lock", "queue", env, vault, key, 50)
    assert model.execute("lock", "execute", env, vault, key, 50).ok
    assert model.state("vault").fee_bps == 50
    model.execute("lock", "queue", env, vault, key, 101)
    assert model.execute("lock", "execute", env, vault, key, 101).reason == "OUT_OF_BOUNDS"
    model.execute("lock", "queue", env, vault, 7, 1)
    assert model.execute("lock", "execute", env, vault, 7, 1).reason == "UNKNOWN_PARAMETER"


def test_tier_decays_one_level_per_period(model: Model) -> None:
    model.execute("vault", "deposit", Env(ALICE, 0), 20_000)
    model.execute("vault", "withdraw", Env(ALICE, 0), 19_950)  # what remains backs no tier
    levels = [model.call_fn("vault", "effective", None, ALICE, t) for t in (0, 29, 30, 49, 50, 59, 60)]
    assert levels == [3, 3, 2, 2, 1, 1, 0]
    model.execute("vault", "deposit", Env(ALICE, 35), 10_000)  # new stake raises the tier at once
    assert model.call_fn("vault", "effective", None, ALICE, 35) == 3


def test_rule_check_catches_a_broken_state(model: Model) -> None:
    model.state("vault").capacity = 10**30  # corrupt: more capacity than the reserve backs
    with pytest.raises(SpecViolation, match="floor_guarantee"):
        model.execute("cash", "mint", Env(ALICE, T0), ALICE, 1, check_rules=True)


def test_init_enforces_phase_order(mini_spec: ir.Spec) -> None:
    from reference.runtime import Revert

    with pytest.raises(Revert):
        Model.deploy(mini_spec, Deployment(params={"vault.bronze": 10**19}))


def test_emitted_source_is_readable_python(model: Model) -> None:
    src = model.source("vault")
    compile(src, "vault", "exec")
    assert "def top_up(w: World, env: Env, amount: int) -> int:" in src
    assert "class VaultState:" in src
    assert "z3" not in src and "eth." not in src
