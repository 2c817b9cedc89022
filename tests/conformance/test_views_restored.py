"""Going back to a saved state (a reset between sequences, a new starting
state) puts back what the views knew of it: the answers and agreements kept
then stand again, and nothing kept since. These tests hold that to what a
harness that never left the saved state asks, and to a view mutant."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step


def _counting(h: Harness) -> Counter[str]:
    """Count the EVM's view calls and the model's function evaluations ``h`` makes from now on."""
    counts: Counter[str] = Counter()
    call_raw, call_views, call_fn = h.backend.call_raw, h.backend.call_views, h.model.call_fn

    def evm(*args: Any, **kwargs: Any) -> Any:
        counts["evm"] += 1
        return call_raw(*args, **kwargs)

    def evm_batch(calls: list[tuple[str, bytes]]) -> Any:
        counts["evm"] += len(calls)
        return call_views(calls)

    def model(*args: Any, **kwargs: Any) -> Any:
        counts["model"] += 1
        return call_fn(*args, **kwargs)

    h.backend.call_raw = evm  # type: ignore[method-assign]
    h.backend.call_views = evm_batch  # type: ignore[method-assign]
    h.model.call_fn = model  # type: ignore[method-assign]
    return counts


def _branch(h: Harness, amount: int) -> list[Step]:
    alice, bob = h.actors[1], h.actors[2]
    return [Step("action", "cash", "transfer", alice, (bob, amount)),
            Step("action", "vault", "top_up", alice, (amount * 10**18,)),
            Step("time", seconds=3600, blocks=2)]


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_after_going_back_the_views_ask_what_a_harness_that_never_left_asks(tiny_binding_path: Path,
                                                                           backend: str) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    # one harness runs a branch, compares, goes back and runs another one
    travelled = Harness(spec, binding, backend)
    travelled.reset()
    for step in _branch(travelled, 1):
        assert travelled.run(step).ok
    assert travelled.sweep() == []
    travelled.reset()
    # the other runs the second branch alone
    fresh = Harness(spec, binding, backend)
    fresh.reset()
    results = []
    for h in (travelled, fresh):
        counts = _counting(h)
        diffs = [d for step in _branch(h, 2) for d in h.run(step).differences] + h.sweep()
        results.append((diffs, dict(counts)))
    # the first branch left nothing behind that spares a call the second needs
    assert results[0] == results[1]
    assert results[0][1]["model"] > 0 and results[0][1]["evm"] > 0


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_a_wrong_view_is_caught_again_after_going_back(tiny_mutant: Any, backend: str) -> None:
    # the mutant's tier decays from at most tier 2: a top tier without its
    # stake shows one tier low at once; the model's shows the top tier
    path = tiny_mutant("vault.vy", "    current: uint256 = min(level, 3)\n", "    current: uint256 = min(level, 2)\n")
    binding, spec = load_implementation(path)
    h = Harness(spec, binding, backend)
    alice = h.actors[1]

    def caught() -> bool:
        return any(d.where.startswith("vault.effective(") for d in h.sweep())

    for _ in range(3):
        h.reset()
        assert not caught()  # no tier yet: both agree
        assert h.run(Step("action", "vault", "deposit", alice, (10_000,))).ok
        assert not caught()  # the top tier, backed by the stake: both agree
        assert h.run(Step("action", "vault", "withdraw", alice, (10_000,))).ok
        assert caught()
        # and at every clock move until the tier has decayed below the top
        assert any(d.where.startswith("vault.effective(") for d in h.run(Step("time", seconds=1, blocks=1)).differences)
