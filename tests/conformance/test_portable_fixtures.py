"""Portable fixtures: `imospec fill` writes the model's expectations as JSON,
`imospec consume` runs them on an implementation with no model, on both EVMs;
a hand-broken implementation fails with a readable diff; `imospec replay`
reads the same format."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.binding import load_binding
from conformance.fixtures import SCHEMA_PATH
from evm_backend.accounts import derive_accounts
from imospec_cli.main import main

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _trace(binding_path: Path, tmp_path: Path) -> Path:
    """A trace of the tiny vault: top-ups, a deposit, the clock, a price change, a redemption, reverts."""
    b = load_binding(binding_path)
    a0, a1 = (f"0x{int(a.address, 16):040x}" for a in derive_accounts(1 + b.actors)[1:3])

    def act(module: str, action: str, caller: str, *args: int) -> dict[str, object]:
        return {"kind": "action", "module": module, "action": action, "caller": caller, "args": list(args)}

    steps = [act("vault", "top_up", a0, 10**21), act("vault", "top_up", a1, 0), act("vault", "deposit", a1, 5000),
             {"kind": "time", "seconds": 15, "blocks": 1}, act("vault", "set_price", a1, 1),
             act("vault", "set_price", a0, 4 * 10**17), act("vault", "redeem", a0, 10**20),
             act("vault", "redeem", a1, 10**40), act("vault", "withdraw", a1, 100)]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"format": "imospec-trace/1", "binding": str(binding_path), "backend": "py-evm",
                                "seed": 0, "scenario": None, "steps": steps}))
    return path


@pytest.fixture
def filled(tiny_binding_path: Path, tmp_path: Path) -> Path:
    out = tmp_path / "fixtures"
    code, text, err = _run("fill", str(out), "--impl", str(tiny_binding_path), "--backend", "py-evm",
                           "--trace", str(_trace(tiny_binding_path, tmp_path)))
    assert code == 0, text + err
    return out


def test_fill_writes_valid_fixtures_with_the_models_expectations(filled: Path) -> None:
    [path] = sorted(filled.glob("*.json"))
    data = json.loads(path.read_text())
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    expects = [s["expect"] for s in data["steps"] if s["kind"] == "action"]
    assert [e["ok"] for e in expects] == [True, False, True, False, True, True, False, True]
    assert expects[1]["reason"] == "ZERO_AMOUNT" and expects[3]["reason"] == "UNAUTHORIZED"
    assert expects[0]["value"] == 2 * 10**21 and expects[0]["events"][-1]["event"] == "TopUp"
    post = {(e["module"], e["name"], tuple(e["keys"])): e["value"] for e in data["post_state"]}
    assert post[("vault", "capacity", ())] == 2 * 10**21 - 10**20
    assert data["setup"], "the prelude's steps, so that a consumer needs no binding prelude"
    del data["deployment"]["chain_id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_consume_passes_on_both_evms_and_replay_reads_the_same_file(filled: Path, tiny_binding_path: Path,
                                                                    backend: str) -> None:
    code, out, err = _run("consume", str(filled), "--impl", str(tiny_binding_path), "--backend", backend)
    assert code == 0, out + err
    assert f"1 of 1 fixture(s) passed on {backend}" in out
    [path] = sorted(filled.glob("*.json"))
    code, out, err = _run("replay", str(path), "--impl", str(tiny_binding_path), "--backend", backend)
    assert code == 0 and "agree on every step" in out, out + err


def test_a_broken_implementation_fails_consume_with_a_readable_diff(filled: Path, tiny_mutant: object) -> None:
    broken = tiny_mutant("vault.vy", "amount * WAD // floor_price", "amount * WAD // floor_price + 1")  # type: ignore[operator]
    code, out, err = _run("consume", str(filled), "--impl", str(broken), "--backend", "pyrevm")
    assert code == 1, out + err
    assert "0 of 1 fixture(s) passed" in out
    # the first top-up returns one more, and the capacity differs from then on
    assert "step 1 (vault.top_up(" in out and "return value" in out
    assert "expected 2000000000000000000000\n    got      2000000000000000000001" in out
    assert "post-state: vault.capacity" in out


@pytest.mark.slow
def test_the_bundled_scenarios_round_trip_across_the_two_evms(tmp_path: Path) -> None:
    from imospec_cli.pipeline import DEFAULT_BINDING

    code, out, err = _run("fill", str(tmp_path), "--backend", "pyrevm")
    assert code == 0, out + err
    files = sorted(tmp_path.glob("*.json"))
    bundled = load_binding(DEFAULT_BINDING)
    assert len(files) == len(bundled.scenarios) + len(bundled.attacks)
    code, out, err = _run("consume", str(tmp_path), "--impl", str(DEFAULT_BINDING), "--backend", "py-evm")
    assert code == 0 and f"{len(files)} of {len(files)} fixture(s) passed on py-evm" in out, out + err


def test_a_sample_of_generated_sequences_fills_and_consumes(tiny_binding_path: Path, tmp_path: Path) -> None:
    code, out, err = _run("fill", str(tmp_path), "--impl", str(tiny_binding_path), "--backend", "py-evm",
                          "--sample", "3", "--steps", "8", "--seed", "2")
    assert code == 0, out + err
    files = sorted(tmp_path.glob("campaign-2-*.json"))
    assert files and len(files) <= 3
    for f in files:
        assert any(s["kind"] == "action" for s in json.loads(f.read_text())["steps"])
    code, out, err = _run("consume", str(tmp_path), "--impl", str(tiny_binding_path), "--backend", "pyrevm")
    assert code == 0 and f"{len(files)} of {len(files)} fixture(s) passed" in out, out + err


# ------------------------------------------------ the binding's attacks as fixtures


@pytest.fixture(scope="module")
def attack_fixtures() -> dict[str, dict[str, Any]]:
    """The bundled binding's attacks, filled on pyrevm beside the model."""
    from conformance.binding import load_implementation
    from conformance.fixtures import fill_attack
    from conformance.harness import Harness
    from imospec_cli.pipeline import DEFAULT_BINDING

    binding, spec = load_implementation(DEFAULT_BINDING)
    harness = Harness(spec, binding, "pyrevm")
    assert binding.attacks, "the bundled binding names its attack file"
    return {name: fill_attack(harness, "pyrevm", attack) for name, attack in binding.attacks.items()}


