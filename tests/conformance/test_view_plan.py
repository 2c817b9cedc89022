"""A comparison's view calls are planned once for the numbers and addresses
they are made of (``ViewComparison._view_plan``) and the plan kept while
those stay the same: a kept plan must be, call for call and in order, the
one made anew from ``_view_args``, with the same calldata and batching."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from conformance.binding import load_implementation
from conformance.harness import Harness
from conformance.runner import ShardRunner, pin_constant_pool, plan_shards

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


def _fresh_plan(h: Harness) -> list[Any]:
    """The calls of one comparison as they were made before plans were kept: each module's
    ``_view_args`` in turn, each call with its key and EVM request."""
    out = []
    for module, m in h.spec.modules.items():
        for fn, abi_fn, args in h._view_args(module, m):
            request = (h.addresses[module], h._calldata(abi_fn, fn, args), abi_fn.signature, h._batchable(module, fn))
            out.append(((module, fn.name, args), request))
    return out


def test_a_kept_view_plan_is_the_one_made_anew() -> None:
    binding, spec = load_implementation(BINDING)
    pin_constant_pool()
    runner = ShardRunner(spec, binding, "pyrevm", steps=15)
    assert runner.deployment() is None
    h = runner.harness
    plan = h._view_plan
    seen = Counter[str]()
    made: set[int] = set()

    def checked() -> Any:
        got = plan()
        seen["kept" if id(got) in made else "made"] += 1
        made.add(id(got))
        mine = [(call, (int(r[0], 16), r[1], r[2].signature, r[3])) for _, _, call, r in got]
        assert mine == _fresh_plan(h)
        return got

    h._view_plan = checked  # type: ignore[method-assign]
    for shard in plan_shards(len(binding.starts), 3, 5):
        assert runner.run(shard).divergence is None
    # plans were kept and reused, and each reuse was checked against a fresh one
    assert seen["kept"] > 20 and seen["made"] > 20, seen
