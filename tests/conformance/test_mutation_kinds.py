"""Issue 12: `imospec mutate` also mutates module-level constants and swaps
event fields. An independent set of mutants found both kinds untested:
`DECAY_PERIODS` one day off, `BRONZE = 0` and swapped `log` fields all
survived because no mutant of theirs was ever made."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.binding import load_binding, load_implementation
from conformance.mutate import _mutant_binding, mutations, run_mutants

CONTRACTS = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts"


def _mutated(module: str, kind: str) -> set[str]:
    return {m.mutated.strip() for m in mutations(module, CONTRACTS / f"{module}.vy") if m.kind == kind}


def test_module_level_constants_are_mutated() -> None:
    farm = _mutated("farm", "const")
    assert "DECAY_PERIODS: constant(uint256[N_TIERS]) = [7 * DAY, 14 * DAY, 31 * DAY]" in farm
    assert "DECAY_PERIODS: constant(uint256[N_TIERS]) = [6 * DAY, 14 * DAY, 30 * DAY]" in farm
    assert "BRONZE: constant(uint256) = 0" in _mutated("phases", "const")


def test_event_fields_are_swapped() -> None:
    swapped = _mutated("dcep", "event")
    assert "log Transfer(sender=receiver, receiver=sender, amount=amount)" in swapped
    assert "log Approval(owner=spender, spender=msg.sender, amount=amount)" in swapped
    # a field never swaps with an equal value, and calls inside a field stay whole
    assert all(s.count("empty(address)") <= 1 for s in swapped)


@pytest.mark.parametrize(
    ("module", "kind", "mutated"),
    [
        ("vault", "const", "WAD: constant(uint256) = 10 ** 17"),
        ("cash", "event", "log Transfer(sender=to, receiver=msg.sender, amount=amount)"),
    ],
)
def test_the_new_kinds_are_killed_on_the_tiny_fixture(tiny_binding_path: Path, tmp_path: Path, module: str,
                                                       kind: str, mutated: str) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    chosen = [m for m in mutations(module, binding.modules[module].vyper)
              if m.kind == kind and m.mutated.strip() == mutated]
    assert len(chosen) == 1
    assert load_binding(_mutant_binding(binding, chosen[0], tmp_path)).modules[module].vyper is not None
    report = run_mutants(spec, tiny_binding_path, chosen, examples=60, steps=20, seed=1)
    assert report.killed == chosen, report.survived
