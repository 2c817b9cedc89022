"""The views' answers from the contracts come in one batch a comparison
(``Backend.call_views``: on pyrevm one EVM execution through the batch
contract, on py-evm one call after another, each with what it read), and are
compared exactly as answers asked one by one: the same values, the same
reverts and reasons, the same differences."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_binding, load_implementation
from conformance.harness import Harness
from conformance.harness.values import Difference
from conformance.mutate import Mutant, _mutant_binding, mutations
from conformance.runner import ShardRunner, pin_constant_pool, plan_shards

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"
REASON = 'assert at_block < block.number, "NOT_YET_DETERMINED"'


def _differences(h: Harness, *, batched: bool) -> tuple[list[Difference], Counter[str]]:
    """What ``h.compare_views()`` finds, with the EVM's answers in batches or
    each on its own; and how the EVM was asked (calls in batches, batches,
    calls on their own)."""
    asked: Counter[str] = Counter()
    call_raw, call_views, batchable = h.backend.call_raw, h.backend.call_views, h._batchable

    def alone(*args: Any, **kwargs: Any) -> Any:
        asked["alone"] += 1
        return call_raw(*args, **kwargs)

    def in_batch(calls: list[tuple[str, bytes]]) -> Any:
        asked["batches"] += 1
        asked["in batches"] += len(calls)
        return call_views(calls)

    h.backend.call_raw, h.backend.call_views = alone, in_batch  # type: ignore[method-assign]
    if not batched:
        h._batchable = lambda module, fn: False  # type: ignore[method-assign]
    try:
        return h.compare_views(), asked
    finally:
        h.backend.call_raw, h.backend.call_views, h._batchable = call_raw, call_views, batchable  # type: ignore[method-assign]


def _mutant(tmp_path: Path, mutated: str) -> Path:
    binding, _ = load_implementation(BINDING)
    source = binding.modules["mt"].vyper
    line = next(no for no, text in enumerate(source.read_text(encoding="utf-8").splitlines(), 1) if REASON in text)
    original = source.read_text(encoding="utf-8").splitlines()[line - 1]
    m = Mutant("mt", source, line, "test", original, original.replace(REASON, mutated))
    return _mutant_binding(binding, m, tmp_path / mutated.split('"')[0].strip().replace(" ", "_")[:20])


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_a_wrong_view_is_caught_through_the_batch(tmp_path: Path, backend: str) -> None:
    # prior_votes answers at the current block instead of reverting: the
    # batch's answer shows it as an answer asked on its own does
    binding, spec = load_implementation(BINDING)
    wrong = next(m for m in mutations("mt", binding.modules["mt"].vyper)
                 if m.mutated.strip() == 'assert at_block <= block.number, "NOT_YET_DETERMINED"')
    path = _mutant_binding(binding, wrong, tmp_path)
    found = []
    for batched in (True, False):
        h = Harness(spec, load_binding(path), backend)
        h.restore_views(None)  # (nothing kept: every view asked of the EVM)
        diffs, asked = _differences(h, batched=batched)
        found.append(diffs)
        if batched:
            assert asked["batches"] == 1 and asked["in batches"] > 100 and asked["alone"] == 0, asked
        else:
            assert asked["in batches"] == 0 and asked["alone"] > 100, asked
    assert found[0] == found[1]
    caught = [d for d in found[0] if d.where.startswith("mt.prior_votes(")]
    assert caught and all(d.model[0] == "reverts" and isinstance(d.evm, int) for d in caught), caught


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_a_view_reverting_in_the_batch_is_reported_with_its_reason(tmp_path: Path, backend: str) -> None:
    # prior_votes reverts where the model's does, with another reason: the
    # batch returns the revert's data, and the difference names both reasons
    _, spec = load_implementation(BINDING)
    path = _mutant(tmp_path, 'assert at_block < block.number, "NOT_YET_DECIDED"')
    found = []
    for batched in (True, False):
        h = Harness(spec, load_binding(path), backend)
        h.restore_views(None)  # (nothing kept: every view asked of the EVM)
        diffs, asked = _differences(h, batched=batched)
        assert asked["alone" if not batched else "in batches"] > 100
        found.append(diffs)
    assert found[0] == found[1]
    caught = [d for d in found[0] if d.where.startswith("mt.prior_votes(")]
    assert caught and all(d.model == ("reverts", "NOT_YET_DETERMINED") and d.evm == ("reverts", "NOT_YET_DECIDED")
                          for d in caught), caught


def test_batched_answers_are_those_of_calls_on_their_own() -> None:
    # over a campaign on pyrevm, every batch's answers are those of the same
    # calls asked one by one (the bundled contracts' views read neither
    # msg.sender nor gasleft(), the two things a batched call sees otherwise)
    binding, spec = load_implementation(BINDING)
    pin_constant_pool()
    runner = ShardRunner(spec, binding, "pyrevm", steps=15)
    assert runner.deployment() is None
    backend = runner.harness.backend
    assert backend.batches_views
    call_views = backend.call_views
    seen = Counter[str]()

    def checked(calls: list[tuple[str, bytes]]) -> Any:
        answers = call_views(calls)
        for (address, data), answer in zip(calls, answers, strict=True):
            alone = backend.call_raw(address, data, read_only=True)
            assert (answer.success, answer.output, answer.halted) == (alone.success, alone.output, alone.halted)
            seen["reverts" if not answer.success else "answers"] += 1
        return answers

    backend.call_views = checked  # type: ignore[method-assign]
    for shard in plan_shards(len(binding.starts), 3, 5):
        assert runner.run(shard).divergence is None
    assert seen["answers"] > 1000 and seen["reverts"] > 50, seen
