"""Load the generated reference model and run actions on it.

    model = Model.deploy(spec, Deployment(addresses={...}, params={...}))
    outcome = model.execute("reserve", "top_up", Env(caller=alice, now=t), amount=10**18)

:meth:`Model.execute` runs one top-level action atomically: on a revert the
whole world is put back and the outcome carries the reason. With
``check_rules=True`` every invariant and ``ensures`` of the spec is checked
after each successful action and a break raises :class:`SpecViolation`.
"""

from __future__ import annotations

import hashlib
import operator
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reference.codegen import REASONS_MODULE, generate_module, generate_reasons, py, state_class
from reference.runtime import Env, Event, Journal, Map, Revert, SpecViolation, World, clone, rewind, undo
from spec import ir
from spec.analysis import fields_written


@dataclass(frozen=True)
class Deployment:
    """Where each module lives and the values of its parameters.

    ``addresses`` maps module names to addresses (missing ones get
    deterministic defaults); ``params`` maps ``"module.param"`` to a value
    and overrides the spec's defaults; ``deployer`` runs every ``init``.
    """

    addresses: Mapping[str, int] = field(default_factory=dict)
    params: Mapping[str, int | bool] = field(default_factory=dict)
    deployer: int = 0xD0
    now: int = 1_700_000_000
    block_number: int = 1
    chain_id: int = 1


@dataclass(frozen=True)
class Outcome:
    """What one action did: its result or revert, and its events.

    ``before`` holds, for a successful action, the state each module it could
    write had before it ran (the spec's write set), made on first use from
    the action's undo log (:class:`StaleOutcome` once the model has run
    another action). ``journal`` is that log: every write the action made,
    as ``(container, key, old value)`` (see :class:`reference.runtime.Journal`),
    what a caller needs to find exactly which entries changed.
    """

    ok: bool
    value: Any = None
    reason: str | None = None
    error: str | None = None  # the exception class name on a revert
    events: tuple[Event, ...] = ()
    before: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    journal: tuple[tuple[Any, Any, Any], ...] = field(default=(), compare=False, repr=False)
    # the clause sides it covered (spec.clauses ids), when the model has probes
    clauses: frozenset[tuple[str, bool]] = field(default=frozenset(), compare=False, repr=False)


def default_address(index: int) -> int:
    """The deterministic address of the index-th module when none is given."""
    return 0x1000 + index


