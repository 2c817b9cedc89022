"""Portable fixtures: `imospec fill` writes the model's expectations as JSON,
`imospec consume` runs them on an implementation with no model, on both EVMs;
a hand-broken implementation fails with a readable diff; `imospec replay`
reads the same format."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

from conformance.binding import load_binding
from conformance.fixtures import SCHEMA_PATH
from evm_backend.accounts import derive_accounts
from imospec_cli.main import main


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
    assert len(files) == len(load_binding(DEFAULT_BINDING).scenarios)
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
