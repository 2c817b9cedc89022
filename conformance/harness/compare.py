"""Comparing one step: success or revert and the reason, the return value, the
events, and the state that changed (or all of it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conformance.harness.values import (
    Difference,
    Step,
    StorageRead,
    _attr,
    normal,
    to_abi,
)
from conformance.harness.views import ViewComparison
from conformance.signatures import SignedValue
from evm_backend.records import Receipt
from reference.model import Outcome
from reference.runtime import Signature
from spec import ir
from spec.analysis import fields_written, write_set


class StepComparison(ViewComparison):
    """The comparison layer: outcome, events and state of one step."""

    def model_value(self, value: Any, t: ir.Type) -> Any:
        """A step argument as the model takes it (records become dataclasses)."""
        if isinstance(t, ir.RecordT) and not hasattr(value, "__dataclass_fields__"):
            rec = self.spec.modules[t.module].records[t.name]
            return self.model.record(t.module, t.name, *(
                self.model_value(v, ft) for v, (_, ft) in zip(value, rec.fields, strict=True)))
        if t == ir.SIGNATURE and isinstance(value, SignedValue):
            rt = ir.RecordT(value.module, value.request_type)
            return Signature(value.signer, value.request_type, self.model_value(value.request, rt),
                             value.chain_id, value.contract, value.canonical)
        return value

    def abi_value(self, value: Any, t: ir.Type) -> Any:
        if isinstance(t, ir.RecordT):
            rec = self.spec.modules[t.module].records[t.name]
            return tuple(self.abi_value(getattr(value, _attr(n)), ft) for n, ft in rec.fields)
        if t == ir.SIGNATURE:
            return value.evm if isinstance(value, SignedValue) else bytes(65)
        return to_abi(value, t)

    def compare_outcome(self, decl: ir.Action, outcome: Outcome, receipt: Receipt) -> list[Difference]:
        diffs: list[Difference] = []
        if receipt.halted:
            diffs.append(Difference("execution", "completed" if outcome.ok else "reverted", "halted (out of gas?)"))
            return diffs
        if outcome.ok != receipt.success:
            diffs.append(Difference("success", outcome.ok, receipt.success))
            if not outcome.ok:
                diffs.append(Difference("model revert reason", outcome.reason, None))
            else:
                diffs.append(Difference("evm revert reason", None, self.evm_reason(receipt)))
            return diffs
        if not outcome.ok:
            reason = self.evm_reason(receipt)
            if outcome.reason != reason:
                diffs.append(Difference("revert reason", outcome.reason, reason))
            return diffs
        if decl.returns != ir.NONE and normal(outcome.value) != normal(receipt.return_value):
            diffs.append(Difference("return value", normal(outcome.value), normal(receipt.return_value)))
        model_events = [(e.module, e.name, tuple(normal(v) for _, v in e.args)) for e in outcome.events]
        evm_events = [self._evm_event(log) for log in receipt.logs]
        if model_events != evm_events:
            for i in range(max(len(model_events), len(evm_events))):
                mine = model_events[i] if i < len(model_events) else None
                theirs = evm_events[i] if i < len(evm_events) else None
                if mine != theirs:
                    diffs.append(Difference(f"event #{i}", mine, theirs))
                    break
        return diffs

    def _evm_event(self, log: Any) -> tuple[str, str, tuple[Any, ...]] | tuple[str, None, tuple[()]]:
        address = int(log.address, 16)
        module = self.module_at.get(address, f"0x{address:040x}")
        if log.event is None or module not in self.spec.modules:
            return (module, None, ())
        b = self.binding.modules[module]
        spec_events = self.spec.modules[module].events
        name = next((e for e in spec_events if b.name(e) == log.event), log.event)
        if name not in spec_events:
            return (module, name, tuple(normal(v) for v in log.args.values()))
        fields = spec_events[name].fields
        return (module, name, tuple(normal(log.args.get(b.name(f), log.args.get(f))) for f, _ in fields))

    def compare_state(self, modules: set[str] | None = None, *, params: bool = False,
                      views: bool = True) -> list[Difference]:
        """Differences between the model's and the contracts' state, read in full.

        ``modules`` limits the comparison to some modules' storage; None
        compares every module's storage and every exported view, and makes the
        compared state the baseline of the incremental comparison that
        :meth:`run` does after each step (see :meth:`compare_changes`).
        Immutable parameters are compared only with ``params=True``: they
        cannot change after deployment on either side; ``views=False`` leaves
        out the views.
        """
        diffs = self.compare_views() if modules is None and views else []
        for path, model_value, reader in self._observables(modules, params=params):
            evm_value = reader()
            if model_value != evm_value:
                diffs.append(Difference(path(), model_value, evm_value))
        if modules is None:
            self._rebaseline()
        return diffs

    def compare_changes(self, step: Step, outcome: Outcome, receipt: Receipt) -> list[Difference]:
        """Differences after one step, found by comparing only what the step
        changed on either side.

        After the previous step the two sides agreed on every observable
        (see :meth:`compare_state`). An observable the model did not change
        (``outcome.journal``, the action's undo log, names every entry it
        wrote: :meth:`_journal_changes`) and whose storage the EVM did not change still has that agreed
        value on both sides, so comparing just the changed entries finds
        every difference a full read would, reading a handful of slots instead
        of every map entry at every known address. (It can find more: an
        entry the model once held, at a key the model has since forgotten by a
        reset, stays indexed, and a write there by the EVM is compared with
        the model's default.) What the EVM changed comes:

        - from the receipt, when the backend records every slot an execution
          writes (py-evm): exact, in every contract;
        - otherwise (pyrevm) from reading back the indexed slots of the
          modules the spec lets the action change, and of any contract that
          logged, and comparing them with the words after the previous step;
          a reverted transaction changed nothing and needs no read. A write to
          another contract shows at the next full comparison.

        Variables that an implementation exposes only through getters have
        no slots to watch: those of the modules the spec lets the step change,
        or that logged, are read in full.
        """
        entries = self._journal_changes(outcome.journal, fields_written(self.spec, step.module, step.action)) \
            if outcome.ok else set()
        if entries is None:
            entries = set()
            for module, before in outcome.before.items():
                entries.update(self._model_changes(module, before))
        # what the spec lets this action change, and any contract that logged
        logged = {self.module_at.get(int(log.address, 16)) for log in receipt.logs}
        scope = set(write_set(self.spec, step.module, step.action)) | {m for m in logged if m}
        written: Iterable[tuple[str, int]]
        if receipt.storage_writes is not None:
            written = receipt.storage_writes
        elif receipt.success:
            written = self._changed_watched_words(scope)
        else:
            written = ()  # a reverted transaction leaves no storage changed: the EVM undoes it
        return self._compare_entries(entries, written, scope)

    def sweep(self) -> list[Difference]:
        """What :meth:`compare_state` with no arguments finds, reading only
        what the per-step comparison can have missed: the views, the watched
        slots of every module (for a backend that does not record writes)
        whose words may have changed since they were last read (a
        transaction succeeded since: a module read after the last one that
        did, and no reverted one, changes nothing), and
        the variables read through getters. After a step that was not
        compared, it reads everything."""
        if not self._baseline_valid:
            return self.compare_state(None)
        # (the storage first: a change it finds is one the views may read)
        entries = self.sweep_storage()
        return self.compare_views() + entries

    def sweep_storage(self, *, getters: bool = True) -> list[Difference]:
        """:meth:`sweep` without the views: the watched slots whose words may
        have changed since they were last read, and (with ``getters``) the
        variables read through getters (everything but the views after a
        step that was not compared)."""
        if not self._baseline_valid:
            return self.compare_state(None, views=False)
        written = () if self.backend.records_storage_writes else self._changed_watched_words(
            [m for m in self.spec.modules if m in self._unread])
        return self._compare_entries(set(), written, set(self.spec.modules) if getters else set())

    def _compare_entries(self, entries: set[tuple[str, str, tuple[int, ...]]],
                         written: Iterable[tuple[str, int]], getter_scope: set[str]) -> list[Difference]:
        """Compare ``entries``, the entries stored at the ``written`` slots,
        and every variable of ``getter_scope`` that has no slot."""
        index = self._index
        for location in written:
            entries.update(index.get(location, ()))
        # (what changed on either side: the views that read it are asked again)
        self.changed_variables({(module, name) for module, name, _ in entries})
        self.changed_variables(v for v in self._getter_vars if v[0] in getter_scope)
        grew = len(index)
        diffs = []
        compared = []
        for module, name, keys in sorted(entries):
            t = self._state_types[module][name]
            leaf, leaf_t = self._model_entry(module, name, t, keys)
            compared.append(self._entry(module, name, keys, leaf_t, leaf))
        # (the slots of the entries kept in storage read at once)
        slots = list(dict.fromkeys((r.address, s.slot) for _, _, r in compared if isinstance(r, StorageRead)
                                   for s in r.slices))
        words = dict(zip(slots, self.backend.read_storage([a for a, _ in slots], [s for _, s in slots]),
                         strict=True)) if slots else {}
        for path, model_value, reader in compared:
            evm_value = reader.value(words) if isinstance(reader, StorageRead) else reader()
            if model_value != evm_value:
                diffs.append(Difference(path(), model_value, evm_value))
        for module, name in self._getter_vars:
            if module in getter_scope:
                t = self._state_types[module][name]
                value = getattr(self.model.state(module), _attr(name))
                for path, model_value, reader in self._var(module, name, t, value):
                    evm_value = reader()
                    if model_value != evm_value:
                        diffs.append(Difference(path(), model_value, evm_value))
        if len(index) != grew:
            self._watch_new()
        return diffs
