"""What a campaign step keeps from earlier steps to go faster must be what it
would find afresh: the numbers the model holds (kept by module while its
variables' versions stay), the slots the storage watch reads when both sides
first go back to a saved state (sorted out when it was saved), and the
calldata of a view comparison's calls (made from each argument list's words
once, shared by the functions of the same parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step
from conformance.runner import ShardRunner, plan_shards

BUNDLED = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


def test_the_numbers_kept_by_module_are_the_numbers_the_model_holds() -> None:
    # every time the harness gives the numbers the model holds (the draws'
    # boundaries, the views' numbers), over campaigns from a third of the
    # bundled starting states: the model's own walk of its whole state finds
    # the same numbers in the same order
    binding, spec = load_implementation(BUNDLED)
    runner = ShardRunner(spec, binding, "pyrevm", steps=15)
    h = runner.harness
    assert set(h.model.world.state) == set(h._module_variables)
    kept = h.numbers_held
    checked = {"made": 0, "reused": 0}

    def checked_numbers() -> list[int]:
        before, by_module = h._held, dict(h._held_by_module)
        numbers = kept()
        assert numbers == h.model.numbers_held()
        if h._held is not before:  # (made anew: some modules' numbers kept, the others found again)
            checked["made"] += 1
            checked["reused"] += sum(h._held_by_module[m] is by_module.get(m) for m in h._held_by_module)
        return numbers

    h.numbers_held = checked_numbers  # type: ignore[method-assign]
    for shard in plan_shards(len(binding.starts), len(binding.starts), 5)[::3]:
        result = runner.run(shard)
        assert result.divergence is None
    assert checked["made"] > 40 and checked["reused"] > 10 * checked["made"], checked


def _watched(h: Harness) -> dict[str, tuple[list[str], list[int], list[int]]]:
    return {m: (list(a), list(s), list(w)) for m, (a, s, w) in h._watch.items()}


def test_a_saved_state_read_back_from_its_slots_is_a_full_re_read() -> None:
    # the first return to a saved starting state reads the slots sorted out
    # when it was saved: the same slots, under the same modules, in the same
    # order, and the same words, as sorting the whole index out afresh
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, "pyrevm")
    for start in binding.starts[:4]:
        assert all(r.ok for r in h.start_from(start))
        saved = h._base
        assert saved.slots is not None and saved.watch is None
        h.reset()
        from_slots = _watched(h)
        h._rewatch()  # (the index sorted out afresh)
        assert from_slots == _watched(h), start
        # a step, then back: the words kept with the saved state stand
        alice, bob = h.actors[1], h.actors[2]
        h.run(Step("action", "usdc", "transfer", alice, (bob, 1)))
        h.reset()
        assert _watched(h) == from_slots


def test_a_comparison_asks_each_view_with_the_calldata_of_its_abi() -> None:
    # every call the comparisons ask of the contracts (at the scenario's
    # clock moves, after a step, at a sweep, after going back), with the
    # calldata made from the words of each argument list, is the call a
    # harness that has the ABI codec encode every call asks, in the same order
    binding, spec = load_implementation(BUNDLED)
    asked: list[list[tuple[str, bytes]]] = []
    for codec in (False, True):
        h = Harness(spec, binding, "pyrevm")
        calls: list[tuple[str, bytes]] = []
        evm_views = h._evm_views

        def recorded(requests: list[tuple[str, bytes, Any, bool]], calls: list[tuple[str, bytes]] = calls,
                     evm_views: Any = evm_views) -> Any:
            calls.extend((address, calldata) for address, calldata, _, _ in requests)
            return evm_views(requests)

        h._evm_views = recorded  # type: ignore[method-assign]
        if codec:
            h._one_word_params = lambda abi_fn, fn: False  # type: ignore[method-assign]
        assert all(r.ok for r in h.start_from("members"))
        alice, bob = h.actors[1], h.actors[2]
        for step in [Step("time", seconds=3600, blocks=2), Step("action", "usdc", "transfer", alice, (bob, 5)),
                     Step("time", seconds=86400, blocks=1)]:
            assert h.run(step).ok
            assert h.sweep() == []
        h.reset()
        assert h.run(Step("time", seconds=7200, blocks=3)).ok
        asked.append(calls)
    assert len(asked[0]) > 1000
    assert asked[0] == asked[1]


def test_a_shard_runs_with_the_objects_before_it_frozen_and_unfreezes_them(tiny_binding_path: Path) -> None:
    # during a shard the objects made before it are out of the collector's
    # sight, and after it they are back (a cycle among them is collected
    # later); a process whose objects were frozen already is left as it is
    import gc

    from conformance.runner import collect_new_objects_only

    if gc.get_freeze_count():
        pytest.skip("this process runs with frozen objects already")
    binding, spec = load_implementation(tiny_binding_path)
    during: list[int] = []
    runner = ShardRunner(spec, binding, "pyrevm", steps=5, on_step=lambda _: during.append(gc.get_freeze_count()))
    shard = plan_shards(len(binding.starts), 2, 0)[0]
    assert runner.run(shard).divergence is None
    assert during and all(n > 1000 for n in during)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collect_new_objects_only():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
