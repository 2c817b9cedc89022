"""Views: the contracts' view functions called with the arguments worth asking,
against the model's functions."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
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
    _call_path,
    _spread_product,
    normal,
    to_checksum,
)
from evm_backend.abi import AbiFunction
from evm_backend.records import RawExecution, Receipt
from reference.runtime import Env, Revert
from spec import ir
from spec.analysis import analysis_of

# One view call: where it is shown, the model's answer, and the EVM call that
# gives the contract's (its address, its calldata, the function that decodes it).
ViewCall = tuple[PathFn, Any, str, bytes, AbiFunction]


class ViewComparison(StorageIndex):
    """The view layer: view functions compared with the model's functions.

    A view's answer on either side is a function of that side's state and of
    the clock (the timestamp and the block number) alone: the model's
    functions are pure, and an EVM call runs the contracts' code on their
    storage and the block it is given. So once the views agreed, they agree
    until one of those changes. The harness counts the changes
    (:attr:`state_version`: every step that changed a side's state, every
    move back to a saved state) and :meth:`compare_views` calls the views
    again only when the state or the clock moved since they last agreed.
    A step that reverted on both sides changed nothing that a view can read
    (a revert undoes every write, and gas costs nothing on these chains).
    And of the views, each call is asked again on a side only when that
    side's answer can have changed since it last agreed (:meth:`_view_keys`).

    Within a comparison, a backend that records what each execution read
    (``Backend.records_reads``: py-evm) spares the EVM calls whose answer
    cannot have changed: each answer is kept with the storage slots and
    accounts its call read and whether it read the clock, and it stands
    until a step writes one of those slots or accounts (the receipts say
    which), the clock moves (for an answer that read it), or both sides go
    back to a saved state. The model's side is evaluated every time.

    Each view call's calldata is encoded once, and each answer decoded once
    per distinct return data: the ABI codec, not the EVM, was most of the
    cost of a view call.
    """

    def compare_views(self) -> list[Difference]:
        """Differences in the exported views of every module (none, without a
        call, when the state and the clock are as they were when the views
        last agreed).

        Each view call is asked again only when its answer can have changed
        on one side since it last agreed (see :meth:`_view_keys`): the
        model's when a variable the spec's function reads (through the
        functions it calls, in any module) changed on either side, or the
        clock moved and the function reads it; the contract's when the
        model's can, or a transaction succeeded that the spec lets write a
        module the view's contract may read (its own, those its function
        reads, those it imports), or the clock moved. (A backend that records
        what each call read asks the contract again on its own terms:
        :meth:`_evm_view`.)"""
        clock = (self.backend.timestamp, self.backend.block_number)
        key = (self.state_version, *clock, tuple(self.view_addresses))
        if key == self._views_agreed_at:
            return []
        diffs = []
        env = Env(0, clock[0], clock[1], self.backend.chain_id)
        agreed = self._views_agreed
        if len(agreed) > _AGREED_LIMIT:
            agreed.clear()
        exact = self.backend.records_reads
        model_view = self._model_view
        # the calls asked, each with what its comparison needs; the EVM's
        # answers come for all of them at once (_evm_views: one batch)
        asked: list[tuple[tuple[str, str, tuple[int, ...]], Any, Any, Any]] = []
        requests: list[tuple[str, bytes, AbiFunction, bool]] = []
        products: dict[tuple[Any, ...], list[tuple[int, ...]]] = {}  # (_view_plan's, for every module)
        tails: dict[int, list[bytes] | None] = {}  # (_word_tails of each list of products, by its id)
        for module, m in self.spec.modules.items():
            address = to_checksum(self.addresses[module])
            for fn, abi_fn, product in self._view_plan(module, m, products):
                if not product:
                    continue
                # (the keys, the encoding and whether it batches: the same for every call of one function)
                model_key, evm_key = self._view_keys(module, fn, clock)
                name = fn.name
                batchable = self._batchable(module, fn)
                words: list[bytes] | None = None
                if self._one_word_params(abi_fn, fn):
                    # the calldata: the selector, then each argument's word (the same words for
                    # every function of these parameters)
                    if id(product) in tails:
                        words = tails[id(product)]
                    else:
                        words = tails[id(product)] = _word_tails(product, fn)
                selector = abi_fn.selector
                encode = self._encoder(abi_fn, fn)
                for i, args in enumerate(product):
                    call = (module, name, args)
                    kept = agreed.get(call)
                    if kept is not None and kept[0] == model_key:
                        if not exact and kept[1] == evm_key:
                            continue  # neither side's answer can have changed since they agreed
                        model_value = kept[2]
                    else:
                        model_value = model_view(module, fn, env, args)
                    asked.append((call, model_key, evm_key, model_value))
                    requests.append((address, selector + words[i] if words is not None else encode(args),
                                     abi_fn, batchable))
        for (call, model_key, evm_key, model_value), evm_value in zip(asked, self._evm_views(requests),
                                                                      strict=True):
            if model_value != evm_value:
                module, name, args = call
                diffs.append(Difference(_call_path(module, name, args), model_value, evm_value))
                agreed.pop(call, None)
            else:
                agreed[call] = (model_key, evm_key, model_value)
        self.views_called += 1
        self._views_agreed_at = None if diffs else key
        return diffs

    def _model_view(self, module: str, fn: ir.Fn, env: Env, args: tuple[int, ...]) -> Any:
        """The model's answer to one view call: its value, or ``("reverts", reason)``."""
        try:
            return normal(self.model.call_fn(module, fn.name, env, *args))
        except Revert as exc:
            return ("reverts", exc.reason)

    def _view_keys(self, module: str, fn: ir.Fn, clock: tuple[int, int]) -> tuple[Any, Any]:
        """What each side's answer to a call of view ``fn`` depends on, as
        it stands now: two keys that change whenever the answer can.

        The model's answer is a pure function of the state the spec's
        function reads and, if it reads it, of the clock: its key holds the
        versions of those variables (:meth:`changed_variables` counts every
        change either side made to each) and the clock. The contract's answer
        is a function of the storage of the contracts it reads and of the
        clock, and a contract may read what the spec does not (a mutant that
        reads another variable, a variable the model does not have): its key
        holds the versions of every module it may read (counted by
        :meth:`changed_modules` at each transaction that succeeded and may
        have written one) and the clock, whether the spec's function reads
        it or not. Both hold the epoch, which moves when the state moved in
        a way no step records (a move back to a saved state)."""
        found = self._view_deps.get((module, fn.name))
        if found is None:
            analysis = analysis_of(self.spec)
            reads = analysis.body_reads("fn", module, fn.name)
            variables = tuple(sorted({(m, n) for _, m, n in reads}))
            modules = tuple(sorted({module, *(m for m, _ in variables), *analysis.import_closure(module)}))
            found = self._view_deps[(module, fn.name)] = (
                variables, modules, analysis.reads_clock(module, fn.name, kind="fn"))
        variables, modules, reads_clock = found
        # (a version not given yet is 0)
        model_key = (self._epoch, tuple(map(self._variable_versions.get, variables, itertools.repeat(0))),
                     clock if reads_clock else None)
        evm_key = (self._epoch, tuple(map(self._module_versions.get, modules, itertools.repeat(0))), clock)
        return model_key, evm_key

    def changed_variables(self, variables: Iterable[tuple[str, str]]) -> None:
        """Count a change of each ``(module, variable)``, on either side."""
        versions = self._variable_versions
        for v in variables:
            versions[v] = self._next_version()

    def changed_modules(self, modules: Iterable[str]) -> None:
        """Count a transaction that may have written the contracts of ``modules``."""
        versions = self._module_versions
        for m in modules:
            versions[m] = self._next_version()

    def changed_everything(self) -> None:
        """The state moved in a way no step records: every view is asked again."""
        self._epoch = self._next_version()

    def _next_version(self) -> int:
        """A version no change was given before (in any sequence): a key of
        :meth:`_view_keys` names one state, even after going back to a saved
        one (:meth:`restore_views`) and on from there another way."""
        self._tick += 1
        return self._tick

    def saved_views(self) -> tuple[Any, ...]:
        """What the views know of the state as it is now, for
        :meth:`restore_views` to put back when both sides return to it: the
        versions (the keys of :meth:`_view_keys`), the view calls' last
        agreements, and the EVM's kept answers with what each read."""
        return (self._epoch, dict(self._variable_versions), dict(self._module_versions), dict(self._views_agreed),
                dict(self._answers), {location: frozenset(calls) for location, calls in self._readers.items()})

    def restore_views(self, saved: tuple[Any, ...] | None) -> None:
        """Both sides are back in the state :meth:`saved_views` saw (the EVM
        reverted to a snapshot taken then, the model given a copy of its
        state then, and the clock set back): every answer and agreement kept
        then holds again, and nothing kept since does. Every version given
        since is new (:meth:`_next_version`), so no key of a state reached
        since matches a restored one. With None (nothing saved), every view
        is asked again."""
        if saved is None:
            self.forget_answers(None)
            self.changed_everything()
            return
        epoch, variables, modules, agreed, answers, readers = saved
        self._epoch = epoch
        self._variable_versions, self._module_versions = dict(variables), dict(modules)
        self._views_agreed = dict(agreed)
        self._answers = dict(answers)
        self._readers = {location: set(calls) for location, calls in readers.items()}

    def _batchable(self, module: str, fn: ir.Fn) -> bool:
        """Whether a call of view ``fn`` may go in a batch
        (:meth:`Backend.call_views`): its ABI function is read-only, and the
        spec's function does not read ``caller``, which a batched call sees
        as the batch contract, not the zero address a view call of its own
        is made from (the model's views run with caller 0)."""
        found = self._batchable_fns.get((module, fn.name))
        if found is None:
            found = self._batchable_fns[(module, fn.name)] = not analysis_of(self.spec).reads_env(
                module, fn.name, kind="fn", names=("caller",))
        return found

    def _evm_views(self, requests: list[tuple[str, bytes, AbiFunction, bool]]) -> list[Any]:
        """The contract's answers to view calls ``(address, calldata, ABI
        function, batchable)``, in order, each as :meth:`_evm_view` gives it:
        the answers kept (see :meth:`forget_answers`) where they stand, and
        the others from the EVM, those :meth:`_batchable` (and read-only) in
        one :meth:`Backend.call_views` (on a backend that
        :attr:`~Backend.batches_views`, one EVM execution), the rest each on
        its own. The same call asked twice is run once."""
        now = (self.backend.timestamp, self.backend.block_number)
        answers = self._answers
        values: list[Any] = []
        batch: dict[tuple[str, bytes], AbiFunction] = {}  # (the calls to run in one batch, in order)
        batched: list[tuple[int, tuple[str, bytes]]] = []  # (where each batched answer goes)
        for address, calldata, fn, batchable in requests:
            call = (address, calldata)
            kept = answers.get(call) if answers else None
            if kept is not None and (kept[1] is None or kept[1] == now):
                values.append(kept[0])
            elif batchable and fn.is_read_only:
                if call not in batch:
                    batch[call] = fn
                batched.append((len(values), call))
                values.append(_MISSING)
            else:
                values.append(self._evm_view(address, calldata, fn))
        if not batch:
            return values
        ran = dict(zip(batch, self.backend.call_views(list(batch)), strict=True))
        keep = self._keep_answer
        for call, raw in ran.items():
            ran[call] = keep(call, raw, batch[call])
        for i, call in batched:
            values[i] = ran[call]
        return values

    def _evm_view(self, address: str, calldata: bytes, fn: AbiFunction) -> Any:
        """The contract's answer to one view call: its decoded return value, or
        ``("reverts", reason)``; the answer kept from an earlier call when
        nothing it read has changed since (see :meth:`forget_answers`)."""
        call = (address, calldata)
        kept = self._answers.get(call)
        if kept is not None and (kept[1] is None or kept[1] == (self.backend.timestamp, self.backend.block_number)):
            return kept[0]
        return self._keep_answer(call, self.backend.call_raw(address, calldata, read_only=fn.is_read_only), fn)

    def _keep_answer(self, call: tuple[str, bytes], raw: RawExecution, fn: AbiFunction) -> Any:
        """The answer of ``raw``, an EVM execution of ``call`` (address,
        calldata); kept with what it read, when the backend says."""
        value = self._view_answer(raw, fn)
        reads = raw.reads
        if reads is not None:
            if len(self._answers) > _ANSWERS_LIMIT:
                self.forget_answers(None)
            clock = (self.backend.timestamp, self.backend.block_number) if reads.clock else None
            self._answers[call] = (value, clock)
            readers = self._readers
            for location in reads.storage:
                readers.setdefault(location, set()).add(call)
            for account in reads.accounts:
                readers.setdefault(account, set()).add(call)
        return value

    def forget_answers(self, receipt: Receipt | None) -> None:
        """Drop the kept view answers that read what ``receipt``'s execution
        wrote (a storage slot, or an account's balance, nonce, code or whole
        storage); every one when ``receipt`` is None or does not say what it
        wrote (the state moved in a way no receipt records)."""
        if receipt is None or receipt.storage_writes is None or receipt.account_writes is None:
            self._answers.clear()
            self._readers.clear()
            return
        answers, readers = self._answers, self._readers
        for location in (*receipt.storage_writes, *receipt.account_writes):
            for call in readers.pop(location, ()):
                answers.pop(call, None)

    def _view_answer(self, raw: RawExecution, fn: AbiFunction) -> Any:
        """A view call's answer: its return data decoded, or ``("reverts",
        reason)`` (each answer decoded once per distinct return data)."""
        key = (id(fn), raw.output) if raw.success else (None, raw.halted, raw.output)
        value = self._decoded.get(key, _MISSING)
        if value is _MISSING:
            if len(self._decoded) > _DECODED_LIMIT:
                self._decoded.clear()
            if raw.success:
                value = normal(fn.decode_output(raw.output))
            else:
                value = ("reverts", self.evm_reason(self.backend.receipt_of(raw)))
            self._decoded[key] = value
        return value

    def _views(self, module: str, m: ir.Module) -> Iterator[tuple[PathFn, Any, Any]]:
        """(path, model value, thunk reading the EVM value) for every view call
        of :meth:`_view_calls`."""
        for path, value, address, calldata, fn in self._view_calls(module, m):
            yield path, value, functools.partial(self._evm_view, address, calldata, fn)

    def _view_calls(self, module: str, m: ir.Module) -> Iterator[ViewCall]:
        """Every call of :meth:`_view_args`, with its path, the model's
        answer, and the EVM call that gives the contract's."""
        address = to_checksum(self.addresses[module])
        env = Env(0, self.backend.timestamp, self.backend.block_number, self.backend.chain_id)
        for fn, abi_fn, args in self._view_args(module, m):
            path = functools.partial(_call_path, module, fn.name, args)
            yield path, self._model_view(module, fn, env, args), address, self._calldata(abi_fn, fn, args), abi_fn

    def _view_args(self, module: str, m: ir.Module) -> Iterator[tuple[ir.Fn, AbiFunction, tuple[int, ...]]]:
        """Spec functions the implementation exports as views, with the
        arguments to evaluate each at: every known address: derived state (a
        decayed tier, a TWAP) is observable too, and catches bugs before any
        action writes them.

        Functions that also take numbers (votes at a block, a tier at a
        moment, a quote for an amount) are evaluated at one actor, each in
        turn as blocks pass, and the numbers of :meth:`_view_numbers`; every
        other parameter type leaves a function out.
        """
        for fn, abi_fn, product in self._view_plan(module, m):
            for args in product:
                yield fn, abi_fn, args

    def _view_plan(self, module: str, m: ir.Module,
                   products: dict[tuple[Any, ...], list[tuple[int, ...]]] | None = None,
                   ) -> Iterator[tuple[ir.Fn, AbiFunction, list[tuple[int, ...]]]]:
        """The calls of :meth:`_view_args`, a function at a time: each
        exported view with the list of its argument tuples, in order.

        ``products`` keeps the argument lists made, by whether numbers are
        asked yet and the parameters' types: what each list is made of (the
        actors asked, the numbers of :meth:`_view_numbers`) is the same for
        every module while the state and the clock stay, so one comparison
        may share it between modules."""
        numbers: list[int] | None = None
        if products is None:
            products = {}
        for fn, abi_fn, types in self._exported_views_typed(module, m):
            if numbers is None and ir.UINT in types:
                numbers = self._view_numbers()
            key = (numbers is None, *types)
            product = products.get(key)
            if product is None:
                people = self.view_addresses
                if numbers is not None and people:
                    people = [people[self.backend.block_number % len(people)]]
                choices = [people if t == ir.ADDRESS else (numbers or []) for t in types]
                product = products[key] = _spread_product(choices, MAX_VIEW_CALLS)
            yield fn, abi_fn, product

    def _exported_views_typed(self, module: str, m: ir.Module) -> list[tuple[ir.Fn, AbiFunction, tuple[ir.Type, ...]]]:
        """:meth:`_exported_views`, each with its parameters' types."""
        found = self._view_fns_typed.get(module)
        if found is None:
            found = self._view_fns_typed[module] = [
                (fn, abi_fn, tuple(t for _, t in fn.params)) for fn, abi_fn in self._exported_views(module, m)]
        return found

    def _exported_views(self, module: str, m: ir.Module) -> list[tuple[ir.Fn, AbiFunction]]:
        """The spec functions of ``module`` that the implementation exports
        under the same name and that take only addresses and numbers, with the
        ABI function that encodes a call to each."""
        found = self._view_fns.get(module)
        if found is None:
            b = self.binding.modules[module]
            index = self.abis[module]
            exported = {f.get("name") for f in self.artifacts[module].abi if f.get("type") == "function"}
            found = self._view_fns[module] = [
                (fn, index.function(b.name(fn.name), len(fn.params))) for fn in m.fns.values()
                if b.name(fn.name) in exported and all(t in (ir.ADDRESS, ir.UINT) for _, t in fn.params)]
        return found

    def _calldata(self, abi_fn: AbiFunction, fn: ir.Fn, args: tuple[int, ...]) -> bytes:
        """The calldata of a call of view ``fn`` (its ABI function ``abi_fn``) at ``args``."""
        return self._encoder(abi_fn, fn)(args)

    def _one_word_params(self, abi_fn: AbiFunction, fn: ir.Fn) -> bool:
        """Whether ``abi_fn`` takes ``fn``'s parameters as addresses and
        uint256s: each argument in range is one word, as it is."""
        found = self._word_params.get(id(abi_fn))
        if found is None or found[0] is not abi_fn:
            found = self._word_params[id(abi_fn)] = (abi_fn, abi_fn.input_types == _word_types(fn))
        return found[1]

    def _encoder(self, abi_fn: AbiFunction, fn: ir.Fn) -> Callable[[tuple[int, ...]], bytes]:
        """A function giving the calldata of a call of view ``fn`` (its ABI
        function ``abi_fn``) at its arguments: addresses and uint256s, in
        range, are one word each, as they are; anything else is encoded by
        the ABI codec (and kept)."""
        found = self._encoders.get(id(abi_fn))
        if found is not None and found[0] is abi_fn:
            return found[1]
        selector, signature = abi_fn.selector, abi_fn.signature
        bounds = _word_bounds(fn)
        words = self._one_word_params(abi_fn, fn)
        params = fn.params
        encoded = self._encoded

        def encode(args: tuple[int, ...]) -> bytes:
            if words:
                tail = _words_of(args, bounds)
                if tail is not None:
                    return selector + tail
            key = (signature, args)
            data = encoded.get(key)
            if data is None:
                if len(encoded) > _ENCODED_LIMIT:
                    encoded.clear()
                data = encoded[key] = abi_fn.encode_call(
                    [to_checksum(a) if t == ir.ADDRESS else a for a, (_, t) in zip(args, params, strict=True)])
            return data

        self._encoders[id(abi_fn)] = (abi_fn, encode)
        return encode

    def _view_numbers(self) -> list[int]:
        """The numbers views that take numbers are evaluated at: the current
        and the previous block, the current second, the latest block numbers
        the state records (checkpoints' blocks) and the block before each, and
        the latest timestamp it records (a stake's start, a boost's end): a
        view's answer changes at exactly those points. And one moment far
        ahead (MAX_TIME_STEP on), where schedules that run on from a moment
        of the state (a tier's decay) have run their course. (Kept while the
        state and the clock are as they were: every module's views ask them.)"""
        now, block = self.backend.timestamp, self.backend.block_number
        key = (self.state_version, now, block)
        if self._numbers_at[0] == key:
            return self._numbers_at[1]
        held = self.numbers_held()
        blocks = [v for v in held if block - MAX_VIEW_BLOCK_AGE <= v < block - 1]
        moments = [v for v in held if now - MAX_TIME_STEP <= v <= now + MAX_TIME_STEP and v != now]
        out = {block - 1, block, now, now + MAX_TIME_STEP, *moments[-VIEW_STATE_MOMENTS:]}
        for v in blocks[-VIEW_STATE_BLOCKS:]:
            out.update((v - 1, v))
        numbers = sorted(v for v in out if v >= 0)
        self._numbers_at = (key, numbers)
        return numbers


    def numbers_held(self) -> list[int]:
        """The model's ``numbers_held()``, kept while the state is as it was:
        it changes only when a step changes a side's state or both sides go
        back to a saved one (:attr:`state_version`); a dry run of an action
        on the model puts the state back as it was."""
        if self._held[0] != self.state_version:
            # (by module: a module's numbers change only with its variables,
            # whose versions every change on either side moves, see
            # _view_keys; a module's numbers found at the same versions are
            # its numbers now)
            found: set[int] = set()
            versions, kept, epoch = self._variable_versions, self._held_by_module, self._epoch
            for module, names in self._module_variables.items():
                key = (epoch, tuple(map(versions.get, names, itertools.repeat(0))))
                held = kept.get(module)
                if held is None or held[0] != key:
                    held = kept[module] = (key, self.model.numbers_in((self.model.state(module),)))
                found |= held[1]
            self._held = (self.state_version, sorted(x for x in found if x > 0))
        return self._held[1]


