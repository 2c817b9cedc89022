"""Run the same actions on the reference model and on deployed contracts,
and compare everything observable after each step.

The harness deploys every module of the spec on an EVM backend (through the
binding) and the model at the same addresses with the same parameters. A
:class:`Step` is one top-level action (or a clock advance); :meth:`Harness.run`
executes it on both sides and returns a :class:`StepReport` with every
:class:`Difference` found in:

- success or revert, and the revert reason;
- the return value;
- the events, in order;
- the whole observable state of every module (parameters, governed
  parameters, state; maps at every key the model knows plus every actor).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any, Literal

from eth_utils import keccak, to_checksum_address

from conformance.binding import Binding, BindingError, ModuleBinding, module_artifact
from conformance.calls import call_arguments, run_calls
from conformance.strategies import state_numbers
from evm_backend import get_backend
from evm_backend.compiler import CompiledContract
from evm_backend.errors import CallReverted
from evm_backend.interface import Backend, Receipt
from evm_backend.storage import LayoutError, Slice, StorageLayout, placed, rules_for
from reference.model import Deployment, Model, Outcome
from reference.runtime import Env, Map, Revert, clone
from spec import ir
from spec.analysis import restrict, write_set

MAX_TIME_STEP = 400 * 86400
# Views that take numbers are evaluated at one actor (in turn, by block
# number), at the latest VIEW_STATE_BLOCKS block numbers (no older than
# MAX_VIEW_BLOCK_AGE blocks) and VIEW_STATE_MOMENTS timestamps the state holds,
# and at most MAX_VIEW_CALLS argument sets per view: every call costs, and
# py-evm is slow.
VIEW_STATE_BLOCKS = 3
VIEW_STATE_MOMENTS = 1
MAX_VIEW_BLOCK_AGE = 256
MAX_VIEW_CALLS = 12

# An observable's path ("vault.stake[0x...]"), built only when it is shown.
PathFn = Callable[[], str]


@dataclass(frozen=True)
class Step:
    """One step of a trace: an action, or the clock moving forward."""

    kind: Literal["action", "time"]
    module: str = ""
    action: str = ""
    caller: int = 0
    args: tuple[Any, ...] = ()
    seconds: int = 0
    blocks: int = 0

    def describe(self) -> str:
        if self.kind == "time":
            return f"advance time by {self.seconds} s and {self.blocks} block(s)"
        shown = ", ".join(_show(a) for a in self.args)
        return f"{self.module}.{self.action}({shown}) from {_show_addr(self.caller)}"


@dataclass(frozen=True)
class Difference:
    """One observable that differs: where, and both sides' values."""

    where: str
    model: Any
    evm: Any

    def __str__(self) -> str:
        return f"{self.where}: model {_show(self.model)} != evm {_show(self.evm)}"


@dataclass
class StepReport:
    """What a step did on both sides, and how they differ."""

    step: Step
    model: Outcome | None
    evm: Receipt | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _show_addr(v: int) -> str:
    return f"0x{v:040x}"[:10] + "…"


