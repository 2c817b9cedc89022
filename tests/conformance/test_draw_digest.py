"""The generator's draws are pinned: a seed gives the same steps, step for
step, under every hypothesis release the project allows.

``conformance.draws.Named`` wraps hypothesis strategies and calls hypothesis
internals (``unwrap_strategies``, ``_invert``, the strategy's label). A
release that changed those, or changed how hypothesis turns a seed into
choices, would change every campaign's draws silently: the same seed would
no longer replay the same campaign. These tests make such a change fail
loudly. (When the generator is changed on purpose, the pinned digest below
is updated in the same commit, with the reason.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import conformance.machine
from conformance.binding import load_implementation
from conformance.harness import StepReport
from conformance.runner import run_campaign

BUNDLED = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"

# sha256 of the steps (Step.describe(), one a line) of the campaign below,
# with hypothesis 6.170.27
PINNED = "ee094f100d1c0cb088e4452377ce788efc992ac41c37faaa3e72c9dff9072cab"


def campaign_digest(binding_path: Path, tmp_path: Path) -> tuple[str, int]:
    binding, spec = load_implementation(binding_path)
    lines: list[str] = []

    def keep(report: StepReport) -> None:
        lines.append(report.step.describe())

    result = run_campaign(spec, binding, backend="pyrevm", examples=12, steps=20, seed=11,
                          fixture_dir=tmp_path / "fixtures", on_step=keep)
    assert result.ok
    return hashlib.sha256("\n".join(lines).encode()).hexdigest(), len(lines)


def test_a_seed_draws_the_pinned_steps(tiny_binding_path: Path, tmp_path: Path) -> None:
    digest, steps = campaign_digest(tiny_binding_path, tmp_path)
    assert steps > 100
    assert digest == PINNED, (
        f"the draws of seed 11 changed ({steps} steps, digest {digest}): a hypothesis release other than "
        "the pinned one, or a change to the generator (update PINNED only for the latter)")


def test_named_strategies_draw_what_their_inner_strategy_draws(
        tiny_binding_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    named = campaign_digest(tiny_binding_path, tmp_path / "named")

    def bare(inner: Any, name: str) -> Any:
        return inner

    monkeypatch.setattr(conformance.machine, "Named", bare)
    assert campaign_digest(tiny_binding_path, tmp_path / "bare") == named


def every_positive_int(value: Any, found: set[int]) -> None:
    """The definition numbers_held keeps to, written plainly: every positive
    int (not bool) in a module state, its maps and its records."""
    import dataclasses

    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value > 0:
            found.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            every_positive_int(v, found)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            every_positive_int(getattr(value, f.name), found)


def test_numbers_held_is_every_positive_number_of_the_state() -> None:
    # (numbers_held feeds the draws: a faster walk must find the same numbers, maps of records and maps
    # of maps included, as in the governance starts)
    from conformance.harness import Harness

    binding, spec = load_implementation(BUNDLED)
    harness = Harness(spec, binding, "pyrevm")
    harness.start_from(binding.starts[-1])
    model = harness.model
    found: set[int] = set()
    for state in model.world.state.values():
        every_positive_int(state, found)
    held = model.numbers_held()
    assert len(held) > 50 and held == sorted(found)
    assert all(type(v) is int for v in held)