class Model:
    """The executable reference model of a checked spec."""

    def __init__(self, spec: ir.Spec, package: types.ModuleType, world: World) -> None:
        self.spec = spec
        self.package = package
        self.world = world
        self.executions = 0  # actions run by execute (an outcome's `before` is good until the next)

    # --------------------------------------------------------------- load
    @staticmethod
    def load_code(spec: ir.Spec, *, probes: bool = False) -> types.ModuleType:
        """Generate and import the model's Python modules as one package
        (``probes``: with the probes that record spec coverage, see
        :attr:`Outcome.clauses`).

        The package is named after a hash of the generated source, so loading
        the same spec twice reuses it.
        """
        sources = {REASONS_MODULE: generate_reasons(spec)}
        for name in spec.modules:
            sources[name] = generate_module(spec, name, probes=probes)
        digest = hashlib.sha256("\0".join(f"{k}\0{v}" for k, v in sources.items()).encode()).hexdigest()[:16]
        pkg_name = f"imospec_model_{digest}"
        if pkg_name in sys.modules:
            return sys.modules[pkg_name]
        pkg = types.ModuleType(pkg_name, "The generated reference model.")
        pkg.__path__ = []
        sys.modules[pkg_name] = pkg
        for name in (REASONS_MODULE, *spec.modules):
            mod = types.ModuleType(f"{pkg_name}.{name}")
            mod.__package__ = pkg_name
            mod.__dict__["__source__"] = sources[name]
            sys.modules[mod.__name__] = mod
            code = compile(sources[name], f"<imospec model {name}>", "exec")
            exec(code, mod.__dict__)
            setattr(pkg, name, mod)
        return pkg

    @classmethod
    def deploy(cls, spec: ir.Spec, deployment: Deployment | None = None, *, probes: bool = False) -> Model:
        """Create every module's state, set parameters, and run each ``init``
        (``probes``: a model whose outcomes say which clauses they covered).

        Raises:
            Revert: when an ``init`` reverts (e.g. a parameter breaks its rule).
            KeyError: when ``deployment.params`` names an unknown parameter.
        """
        deployment = deployment or Deployment()
        pkg = cls.load_code(spec, probes=probes)
        addresses = {name: deployment.addresses.get(name, default_address(i)) for i, name in enumerate(spec.modules)}
        state: dict[str, Any] = {}
        for name in spec.modules:
            state[name] = getattr(getattr(pkg, name), state_class(name))()
        world = World(state, addresses, pkg)
        for key, value in deployment.params.items():
            module, _, pname = key.partition(".")
            m = spec.modules[module]
            if pname not in m.params and pname not in m.governed:
                raise KeyError(f"unknown parameter {key}")
            setattr(state[module], pname, value)
        env = Env(deployment.deployer, deployment.now, deployment.block_number, deployment.chain_id)
        for name in spec.modules:
            getattr(pkg, name).init(world, env)
        world.events.clear()
        return cls(spec, pkg, world)

    # ------------------------------------------------------------ execute
    def execute(
        self, module: str, action: str, env: Env, *args: Any, check_rules: bool = False,
        rules_of_written: bool = False, **kwargs: Any
    ) -> Outcome:
        """Run one top-level action atomically.

        Returns an :class:`Outcome`; a revert is an outcome, not an exception.

        Raises:
            KeyError: unknown module or action.
            PermissionError: the action is internal.
            SpecViolation: with ``check_rules``, an invariant or ensures broke
                (with ``rules_of_written`` too, only the rules that read a
                module the action may write are checked: enough when every
                rule held before the action).
        """
        decl = self.spec.modules[module].actions[action]
        if decl.internal:
            raise PermissionError(f"{module}.{action} is internal")
        fn = getattr(getattr(self.package, module), py(action))
        world = self.world
        # every write is recorded in an undo log (reference.runtime.Journal):
        # a revert undoes them; a success keeps them, to say what changed
        # (rather than copies, made before the action, of all it may write)
        entries: list[tuple[Any, Any, Any]] = []
        outer, Journal.entries = Journal.entries, entries
        world.events = []
        world.seen, world.emitted = set(), set()
        self.executions += 1
        try:
            value = fn(world, env, *args, **kwargs)
        except Revert as exc:
            Journal.entries = outer
            undo(entries)
            world.events = []
            # a reverted action emitted nothing
            return Outcome(False, reason=exc.reason, error=type(exc).__name__, clauses=frozenset(world.seen))
        finally:
            Journal.entries = outer
        if outer is not None:  # (inside a dry run: its undo takes these writes back too)
            outer.extend(entries)
        events = tuple(world.events)
        world.events = []
        clauses = frozenset(world.seen | {(e, True) for e in world.emitted})
        before = _Before(self, fields_written(self.spec, module, action), entries)
        if check_rules:
            self.check_rules({**world.state, **before}, module, action, env, args, kwargs,
                             written=frozenset(before) if rules_of_written else None)
        return Outcome(True, value=value, events=events, before=before, journal=tuple(entries), clauses=clauses)

    def dry_run(self, module: str, action: str, env: Env, *args: Any) -> Outcome:
        """The outcome of one top-level action, the state left as it was:
        what :meth:`execute` returns (its ``before`` left empty), the action's
        writes undone from an undo log (:class:`reference.runtime.Journal`)
        rather than put back from copies made before it ran, which cost more
        than most actions.

        Raises:
            KeyError: unknown module or action.
            PermissionError: the action is internal.
        """
        decl = self.spec.modules[module].actions[action]
        if decl.internal:
            raise PermissionError(f"{module}.{action} is internal")
        fn = getattr(getattr(self.package, module), py(action))
        world = self.world
        entries: list[tuple[Any, Any, Any]] = []
        outer, Journal.entries = Journal.entries, entries
        world.events = []
        world.seen, world.emitted = set(), set()
        try:
            value = fn(world, env, *args)
        except Revert as exc:
            world.events = []
            return Outcome(False, reason=exc.reason, error=type(exc).__name__, clauses=frozenset(world.seen))
        finally:
            Journal.entries = outer
            undo(entries)
        events = tuple(world.events)
        world.events = []
        clauses = frozenset(world.seen | {(e, True) for e in world.emitted})
        return Outcome(True, value=value, events=events, clauses=clauses)

    def check_rules(
        self, before: dict[str, Any], module: str, action: str, env: Env, args: tuple[Any, ...], kwargs: dict[str, Any],
        written: frozenset[str] | None = None, known: frozenset[str] = frozenset(),
    ) -> None:
        """Check every invariant (and the action's ensures) on the current state.

        With ``written`` (the modules the action may change), a rule that
        reads none of them is left out: it held before, on the same state
        (a rule over a state that did not change holds again; the frame rule
        proves each rule of such a step). ``known`` names rules
        (``module.rule``, and ``ensures`` for the action's ensures) the
        caller knows to hold here, left out too (a replay on a mutant where
        the states they read equal the unmutated spec's, where they held).

        Raises:
            SpecViolation: naming the first rule that fails.
        """
        old = World(before, self.world.address, self.package)
        for name in self.spec.modules:
            rules = getattr(self.package, name).RULES
            for rule, (pred, _transition) in rules.items():
                if written is not None and not (self._rule_modules(name, rule) & written):
                    continue
                if known and f"{name}.{rule}" in known:
                    continue
                if not pred(self.world, old):
                    raise SpecViolation(f"{name}.{rule} fails after {module}.{action}")
        if "ensures" in known:
            return
        for pred in getattr(getattr(self.package, module), "ENSURES", {}).get(action, ()):
            if not pred(self.world, old, env, *args, **kwargs):
                raise SpecViolation(f"ensures of {module}.{action} fails")

    def _rule_modules(self, module: str, rule: str) -> frozenset[str]:
        """The modules whose state or parameters ``module.rule`` reads (its own included)."""
        cache: dict[tuple[str, str], frozenset[str]] = self.__dict__.setdefault("_rule_reads", {})
        key = (module, rule)
        if key not in cache:
            decl = next((r for r in self.spec.modules[module].rules if r.name == rule), None)
            if decl is None:  # not a declared rule: check it after every action
                cache[key] = frozenset(self.spec.modules)
            else:
                cache[key] = frozenset({module, *(m for m, _ in decl.reads)})
        return cache[key]

    def violated_rules(self, before: dict[str, Any] | None = None) -> list[str]:
        """Names (``module.rule``) of the rules the current state breaks."""
        old = World(before, self.world.address, self.package) if before is not None else None
        out = []
        for name in self.spec.modules:
            for rule, (pred, transition) in getattr(self.package, name).RULES.items():
                if transition and old is None:
                    continue
                if not pred(self.world, old):
                    out.append(f"{name}.{rule}")
        return out

    # ------------------------------------------------------------- access
    def numbers_held(self) -> list[int]:
        """Every positive uint the state holds right now (balances, reserves...),
        sorted: where arguments aimed at exact boundaries come from."""
        found = self.numbers_in(self.world.state.values())
        return sorted(x for x in found if x > 0)

    def numbers_in(self, states: Iterable[Any]) -> set[int]:
        """Every number the module states ``states`` hold (not only the
        positive ones: :meth:`numbers_held` keeps those); the union over
        every module's state is what :meth:`numbers_held` sorts."""
        found: set[int] = set()
        add, update = found.add, found.update
        getters = _FIELD_GETTERS

        def visit(v: Any) -> None:
            t = type(v)
            if t is Map or isinstance(v, Map):
                if not v:
                    return
                values = v.values()
                if type(next(iter(values))) is int:
                    # (a map's values share one type: plain numbers are taken in one go; the
                    # ones that are not positive are dropped at the end)
                    update(values)
                    return
                for x in values:
                    if type(x) is int:
                        add(x)
                    elif type(x) is not bool:
                        visit(x)
            elif isinstance(v, int):
                if t is not bool:
                    add(v)
            else:
                get = getters.get(t)
                if get is None:
                    fields = getattr(t, "__dataclass_fields__", None)
                    if fields is None:
                        return
                    get = getters[t] = _field_getter(tuple(fields))
                for x in get(v):
                    if type(x) is int:
                        add(x)
                    elif type(x) is not bool:
                        visit(x)

        for st_ in states:
            visit(st_)
        return found

    def state(self, module: str) -> Any:
        """The state dataclass of ``module``."""
        return self.world.state[module]

    def address(self, module: str) -> int:
        return self.world.address[module]

    def record(self, module: str, name: str, *args: Any) -> Any:
        """Build a record (or signed request) of ``module``."""
        return getattr(getattr(self.package, module), name)(*args)

    def call_fn(self, module: str, name: str, env: Env | None, *args: Any) -> Any:
        """Evaluate a spec function on the current state.

        Raises:
            Revert: when its arithmetic fails.
        """
        return getattr(getattr(self.package, module), py(name))(self.world, env, *args)

    def source(self, module: str) -> str:
        """The generated Python source of ``module``."""
        return str(getattr(self.package, module).__source__)