def _show(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        if v >= 2**100:
            return f"0x{v:x}"
        return str(v) if v < 10**12 else f"{v} (0x{v:x})"
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return repr(v)


def create_address(sender: int, nonce: int) -> int:
    """The address of the contract that ``sender`` creates with ``nonce``."""
    import rlp

    raw = rlp.encode([sender.to_bytes(20, "big"), nonce])
    return int.from_bytes(keccak(raw)[12:], "big")


@functools.lru_cache(maxsize=4096)
def to_checksum(v: int) -> str:
    """An address number as a checksummed hex string."""
    return str(to_checksum_address(v.to_bytes(20, "big")))


# --------------------------------------------------------- value conversion


def to_abi(value: Any, t: ir.Type) -> Any:
    """A model value as the ABI encoder wants it."""
    if t == ir.ADDRESS:
        return to_checksum(int(value))
    if t == ir.BYTES32:
        return int(value).to_bytes(32, "big")
    if t == ir.BOOL:
        return bool(value)
    if isinstance(t, ir.RecordT):
        raise TypeError("records are converted by the harness, which knows their fields")
    return int(value)


def normal(value: Any) -> Any:
    """A comparable plain value: ints for numbers, addresses and bytes32;
    tuples for records and ABI structs."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    if hasattr(value, "__dataclass_fields__"):
        return tuple(normal(getattr(value, f)) for f in value.__dataclass_fields__)
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    return value


def peek(m: Map, key: Any) -> Any:
    """Read a model map entry without inserting a default."""
    if key in m:
        return m[key]
    return m.default()


# ------------------------------------------------------------------ harness


@dataclass(frozen=True)
class _Where:
    """Where the EVM keeps one spec variable: a contract, and either the
    layout that places ``name`` or the getter ``name`` (called with ``args``
    before the map keys; ``index`` picks one of several outputs)."""

    address: str
    layout: StorageLayout | None
    name: str
    args: tuple[Any, ...] = ()
    index: int | None = None


@dataclass(frozen=True)
class _Saved:
    """Both sides at one moment: the EVM snapshot, the model's state, the
    clock, and whether every change up to then was compared (so that the
    incremental comparison may start from there)."""

    snapshot: int
    model: dict[str, Any]
    clock: tuple[int, int]
    compared: bool


class Harness:
    """The model and the contracts side by side, deployed identically.

    Raises (from the constructor):
        BindingError: the binding names unknown modules or lacks one.
        CompileError: a Vyper source does not compile.
        DeploymentFailed: a constructor reverted.
    """

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str = "py-evm", *,
                 check_rules: bool = False, full_compare: bool = False) -> None:
        try:
            # an implementation may cover part of the spec, closed under imports
            spec = restrict(spec, binding.modules)
        except ValueError as exc:
            raise BindingError(f"binding {binding.name}: {exc}") from None
        self.spec = spec
        self.binding = binding
        self.check_rules = check_rules
        self.full_compare = full_compare
        self.backend: Backend = get_backend(backend)
        accounts = self.backend.create_accounts(1 + binding.actors)
        self.deployer = int(accounts[0].address, 16)
        self.actors = [int(a.address, 16) for a in accounts[1:]]
        self.artifacts = {m: self._artifact(b) for m, b in binding.modules.items()}
        nonce = self.backend.get_nonce(to_checksum(self.deployer))
        self.addresses = {m: create_address(self.deployer, nonce + i) for i, m in enumerate(spec.modules)}
        self.module_at = {a: m for m, a in self.addresses.items()}
        self.model = Model.deploy(spec, Deployment(
            addresses=self.addresses, params=self._param_overrides(), deployer=self.deployer,
            now=self.backend.timestamp, block_number=self.backend.block_number, chain_id=self.backend.chain_id,
        ))
        self._deploy_contracts()
        self.known_addresses = sorted({0, self.deployer, *self.actors, *self.addresses.values()})
        # the incremental comparison (compare_changes): where each variable
        # lives, every storage slot the model has an entry for, and whether
        # the two sides were last compared in full and agreed
        self._state_types = {module: {name: t for name, t, kind in _variables(m) if kind != "param"}
                             for module, m in self.spec.modules.items()}
        self._locations: dict[tuple[str, str], _Where] = {}
        # a slot holds one entry, or several packed together
        self._index: dict[tuple[str, int], set[tuple[str, str, tuple[int, ...]]]] = {}
        self._getter_vars = [(module, name) for module, names in self._state_types.items() for name in names
                             if self._location(module, name).layout is None]
        self._watch: dict[str, tuple[list[str], list[int], list[int]]] = {}
        self._baseline_valid = False
        self.view_addresses = list(self.actors)
        self.deployment_differences = self.compare_state(None, params=True)
        self.prelude_reports = [self.run(s) for s in self._prelude_steps()]
        self._prelude = self._save()
        self._base = self._save()

    # ------------------------------------------------------------- setup
    def _artifact(self, b: ModuleBinding) -> CompiledContract:
        return module_artifact(self.binding, b)

    def resolve(self, token: Any, *, self_actor: int | None = None) -> Any:
        """Turn a binding value (``actor:N``, ``actor:self``, ``deployer``,
        ``@module``, a number) into a model value."""
        if isinstance(token, str):
            if token.startswith("actor:"):
                which = token.split(":", 1)[1]
                if which == "self":
                    if self_actor is None:
                        raise BindingError("`actor:self` is only meaningful in a prelude step for `actor:*`")
                    return self_actor
                return self.actors[int(which)]
            if token == "deployer":
                return self.deployer
            if token.startswith("@"):
                return self.addresses[token[1:]]
            if token.startswith("0x"):
                return int(token, 16)
            return int(float(token)) if "e" in token else int(token)
        if isinstance(token, float):
            return int(token)
        return token

    def _param_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, m in self.spec.modules.items():
            for p in m.params.values():
                key = f"{name}.{p.name}"
                if key in self.binding.params:
                    out[key] = self.resolve(self.binding.params[key])
                elif p.default is None and p.type == ir.ADDRESS:
                    out[key] = self.actors[0]
        for key, value in self.binding.params.items():
            out.setdefault(key, self.resolve(value))
        return out

    def _constructor_args(self, module: str) -> list[Any]:
        m = self.spec.modules[module]
        b = self.binding.modules[module]
        names = b.constructor if b.constructor is not None else (
            *m.params, *(f"@{i}" for i in m.imports))
        st = self.model.state(module)

        def value(n: Any) -> Any:
            if isinstance(n, list | tuple):  # a struct argument: its fields in order
                return tuple(value(x) for x in n)
            if isinstance(n, str) and n.startswith("@"):
                return to_checksum(self.addresses[n[1:]])
            if isinstance(n, str) and n in m.params:
                return to_abi(getattr(st, _attr(n)), m.params[n].type)
            return self.resolve(n)

        return [value(n) for n in names]

    def _deploy_contracts(self) -> None:
        deployer = to_checksum(self.deployer)
        for module in self.spec.modules:
            art = self.artifacts[module]
            address = self.backend.deploy(art.bytecode, art.abi, self._constructor_args(module), sender=deployer)
            if int(address, 16) != self.addresses[module]:
                raise BindingError(f"{module} deployed at {address}, expected {to_checksum(self.addresses[module])}")

    def _prelude_steps(self) -> Iterator[Step]:
        return self.binding_steps(self.binding.prelude)

    def binding_steps(self, steps: Sequence[tuple[str, str, str, tuple[Any, ...]]]) -> Iterator[Step]:
        """Steps of a binding's prelude or scenario, with actors resolved."""
        for module, action, caller, args in steps:
            if module == "time":
                yield Step("time", seconds=int(caller), blocks=int(args[0]))
                continue
            callers = self.actors if caller == "actor:*" else [self.resolve(caller)]
            for c in callers:
                values = tuple(self.resolve(a, self_actor=c) for a in args)
                yield Step("action", module, action, c, values)

    def start_from(self, scenario: str | None) -> list[StepReport]:
        """Make the state after the prelude, then ``scenario``'s steps (if any),
        the state every later :meth:`reset` returns to. Returns the scenario's
        step reports (each compared like any step).

        Raises:
            KeyError: no such scenario in the binding.
        """
        self._prelude = self._go_back(self._prelude)
        reports = []
        if scenario is not None:
            reports = [self.run(s) for s in self.binding_steps(self.binding.scenarios[scenario])]
        self.rebase()
        return reports

    def rebase(self) -> None:
        """Make the current state of both sides the one :meth:`reset` returns to."""
        self._base = self._save()

    def reset(self) -> None:
        """Return both sides to the starting state (after the prelude and the
        current scenario, see :meth:`start_from`)."""
        self._base = self._go_back(self._base)

    def _save(self) -> _Saved:
        return _Saved(self.backend.snapshot(), self.model.world.snapshot(),
                      (self.backend.timestamp, self.backend.block_number), self._baseline_valid)

    def _go_back(self, saved: _Saved) -> _Saved:
        """Put both sides back in ``saved``; returns it with a fresh EVM
        snapshot (reverting to one uses it up)."""
        self.backend.revert(saved.snapshot)
        self.model.world.restore(clone(saved.model))
        self.backend.set_timestamp(saved.clock[0])
        self.backend.set_block_number(saved.clock[1])
        self._baseline_valid = saved.compared
        self._rewatch()
        return replace(saved, snapshot=self.backend.snapshot())

    # --------------------------------------------------------------- run
    def env(self, caller: int) -> Env:
        return Env(caller, self.backend.timestamp, self.backend.block_number, self.backend.chain_id)

    def run(self, step: Step, *, compare_state: bool = True) -> StepReport:
        """Execute one step on both sides and compare.

        Raises:
            KeyError: the step names an unknown module or action.
        """
        if step.kind == "time":
            self.backend.set_timestamp(self.backend.timestamp + step.seconds)
            self.backend.set_block_number(self.backend.block_number + step.blocks)
            report = StepReport(step, None, None)
            if compare_state:
                # storage cannot change with the clock, but derived views can
                report.differences.extend(self.compare_views())
            return report
        decl = self.spec.modules[step.module].actions[step.action]
        b = self.binding.modules[step.module]
        env = self.env(step.caller)
        model_args = tuple(self.model_value(a, t) for a, (_, t) in zip(step.args, decl.params, strict=True))
        outcome = self.model.execute(step.module, step.action, env, *model_args, check_rules=self.check_rules)
        abi_args = [self.abi_value(a, t) for a, (_, t) in zip(model_args, decl.params, strict=True)]
        address, sender = to_checksum(self.addresses[step.module]), to_checksum(step.caller)
        bound = b.actions.get(step.action)
        if bound is None:
            receipt = self.backend.transact(address, b.name(step.action), abi_args, sender=sender)
        else:
            named = {n: v for (n, _), v in zip(decl.params, abi_args, strict=True)}
            receipt = run_calls(self.backend, bound, sender=sender, self_address=address, args=named,
                                resolve=self.resolve)
        report = StepReport(step, outcome, receipt)
        report.differences.extend(self.compare_outcome(decl, outcome, receipt))
        if not compare_state:
            self._baseline_valid = False
        elif self.full_compare or not self._baseline_valid:
            report.differences.extend(self.compare_state(None))
        else:
            report.differences.extend(self.compare_changes(step, outcome, receipt))
        return report

    def model_value(self, value: Any, t: ir.Type) -> Any:
        """A step argument as the model takes it (records become dataclasses)."""
        if isinstance(t, ir.RecordT) and not hasattr(value, "__dataclass_fields__"):
            rec = self.spec.modules[t.module].records[t.name]
            return self.model.record(t.module, t.name, *(
                self.model_value(v, ft) for v, (_, ft) in zip(value, rec.fields, strict=True)))
        return value

    def abi_value(self, value: Any, t: ir.Type) -> Any:
        if isinstance(t, ir.RecordT):
            rec = self.spec.modules[t.module].records[t.name]
            return tuple(self.abi_value(getattr(value, _attr(n)), ft) for n, ft in rec.fields)
        return to_abi(value, t)

    # ----------------------------------------------------------- compare
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
                diffs.append(Difference("evm revert reason", None, receipt.revert_reason))
            return diffs
        if not outcome.ok:
            if outcome.reason != receipt.revert_reason:
                diffs.append(Difference("revert reason", outcome.reason, receipt.revert_reason))
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
        (``outcome.before`` holds the state of every module the action could
        write) and whose storage the EVM did not change still has that agreed
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
        entries: set[tuple[str, str, tuple[int, ...]]] = set()
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
        slots of every module (for a backend that does not record writes), and
        the variables read through getters. After a step that was not
        compared, it reads everything."""
        if not self._baseline_valid:
            return self.compare_state(None)
        modules = set(self.spec.modules)
        written = () if self.backend.records_storage_writes else self._changed_watched_words(modules)
        return self.compare_views() + self._compare_entries(set(), written, modules)

    def _compare_entries(self, entries: set[tuple[str, str, tuple[int, ...]]],
                         written: Iterable[tuple[str, int]], getter_scope: set[str]) -> list[Difference]:
        """Compare ``entries``, the entries stored at the ``written`` slots,
        and every variable of ``getter_scope`` that has no slot."""
        index = self._index
        for location in written:
            entries.update(index.get(location, ()))
        grew = len(index)
        diffs = []
        for module, name, keys in sorted(entries):
            t = self._state_types[module][name]
            leaf, leaf_t = self._model_entry(module, name, t, keys)
            path, model_value, reader = self._entry(module, name, keys, leaf_t, leaf)
            evm_value = reader()
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
            self._rewatch()
        return diffs

    def compare_views(self) -> list[Difference]:
        """Differences in the exported views of every module."""
        diffs = []
        for module, m in self.spec.modules.items():
            for path, model_value, reader in self._views(module, m):
                evm_value = reader()
                if model_value != evm_value:
                    diffs.append(Difference(path(), model_value, evm_value))
        return diffs

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
        for s in slices:
            self._index.setdefault((where.address, s.slot), set()).add((module, name, keys))
        return path, normal(leaf), _storage_reader(self.backend, where.address, slices, leaf_t, self.spec)

    def _location(self, module: str, name: str) -> _Where:
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
            found = _Where(address, layout if layout is not None and impl in layout else None, impl)
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
                found = _Where(address, placed_at, name)
            else:
                assert over.getter is not None
                depth = len(_key_types(self._state_types[module][name]))
                args = call_arguments(self.backend, address, over.getter, (*over.args, *([0] * depth)),
                                      self.resolve)[:len(over.args)]
                found = _Where(address, None, over.getter, tuple(args), over.index)
        self._locations[(module, name)] = found
        return found

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

    def _rewatch(self) -> None:
        """For a backend that does not report the slots it writes, read back
        every indexed slot of every module: the words later steps are
        compared against."""
        if self.backend.records_storage_writes:
            return
        by_module: dict[str, tuple[list[str], list[int]]] = {m: ([], []) for m in self.spec.modules}
        for (address, slot), entries in self._index.items():
            module = min(entries)[0]  # one contract's slots belong to one module
            addresses, slots = by_module[module]
            addresses.append(address)
            slots.append(slot)
        self._watch = {m: (a, sl, self.backend.read_storage(a, sl)) for m, (a, sl) in by_module.items()}

    def _changed_watched_words(self, modules: Iterable[str]) -> list[tuple[str, int]]:
        """The indexed slots of ``modules`` whose word changed since the last step."""
        changed: list[tuple[str, int]] = []
        for module in modules:
            addresses, slots, old = self._watch[module]
            words = self.backend.read_storage(addresses, slots)
            if words != old:
                self._watch[module] = (addresses, slots, words)
                changed.extend((addresses[i], slots[i]) for i, (a, b) in enumerate(zip(old, words, strict=True))
                               if a != b)
        return changed

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
        held = state_numbers(self.model)
        blocks = [v for v in held if block - MAX_VIEW_BLOCK_AGE <= v < block - 1]
        moments = [v for v in held if now - MAX_TIME_STEP <= v <= now + MAX_TIME_STEP and v != now]
        out = {block - 1, block, now, now + MAX_TIME_STEP, *moments[-VIEW_STATE_MOMENTS:]}
        for v in blocks[-VIEW_STATE_BLOCKS:]:
            out.update((v - 1, v))
        return sorted(v for v in out if v >= 0)

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


@functools.lru_cache(maxsize=1 << 16)
def _locate(layout: StorageLayout, name: str, keys: tuple[int, ...], width: int) -> tuple[Slice, ...]:
    return layout.locate(name, keys, width=width)


def _path(module: str, name: str, keys: tuple[int, ...]) -> str:
    return f"{module}.{name}" + "".join(f"[{_show_key(k)}]" for k in keys)


def _call_path(module: str, name: str, args: tuple[int, ...]) -> str:
    return f"{module}.{name}(" + ", ".join(_show_key(a) for a in args) + ")"


def _show_key(k: int) -> str:
    return f"0x{k:x}" if k > 10**9 else str(k)


def _key_types(t: ir.Type) -> list[ir.Type]:
    out = []
    while isinstance(t, ir.MapT):
        out.append(t.key)
        t = t.value
    return out


def _variables(m: ir.Module) -> Iterator[tuple[str, ir.Type, str]]:
    for p in m.params.values():
        yield p.name, p.type, "param"
    for g in m.governed.values():
        yield g.name, g.type, "governed"
    for v in m.state.values():
        yield v.name, v.type, "state"


def _attr(name: str) -> str:
    from reference.codegen import attr

    return attr(name)


def _storage_reader(backend: Backend, address: str, slices: tuple[Slice, ...], t: ir.Type, spec: ir.Spec) -> Any:
    def read() -> Any:
        if isinstance(t, ir.RecordT):
            fields = spec.modules[t.module].records[t.name].fields
            return tuple(_scalar(s.extract(backend.get_storage(address, s.slot)), ft)
                         for s, (_, ft) in zip(slices, fields, strict=True))
        return _scalar(slices[0].extract(backend.get_storage(address, slices[0].slot)), t)

    return read


def _scalar(word: int, t: ir.Type) -> Any:
    if t == ir.BOOL:
        return bool(word)
    return word


def _view_reader(backend: Backend, address: str, fn: str, args: Sequence[Any]) -> Any:
    def read() -> Any:
        try:
            return normal(backend.call(address, fn, list(args)))
        except CallReverted as exc:
            return ("reverts", exc.receipt.revert_reason)

    return read


def _getter_reader(backend: Backend, address: str, getter: str, args: Sequence[Any], index: int | None) -> Any:
    def read() -> Any:
        value = backend.call(address, getter, list(args))
        return normal(value if index is None else value[index])

    return read


def _arg_product(choices: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Every combination of one value per parameter, in order."""
    out: list[tuple[int, ...]] = [()]
    for values in choices:
        out = [(*a, v) for a in out for v in values]
    return out


def _spread(items: list[tuple[int, ...]], limit: int) -> list[tuple[int, ...]]:
    """At most ``limit`` of ``items``, evenly spaced, always with the first and the last."""
    if len(items) <= limit:
        return items
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]
