"""Issue 12: the money market's interest model, oracle and controller in
Vyper, against the spec, on both EVMs.

The bundled binding deploys them next to the merchant side; here they run on
their own (a binding of just these three modules, closed under imports), so
that a short campaign spends its steps on them, and a wrong contract is
caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.runner import run_campaign

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
    data = {"name": "money-market", "spec": str(ROOT / "spec" / "protocol"),
            "modules": {m: {"vyper": f"{m}.vy"} for m in MODULES}}
    (dst / "binding.json").write_text(json.dumps(data))
    return dst / "binding.json"


def test_bundled_binding_deploys_the_money_market_too() -> None:
    binding, _ = load_implementation(CONTRACTS / "binding.json")
    assert set(MODULES) <= set(binding.modules)


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
