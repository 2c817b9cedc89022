"""Views: the contracts' view functions called with the arguments worth asking,
against the model's functions."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from conformance.harness.storage import StorageIndex
from conformance.harness.values import (
    MAX_TIME_STEP,
    MAX_VIEW_BLOCK_AGE,
    MAX_VIEW_CALLS,
    VIEW_STATE_BLOCKS,
    VIEW_STATE_MOMENTS,
    Difference,
    PathFn,
    _arg_product,
    _call_path,
    _spread,
    _view_reader,
    normal,
    to_checksum,
)
from reference.runtime import Env, Revert
from spec import ir


class ViewComparison(StorageIndex):
    """The view layer: view functions compared with the model's functions."""

    def compare_views(self) -> list[Difference]:
        """Differences in the exported views of every module."""
        diffs = []
        for module, m in self.spec.modules.items():
            for path, model_value, reader in self._views(module, m):
                evm_value = reader()
                if model_value != evm_value:
                    diffs.append(Difference(path(), model_value, evm_value))
        return diffs

    def _views(self, module: str, m: ir.Module) -> Iterator[tuple[PathFn, Any, Any]]:
        """Spec functions the implementation exports as views, evaluated at
        every known address: derived state (a decayed tier, a TWAP) is
        observable too, and catches bugs before any action writes them.

        Functions that also take numbers (votes at a block, a tier at a
        moment, a quote for an amount) are evaluated at one actor, each in
        turn as blocks pass, and the numbers of :meth:`_view_numbers`; every
        other parameter type leaves a function out.
        """
        b = self.binding.modules[module]
        art = self.artifacts[module]
        exported = {f.get("name") for f in art.abi if f.get("type") == "function"}
        address = to_checksum(self.addresses[module])
        env = Env(0, self.backend.timestamp, self.backend.block_number, self.backend.chain_id)
        numbers: list[int] | None = None
        for fn in m.fns.values():
            if b.name(fn.name) not in exported or any(t not in (ir.ADDRESS, ir.UINT) for _, t in fn.params):
                continue
            if numbers is None and any(t == ir.UINT for _, t in fn.params):
                numbers = self._view_numbers()
            people = self.view_addresses
            if numbers is not None and people:
                people = [people[self.backend.block_number % len(people)]]
            choices = [people if t == ir.ADDRESS else (numbers or []) for _, t in fn.params]
            for args in _spread(_arg_product(choices), MAX_VIEW_CALLS):
                path = functools.partial(_call_path, module, fn.name, args)
                try:
                    value: Any = normal(self.model.call_fn(module, fn.name, env, *args))
                except Revert as exc:
                    value = ("reverts", exc.reason)
                abi_args = [to_checksum(a) if t == ir.ADDRESS else a for a, (_, t) in zip(args, fn.params, strict=True)]
                yield path, value, _view_reader(self.backend, address, b.name(fn.name), abi_args)

    def _view_numbers(self) -> list[int]:
        """The numbers views that take numbers are evaluated at: the current
        and the previous block, the current second, the latest block numbers
        the state records (checkpoints' blocks) and the block before each, and
        the latest timestamp it records (a stake's start, a boost's end): a
        view's answer changes at exactly those points. And one moment far
        ahead (MAX_TIME_STEP on), where schedules that run on from a moment
        of the state (a tier's decay) have run their course."""
        now, block = self.backend.timestamp, self.backend.block_number
        held = self.model.numbers_held()
        blocks = [v for v in held if block - MAX_VIEW_BLOCK_AGE <= v < block - 1]
        moments = [v for v in held if now - MAX_TIME_STEP <= v <= now + MAX_TIME_STEP and v != now]
        out = {block - 1, block, now, now + MAX_TIME_STEP, *moments[-VIEW_STATE_MOMENTS:]}
        for v in blocks[-VIEW_STATE_BLOCKS:]:
            out.update((v - 1, v))
        return sorted(v for v in out if v >= 0)