def test_fill_writes_the_attacks_with_their_claimed_outcomes(attack_fixtures: dict[str, dict[str, Any]],
                                                             tmp_path: Path) -> None:
    from conformance.fixtures import write_fixtures

    schema = json.loads(SCHEMA_PATH.read_text())
    for name, data in attack_fixtures.items():
        assert data["name"] == f"attack-{name}"
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    flash = attack_fixtures["flash_staking"]
    reasons = [s["expect"].get("reason") for s in flash["steps"] if s["kind"] == "action"]
    assert reasons.count("NO_TIER") == 5 and reasons[-2:] == [None, None]
    launch = attack_fixtures["pool_launch_front_run_and_donation"]
    assert [s["expect"].get("reason") for s in launch["steps"][:2]] == ["UNAUTHORIZED", "UNAUTHORIZED"]
    # the CLI writes them beside the scenarios' fixtures
    paths = write_fixtures(list(attack_fixtures.values()), tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"attack-{n}.json" for n in attack_fixtures)


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_the_attack_fixtures_pass_consume_on_both_evms(attack_fixtures: dict[str, dict[str, Any]],
                                                       backend: str) -> None:
    from conformance.binding import load_implementation
    from conformance.fixtures import consume
    from imospec_cli.pipeline import DEFAULT_BINDING

    binding, spec = load_implementation(DEFAULT_BINDING)
    for data in attack_fixtures.values():
        result = consume(data, spec, binding, backend)
        assert result.ok, result.describe()