def _word_tails(product: list[tuple[int, ...]], fn: ir.Fn) -> list[bytes] | None:
    """The calldata after the selector of a call at each argument tuple of
    ``product``, to a function whose ABI takes ``fn``'s parameters as
    addresses and uint256s: :func:`_words_of` each (a value's word made once
    for the whole list); None when an argument is out of its type's range
    (then the ABI codec encodes, and says why it cannot)."""
    bounds = _word_bounds(fn)
    made: dict[int, bytes] = {}
    out = []
    for args in product:
        tail = _words_of(args, bounds, made)
        if tail is None:
            return None
        out.append(tail)
    return out


def _word_bounds(fn: ir.Fn) -> tuple[int, ...]:
    """The bound of each of ``fn``'s parameters as one word: 2**160 for an address, 2**256 for a uint256."""
    return tuple(_ADDRESS if t == ir.ADDRESS else _WORD for _, t in fn.params)


def _words_of(args: tuple[int, ...], bounds: tuple[int, ...], made: dict[int, bytes] | None = None) -> bytes | None:
    """Each argument's 32-byte word, in order (the words already in ``made``
    taken from it, and the new ones put there); None when an argument is not
    below its bound."""
    parts = []
    for a, b in zip(args, bounds, strict=True):
        if not 0 <= a < b:
            return None
        word = made.get(a) if made is not None else None
        if word is None:
            word = a.to_bytes(32, "big")
            if made is not None:
                made[a] = word
        parts.append(word)
    return b"".join(parts)


def _word_types(fn: ir.Fn) -> tuple[str, ...]:
    """The ABI types of ``fn``'s parameters when each is one plain word."""
    return tuple("address" if t == ir.ADDRESS else "uint256" for _, t in fn.params)


_WORD = 2**256
_ADDRESS = 2**160
_MISSING = object()
# the kept view answers are bounded too
_ANSWERS_LIMIT = 1 << 16
# the caches of encoded calls and decoded answers are bounded (a long
# campaign asks at ever new blocks and moments)
_ENCODED_LIMIT = 1 << 16
_DECODED_LIMIT = 1 << 16
_AGREED_LIMIT = 1 << 16
