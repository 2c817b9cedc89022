"""The storage index: where each observable of the model lives in the contracts'
storage, which words a step may have changed, and the model's changes."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterable, Iterator
from typing import Any

from conformance.binding import BindingError
from conformance.calls import call_arguments
from conformance.harness.deploy import DeployedPair
from conformance.harness.values import (
    PathFn,
    Where,
    _attr,
    _getter_reader,
    _key_types,
    _locate,
    _path,
    _storage_reader,
    _variables,
    normal,
    peek,
    to_abi,
    to_checksum,
)
from evm_backend.storage import LayoutError, placed, rules_for
from reference.runtime import _ABSENT, _FIELD, Map
from spec import ir


class StorageIndex(DeployedPair):
    """The storage-index layer: where each observable lives, and what a step changed."""

    def _observables(self, modules: set[str] | None, *, params: bool) -> Iterator[tuple[PathFn, Any, Any]]:
        """(path, model value, thunk reading the EVM value) for every observable."""
        for module, m in self.spec.modules.items():
            if modules is not None and module not in modules:
                continue
            st = self.model.state(module)
            for name, t, kind in _variables(m):
                if kind == "param" and not params:
                    continue
                value = getattr(st, _attr(name))
                yield from self._var(module, name, t, value)

    def _var(self, module: str, name: str, t: ir.Type, value: Any) -> Iterator[tuple[PathFn, Any, Any]]:
        """(path, model value, EVM reader) for every entry of one variable."""
        if isinstance(t, ir.MapT):
            for keys, leaf_t, leaf in self._map_entries(value, t):
                yield self._entry(module, name, keys, leaf_t, leaf)
        else:
            yield self._entry(module, name, (), t, value)

    def _entry(self, module: str, name: str, keys: tuple[int, ...], leaf_t: ir.Type,
               leaf: Any) -> tuple[PathFn, Any, Any]:
        """(path, model value, EVM reader) for one entry; an entry kept in
        storage is also indexed by its slots, for :meth:`compare_changes`."""
        where = self._location(module, name)
        path = functools.partial(_path, module, name, keys)
        if where.layout is None:
            key_types = _key_types(self._state_types[module][name]) if keys else []
            args = [*where.args, *(to_abi(k, kt) for k, kt in zip(keys, key_types, strict=True))]
            return path, normal(leaf), _getter_reader(self.backend, where.address, where.name, args, where.index)
        width = len(self.spec.modules[leaf_t.module].records[leaf_t.name].fields) if isinstance(
            leaf_t, ir.RecordT) else 1
        slices = _locate(where.layout, where.name, keys, width)
        index, entry = self._index, (module, name, keys)
        for s in slices:
            at = (where.address, s.slot)
            held = index.get(at)
            if held is None:
                index[at] = frozenset((entry,))
            elif entry not in held:
                if any(e[0] != module for e in held):
                    # (a slot of two modules' entries: the module it is
                    # watched under may change, see _rewatch)
                    self._mixed_slots = True
                index[at] = held | {entry}
        return path, normal(leaf), _storage_reader(self.backend, where.address, slices, leaf_t, self.spec)

    def _location(self, module: str, name: str) -> Where:
        """Where a variable lives: the binding's ``state`` entry for it, else
        the contract's layout when it places the variable, else its getter."""
        found = self._locations.get((module, name))
        if found is not None:
            return found
        b = self.binding.modules[module]
        address = to_checksum(self.addresses[module])
        layout = self.artifacts[module].storage
        over = b.state.get(name)
        if over is None:
            impl = b.name(name)
            found = Where(address, layout if layout is not None and impl in layout else None, impl)
        else:
            if over.at is not None:
                address = to_checksum(int(self.resolve(over.at)))
            if over.slot is not None:
                try:
                    rules = rules_for(over.rules) if over.rules else (
                        layout.rules if layout is not None else rules_for("solidity"))
                    placed_at = placed(name, over.slot, offset=over.offset, size=over.size,
                                       depth=len(_key_types(self._state_types[module][name])), rules=rules)
                except LayoutError as exc:
                    raise BindingError(f"binding {self.binding.name}: state {module}.{name}: {exc}") from None
                found = Where(address, placed_at, name)
            else:
                assert over.getter is not None
                depth = len(_key_types(self._state_types[module][name]))
                args = call_arguments(self.backend, address, over.getter, (*over.args, *([0] * depth)),
                                      self.resolve)[:len(over.args)]
                found = Where(address, None, over.getter, tuple(args), over.index)
        self._locations[(module, name)] = found
        return found

    def write_entry(self, module: str, name: str, keys: tuple[int, ...], value: Any) -> None:
        """Put one entry of the state on both sides alike: ``value`` into the
        model's ``module.name[keys...]`` and into the contract's storage where
        its own compiler's layout places it (a record's fields into their
        slices, packed ones into their bytes of the word). For a state that
        the spec allows but no campaign reaches (2**32 checkpoints of one
        account): every step after it must agree in full, as ever.

        Every view is asked again after it on both sides (the answers a
        backend kept with what their calls read are dropped: no receipt says
        what this wrote); the storage sweep finds the words it wrote changed
        and compares their entries.

        Raises:
            BindingError: the binding places the variable where no storage
                slot can be written (a getter).
        """
        where = self._location(module, name)
        if where.layout is None:
            raise BindingError(f"binding {self.binding.name}: state {module}.{name} is read through a getter, "
                               "not from storage: it cannot be written")
        t = self._state_types[module][name]
        leaf_t = t
        for _ in keys:
            assert isinstance(leaf_t, ir.MapT)
            leaf_t = leaf_t.value
        fields = (self.spec.modules[leaf_t.module].records[leaf_t.name].fields
                  if isinstance(leaf_t, ir.RecordT) else None)
        words = [int(v) for v in value] if fields is not None else [int(value)]
        for s, word in zip(_locate(where.layout, where.name, keys, len(words)), words, strict=True):
            old = self.backend.get_storage(where.address, s.slot)
            mask = ((1 << (8 * s.size)) - 1) << (8 * s.offset)
            self.backend.set_storage(where.address, s.slot, (old & ~mask) | ((word << (8 * s.offset)) & mask))
        state = self.model.state(module)
        if not keys:
            setattr(state, _attr(name), value)
        else:
            target = getattr(state, _attr(name))
            for k in keys[:-1]:
                target = target[k]
            target[keys[-1]] = (self.model.record(leaf_t.module, leaf_t.name, *words)
                                if isinstance(leaf_t, ir.RecordT) else value)
        self.state_version += 1
        self.forget_answers(None)  # no receipt says what was written
        self.changed_everything()
        self._unread.update(self.spec.modules)

    def _model_entry(self, module: str, name: str, t: ir.Type, keys: tuple[int, ...]) -> tuple[Any, ir.Type]:
        """The model's value of one entry, and its type."""
        value = getattr(self.model.state(module), _attr(name))
        for k in keys:
            assert isinstance(t, ir.MapT)
            value, t = peek(value, k), t.value
        return value, t

    def _model_changes(self, module: str, before: Any) -> Iterator[tuple[str, str, tuple[int, ...]]]:
        """The entries of ``module`` whose value differs from ``before``, or
        that are new (a new map key makes every entry under it observable)."""
        after = self.model.state(module)
        if before == after:
            return
        for name, t in self._state_types[module].items():
            attr = _attr(name)
            old, new = getattr(before, attr), getattr(after, attr)
            if old == new:
                continue
            if isinstance(t, ir.MapT):
                for keys in self._map_changes(old, new, t):
                    yield module, name, keys
            else:
                yield module, name, ()

    def _journal_changes(self, journal: Iterable[tuple[Any, Any, Any]],
                         written: dict[str, frozenset[str]]) -> set[tuple[str, str, tuple[int, ...]]] | None:
        """The entries a successful action wrote, from its undo log
        (:attr:`reference.model.Outcome.journal`): every entry it assigned
        (an entry assigned its old value again included), and every entry
        under a map key it added; what :meth:`_model_changes` finds from
        copies of the state before, and no copies. None when a write went to
        a container the state no longer holds (one the action replaced after
        writing into it): the caller then compares the copies. ``written``
        is what the spec lets the action assign, by module
        (:func:`spec.analysis.fields_written`): where the maps and records
        it wrote into are looked for.
        """
        state = self.model.world.state
        owners = {id(st): m for m, st in state.items()}
        names = self._attr_names
        types = self._state_types
        where: dict[int, tuple[str, str, tuple[int, ...], ir.Type]] | None = None
        nested = False
        out: set[tuple[str, str, tuple[int, ...]]] = set()
        for target, key, old in journal:
            if key is _FIELD:
                module = owners.get(id(target))
                if module is not None:  # a variable of a module's state
                    attr, was = old
                    name = names[module].get(attr)
                    if name is None:  # (a parameter: none is ever written)
                        continue
                    t = types[module][name]
                    if isinstance(t, ir.MapT):
                        new = getattr(target, attr)
                        out.update((module, name, keys) for keys in (
                            self._map_changes(was, new, t) if isinstance(was, Map)
                            else (k for k, _, _ in self._map_entries(new, t))))
                    else:
                        out.add((module, name, ()))
                    continue
            if where is None:
                where = self._containers(state, written, nested=False)
            found = where.get(id(target))
            if found is None and not nested:
                nested = True
                where.update(self._containers(state, written, nested=True))
                found = where.get(id(target))
            if found is None:
                return None
            module, name, keys, t = found
            if key is _FIELD:  # a field of a record: the record is one entry
                out.add((module, name, keys))
                continue
            assert isinstance(t, ir.MapT)
            k = (*keys, int(key))
            if isinstance(t.value, ir.MapT):
                new = dict.get(target, key, _ABSENT)
                if isinstance(old, Map) and isinstance(new, Map):
                    out.update((module, name, (*k, *sub)) for sub in self._map_changes(old, new, t.value))
                elif isinstance(new, Map):  # a new key: every entry under it
                    out.update((module, name, (*k, *sub)) for sub, _, _ in self._map_entries(new, t.value))
            else:
                out.add((module, name, k))
        return out

    def _containers(self, state: dict[str, Any], written: dict[str, frozenset[str]], *,
                    nested: bool) -> dict[int, tuple[str, str, tuple[int, ...], ir.Type]]:
        """The maps and records that the variables ``written`` (by module)
        hold, by identity: the variable, the keys and the
        type each is at. Those the variables are, or with ``nested`` those
        inside them too."""
        out: dict[int, tuple[str, str, tuple[int, ...], ir.Type]] = {}

        def visit(module: str, name: str, keys: tuple[int, ...], t: ir.Type, value: Any) -> None:
            if isinstance(t, ir.MapT):
                out[id(value)] = (module, name, keys, t)
                if isinstance(t.value, (ir.MapT, ir.RecordT)):
                    for k, v in value.items():
                        visit(module, name, (*keys, int(k)), t.value, v)
            elif isinstance(t, ir.RecordT):
                out[id(value)] = (module, name, keys, t)

        for module, names in written.items():
            st = state[module]
            types = self._state_types[module]
            for name in names:
                t = types.get(name)
                if not isinstance(t, (ir.MapT, ir.RecordT)):
                    continue
                value = getattr(st, _attr(name))
                if nested:
                    visit(module, name, (), t, value)
                else:
                    out[id(value)] = (module, name, (), t)
        return out

    def _map_changes(self, old: Map, new: Map, t: ir.MapT) -> Iterator[tuple[int, ...]]:
        # a successful action only adds keys to the model's maps
        for k, v in new.items():
            if k in old:
                was = old[k]
                if was == v:
                    continue
                if isinstance(t.value, ir.MapT):
                    yield from ((int(k), *sub) for sub in self._map_changes(was, v, t.value))
                else:
                    yield (int(k),)
            elif isinstance(t.value, ir.MapT):
                yield from ((int(k), *sub) for sub, _, _ in self._map_entries(v, t.value))
            else:
                yield (int(k),)

    def _rebaseline(self) -> None:
        """Both sides were just compared in full: they are the baseline."""
        self._baseline_valid = True
        self._rewatch()

    def _rewatch(self, slots: dict[str, tuple[list[str], list[int]]] | None = None) -> None:
        """For a backend that does not report the slots it writes, read back
        every indexed slot of every module: the words later steps are
        compared against. ``slots``, when given, are :meth:`watched_slots`
        of the index as it is: the slots to read, by module (they are not
        sorted out again)."""
        if self.backend.records_storage_writes:
            return
        self._unread = set()
        if slots is not None:
            read = self.backend.read_storage
            self._watch = {m: (addresses, at, read(addresses, at) if at else [])
                           for m, (addresses, at) in slots.items()}
            self._watched = len(self._index)
            return
        self._watch = {m: ([], [], []) for m in self.spec.modules}
        self._watched = 0
        self._watch_new()

    def watched_slots(self) -> dict[str, tuple[list[str], list[int]]] | None:
        """The slots :meth:`_rewatch` reads for the index as it is now, by
        module and in its order, when the watched words are those of the
        whole index (None otherwise, or on a backend that reports its
        writes). Each slot is watched under the module of its entries (the
        least of them when it holds several), sorted out when it was first
        watched; only a slot that holds entries of two modules could be
        sorted otherwise now, so once there is one, None."""
        if self.backend.records_storage_writes or self._watched != len(self._index) or self._mixed_slots:
            return None
        empty: tuple[list[str], list[int], list[int]] = ([], [], [])
        return {m: self._watch.get(m, empty)[:2] for m in self.spec.modules}

    def _watch_new(self) -> None:
        """Read back the slots indexed since the last :meth:`_rewatch` or call
        (entries just compared: their words are the agreed ones), and add
        them to the watched words of their modules. The words already
        watched stay as they are: a change there that no comparison has
        seen yet is still found by the next one that reads them."""
        index = self._index
        if self.backend.records_storage_writes or len(index) == self._watched:
            return
        added: dict[str, tuple[list[str], list[int]]] = {}
        for (address, slot) in itertools.islice(index, self._watched, None):
            entries = index[(address, slot)]
            # (one contract's slots belong to one module)
            module = min(entries)[0] if len(entries) > 1 else next(iter(entries))[0]
            addresses, slots = added.setdefault(module, ([], []))
            addresses.append(address)
            slots.append(slot)
        for module, (addresses, slots) in added.items():
            old_addresses, old_slots, old_words = self._watch[module]
            # (new lists: a saved state keeps the ones it saw)
            self._watch[module] = (old_addresses + addresses, old_slots + slots,
                                   old_words + self.backend.read_storage(addresses, slots))
        self._watched = len(index)

    def _changed_watched_words(self, modules: Iterable[str]) -> list[tuple[str, int]]:
        """The indexed slots of ``modules`` whose word changed since the last step."""
        changed: list[tuple[str, int]] = []
        for module in modules:
            addresses, slots, old = self._watch[module]
            words = self.backend.read_storage(addresses, slots)
            self._unread.discard(module)
            if words != old:
                self.changed_modules((module,))
                self._watch[module] = (addresses, slots, words)
                differ = list(map(operator.ne, old, words))
                changed.extend(zip(itertools.compress(addresses, differ), itertools.compress(slots, differ),
                                   strict=True))
        return changed

    def _map_entries(self, m: Map, t: ir.MapT) -> Iterator[tuple[tuple[int, ...], ir.Type, Any]]:
        keys = set(m.keys())
        if t.key == ir.ADDRESS:
            keys.update(self.known_addresses)
        for k in sorted(keys):
            leaf = peek(m, k)
            if isinstance(t.value, ir.MapT):
                for sub, leaf_t, v in self._map_entries(leaf, t.value):
                    yield (int(k), *sub), leaf_t, v
            else:
                yield (int(k),), t.value, leaf