def test_a_wrong_attack_expectation_fails_consume(attack_fixtures: dict[str, dict[str, Any]]) -> None:
    from conformance.binding import load_implementation
    from conformance.fixtures import consume
    from imospec_cli.pipeline import DEFAULT_BINDING

    binding, spec = load_implementation(DEFAULT_BINDING)
    data = copy.deepcopy(attack_fixtures["flash_staking"])
    wrong = next(s for s in data["steps"] if s["kind"] == "action" and s["expect"].get("reason") == "NO_TIER")
    wrong["expect"]["reason"] = "UNAUTHORIZED"
    result = consume(data, spec, binding, "pyrevm")
    assert not result.ok
    assert "expected 'UNAUTHORIZED'" in result.describe() and "'NO_TIER'" in result.describe()


def test_an_attack_file_that_claims_a_wrong_outcome_stops_fill(tmp_path: Path) -> None:
    """The attack file's claims are checked against the model as it fills: a
    file saying a flash stake's card mint succeeds is refused."""
    import shutil

    from conformance.binding import load_implementation
    from conformance.fixtures import FillError, fill_attack
    from conformance.harness import Harness
    from imospec_cli.pipeline import DEFAULT_BINDING

    src = Path(DEFAULT_BINDING).parent
    for f in src.glob("*.vy"):
        shutil.copy(f, tmp_path / f.name)
    data = json.loads((src / "binding.json").read_text())
    data["spec"] = str((src / data["spec"]).resolve())
    (tmp_path / "binding.json").write_text(json.dumps(data))
    attacks = json.loads((src / "attacks.json").read_text())
    attacks["attacks"] = {"flash_staking": attacks["attacks"]["flash_staking"]}
    del attacks["attacks"]["flash_staking"]["reverts"]["5"]
    (tmp_path / "attacks.json").write_text(json.dumps(attacks))
    binding, spec = load_implementation(tmp_path / "binding.json")
    with pytest.raises(FillError, match=r"attack `flash_staking`.*step 5 .*must succeed, but it reverts NO_TIER"):
        fill_attack(Harness(spec, binding, "pyrevm"), "pyrevm", binding.attacks["flash_staking"])


def test_an_implementation_that_panics_fails_consume_with_a_diff(filled: Path, tmp_path: Path) -> None:
    """The tiny vault's fixture, filled on the Vyper implementation, passes on
    the Solidity one; a Solidity mutant that divides by zero in `topUp`
    reverts with a Panic(uint256) where the fixture expects success: a
    difference, not a crash. (`FixtureRunner` once built its own harness
    and lacked the custom-error table that the reason of such a revert is
    looked up in: consume stopped with an AttributeError.)"""
    sol = tmp_path / "sol"
    shutil.copytree(TINY / "sol", sol)
    data = json.loads((sol / "binding.json").read_text())
    data["spec"] = str((TINY / "sol" / data["spec"]).resolve())
    (sol / "binding.json").write_text(json.dumps(data))
    code, out, err = _run("consume", str(filled), "--impl", str(sol / "binding.json"), "--backend", "pyrevm")
    assert code == 0 and "1 of 1 fixture(s) passed on pyrevm" in out, out + err
    source = (sol / "Vault.sol").read_text()
    old = "added = amount * WAD / floorPrice;"
    assert old in source
    (sol / "Vault.sol").write_text(source.replace(old, "added = amount * WAD / (floorPrice - floorPrice);"))
    code, out, err = _run("consume", str(filled), "--impl", str(sol / "binding.json"), "--backend", "pyrevm")
    assert code == 1, out + err
    assert "0 of 1 fixture(s) passed" in out
    assert "step 1 (vault.top_up(" in out and "): success\n    expected True\n    got      False" in out
    assert "post-state: vault.capacity" in out
