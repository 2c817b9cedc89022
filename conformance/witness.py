"""Covers: what some run of the protocol must reach, met by witness traces.

A *goal* is one thing a run must show:

- an explicit ``cover`` of the spec (``cover NAME: expr``, or ``cover NAME:
  succeeds action where expr``);
- generated, for every public action: that it can succeed;
- generated, for every ``require`` of every action (by reason, within the
  action that holds it; ``by`` clauses included): that it can pass and that
  it can fail;
- generated, for every ``when`` phase gate: that it admits each listed phase
  and refuses each other one.

:func:`search_witnesses` meets goals with concrete runs of the reference
model, cheapest first: from deployment (with the binding's parameters and
prelude when there is a binding) and from each of the binding's scenarios, it
runs seeded random walks (arguments drawn like the conformance generator's:
numbers near the state, near the clock, addresses the state links to the
caller), steering each step toward actions with goals still open; then it
aims at each goal still open (:func:`_aim`: edge values, calls one change
away from one that passed, a call that writes what the goal's check reads
before it). ``scenarios.json`` may name other deployments (other parameter
values the spec allows, with steps of their own): the walks start from them
too. The search also calls as a module or the zero address (to meet ``by``
goals); such a call is no transaction, so only a run whose every successful
call came from an account meets a ``fails`` goal. While a ``fails`` goal is open, each successful call is probed
(the same call again, and calls one change away from it). The result
is deterministic for a seed. Every met goal keeps the first trace that met it
(:class:`Witness`); an unmet goal is a finding located at its source, with
the catalogue code of its kind: E050 (an error) for an explicit cover,
W002-W004 (warnings) for generated ones, since a concrete search that misses
a goal has not shown it unreachable. A solver-backed search can be put behind
the same interface (:func:`search_witnesses` takes the goals and returns which
it met). Require goals are generated for the internal actions some public
action calls (a template's unused helper has none).

Requires are observed through the generated model itself: for the duration
of a search, the model's ``require`` and its action functions are wrapped to
record which action's check passed or failed, and the phase functions to
record the phase a gate saw; they are put back afterwards.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.binding import Binding, BindingError, _steps
from conformance.names import BindingNames
from conformance.strategies import CLOCK_OFFSETS, SMALL, Linked, NearClock, NearState, clock_params, resolve
from reference.codegen import attr, py
from reference.model import Deployment, Model, Outcome
from reference.runtime import Env, Map, Revert, Signature, SpecViolation, _keys, clone, key_of
from spec import ir
from spec.analysis import fields_written
from spec.diagnostics import Diagnostic, Span

#: Default search budget: random walks per starting state and steps per walk.
DEFAULT_WALKS = 12
DEFAULT_STEPS = 30
#: Clock moves a walk takes (seconds).
TIME_MOVES = (1, 60, 1800, 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400)
#: One step in TIME_EVERY moves the clock.
TIME_EVERY = 6
#: One uint argument in HALVE_EVERY is halved after it is drawn.
HALVE_EVERY = 6
#: Calls of each action with goals open, straight from each starting state, before the walks.
PROBES = 8  # each actor twice
#: Argument draws per action step; the first that meets an open goal runs, else the last.
DRAWS = 4
ACTOR_BASE = 0xA11CE0
#: Aimed tries per goal still open after the walks (see :func:`_aim`).
AIM_TRIES = 240
#: Calls one change away from a successful one, tried while a `fails` goal it reaches is open.
EDITS = 3
#: Calls remembered per action for the aimed tries.
REMEMBERED = 48
#: Edge values of a number in an aimed try.
EDGES = (0, 1, 2, 2**112 - 1, 2**112, 2**128, 2**256 - 1)


@dataclass(frozen=True)
class CoverSettings:
    """The budget of a witness search: the seed, and random walks per starting
    state of so many steps each."""

    seed: int = 0
    walks: int = DEFAULT_WALKS
    steps: int = DEFAULT_STEPS
    # check every rule of the spec (and the action's ``ensures``) after each
    # successful step: a reachable violation found on the way is reported
    # (:attr:`CoverReport.violations`) with the walk that reached it
    check_rules: bool = False


@dataclass(frozen=True)
class Goal:
    """One thing some run must show. ``key`` names it uniquely and stably
    (``module.cover`` for explicit covers, ``module.action:succeeds``,
    ``module.action:require REASON:passes|fails``, ``module.action:gate
    PHASE:admits|refuses``)."""

    key: str
    kind: str  # cover | succeeds | passes | fails | admits | refuses
    module: str
    action: str | None
    detail: str  # the reason or phase of a require or gate goal; the cover's name
    span: Span
    code: str

    @property
    def words(self) -> str:
        """How an ``uncovered:`` line of the action's comment names it: ``succeeds``,
        ``require REASON passes|fails``, ``gate PHASE admits|refuses``."""
        if self.kind == "succeeds":
            return "succeeds"
        if self.kind in ("passes", "fails"):
            return f"require {self.detail} {self.kind}"
        return f"gate {self.detail} {self.kind}"

    def message(self) -> str:
        """The finding when no run meets the goal."""
        where = f"`{self.module}.{self.action}`"
        return {
            "cover": f"cover `{self.module}.{self.detail}` not met: no run found reaches it",
            "succeeds": f"no run found in which {where} succeeds",
            "passes": f"the `require` \"{self.detail}\" of {where} never passes in any run found",
            "fails": f"the `require` \"{self.detail}\" of {where} never fails in any run found",
            "admits": f"the phase gate of {where} never admits {self.detail} in any run found",
            "refuses": f"the phase gate of {where} never refuses {self.detail} in any run found",
        }[self.kind]


@dataclass(frozen=True)
class TraceStep:
    """One step of a witness: a clock move, or a call with its outcome."""

    module: str  # "time" for a clock move
    action: str = ""
    caller: int = 0
    args: tuple[Any, ...] = ()
    seconds: int = 0
    blocks: int = 0
    ok: bool = True
    reason: str | None = None

    def render(self, labels: dict[int, str] | None = None) -> str:
        """One line; addresses shown by their labels (``actor:1``, ``@pool``)."""
        if self.module == "time":
            return f"time +{self.seconds}s, +{self.blocks} block(s)"
        names = labels or {}
        shown = ", ".join(_show(a, names) for a in self.args)
        end = "ok" if self.ok else f"reverted {self.reason or '(bare)'}"
        return f"{self.module}.{self.action}({shown}) by {_show(self.caller, names)}  -> {end}"


@dataclass(frozen=True)
class Witness:
    """A run that meets a goal: where it starts and its steps (the last one meets it)."""

    start: str  # "deployment" or a scenario's name
    steps: tuple[TraceStep, ...]
    labels: dict[int, str] = field(default_factory=dict, compare=False)

    def render(self, indent: str = "    ") -> str:
        """The trace, one numbered line a step (reverted steps before the last left out: they change nothing)."""
        lines = [f"{indent}from {self.start}:"]
        lines += [f"{indent}  {i + 1}. {s.render(self.labels)}" for i, s in enumerate(self.steps)]
        return "\n".join(lines)


@dataclass
class CoverReport:
    """Which goals a search met (with their witnesses), and which it did not.

    ``uncovered`` holds the generated goals the spec states cannot be met
    (``uncovered:`` lines, see :func:`uncovered_of`), with the reason given;
    ``bad_uncovered`` the ``uncovered:`` lines that name no goal."""

    goals: list[Goal]
    met: dict[str, Witness] = field(default_factory=dict)
    uncovered: dict[str, str] = field(default_factory=dict)
    bad_uncovered: list[Diagnostic] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    # with ``check_rules``: each rule (or ``ensures``) a walk broke, named as
    # :class:`reference.runtime.SpecViolation` names it, with the first walk that broke it
    violations: dict[str, Witness] = field(default_factory=dict)
    # on a replay against a recorded one: the rule checks left out as known to hold
    checks_known: int = 0

    @property
    def unmet(self) -> list[Goal]:
        """The goals no run met and the spec does not excuse."""
        return [g for g in self.goals if g.key not in self.met and g.key not in self.uncovered]

    @property
    def excused(self) -> list[Goal]:
        """The goals no run met that the spec states cannot be met."""
        return [g for g in self.goals if g.key not in self.met and g.key in self.uncovered]

    @property
    def misjudged(self) -> list[Goal]:
        """Goals the spec states cannot be met that a run met all the same."""
        return [g for g in self.goals if g.key in self.met and g.key in self.uncovered]

    @property
    def ok(self) -> bool:
        return not self.unmet and not self.bad_uncovered and not self.misjudged

    def diagnostics(self) -> list[Diagnostic]:
        """One error per unmet goal, at its source; one per ``uncovered:`` line
        that names no goal, or names one that a run met."""
        out = [Diagnostic(g.code, g.message(), g.span, _hint(g)) for g in self.unmet]
        out += self.bad_uncovered
        out += [Diagnostic("E051", f"`uncovered: {g.words}` of `{g.module}.{g.action}`, yet a run met it",
                           g.span, "drop the `uncovered:` line; `--witness` shows the run") for g in self.misjudged]
        return out


def _hint(g: Goal) -> str:
    if g.kind == "succeeds" or g.kind == "cover":
        return ("a check that can never pass, a wrong comparison or a wrong state blocks it; "
                "`--witness KEY` shows how other goals were met")
    if g.kind == "fails":
        return ("a check that never bites is dead code, or the state it guards against is unreachable; "
                "say why in an `uncovered:` line")
    if g.kind == "passes":
        return "a check that never passes blocks every path through it"
    return "the gate's phase list, or the price it reads, is wrong"


# ------------------------------------------------------------------- goals


def goals_of(spec: ir.Spec) -> list[Goal]:
    """Every goal of the spec: explicit covers, then the generated ones, module by module."""
    out: list[Goal] = []
    called = _called(spec)
    for m in spec.modules.values():
        for c in m.covers:
            out.append(Goal(f"{m.name}.{c.name}", "cover", m.name, c.action, c.name, c.span, "E050"))
        for a in m.actions.values():
            if a.internal and (m.name, a.name) not in called:
                continue
            if not a.internal:
                out.append(Goal(f"{m.name}.{a.name}:succeeds", "succeeds", m.name, a.name, "", a.span, "W002"))
            seen: set[str] = set()
            for s in ir.walk(a.body):
                if not isinstance(s, ir.Require) or s.origin == "when" or s.reason in seen:
                    continue
                seen.add(s.reason)
                for kind in ("passes", "fails"):
                    out.append(Goal(f"{m.name}.{a.name}:require {s.reason}:{kind}", kind, m.name, a.name,
                                    s.reason, s.span or a.span, "W003"))
            if a.phase_gate is not None:
                phases, allowed = a.phase_gate
                decl = _phases_decl(spec, phases)
                gate = next(s for s in ir.walk(a.body) if isinstance(s, ir.Require) and s.origin == "when")
                for band in decl.bands:
                    kind = "admits" if band in allowed else "refuses"
                    out.append(Goal(f"{m.name}.{a.name}:gate {band}:{kind}", kind, m.name, a.name, band,
                                    gate.span or a.span, "W004"))
    return out


def _called(spec: ir.Spec) -> set[tuple[str, str]]:
    """Every action some public action calls, directly or not."""
    todo = [(m.name, a.name) for m in spec.modules.values() for a in m.actions.values() if not a.internal]
    seen = set(todo)
    while todo:
        mname, aname = todo.pop()
        for s in ir.walk(spec.modules[mname].actions[aname].body):
            for e in _stmt_calls(s):
                key = (e.module or mname, e.name)
                if key not in seen and key[0] in spec.modules and key[1] in spec.modules[key[0]].actions:
                    seen.add(key)
                    todo.append(key)
    return seen


def _stmt_calls(s: ir.Stmt) -> list[ir.ActionCall]:
    exprs: list[ir.Expr] = []
    for name in ("call", "value", "cond", "test", "target", "key"):
        v = getattr(s, name, None)
        if isinstance(v, ir.Expr):
            exprs.append(v)
    exprs.extend(a for a in getattr(s, "args", ()) if isinstance(a, ir.Expr))
    return [c for e in exprs for c in ir.action_calls(e)]


UNCOVERED = "uncovered:"


def uncovered_of(spec: ir.Spec, goals: list[Goal]) -> tuple[dict[str, str], list[Diagnostic]]:
    """The generated goals each action's comment states cannot be met, with
    the reason: a line ``uncovered: require LOCKED fails: <why>`` (or
    ``succeeds: <why>``, ``gate Bronze refuses: <why>``); and an E051 error
    for each such line that names no goal of its action or gives no reason."""
    by_action: dict[tuple[str, str | None], dict[str, str]] = {}
    for g in goals:
        by_action.setdefault((g.module, g.action), {})[g.words] = g.key
    found: dict[str, str] = {}
    bad: list[Diagnostic] = []
    for m in spec.modules.values():
        for a in m.actions.values():
            for line in a.doc.splitlines():
                text = line.strip()
                if not text.startswith(UNCOVERED):
                    continue
                words, _, why = text[len(UNCOVERED):].partition(":")
                words = " ".join(words.split())
                key = by_action.get((m.name, a.name), {}).get(words)
                if key is None or not why.strip():
                    problem = "gives no reason" if key is not None else "names no generated goal of this action"
                    bad.append(Diagnostic("E051", f"`{text}` {problem}", a.span,
                                          "write `uncovered: require REASON fails: why` (or `passes`, `succeeds`, "
                                          "`gate PHASE admits|refuses`)"))
                    continue
                found[key] = why.strip()
    return found, bad


def never_succeeds(spec: ir.Spec) -> dict[str, str]:
    """The public actions (``module.action``) whose comment states that no
    run can make them succeed (an ``uncovered: succeeds: <why>`` line), with
    the reason given. A campaign that never makes such an action succeed is
    not short of coverage there (``imospec conform``); the cover search
    checks the claim (E051 when a run makes it succeed all the same)."""
    found, _ = uncovered_of(spec, [g for g in goals_of(spec) if g.kind == "succeeds"])
    return {key.removesuffix(":succeeds"): why for key, why in found.items()}


def _phases_decl(spec: ir.Spec, name: str) -> ir.PhasesDecl:
    return next(m.phases[name] for m in spec.modules.values() if name in m.phases)


# --------------------------------------------------------------- observing


@dataclass
class _Observer:
    """What the wrapped model saw during one top-level action."""

    stack: list[tuple[str, str]] = field(default_factory=list)
    checks: list[tuple[str, str, str, bool]] = field(default_factory=list)  # module, action, reason, passed
    phase: str | None = None
    gates: list[tuple[str, str, str, bool]] = field(default_factory=list)  # module, action, phase, passed
    # every call of a public action below the top-level one, with its caller
    # and arguments, and whether it returned (module, action, caller, args, returned)
    calls: list[tuple[str, str, int, tuple[Any, ...], bool]] = field(default_factory=list)


@contextmanager
def observed(model: Model) -> Iterator[_Observer]:
    """Wrap the model's ``require``, its action functions and its phase
    functions so that they report to an :class:`_Observer`; unwrap on exit."""
    obs = _Observer()
    saved: list[tuple[Any, str, Any]] = []
    pkg = model.package

    def patch(ns: Any, name: str, new: Any) -> None:
        saved.append((ns, name, getattr(ns, name)))
        setattr(ns, name, new)

    for mname, m in model.spec.modules.items():
        ns = getattr(pkg, mname)
        original_require = ns.require

        def require(cond: bool, error: Any, _orig: Any = original_require) -> None:
            if obs.stack:
                module, action = obs.stack[-1]
                reason = _reason_of(error)
                if reason == "WRONG_PHASE" and obs.phase is not None:
                    obs.gates.append((module, action, obs.phase, bool(cond)))
                else:
                    obs.checks.append((module, action, reason, bool(cond)))
            _orig(cond, error)

        patch(ns, "require", require)
        for aname in m.actions:
            fn = getattr(ns, py(aname))

            def wrapped(*a: Any, _fn: Any = fn, _key: tuple[str, str] = (mname, aname),
                        _public: bool = not m.actions[aname].internal, **k: Any) -> Any:
                nested = _public and bool(obs.stack) and len(a) >= 2
                obs.stack.append(_key)
                returned = False
                try:
                    out = _fn(*a, **k)
                    returned = True
                    return out
                finally:
                    obs.stack.pop()
                    if nested:  # (a[0] is the world, a[1] the call's environment)
                        obs.calls.append((*_key, getattr(a[1], "caller", 0), tuple(a[2:]), returned))

            patch(ns, py(aname), wrapped)
        for pname in m.phases:
            pfn = getattr(ns, f"{pname}_of")

            def phase_of(*a: Any, _fn: Any = pfn, **k: Any) -> Any:
                band = _fn(*a, **k)
                obs.phase = band.name
                return band

            patch(ns, f"{pname}_of", phase_of)
    try:
        yield obs
    finally:
        for ns, name, old in reversed(saved):
            setattr(ns, name, old)


def _reason_of(error: Any) -> str:
    try:
        return str(error().reason)
    except Exception:
        return getattr(error, "__name__", "?")


# ------------------------------------------------------------------ search


@dataclass
class _Start:
    name: str
    snapshot: dict[str, Any]
    now: int
    block: int
    trace: tuple[TraceStep, ...]
    # the positive numbers each module's state holds in ``snapshot``, filled in as asked for
    numbers: dict[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenarios:
    """Starting states for the search where no binding gives them (a spec's
    ``scenarios.json``, the binding format without contracts): parameters,
    a prelude after deployment, and named scenarios after the prelude; and
    other deployments (``deployments``), each named, with parameters that
    replace some of the deployment's and steps after the prelude: a module
    that only another module may call in the bundled deployment (a timelock
    whose admin is its governor) run by an account instead, as the spec
    allows, so that the checks only such a caller can make fail are met by
    transactions."""

    params: dict[str, Any] = field(default_factory=dict)
    prelude: tuple[Any, ...] = ()
    scenarios: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    deployments: dict[str, tuple[dict[str, Any], tuple[Any, ...]]] = field(default_factory=dict)


#: The file beside a spec's ``.imo`` files that holds its model-only scenarios.
SCENARIOS_FILE = "scenarios.json"


def load_scenarios(path: Path) -> Scenarios:
    """The scenarios in ``path`` (none when it does not exist).

    Raises:
        BindingError: the file is not JSON of the binding's shape (``params``, ``prelude``, ``scenarios``).
    """
    if not path.exists():
        return Scenarios()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BindingError(f"{path}: cannot read: {exc}") from None
    deployments = data.get("deployments", {}) if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("params", {}), dict) \
            or not isinstance(data.get("scenarios", {}), dict) or not isinstance(deployments, dict) \
            or not all(isinstance(d, dict) and isinstance(d.get("params", {}), dict) for d in deployments.values()):
        raise BindingError(f"{path}: expected {{\"params\": {{...}}, \"prelude\": [...], \"scenarios\": {{...}}, "
                           f"\"deployments\": {{NAME: {{\"params\": {{...}}, \"steps\": [...]}}}}}}")
    return Scenarios(dict(data.get("params", {})), _steps(data.get("prelude", []), "prelude", path),
                     {k: _steps(v, f"scenarios.{k}", path) for k, v in data.get("scenarios", {}).items()},
                     {k: (dict(d.get("params", {})), _steps(d.get("steps", []), f"deployments.{k}.steps", path))
                      for k, d in deployments.items()})


def search_witnesses(spec: ir.Spec, goals: list[Goal], *, binding: Binding | None = None,
                     scenarios: Scenarios | None = None, seed: int = 0, walks: int = DEFAULT_WALKS,
                     steps: int = DEFAULT_STEPS, progress: Callable[[int, int], None] | None = None,
                     check_rules: bool = False) -> CoverReport:
    """Meet ``goals`` with seeded random walks on the reference model of
    ``spec`` from deployment (and prelude) and from each scenario of
    ``binding`` and of ``scenarios``; ``walks`` walks of ``steps`` steps from
    each starting state, stopping when every goal is met; then
    :data:`AIM_TRIES` aimed tries for each goal still open (:func:`_aim`).

    Deterministic for a seed. A goal met by a starting state's own steps (the
    prelude or a scenario) counts, with those steps as its witness. With
    ``check_rules``, every rule and the action's ``ensures`` are checked after
    each successful step, and each one broken is recorded with the walk that
    broke it (:attr:`CoverReport.violations`); the walks go on from the state
    reached.

    Raises:
        Revert: deployment itself reverts (the spec's parameters break an ``init``).
        KeyError: a scenario names an unknown module, action or actor.
    """
    t0 = time.perf_counter()
    report = CoverReport(goals)
    report.uncovered, report.bad_uncovered = uncovered_of(spec, goals)
    rng = random.Random(seed)
    open_goals = {g.key: g for g in goals}
    public = [(m.name, a) for m in spec.modules.values() for a in m.actions.values() if not a.internal]
    state_covers = [(g, c) for g in goals if g.kind == "cover" and g.action is None
                    for c in spec.modules[g.module].covers if c.name == g.detail]
    search = _Search(spec, binding, scenarios or Scenarios(), open_goals, report, state_covers)
    search.check_rules = check_rules
    model, actors = search.model, search.actors
    with observed(model) as obs:
        search.obs = obs
        starts = search.starts()
        search.repeat, search.rng = True, random.Random(rng.random())
        for start in starts:  # probes: every action with a goal open, straight from each starting state
            for mname, act in public:
                if not any(g.module == mname and g.action == act.name for g in open_goals.values()):
                    continue
                for k in range(PROBES):
                    search.restore(start.snapshot, start.numbers)
                    caller, args = _best_draw(rng, model, spec, mname, act, actors, start.now, start.block,
                                              open_goals, caller=actors[k % len(actors)], held=search.held)
                    search.step(start.name, start.trace, [], mname, act, caller, args, start.now, start.block)
        total = len(starts) * walks
        for i in range(total):
            if not open_goals:
                break
            start = starts[i % len(starts)]
            search.restore(start.snapshot, start.numbers)
            now, block = start.now, start.block
            trace: list[TraceStep] = []
            for _ in range(steps):
                if not open_goals:
                    break
                if rng.randrange(TIME_EVERY) == 0:
                    secs = rng.choice(TIME_MOVES)
                    now, block = now + secs, block + max(1, secs // 12)
                    trace.append(TraceStep("time", seconds=secs, blocks=max(1, secs // 12)))
                    continue
                mname, act = _pick_action(rng, public, open_goals)
                caller, args = _best_draw(rng, model, spec, mname, act, actors, now, block, open_goals,
                                          held=search.held)
                search.step(start.name, start.trace, trace, mname, act, caller, args, now, block)
            if trace:
                search.passed.append(_Start(start.name, model.world.snapshot(), now, block,
                                            (*start.trace, *trace)))
            if progress is not None:
                progress(i + 1, total)
        _aim(search, rng, [*starts, *search.passed], len(starts), public)
    report.seconds = time.perf_counter() - t0
    return report


def _keys_of(value: Any) -> set[int]:
    """The keys a piece of state mentions, as ``for_all`` collects them."""
    out: set[int] = set()
    _keys(value, out)
    return out


_SCALARS = frozenset({int, bool, str, bytes, type(None)})
_MISSING = object()


def same_values(a: Any, b: Any) -> bool:
    """Whether two pieces of model state hold the same values, when they
    come from two models of versions of one spec (a mutant's records and
    module states are classes of its own generated package, which ``==``
    tells apart): scalars by type and value, maps key by key, records and
    module states by class name and field by field, tuples item by item.
    False whenever unsure (so a caller that skips work on True stays sound)."""
    ta = type(a)
    if ta in _SCALARS:
        return type(b) is ta and a == b
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        if not a:
            return True
        if type(next(iter(a.values()))) in _SCALARS and type(next(iter(b.values()))) in _SCALARS:
            return dict.__eq__(a, b) is True  # (a map's values share one type)
        get = dict.get
        return all(same_values(v, get(b, k, _MISSING)) for k, v in a.items())
    if hasattr(ta, "__dataclass_fields__"):
        tb = type(b)
        if ta is tb:
            return bool(a == b)
        if tb.__name__ != ta.__name__ or not hasattr(tb, "__dataclass_fields__"):
            return False
        da, db = a.__dict__, b.__dict__
        return da.keys() == db.keys() and all(same_values(v, db[k]) for k, v in da.items())
    if ta is tuple or ta is list:
        return type(b) is ta and len(a) == len(b) and all(map(same_values, a, b))
    return False


@dataclass(frozen=True)
class ReplayedStep:
    """One step of a replay of the unmutated spec whose rules and ensures held
    (see :func:`replay_witnesses`' ``record``): the call with its clock, the
    state before and after it (before its rules were checked), and the rules
    checked there (``module.rule``), all of which held; ``ensures``, that
    the action's ensures held too."""

    call: tuple[Any, ...]
    before: dict[str, Any]
    after: dict[str, Any]
    held: frozenset[str]
    ensures: bool


class _Search(BindingNames):
    """The model under search, its actors, and how one step is run and credited."""

    def __init__(self, spec: ir.Spec, binding: Binding | None, scenarios: Scenarios, open_goals: dict[str, Goal],
                 report: CoverReport, state_covers: list[tuple[Goal, ir.Cover]]) -> None:
        self.spec, self.impl, self.scenarios = spec, binding, scenarios
        self.open_goals, self.report, self.state_covers = open_goals, report, state_covers
        n = max(binding.actors if binding is not None else 4, 4)
        self.actors = [ACTOR_BASE + i for i in range(n)]
        self.deployer = 0xD0
        self.addresses = {m: 0x1000 + i for i, m in enumerate(spec.modules)}
        params: dict[str, Any] = {}
        for name, m in spec.modules.items():
            # an address parameter without a default, or a governed address (never one)
            unset = [p.name for p in m.params.values() if p.default is None and p.type == ir.ADDRESS]
            unset += [g.name for g in m.governed.values() if g.default is None and g.type == ir.ADDRESS]
            for pname in unset:
                params[f"{name}.{pname}"] = self.actors[0]
        raw = {**scenarios.params, **(binding.params if binding is not None else {})}
        params.update({k: self.value(v) for k, v in raw.items()})
        dep = Deployment(addresses=self.addresses, params=params, deployer=self.deployer)
        self.model = Model.deploy(spec, dep)
        self.now, self.block = dep.now, dep.block_number
        # the other deployments' states after their init (the same code, other parameters)
        self.deployed: dict[str, dict[str, Any]] = {}
        for name, (changed, _) in scenarios.deployments.items():
            other = replace(dep, params={**params, **{k: self.value(v) for k, v in changed.items()}})
            try:
                self.deployed[name] = Model.deploy(spec, other).world.snapshot()
            except Revert:  # (an init refuses these parameters: no start; what only it met goes unmet)
                continue
        self.obs = _Observer()
        self.check_rules = False
        # on a replay (see :func:`replay_witnesses`): the replayed step's place (witness, step),
        # the steps of the unmutated spec's replay to compare with (``against``), the rules and
        # ensures whose text differs from that spec's (``stale``), and where to record this replay's steps
        self.at: tuple[int, int] | None = None
        self.against: dict[tuple[int, int], ReplayedStep] = {}
        self.stale: frozenset[str] = frozenset()
        self.recording: dict[tuple[int, int], ReplayedStep] | None = None
        self.skipped = 0
        self._rule_reads: dict[str, frozenset[str]] = {}
        self._rule_forall: dict[str, bool] = {}
        self.repeat = False  # probe around a successful call while a `fails` goal it reaches is open (not in scenarios)
        self.rng = random.Random(0)
        # bumped whenever the state may change (a call, a restore): the key of :meth:`held`'s cache
        self.version = 0
        self._held: tuple[int, list[int]] = (-1, [])
        # the positive numbers each module's state holds now (a module a call may write is dropped)
        self._numbers: dict[str, frozenset[int]] = {}
        # calls seen (top-level and nested) by action: (caller, args), and the successful ones
        self.calls: dict[tuple[str, str], list[tuple[int, tuple[Any, ...]]]] = {}
        self.ok_calls: dict[tuple[str, str], list[tuple[int, tuple[Any, ...]]]] = {}
        # states the scenarios passed through, and where walks ended
        self.passed: list[_Start] = []
        # the scenarios' successful calls, each with the state it was made in
        self.ok_at: dict[tuple[str, str], list[tuple[_Start, int, tuple[Any, ...]]]] = {}
        # the actions each public action reaches (itself included)
        from spec.analysis import Analysis

        self.analysis = Analysis(spec)
        self.reached: dict[tuple[str, str], frozenset[tuple[str, str]]] = {
            (m.name, a.name): frozenset({(m.name, a.name), *self.analysis.action_callees(m.name, a.name)})
            for m in spec.modules.values() for a in m.actions.values() if not a.internal}

    def restore(self, snapshot: dict[str, Any], numbers: dict[str, frozenset[int]] | None = None) -> None:
        """Put a copy of ``snapshot`` in place (the snapshot stays as it is, to
        be restored again); ``numbers``, the snapshot's own numbers by module
        (see :meth:`held`), is shared and filled in."""
        self.model.world.restore(clone(snapshot))
        self.version += 1
        self._numbers = numbers if numbers is not None else {}

    def held(self) -> list[int]:
        """``model.numbers_held()`` of the current state: computed once per
        state, and module by module only for the modules a call or a restore
        changed."""
        if self._held[0] != self.version:
            for name, st in self.model.world.state.items():
                if name not in self._numbers:
                    self._numbers[name] = _numbers_in(st)
            self._held = (self.version, sorted(frozenset().union(*self._numbers.values())))
        return self._held[1]

    def value(self, token: Any, self_actor: int | None = None, now: int | None = None) -> Any:
        """A binding value (``actor:N``, ``actor:self``, ``deployer``, ``@module``,
        ``key:module.name`` for a governed parameter's key, ``now`` or ``now+N``, ``true``/``false``,
        a number) as a model value."""
        if isinstance(token, str):
            if token in ("true", "false"):
                return token == "true"
            if token.startswith("now") and now is not None:
                return now + int(token[3:] or 0)
            if token.startswith("key:"):
                return key_of(token[4:])
        return self.resolve(token, self_actor=self_actor)

    def arguments(self, module: str, act: ir.Action, tokens: Any, caller: int, now: int) -> tuple[Any, ...]:
        """A step's arguments as model values (see :meth:`value`); a record's
        fields given as a list, and the word ``signed`` for a signature: the
        preceding request signed by its owner (the ``signed`` clause's),
        for this chain and this module."""
        out: list[Any] = []
        for (_, t), token in zip(act.params, tokens, strict=False):
            if isinstance(t, ir.RecordT) and isinstance(token, list):
                out.append(self.model.record(t.module, t.name, *(self.value(x, caller, now) for x in token)))
            elif t == ir.SIGNATURE and token == "signed":
                sig = next((s.cond for s in ir.walk(act.body) if isinstance(s, ir.Require)
                            and s.origin == "signed-sig"), None)
                if not isinstance(sig, ir.SignedBy) or not isinstance(sig.owner, ir.Field) or not out:
                    raise BindingError(f"`signed` for {module}.{act.name}: no `signed req by req.FIELD` request")
                request = out[-1]
                out.append(Signature(getattr(request, attr(sig.owner.name)), sig.request_type, request, 1,
                                     self.model.world.address[module], True))
            else:
                out.append(self.value(token, caller, now))
        return tuple(out)

    def starts(self) -> list[_Start]:
        """The starting states: after deployment and every prelude, then after
        each scenario; the steps that make them are credited like any step."""
        model = self.model
        preludes = [*(self.impl.prelude if self.impl is not None else ()), *self.scenarios.prelude]
        now, block, prelude = self.run("deployment", (), preludes, self.now, self.block)
        base = model.world.snapshot()
        out = [_Start("deployment", base, now, block, prelude)]
        named = {**(self.impl.scenarios if self.impl is not None else {}), **self.scenarios.scenarios}
        for name, steps in named.items():
            self.restore(base)
            s_now, s_block, trace = self.run(f"scenario {name}", prelude, steps, now, block)
            out.append(_Start(f"scenario {name}", model.world.snapshot(), s_now, s_block, (*prelude, *trace)))
        for name, (_, steps) in self.scenarios.deployments.items():
            if name not in self.deployed:
                continue
            self.restore(self.deployed[name])
            where = f"deployment {name}"
            d_now, d_block, trace = self.run(where, (), (*preludes, *steps), self.now, self.block)
            out.append(_Start(where, model.world.snapshot(), d_now, d_block, trace))
        return out

    def run(self, start: str, before: tuple[TraceStep, ...], steps: Any, now: int,
            block: int) -> tuple[int, int, tuple[TraceStep, ...]]:
        trace: list[TraceStep] = []
        for module, action, caller, args in steps:
            if module == "time":
                now, block = now + int(caller), block + int(args[0])
                trace.append(TraceStep("time", seconds=int(caller), blocks=int(args[0])))
                continue
            act = self.spec.modules[module].actions[action]
            for c in (self.actors if caller == "actor:*" else [self.value(caller)]):
                vals = self.arguments(module, act, args, c, now)
                at = _Start(start, self.model.world.snapshot(), now, block, (*before, *trace))
                self.step(start, before, trace, module, act, c, vals, now, block)
                kept = self.ok_at.setdefault((module, action), [])
                if trace[-1].ok and start != "deployment" and len(kept) < REMEMBERED:
                    kept.append((at, c, vals))
            if trace and trace[-1].ok and start != "deployment":
                # a state on the way to a scenario: where the aimed tries may start too
                self.passed.append(_Start(start, self.model.world.snapshot(), now, block, (*before, *trace)))
        return now, block, tuple(trace)

    def step(self, start: str, before: tuple[TraceStep, ...], trace: list[TraceStep], module: str, act: ir.Action,
             caller: int, args: tuple[Any, ...], now: int, block: int, again: bool = False) -> None:
        """Run one call, append it to ``trace`` and credit the goals it meets;
        when it succeeds and a ``fails`` goal of an action it reaches is still
        open, probe around it (:meth:`probe`; not ``again`` inside a probe)."""
        model, obs, open_goals = self.model, self.obs, self.open_goals
        env = Env(caller, now, block, 1)
        before_call = None
        if self.repeat and not again and any(
                g.kind == "fails" and (g.module, g.action) in self.reached.get((module, act.name), ())
                for g in open_goals.values()):
            before_call = model.world.snapshot()
        pre = _cover_hits(model, self.spec, module, act, env, args, open_goals)
        obs.checks.clear()
        obs.gates.clear()
        obs.calls.clear()
        obs.phase = None
        broken: str | None = None
        # only a walk whose every successful call came from an account is a
        # run of the protocol: the search also calls as a module or the zero
        # address (to meet `by` goals), which no transaction does. Only such
        # a walk can break a rule, or make a check fail (an `uncovered:` line
        # says no run does)
        real = self.realistic(caller) and all(
            self.realistic(s.caller) for s in (*before, *trace) if s.module != "time" and s.ok)
        checked = self.check_rules and real
        self.version += 1
        written = fields_written(self.spec, module, act.name)
        self._numbers = {k: v for k, v in self._numbers.items() if k not in written}
        try:
            outcome = model.execute(module, act.name, env, *args)
            if checked and outcome.ok:
                # the rules (those that read a module the action may write) and the ensures, on the
                # state reached; on a replay, those a baseline step shows to hold here are left out
                state_before, wrote = {**model.world.state, **outcome.before}, frozenset(outcome.before)
                call = (module, act.name, caller, args, now, block, state_before)
                known = self.known(*call) if self.at else frozenset()
                pending = self.record(*call, wrote) if self.recording is not None and self.at is not None else None
                model.check_rules(state_before, module, act.name, env, args, {}, written=wrote, known=known)
                if pending is not None and self.recording is not None and self.at is not None:
                    self.recording[self.at] = pending
        except SpecViolation as exc:  # the step succeeded, and broke a rule: the state is the one reached
            broken = str(exc)
            outcome = Outcome(True)
        except Revert as exc:  # the step succeeded, and a rule cannot be evaluated on the state reached
            broken = f"a rule cannot be evaluated after {module}.{act.name}: {type(exc).__name__} {exc}"
            outcome = Outcome(True)
        self.report.steps += 1
        trace.append(TraceStep(module, act.name, caller, args, ok=outcome.ok, reason=outcome.reason))
        if broken is not None and broken not in self.report.violations:
            self.report.violations[broken] = self.witness(start, (*before, *trace))
        hits = list(_observed_hits(obs, module, act.name, outcome.ok))
        self.remember(module, act.name, caller, args, outcome.ok)
        for m, a, c, a_args, returned in obs.calls:
            self.remember(m, a, c, a_args, returned and outcome.ok)
            if returned and outcome.ok:  # a public action that a successful transaction ran to its end
                hits.append(f"{m}.{a}:succeeds")
        if outcome.ok:
            hits += pre
        for key in hits:
            if key in open_goals and (real or open_goals[key].kind != "fails"):
                del open_goals[key]
                self.report.met[key] = self.witness(start, (*before, *trace))
        if outcome.ok:
            _check_states(model, self.state_covers, open_goals, self.report, self.witness(start, (*before, *trace)),
                          now, block)
            if before_call is not None:
                self.probe(start, before, trace, module, act, caller, args, now, block, before_call)

    def known(self, module: str, action: str, caller: int, args: tuple[Any, ...], now: int, block: int,
              before: dict[str, Any]) -> frozenset[str]:
        """The rules (``module.rule``, and ``ensures``) known to hold after
        this replayed step without checking them: the unmutated spec's
        replay made the same call at the same place (:attr:`at`), with the
        same clock, checked them there and they held; their text is the
        same (not in :attr:`stale`); and every module a rule reads had the
        same state before the call and after it as there (a rule's verdict
        is a function of its text and those states; a rule with a ``forall``
        also asks every other module to mention the same keys, which its
        runtime check ranges over; ``ensures`` asks for every module the
        same, as it may read the call's arguments and any state). Anything
        else is checked."""
        rec = self.against.get(self.at) if self.at is not None else None
        if rec is None or not same_values(rec.call, (module, action, caller, args, now, block)):
            return frozenset()
        state = self.model.world.state
        differ = {name for name in state if name not in rec.after
                  or not same_values(before[name], rec.before[name]) or not same_values(state[name], rec.after[name])}
        keys_same: dict[str, bool] = {}

        def same_keys(name: str) -> bool:
            # (a `forall` ranges over every key any module's maps mention: the
            # differing modules must mention the same keys, before and after)
            if name not in keys_same:
                pairs = ((before[name], rec.before[name]), (state[name], rec.after[name]))
                keys_same[name] = all(_keys_of(a) == _keys_of(b) for a, b in pairs)
            return keys_same[name]

        out = {r for r in rec.held if r not in self.stale and not (self.rule_modules(r) & differ)
               and (not self.rule_quantifies(r) or all(same_keys(name) for name in differ))}
        if rec.ensures and not differ and f"ensures {module}.{action}" not in self.stale:
            out.add("ensures")
        self.skipped += len(out)
        return frozenset(out)

    def rule_quantifies(self, rule: str) -> bool:
        """Whether rule ``module.rule`` has a ``forall`` (see :meth:`Analysis.quantifies`)."""
        got = self._rule_forall.get(rule)
        if got is None:
            module, name = rule.split(".", 1)
            decl = next((r for r in self.spec.modules[module].rules if r.name == name), None)
            got = decl is None or self.analysis.quantifies(decl.expr)
            self._rule_forall[rule] = got
        return got

    def rule_modules(self, rule: str) -> frozenset[str]:
        """The modules whose state rule ``module.rule`` may read: its own, those
        it names (through its functions, constants and phase thresholds) and
        those the model reads it for."""
        got = self._rule_reads.get(rule)
        if got is None:
            module, name = rule.split(".", 1)
            decl = next((r for r in self.spec.modules[module].rules if r.name == name), None)
            got = (frozenset(self.spec.modules) if decl is None else
                   frozenset({module, *(m for m, _ in decl.reads), *self.analysis.modules_named(decl.expr)}))
            self._rule_reads[rule] = got
        return got

    def record(self, module: str, action: str, caller: int, args: tuple[Any, ...], now: int, block: int,
               before: dict[str, Any], written: frozenset[str]) -> ReplayedStep:
        """A replayed step, to keep in :attr:`recording` once its rules and
        ensures held: the call, the states before and after it (copied
        before the rules are checked), and which rules the model checks there."""
        rule_modules = self.model._rule_modules
        held = frozenset(f"{name}.{rule}" for name in self.spec.modules
                         for rule in getattr(self.model.package, name).RULES
                         if rule_modules(name, rule) & written)
        state = self.model.world.state
        # (the modules it did not write are the same objects before and after: one copy serves both)
        after = clone(state)
        return ReplayedStep((module, action, caller, args, now, block),
                            {name: (clone(before[name]) if name in written else after[name]) for name in state},
                            after, held, True)

    def probe(self, start: str, before: tuple[TraceStep, ...], trace: list[TraceStep], module: str, act: ir.Action,
              caller: int, args: tuple[Any, ...], now: int, block: int, pre: dict[str, Any]) -> None:
        """After a successful call while a ``fails`` goal it reaches is open:
        the same call once more (a check against doing a thing twice bites
        only then), and :data:`EDITS` calls one change away from it on the
        state before it (where a check starts to bite). Each is credited like
        any step, then taken back: the walk goes on from the state after the
        call."""
        post = self.model.world.snapshot()
        tries: list[tuple[tuple[TraceStep, ...], int, tuple[Any, ...]]] = [(tuple(trace), caller, args)]
        for _ in range(EDITS):
            tries.append((tuple(trace[:-1]), *_edited(self.rng, self, module, act, caller, args, now)))
        for steps, c, a in tries:
            self.restore(post if len(steps) == len(trace) else pre)
            self.step(start, before, list(steps), module, act, c, a, now, block, again=True)
        self.restore(post)

    def remember(self, module: str, action: str, caller: int, args: tuple[Any, ...], ok: bool) -> None:
        """Keep a call's caller and arguments (the first :data:`REMEMBERED` of
        each action, and of its successful calls) for the aimed tries."""
        for store, keep in ((self.calls, True), (self.ok_calls, ok)):
            kept = store.setdefault((module, action), [])
            if keep and len(kept) < REMEMBERED and (caller, args) not in kept:
                kept.append((caller, args))

    def realistic(self, caller: int) -> bool:
        """Whether a transaction can come from ``caller``: an actor or the deployer, not a module or zero."""
        return caller == self.deployer or caller in self.actors

    def witness(self, start: str, steps: tuple[TraceStep, ...]) -> Witness:
        """A witness of these steps without the reverted ones before the last (they change nothing)."""
        kept = tuple(s for s in steps[:-1] if s.ok) + steps[-1:]
        labels = {a: f"actor:{i}" for i, a in enumerate(self.actors)}
        labels.update({a: f"@{m}" for m, a in self.addresses.items()})
        labels[self.deployer] = "deployer"
        return Witness(start, kept, labels)


def _aim(search: _Search, rng: random.Random, states: list[_Start], starts: int,
         public: list[tuple[str, ir.Action]]) -> None:
    """The aimed tries: for each goal still open, :data:`AIM_TRIES` calls of
    an action that reaches the goal's action, each from a state the starts,
    the scenarios or the walks passed through; before it, one time in two, a
    call of an action that writes what the goal's check reads (replayed as
    some run made it), and one time in three a clock move. One try in two
    starts from a starting state (deployment or a scenario's end). The arguments are
    those of a call some run made, or a fresh draw, with one or two of them
    set to an edge value (zero, one, the largest numbers, a number the state
    holds or one off it, the zero address, an actor, a module). One try in
    three instead changes one thing in a call a scenario made, in the state
    it was made in."""
    spec, open_goals = search.spec, search.open_goals
    if not open_goals or not states:
        return
    analysis = search.analysis
    names = [(m, a.name) for m, a in public]
    by_name = dict(zip(names, (a for _, a in public), strict=True))
    for goal in list(open_goals.values()):
        if goal.key not in open_goals or goal.action is None:
            continue
        target = (goal.module, goal.action)
        targets = [n for n in names if target in search.reached[n]]
        if not targets:
            continue
        reads = _goal_reads(spec, analysis, goal)
        enablers = [n for n in names if analysis.action_writes(*n) & reads and search.ok_calls.get(n)]
        for _ in range(AIM_TRIES):
            if goal.key not in open_goals:
                break
            made = [(n, x) for n in targets for x in search.ok_at.get(n, ())]
            if made and rng.randrange(3) == 0:
                # one change away from a call a scenario made, in the state it was made in
                (mname, aname), (st, caller, args) = rng.choice(made)
                search.restore(st.snapshot, st.numbers)
                caller, args = _edited(rng, search, mname, by_name[(mname, aname)], caller, args, st.now)
                search.step(st.name, st.trace, [], mname, by_name[(mname, aname)], caller, args, st.now, st.block)
                continue
            st = rng.choice(states[:starts] if rng.randrange(2) else states)
            search.restore(st.snapshot, st.numbers)
            now, block = st.now, st.block
            trace: list[TraceStep] = []
            enabled: tuple[str, str, int, tuple[Any, ...]] | None = None
            if enablers and rng.randrange(2) == 0:
                em, ea = rng.choice(enablers)
                caller, args = rng.choice(search.ok_calls[(em, ea)])
                search.step(st.name, st.trace, trace, em, by_name[(em, ea)], caller, args, now, block)
                enabled = (em, ea, caller, args)
            if rng.randrange(3) == 0:
                secs = rng.choice((1, *TIME_MOVES))
                now, block = now + secs, block + max(1, secs // 12)
                trace.append(TraceStep("time", seconds=secs, blocks=max(1, secs // 12)))
            if enabled is not None and enabled[:2] in targets and rng.randrange(2) == 0:
                mname, aname, caller, args = enabled  # the same call again (a check against doing it twice)
            else:
                mname, aname = rng.choice(targets)
                caller, args = _aimed_args(rng, search, mname, by_name[(mname, aname)], now, block)
            search.step(st.name, st.trace, trace, mname, by_name[(mname, aname)], caller, args, now, block)


def _goal_reads(spec: ir.Spec, analysis: Any, goal: Goal) -> frozenset[Any]:
    """What the goal's check reads: the ``require``'s condition, the gate's
    phase; for any other goal, what its action reads."""
    act = spec.modules[goal.module].actions[goal.action or ""]
    for s in ir.walk(act.body):
        if not isinstance(s, ir.Require):
            continue
        if (goal.kind in ("passes", "fails") and s.origin != "when" and s.reason == goal.detail) \
                or (goal.kind in ("admits", "refuses") and s.origin == "when"):
            return frozenset(analysis.expr_reads(s.cond))
    return frozenset(analysis.action_reads(goal.module, act.name))


def _aimed_args(rng: random.Random, search: _Search, module: str, act: ir.Action, now: int,
                block: int) -> tuple[int, tuple[Any, ...]]:
    """A caller and arguments for an aimed try (see :func:`_aim`)."""
    model, spec, actors = search.model, search.spec, search.actors
    seen = search.calls.get((module, act.name), [])
    passed = search.ok_calls.get((module, act.name), [])
    roll = rng.randrange(4)
    callers = [*actors, search.deployer, *(c for c, _ in seen)]
    if passed and roll < 2:  # one change away from a call that passed: where a check starts to bite
        caller, args = rng.choice(passed)
    elif seen and roll < 3:
        caller, args = rng.choice(seen)
    else:
        caller = rng.choice(callers) if rng.randrange(4) else rng.choice([*model.world.address.values(), 0])
        args = _args(rng, model, spec, module, act, caller, actors, now, block, search.held)
    if rng.randrange(4) == 0:
        caller = rng.choice(callers)
    if not args or rng.randrange(4) == 0:
        return caller, args
    return _edited(rng, search, module, act, caller, args, now, callers=False)


def _edited(rng: random.Random, search: _Search, module: str, act: ir.Action, caller: int, args: tuple[Any, ...],
            now: int, callers: bool = True) -> tuple[int, tuple[Any, ...]]:
    """``caller`` and ``args`` with one or two arguments set to an edge value
    (see :func:`_aim`), or (``callers``, one time in four) another caller;
    a signed request is signed again as edited, and one time in two made to
    pass the ``signed`` clause."""
    model = search.model
    if callers and (not args or rng.randrange(4) == 0):
        return rng.choice([*search.actors, search.deployer, *model.world.address.values()]), args
    if not args:
        return caller, args
    held = search.held()
    out = list(args)
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(out))
        out[i] = _edge(rng, search, act.params[i][1], out[i], held, now)
    for i, v in enumerate(out):  # a signature still signs the request, as edited
        if isinstance(v, Signature) and v.request in args and v.request not in out:
            out[i] = replace(v, request=out[args.index(v.request)])
    if act.signed_request is not None and rng.randrange(2) == 0:
        out = _signed(rng, search, module, act, out, now)
    return caller, tuple(out)


def _signed(rng: random.Random, search: _Search, module: str, act: ir.Action, args: list[Any],
            now: int) -> list[Any]:
    """``args`` with the signed request made to pass the ``signed`` clause:
    not expired, the owner's next nonce, and signed by the owner for this
    chain and this contract; each other number of the request, one time in
    two, set to 0 or to a number the state holds."""
    sig = next((s.cond for s in ir.walk(act.body) if isinstance(s, ir.Require) and s.origin == "signed-sig"), None)
    nonce = next((s.cond for s in ir.walk(act.body) if isinstance(s, ir.Require) and s.origin == "signed-nonce"),
                 None)
    names = [n for n, _ in act.params]
    if not isinstance(sig, ir.SignedBy) or not isinstance(sig.owner, ir.Field) \
            or not isinstance(nonce, ir.Bin) or not isinstance(nonce.right, ir.Index) \
            or not isinstance(nonce.right.base, ir.Ref):
        return args
    if not isinstance(sig.request, ir.Ref) or not isinstance(sig.signature, ir.Ref):
        return args
    ri, si = names.index(sig.request.name), names.index(sig.signature.name)
    req = args[ri]
    if not hasattr(req, "__dataclass_fields__"):
        return args
    owner = getattr(req, attr(sig.owner.name))
    nonces = getattr(search.model.state(module), attr(nonce.right.base.name))
    changes: dict[str, Any] = {"expiry": now + 86400, "nonce": nonces[owner]}
    held = search.held()
    for name, t in search.spec.modules[module].records[act.signed_request or ""].fields:
        if t == ir.UINT and attr(name) not in changes and held and rng.randrange(2) == 0:
            # a plausible amount: nothing, or a number the state holds
            changes[attr(name)] = rng.choice((0, rng.choice(held)))
    req = replace(req, **changes)
    out = list(args)
    out[ri] = req
    out[si] = Signature(owner, sig.request_type, req, 1, search.model.world.address[module], True)
    return out


def _edge(rng: random.Random, search: _Search, t: ir.Type, old: Any, held: list[int], now: int) -> Any:
    """An edge value of type ``t`` in place of ``old`` (a record's field, or the request a signature signs)."""
    if t == ir.UINT:
        pick = rng.randrange(4)
        if pick == 0 or not held:
            return rng.choice(EDGES)
        if pick == 1:
            v = now + rng.choice((-1, 0, 1, 86400, 10**9)) if rng.randrange(2) else int(old) + rng.choice((-1, 1))
        else:
            v = rng.choice(held) + rng.choice((-1, 0, 0, 1))
        return min(max(0, v), 2**256 - 1)
    if t == ir.ADDRESS:
        return rng.choice([0, *search.actors, search.deployer, *search.model.world.address.values()])
    if t == ir.BOOL:
        return not old
    if isinstance(t, ir.RecordT) and hasattr(old, "__dataclass_fields__"):
        rec = search.spec.modules[t.module].records[t.name]
        name, ft = rng.choice(rec.fields)
        return replace(old, **{attr(name): _edge(rng, search, ft, getattr(old, attr(name)), held, now)})
    return old


def replays(spec: ir.Spec, goal: Goal, witness: Witness, *, binding: Binding | None = None,
            scenarios: Scenarios | None = None) -> bool:
    """Whether ``witness`` (found on another version of the spec) still meets
    ``goal`` on ``spec``: its steps replayed from a fresh deployment, with the
    same parameters. A step that cannot be replayed (an action or argument
    the spec no longer has) means no."""
    report = CoverReport([goal])
    open_goals = {goal.key: goal}
    state_covers = [(goal, c) for c in spec.modules[goal.module].covers
                    if goal.kind == "cover" and goal.action is None and c.name == goal.detail]
    search = _Search(spec, binding, scenarios or Scenarios(), open_goals, report, state_covers)
    now, block = search.now, search.block
    if witness.start.startswith("deployment "):  # a run of another deployment starts from it
        other = witness.start.removeprefix("deployment ")
        if other not in search.deployed:
            return False
        search.restore(search.deployed[other])
    trace: list[TraceStep] = []
    with observed(search.model) as obs:
        search.obs = obs
        for st in witness.steps:
            if st.module == "time":
                now, block = now + st.seconds, block + st.blocks
                continue
            try:
                act = spec.modules[st.module].actions[st.action]
                search.step("replay", (), trace, st.module, act, st.caller, st.args, now, block)
            except Exception:
                return False
    return goal.key in report.met


def replay_witnesses(spec: ir.Spec, goals: list[Goal], witnesses: dict[str, Witness], *,
                     binding: Binding | None = None, scenarios: Scenarios | None = None,
                     check_rules: bool = False, record: dict[tuple[int, int], ReplayedStep] | None = None,
                     against: dict[tuple[int, int], ReplayedStep] | None = None,
                     stale: frozenset[str] = frozenset()) -> CoverReport:
    """Replay ``witnesses`` (found on another version of the spec) on
    ``spec``'s model, each from a fresh deployment with the same parameters,
    and credit every goal of ``goals`` that any replayed step meets (a
    replay is a run like any other). With ``check_rules``, the rules are
    checked as in :func:`search_witnesses`. Witnesses that share their first
    steps (a prelude, a scenario) share those steps' states: the replays are
    deterministic and cost about one model step per distinct step.

    A step the spec can no longer run (an action or argument it no longer
    has) ends that witness's replay.

    ``record`` (with ``check_rules``) is filled with the steps whose rules
    and ensures held, by place (witness, step); given as ``against`` to the
    replay of the same witnesses on a mutant of the spec, it leaves out the
    checks whose verdict it already knows (see :meth:`_Search.known`), the
    rules and ensures in ``stale`` (``module.rule``, ``ensures
    module.action``: those whose text, through the functions and constants
    they read, the mutant changed) always checked. The violations found are
    the same as without it."""
    t0 = time.perf_counter()
    report = CoverReport(goals)
    report.uncovered, report.bad_uncovered = uncovered_of(spec, goals)
    open_goals = {g.key: g for g in goals}
    state_covers = [(g, c) for g in goals if g.kind == "cover" and g.action is None
                    for c in spec.modules[g.module].covers if c.name == g.detail]
    search = _Search(spec, binding, scenarios or Scenarios(), open_goals, report, state_covers)
    search.check_rules = check_rules
    search.recording, search.against, search.stale = record, against or {}, stale
    model = search.model
    # the path replayed so far: (witness step, step as run, state after it, now, block),
    # to resume from a prefix the next witness shares
    path: list[tuple[TraceStep, TraceStep, Any, int, int]] = []
    root = (clone(model.world.snapshot()), search.now, search.block)
    with observed(model) as obs:
        search.obs = obs
        for wi, w in enumerate(sorted(witnesses.values(), key=lambda w: repr(w.steps))):
            shared = 0
            while shared < min(len(path), len(w.steps)) and path[shared][0] == w.steps[shared]:
                shared += 1
            del path[shared:]
            snap, now, block = path[-1][2:] if path else root
            model.world.restore(clone(snap))
            trace = [p[1] for p in path]
            for si, st in enumerate(w.steps[shared:], shared):
                if st.module == "time":
                    now, block = now + st.seconds, block + st.blocks
                    trace.append(st)
                else:
                    try:
                        act = spec.modules[st.module].actions[st.action]
                        search.at = (wi, si)
                        search.step("replay", (), trace, st.module, act, st.caller, st.args, now, block)
                    except Exception:
                        break
                    finally:
                        search.at = None
                path.append((st, trace[-1], clone(model.world.snapshot()), now, block))
    report.seconds = time.perf_counter() - t0
    report.checks_known = search.skipped
    return report


def _pick_action(rng: random.Random, public: list[tuple[str, ir.Action]],
                 open_goals: dict[str, Goal]) -> tuple[str, ir.Action]:
    """Three times in four an action with a goal still open, else any public action."""
    wanted = {(g.module, g.action) for g in open_goals.values()}
    pool = [p for p in public if (p[0], p[1].name) in wanted]
    if pool and rng.randrange(4) != 0:
        return rng.choice(pool)
    return rng.choice(public)


def _best_draw(rng: random.Random, model: Model, spec: ir.Spec, module: str, act: ir.Action, actors: list[int],
               now: int, block: int, open_goals: dict[str, Goal], caller: int | None = None,
               held: Callable[[], list[int]] | None = None) -> tuple[int, tuple[Any, ...]]:
    """Draw a caller (unless given) and arguments up to :data:`DRAWS` times;
    keep the first draw that meets an open ``where`` cover before running,
    or, while such a cover of the action is open, the first draw with one of
    its numbers set equal to another that does (a boundary such as ``cliff ==
    start``: no further draw is made for it); else the last draw (when its
    caller is an actor, with one of its numbers set to a number the state
    holds, when that meets such a cover)."""
    draw: tuple[int, tuple[Any, ...]] = (actors[0], ())
    fixed = caller
    aimed = any(g.kind == "cover" and g.module == module and g.action == act.name for g in open_goals.values())
    numbers = [i for i, (_, t) in enumerate(act.params) if t == ir.UINT] if aimed else []
    for _ in range(DRAWS):
        if fixed is not None:
            caller = fixed
        else:
            caller = rng.choice(actors) if rng.randrange(4) else rng.choice([*model.world.address.values(), 0])
        args = _args(rng, model, spec, module, act, caller, actors, now, block, held)
        draw = (caller, args)
        env = Env(caller, now, block, 1)
        if _cover_hits(model, spec, module, act, env, args, open_goals):
            return draw
        for i in numbers:
            for j in numbers:
                if i != j and args[i] != args[j]:
                    equal = tuple(args[i] if k == j else a for k, a in enumerate(args))
                    if _cover_hits(model, spec, module, act, env, equal, open_goals):
                        return caller, equal
    if numbers and caller in actors:
        # a number of the last draw set to one the state holds (a boundary
        # such as `amount == min_redeem_amount`: a parameter equal to a
        # variable), the first that meets an open `where` cover
        env = Env(caller, now, block, 1)
        for i in numbers:
            for v in (held() if held is not None else model.numbers_held()):
                aimed_at = tuple(v if k == i else a for k, a in enumerate(draw[1]))
                if _cover_hits(model, spec, module, act, env, aimed_at, open_goals):
                    return caller, aimed_at
    return draw


_CLOCKS: dict[tuple[int, str, str], dict[int, str]] = {}


def _args(rng: random.Random, model: Model, spec: ir.Spec, module: str, act: ir.Action, caller: int,
          actors: list[int], now: int, block: int, held: Callable[[], list[int]] | None = None) -> tuple[Any, ...]:
    key = (id(spec), module, act.name)
    if key not in _CLOCKS:
        _CLOCKS[key] = clock_params(act, spec)
    clocks = _CLOCKS[key]
    computed: list[list[int]] = []

    def fn_values() -> list[int]:  # (asked for only when a draw may take one of them)
        if not computed:
            computed.append(_fn_values(model, spec, module, Env(caller, now, block, 1)))
        return computed[0]

    out: list[Any] = []
    for i, (_, t) in enumerate(act.params):
        v = _value(rng, model, spec, t, actors, clocks.get(i), fn_values, act, out, model.world.address[module],
                   held)
        v = resolve(v, model, module, caller, (now, block), held)
        if t == ir.UINT and rng.randrange(HALVE_EVERY) == 0:
            v //= 2  # part of a balance, not all of it
        out.append(v)
    return tuple(out)


def _value(rng: random.Random, model: Model, spec: ir.Spec, t: ir.Type, actors: list[int], clock: str | None,
           fn_values: Callable[[], list[int]], act: ir.Action, earlier: list[Any], contract: int = 0,
           held: Callable[[], list[int]] | None = None) -> Any:
    if t == ir.UINT:
        roll = rng.randrange(10)
        if clock is not None and roll < 6:
            return NearClock(clock, rng.choice(CLOCK_OFFSETS))
        if roll < 4:
            return NearState(rng.randrange(2**16))
        if roll < 6 and fn_values():
            return rng.choice(fn_values())
        if roll < 8:
            return rng.choice(SMALL)
        return rng.choice([10**18, 10**21, 10**24, 2**256 - 1, rng.randrange(10**25)])
    if t == ir.BOOL:
        return rng.random() < 0.5
    if t == ir.ADDRESS:
        roll = rng.randrange(8)
        if roll < 4:
            return rng.choice(actors)
        if roll < 6:
            return Linked(rng.randrange(2**16))
        return rng.choice([0, *model.world.address.values()])
    if t == ir.BYTES32:
        return rng.choice([0, 1, rng.randrange(2**256)])
    if isinstance(t, ir.EnumT):
        return rng.randrange(len(spec.modules[t.module].phases[t.name].bands))
    if isinstance(t, ir.RecordT):
        rec = spec.modules[t.module].records[t.name]
        fields = [resolve(_value(rng, model, spec, ft, actors, None, fn_values, act, earlier, held=held), model,
                          act.name and t.module, actors[0], held=held) for _, ft in rec.fields]
        return model.record(t.module, t.name, *fields)
    if t == ir.SIGNATURE:
        request = next((e for e in reversed(earlier) if hasattr(e, "__dataclass_fields__")), None)
        fields = [getattr(request, f) for f in getattr(request, "__dataclass_fields__", {})]
        owners = [x for x in fields if isinstance(x, int) and x in actors] or actors
        rec_name = act.signed_request or ""
        return Signature(rng.choice(owners), rec_name, request, 1, contract, rng.random() < 0.95)
    return 0


def _fn_values(model: Model, spec: ir.Spec, module: str, env: Env) -> list[int]:
    """Amounts an argument is often compared with: what the module's functions
    without arguments answer now (a capacity, a price), its constants and
    parameters, and what is left between each of them and each number the
    module's state holds (the room under a cap)."""
    m = spec.modules[module]
    own = model.state(module)
    bounds = [c.folded for c in m.consts.values() if isinstance(c.folded, int) and not isinstance(c.folded, bool)]
    bounds += [v for p in (*m.params, *m.governed) if isinstance(v := getattr(own, p, None), int)
               and not isinstance(v, bool)]
    held = [v for f in own.__dataclass_fields__ if isinstance(v := getattr(own, f), int)
            and not isinstance(v, bool) and v > 0]
    out: list[int] = [*bounds, *(b - v for b in bounds for v in held if b > v)]
    for f in spec.modules[module].fns.values():
        if f.params or f.returns != ir.UINT:
            continue
        try:
            v = model.call_fn(module, f.name, env)
        except Exception:
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            out.extend(x for x in (v, v + 1, v - 1) if 0 <= x < 2**256)
    return out


def _cover_hits(model: Model, spec: ir.Spec, module: str, act: ir.Action, env: Env, args: tuple[Any, ...],
                open_goals: dict[str, Goal]) -> list[str]:
    """Open ``succeeds`` covers of this call whose ``where`` holds before it runs."""
    out = []
    covers = getattr(model.package, module).COVERS
    for name, (action, pred) in covers.items():
        key = f"{module}.{name}"
        if action != act.name or key not in open_goals:
            continue
        try:
            if pred(model.world, env, *args):
                out.append(key)
        except Exception:
            continue
    return out


def _observed_hits(obs: _Observer, module: str, action: str, ok: bool) -> Iterator[str]:
    if ok:
        yield f"{module}.{action}:succeeds"
    for m, a, reason, passed in obs.checks:
        yield f"{m}.{a}:require {reason}:{'passes' if passed else 'fails'}"
    for m, a, phase, passed in obs.gates:
        yield f"{m}.{a}:gate {phase}:{'admits' if passed else 'refuses'}"


def _check_states(model: Model, state_covers: list[tuple[Goal, ir.Cover]], open_goals: dict[str, Goal],
                  report: CoverReport, witness: Witness, now: int, block: int) -> None:
    for g, c in state_covers:
        if g.key not in open_goals:
            continue
        pred = getattr(model.package, g.module).COVERS[c.name][1]
        try:
            held = pred(model.world, Env(0, now, block, 1))
        except Exception:
            held = False
        if held:
            del open_goals[g.key]
            report.met[g.key] = witness


def _numbers_in(value: Any) -> frozenset[int]:
    """The positive uints ``value`` (a module's state) holds, as
    :meth:`reference.model.Model.numbers_held` finds them in every module."""
    found: set[int] = set()

    def visit(v: Any) -> None:
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            if v > 0:
                found.add(v)
        elif isinstance(v, Map):
            if v and type(next(iter(v.values()))) is int:
                found.update(x for x in v.values() if x > 0)
                return
            for x in v.values():
                visit(x)
        elif hasattr(v, "__dataclass_fields__"):
            for f in v.__dataclass_fields__:
                visit(getattr(v, f))

    visit(value)
    return frozenset(found)


def _show(v: Any, labels: dict[int, str]) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        if v in labels:
            return labels[v]
        return "MAX" if v == 2**256 - 1 else str(v)
    if hasattr(v, "__dataclass_fields__"):
        return "(" + ", ".join(_show(getattr(v, f), labels) for f in v.__dataclass_fields__) + ")"
    return repr(v)


__all__ = ["SCENARIOS_FILE", "CoverReport", "CoverSettings", "Goal", "Scenarios", "TraceStep", "Witness", "goals_of",
           "load_scenarios", "never_succeeds", "replays", "search_witnesses", "uncovered_of"]