# (numbers_held) a record or state class -> a function giving its fields' values, in order
_FIELD_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _field_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values of the fields ``names`` of an object, as a tuple."""
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names) if names else (lambda obj: ())


class StaleOutcome(RuntimeError):
    """An outcome's ``before`` was first asked for after the model had run
    another action, or had its state put back: the undo log it is made from
    no longer leads back to the state before that outcome's action."""


class _Before(Mapping[str, Any]):
    """:attr:`Outcome.before` of a successful action: the state each module
    it could write had before it ran, made on first use from the action's
    undo log (the writes taken back, the modules copied, the writes made
    again).

    Raises (on first use):
        StaleOutcome: the model ran another action since, or its state was replaced.
    """

    def __init__(self, model: Model, written: dict[str, frozenset[str]], entries: list[tuple[Any, Any, Any]]) -> None:
        self._model = model
        self._written = written
        self._entries = entries
        self._at = (model.executions, model.world.state)
        self._saved: dict[str, Any] | None = None

    def _states(self) -> dict[str, Any]:
        if self._saved is None:
            model = self._model
            if model.executions != self._at[0] or model.world.state is not self._at[1]:
                raise StaleOutcome("an outcome's `before` was asked for after the model moved on")
            again = rewind(self._entries)
            try:
                self._saved = {name: _save(model.world.state[name], names) for name, names in self._written.items()}
            finally:
                undo(again)  # (the writes made again, in their order)
        return self._saved

    def __getitem__(self, module: str) -> Any:
        return self._states()[module]

    def __iter__(self) -> Iterator[str]:
        return iter(self._written)

    def __len__(self) -> int:
        return len(self._written)


def _save(state: Any, names: frozenset[str]) -> Any:
    """A copy of a module's state that keeps what an action may write:
    the variables ``names`` copied all the way down (the others are
    shared: the action leaves them as they are), so that putting the
    copy back undoes the action."""
    copied = object.__new__(type(state))
    fields = state.__dict__
    copied.__dict__.update(fields)
    for name in names:
        if name not in fields:  # (not a plain attribute: copy everything)
            return clone(state)
        v = fields[name]
        if not isinstance(v, int):
            copied.__dict__[name] = clone(v)
    return copied

