"""The bounded search from a concrete state (``bmc-state``).

The binding's prelude and scenarios, run on the reference model, give
concrete states where the protocol has been launched. From each, this search
unrolls up to ``depth`` symbolic transactions (the cone of influence's
actions, free arguments, callers among the binding's actors, time moving
forward), the same way as the search from deployment
(:func:`verification.bmc.unroll_step`), so that "launch, then break" is one
or two symbolic steps, not ten. Every state entry, parameter and address is
the model's value; only the transactions are symbolic.

A model is turned back into conformance steps (a clock step, then the
action), so the trace replays on the model and, as a fixture, on the EVM.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import z3

from spec import ir
from spec.analysis import Analysis
from verification.bmc import StepVars, _target, unroll_step
from verification.build import Builder, finalize_facts, goal_clauses, own_context
from verification.encode import (
    Base,
    Encoder,
    EncodingError,
    Env,
    Frame,
    MapVal,
    Rep,
    StateKey,
    SymState,
    conj,
    disj,
    negate,
    tree_leaves,
)
from verification.outcome import Budget, Job
from verification.report import raw_int
from verification.solve import classify_unknown

if TYPE_CHECKING:
    from conformance.simulate import ModelRun, Trace


class ConcreteBase(Base):
    """A state entry's value is the reference model's, as a Z3 constant."""

    def __init__(self, enc: Encoder, run: ModelRun) -> None:
        super().__init__()
        self.enc = enc
        self.run = run

    def make(self, key: StateKey) -> Rep:
        kind, module, name = key
        st = self.run.model.world.state[module]
        if kind == "sum":
            m = _field(st, name)
            total = sum(int(v) for v in m.values())
            return z3.BitVecVal(total, 512) if self.enc.dom.name == "bv" else z3.IntVal(total)
        t = self.enc.state_type(key)
        return lit(self.enc, t, _field(st, name))


def _field(obj: Any, name: str) -> Any:
    from reference.codegen import attr, py

    for n in (name, py(name), attr(name)):
        if hasattr(obj, n):
            return getattr(obj, n)
    raise EncodingError(f"the model has no field {name}")


def lit(enc: Encoder, t: ir.Type, v: Any) -> Rep:
    """A model value of type ``t`` as a Z3 value."""
    if isinstance(t, ir.MapT):
        zero = enc.zero(t)
        arrays = zero.arrays
        for k, x in v.items():
            kk = lit(enc, t.key, k)
            leaves = enc.unwrap(t.value, lit(enc, t.value, x))
            arrays = _store(arrays, kk, leaves)
        return MapVal(t.key, t.value, arrays)
    if isinstance(t, ir.RecordT):
        return {n: lit(enc, ft, _field(v, n)) for n, ft in enc.record_fields(t)}
    if t == ir.UINT:
        return enc.lit_uint(int(v))
    if t == ir.BOOL:
        return z3.BoolVal(bool(v))
    if isinstance(t, ir.Prim | ir.EnumT) and t not in (ir.SIGNATURE, ir.STRING, ir.NONE):
        return z3.IntVal(int(v))
    raise EncodingError(f"no concrete value of type {t}")


def _store(arrays: Any, k: Any, leaves: Any) -> Any:
    if isinstance(arrays, dict):
        return {n: _store(arrays[n], k, leaves[n]) for n in arrays}
    return z3.Store(arrays, k, leaves)


@dataclass
class FromState:
    """The search from one concrete state: ``found`` (``trace``), ``none``
    within ``depth`` steps, or ``unknown`` (``detail``)."""

    status: Literal["found", "none", "unknown"]
    depth: int
    trace: Trace | None = None
    detail: str = ""
    wall_clock: bool = False


def search_actions(spec: ir.Spec, analysis: Analysis, job: Job,
                   chosen: Sequence[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The actions a symbolic search unrolls: the goal's cone of influence
    (:meth:`spec.analysis.Analysis.cone_of_influence`), narrowed to
    ``chosen`` when given, with arguments the search can pick (integers,
    booleans, addresses); for an ``ensures`` goal, its action too."""
    _, _, reads = _target(spec, analysis, job)
    keep = None if chosen is None else set(chosen)
    actions = [a for a in analysis.cone_of_influence(reads)
               if (keep is None or a in keep)
               and all(t in (ir.UINT, ir.BOOL, ir.ADDRESS) for _, t in spec.modules[a[0]].actions[a[1]].params)]
    if job.kind == "ensures" and job.action is not None and job.action not in actions:
        actions.append(job.action)
    return actions


def search_from_state(spec: ir.Spec, analysis: Analysis, job: Job, run: ModelRun, scenario: str | None,
                      depth: int, budget: Budget, reach: bool = False,
                      chosen: Sequence[tuple[str, str]] | None = None, actors: Sequence[int] | None = None,
                      first_check: int = 1, dictionary: Sequence[int] = ()) -> FromState:
    """Search up to ``depth`` symbolic transactions from ``run``'s current
    (concrete) state, which ``scenario`` names, for a violation of ``job``'s
    rule (or, with ``reach``, a state where it holds).

    One solver serves every depth: transaction ``i`` is added to the
    formulas of the first ``i - 1`` (kept, not rebuilt), and the goal at
    depth ``i`` is checked between a push and a pop. The transactions are
    chosen among :func:`search_actions` (``chosen`` narrows them), their
    callers among ``actors`` (default: all of ``run``'s), and each address
    argument is an actor or a deployed module (the only addresses that hold
    anything or are approved by anyone); clocks stay below 2**64, as an
    EVM block's do. The goal is asked from depth
    ``first_check`` on (a shallower violation is known not to exist).

    With a ``dictionary``, each depth is first asked with every integer
    argument taken from it (a finite domain, where the solver finds a model
    far faster than among all 2**256 values, whose products of two unknowns
    it handles badly), then, when that finds nothing, with the arguments
    free: the search stays complete up to ``depth``.

    Raises:
        nothing: an encoding problem is an ``unknown`` search.
    """
    # in a Z3 context of its own, like the bounded search from deployment:
    # what the process built and solved before must not change the search's
    # path, nor so its verdict
    with own_context():
        return _search_from_state(spec, analysis, job, run, scenario, depth, budget, reach, chosen, actors,
                                  first_check, dictionary)


def _search_from_state(spec: ir.Spec, analysis: Analysis, job: Job, run: ModelRun, scenario: str | None,
                       depth: int, budget: Budget, reach: bool, chosen: Sequence[tuple[str, str]] | None,
                       actors: Sequence[int] | None, first_check: int, dictionary: Sequence[int]) -> FromState:
    """:func:`search_from_state` in the current Z3 context."""
    expr, transition, _ = _target(spec, analysis, job)
    actions = search_actions(spec, analysis, job, chosen)
    callers = list(run.actors if actors is None else actors)
    if not actions:
        return FromState("none", depth, detail="no action to unroll")
    try:
        enc, solver, env0 = _concrete_start(spec, analysis, run, budget)
        prev_env = env0
        states = [SymState(ConcreteBase(enc, run))]
        steps: list[StepVars] = []
        added = 0
        hint = z3.Bool("from_dictionary")
        for i in range(1, depth + 1):
            sv, merged = unroll_step(spec, enc, solver, actions, states[-1], prev_env, env0, i)
            _step_domain(spec, enc, solver, sv, callers, run, hint, dictionary)
            steps.append(sv)
            states.append(merged)
            prev_env = sv.env
            enc.skolem = {}
            goal = _goal(enc, job, expr, transition, actions, sv, states, reach, i)
            for f in enc.facts[added:]:
                solver.add(f)
            added = len(enc.facts)
            if i < first_check:
                continue
            solver.push()
            for f in [*enc.axioms, *finalize_facts(enc)]:
                solver.add(f)
            solver.add(negate(disj(enc.reverts)))
            solver.add(goal)
            t0 = time.perf_counter()
            r = solver.check(hint) if dictionary else z3.unsat
            if r != z3.sat:
                r = solver.check()
            dt = time.perf_counter() - t0
            if r == z3.sat:
                trace = _trace(spec, solver.model(), steps, run, scenario)
                solver.pop()
                return FromState("found", i, trace)
            if r == z3.unknown:
                u = classify_unknown(solver.reason_unknown(), dt, budget)
                solver.pop()
                return FromState("unknown", i - 1, detail=f"{u.reason}: {u.detail}", wall_clock=u.reason == "timeout")
            solver.pop()
    except EncodingError as exc:
        return FromState("unknown", 0, detail=f"unsupported: {exc}")
    return FromState("none", depth)


def _concrete_start(spec: ir.Spec, analysis: Analysis, run: ModelRun, budget: Budget) -> tuple[Encoder, Any, Env]:
    """An encoder whose state is ``run``'s, a solver with ``budget``'s limits
    that knows the deployed modules' addresses, and the run's environment."""
    builder = Builder(spec, analysis, "int")
    enc = Encoder(spec, builder.encoder().dom)
    solver = z3.Solver()
    solver.set("timeout", max(1, int(budget.timeout * 1000)))
    solver.set("rlimit", int(budget.rlimit))
    for module, address in run.addresses.items():
        solver.add(enc.address(module) == address)
    env0 = Env(z3.IntVal(run.actors[0]), enc.lit_uint(run.now), enc.lit_uint(run.block), enc.lit_uint(run.chain_id))
    return enc, solver, env0


def _step_domain(spec: ir.Spec, enc: Encoder, solver: Any, sv: StepVars, callers: Sequence[int], run: ModelRun,
                 hint: Any, dictionary: Sequence[int]) -> None:
    """The step's caller is one of ``callers``, its clock fits an EVM block's
    64 bits, its address arguments name an actor or a deployed module and,
    under ``hint``, its integer arguments come from ``dictionary``."""
    solver.add(z3.Or([sv.env.caller == actor for actor in callers]))
    # an EVM block's timestamp and number are 64-bit
    solver.add(sv.env.now < enc.lit_uint(2**64), sv.env.block_number < enc.lit_uint(2**64))
    _address_domain(spec, solver, sv, [*callers, *run.addresses.values()])
    if dictionary:
        _dictionary_domain(spec, enc, solver, sv, hint, dictionary)


def _goal(enc: Encoder, job: Job, expr: ir.Expr, transition: bool, actions: Sequence[tuple[str, str]],
          sv: StepVars, states: Sequence[SymState], reach: bool, i: int) -> Any:
    """After transaction ``i`` (``states[-1]``, from ``states[-2]``): the job's
    rule (or ensures clause, when the transaction is its action) fails, or,
    with ``reach``, holds."""
    if job.kind == "ensures":
        assert job.action is not None
        if job.action not in actions:
            return z3.BoolVal(False)
        j = list(actions).index(job.action)
        clauses = goal_clauses(enc, expr, sv.posts[j], Frame(job.action[0], dict(sv.args[j]), sv.env),
                               states[-2], f"w{i}")
        holds = conj([c.holds for c in clauses])
        return z3.And(sv.selector == j, holds if reach else negate(holds))
    clauses = goal_clauses(enc, expr, states[-1], Frame(job.module, {}, None),
                           states[-2] if transition else None, f"w{i}")
    holds = conj([c.holds for c in clauses])
    return holds if reach else negate(holds)


def _trace(spec: ir.Spec, model: Any, steps: Sequence[StepVars], run: ModelRun, scenario: str | None) -> Trace:
    """The transactions of ``model`` as conformance steps from ``run``'s state:
    a clock step before each transaction that moves the clock, then the action."""
    from conformance.harness.values import Step
    from conformance.simulate import Trace

    out: list[Step] = []
    now: int = run.now
    block: int = run.block
    for s in steps:
        pick = raw_int(model, s.selector)
        assert isinstance(pick, int)
        m, a = s.actions[pick]
        t_now, t_block = raw_int(model, s.env.now), raw_int(model, s.env.block_number)
        assert isinstance(t_now, int) and isinstance(t_block, int)
        if (t_now, t_block) != (now, block):
            out.append(Step("time", seconds=t_now - now, blocks=t_block - block))
            now, block = t_now, t_block
        decl = spec.modules[m].actions[a]
        args = tuple(_arg(model, s.args[pick][n], t) for n, t in decl.params)
        caller = raw_int(model, s.env.caller)
        assert isinstance(caller, int)
        out.append(Step("action", m, a, caller, args))
    return Trace(scenario, tuple(out))


def _address_domain(spec: ir.Spec, solver: Any, sv: StepVars, addresses: list[int]) -> None:
    """Each address argument of the step is one of ``addresses``."""
    for (m, a), args in zip(sv.actions, sv.args, strict=True):
        for n, t in spec.modules[m].actions[a].params:
            if t == ir.ADDRESS:
                solver.add(z3.Or([args[n] == x for x in addresses]))


def _dictionary_domain(spec: ir.Spec, enc: Encoder, solver: Any, sv: StepVars, hint: Any,
                       values: Sequence[int]) -> None:
    """Under the assumption ``hint``, each integer argument of the step is one of ``values``."""
    lits = [enc.lit_uint(v) for v in values]
    for (m, a), args in zip(sv.actions, sv.args, strict=True):
        for n, t in spec.modules[m].actions[a].params:
            if t == ir.UINT:
                solver.add(z3.Implies(hint, z3.Or([args[n] == x for x in lits])))


def dictionary_values(params: Sequence[int] = ()) -> list[int]:
    """Argument values a search tries first: 0, 1, 2 and 5 times each power of
    ten up to 10**30 (token amounts at 18 decimals from 1 wei to 10**12
    tokens), the deployment's integer parameters, 2**112 - 1 and 2**256 - 1."""
    out = {0, 2**112 - 1, 2**256 - 1, *(v for v in params if 0 <= v < 2**256)}
    for k in range(31):
        out |= {10**k, 2 * 10**k, 5 * 10**k}
    return sorted(out)


def _arg(model: Any, rep: Rep, t: ir.Type) -> Any:
    v = raw_int(model, rep)
    if t == ir.BOOL:
        return bool(v)
    return int(v) if isinstance(v, int) else 0




@dataclass
class SequenceStats:
    """What :func:`search_sequences` did: action sequences asked for a
    violation (``leaves``), prefixes asked whether they can run
    (``prefixes``), of which ``dead`` cannot, and the solver queries in all."""

    leaves: int = 0
    prefixes: int = 0
    dead: int = 0
    queries: int = 0
    # the guided phase (see :func:`search_sequences`): the prefixes it
    # extended, and the queries that asked why an action cannot run
    guided: int = 0
    blocked: int = 0

    def describe(self) -> str:
        out = (f"{self.leaves} action sequence(s) asked, {self.prefixes} prefix(es) checked "
               f"({self.dead} cannot run), {self.queries} solver queries")
        if self.guided:
            out += f"; guided: {self.guided} prefix(es) extended, {self.blocked} blocker queries"
        return out


def independent(analysis: Analysis, a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether ``a`` then ``b`` and ``b`` then ``a`` always reach the same
    state: neither writes what the other reads or writes, and at most one
    reads the clock (the other then runs at the same time and block)."""
    wa, wb = analysis.action_writes(*a), analysis.action_writes(*b)
    if wa & (wb | analysis.action_reads(*b)) or wb & analysis.action_reads(*a):
        return False
    return not (analysis.reads_clock(*a) and analysis.reads_clock(*b))


def relevant(analysis: Analysis, seq: Sequence[tuple[str, str]], reads: frozenset[Any]) -> bool:
    """Whether every transaction of ``seq`` may write something read after
    it: by a later transaction that is itself relevant, or by the goal
    (``reads``). The last one must write what the goal reads; the job's
    action (an ``ensures`` goal's) passes as it stands."""
    need = set(reads) | analysis.action_reads(*seq[-1])
    for a in reversed(seq[:-1]):
        if not analysis.action_writes(*a) & need:
            return False
        need |= analysis.action_reads(*a)
    return True


def search_sequences(spec: ir.Spec, analysis: Analysis, job: Job, run: ModelRun, scenario: str | None,
                     depth: int, budget: Budget, reach: bool = False,
                     chosen: Sequence[tuple[str, str]] | None = None, actors: Sequence[int] | None = None,
                     first_check: int = 1, dictionary: Sequence[int] = (), max_queries: int = 4000,
                     stats: SequenceStats | None = None, guided: bool | None = None) -> FromState:
    """Search up to ``depth`` transactions from ``run``'s concrete state by
    enumerating action sequences: one solver query per sequence with each
    transaction's action pinned, its arguments, caller and clock symbolic.

    The bounds are taken in turn (``first_check`` to ``depth``: a trace found
    is a shortest one). Within a bound, sequences are walked depth first in
    the order of :func:`search_actions`, on one incremental solver: each
    transaction is encoded once for all the sequences that share its prefix
    (a push, the encoding of that action alone, a pop), so a query holds
    only the pinned actions, not a choice among all of them at every step.
    A sequence is asked for the goal only when it can matter, and a prefix
    is pruned only when that loses no trace:

    - a prefix that cannot run (no arguments, callers or clock make every
      transaction succeed: unsatisfiable with free arguments) is dropped
      with every extension;
    - two adjacent transactions that commute (:func:`independent`) are
      taken in one order only (the order of the actions: a trace in the
      other order reaches the same states);
    - a sequence where a transaction writes nothing that a later one or
      the goal reads (:func:`relevant`) is not asked: without that
      transaction it is a shorter sequence, asked at a smaller bound; its
      last transaction must write what the goal reads (for an ``ensures``
      goal, it is the job's action).

    ``guided`` (default: when the actions are not ``chosen``, the whole
    cone) splits the queries: this exhaustive walk gets a quarter of them, and
    when it stops there with bounds left, the rest go to a guided walk to
    ``depth`` (:meth:`_Walk.guided`) that extends each prefix only with
    the actions a goal regression reaches (:meth:`_Walk.plan`: what blocks
    the goal's action, by unsatisfiable cores, then what writes that, and
    so on down to actions that can run), those that remove a block first.
    A trace it finds is as real as any, but it may not be a shortest one,
    and the guided walk proves nothing: ``none`` and the depth reported
    are the exhaustive walk's, which goes on with what is left when the
    guided walk runs out of prefixes.

    Each query is asked first with integer arguments from ``dictionary``
    (see :func:`search_from_state`), then with them free. Every query gets
    ``budget``'s rlimit (the deterministic budget), and the search stops
    after ``max_queries`` queries or ``budget.timeout`` seconds in all (then
    ``unknown``, the deepest bound walked in full as its depth). ``none``
    means no trace among the callers, addresses and actions searched.

    Raises:
        nothing: an encoding problem is an ``unknown`` search.
    """
    expr, transition, reads = _target(spec, analysis, job)
    actions = search_actions(spec, analysis, job, chosen)
    callers = list(run.actors if actors is None else actors)
    stats = stats if stats is not None else SequenceStats()
    if guided is None:
        guided = chosen is None
    if not actions:
        return FromState("none", depth, detail="no action to unroll")
    if job.kind == "ensures":
        lasts = [a for a in actions if a == job.action]
    else:
        lasts = [a for a in actions if analysis.affects(*a, reads) or a == job.action]
    deadline = time.perf_counter() + budget.timeout
    hint = z3.Bool("from_dictionary")
    try:
        enc0, solver, env0 = _concrete_start(spec, analysis, run, budget)
    except EncodingError as exc:
        return FromState("unknown", 0, detail=f"unsupported: {exc}")
    ctx = _Walk(spec, analysis, job, run, scenario, solver, env0, callers, hint, dictionary, actions, lasts,
                expr, transition, reads, reach, stats, deadline, max_queries // 4 if guided else max_queries,
                budget)
    start = _Node(enc0, (), [SymState(ConcreteBase(enc0, run))], [], env0, 0)

    complete = first_check - 1
    capped = False
    why = ""

    def exhaust(first: int) -> FromState | None:
        """The exhaustive walk from bound ``first``: its verdict, or None when
        it stops short (``complete`` and ``why`` say where and why)."""
        nonlocal complete, why, capped
        capped = False
        try:
            for bound in range(first, depth + 1):
                ctx.walk(bound, start)
                if ctx.found:
                    return FromState("found", ctx.found[0][0], ctx.found[0][1], detail=stats.describe())
                if not ctx.incomplete:  # (an unknown query leaves its bound, and every later one, incomplete)
                    complete = bound
            if complete == depth:
                return FromState("none", depth, detail=stats.describe())
            why = f"a query ran out of its rlimit at depth {complete + 1}"
        except _Stop:
            capped = True
            why = "timeout" if time.perf_counter() > deadline else f"{ctx.cap} queries"
        return None

    try:
        out = exhaust(first_check)
        if out is not None:
            return out
        if guided and capped and time.perf_counter() <= deadline:
            ctx.cap = max_queries
            with contextlib.suppress(_Stop):
                ctx.guided(depth, start)
            if ctx.found:
                n, trace = ctx.found[0]
                return FromState("found", n, trace, detail=(
                    f"no violation within {complete} transaction(s) (every sequence asked); found by the guided "
                    f"walk; {stats.describe()}"))
            if stats.queries < max_queries and time.perf_counter() <= deadline:
                # the guided walk ran out of prefixes: the exhaustive one goes on with what is left
                ctx.incomplete = False
                out = exhaust(complete + 1)
                if out is not None:
                    return out
            else:
                why = ("timeout" if time.perf_counter() > deadline else f"{max_queries} queries") + \
                    f" spent (the guided walk to depth {depth} found nothing)"
    except EncodingError as exc:
        return FromState("unknown", complete, detail=f"unsupported: {exc}")
    wall = time.perf_counter() > deadline
    return FromState("unknown", complete, detail=(
        f"{why}; no violation within {complete} transaction(s) (every sequence asked); {stats.describe()}"),
        wall_clock=wall)


def _differs(a: Rep, b: Rep) -> Any:
    """A term that holds when two values of the same shape differ."""
    if isinstance(a, MapVal) and isinstance(b, MapVal):
        pairs = list(zip(tree_leaves(a.arrays), tree_leaves(b.arrays), strict=True))
    elif isinstance(a, dict) and isinstance(b, dict):
        return disj([_differs(a[k], b[k]) for k in a])
    elif isinstance(a, z3.ExprRef) and isinstance(b, z3.ExprRef):
        pairs = [(a, b)]
    else:
        return z3.BoolVal(False)
    return disj([negate(x == y) for x, y in pairs if not z3.eq(x, y)])


def _unblocks(before: frozenset[Any], after: frozenset[Any]) -> bool:
    """Whether a block of ``before`` (an action that could not run, and the
    core of why) is gone in ``after``: the action runs, or is blocked
    otherwise."""
    return any(core != "runs" and (x, core) not in after for x, core in before)


class _Stop(Exception):
    """The search's query cap or wall clock is spent."""


@dataclass
class _Node:
    """A prefix on the solver: its encoder, actions, states (the start's
    first), steps, the environment of its last transaction and how many of
    the encoder's facts the solver holds."""

    enc: Encoder
    seq: tuple[tuple[str, str], ...]
    states: list[SymState]
    steps: list[StepVars]
    env: Env
    added: int


@dataclass
class _Probe:
    """Whether an action can run after a prefix (with the goal, for the
    goal's action): ``ok`` (``model``, ``sv``), or not, with the reads of
    the ``require``s in the unsatisfiable core (``keys``) and their ids
    (``core``), or ``unknown``."""

    status: Literal["ok", "blocked", "unknown"]
    model: Any = None
    sv: StepVars | None = None
    keys: frozenset[Any] = frozenset()
    core: frozenset[Any] = frozenset()


class _Walk:
    """The state of one :func:`search_sequences`: its solver and caches, and
    the two walks over it."""

    def __init__(self, spec: ir.Spec, analysis: Analysis, job: Job, run: ModelRun, scenario: str | None,
                 solver: Any, env0: Env, callers: list[int], hint: Any, dictionary: Sequence[int],
                 actions: list[tuple[str, str]], lasts: list[tuple[str, str]], expr: ir.Expr, transition: bool,
                 reads: frozenset[Any], reach: bool, stats: SequenceStats, deadline: float, cap: int,
                 budget: Budget) -> None:
        self.spec, self.analysis, self.job, self.run, self.scenario = spec, analysis, job, run, scenario
        self.solver, self.env0, self.callers, self.hint, self.dictionary = solver, env0, callers, hint, dictionary
        self.actions, self.lasts, self.expr, self.transition = actions, lasts, expr, transition
        self.reads, self.reach, self.stats, self.deadline, self.cap = reads, reach, stats, deadline, cap
        self.budget = budget
        self.dead: set[tuple[tuple[str, str], ...]] = set()
        self.alive: set[tuple[tuple[str, str], ...]] = set()
        self.found: list[tuple[int, Trace]] = []
        self.incomplete = False
        self.goal_reads = analysis.expr_reads(expr)
        self._own: dict[ir.Stmt, frozenset[Any]] = {}

    # ------------------------------------------------------------ queries
    def ask(self, enc: Encoder, extra: Any, assumptions: Sequence[Any] = ()) -> Any:
        """Can the transactions on the solver all succeed (and ``extra``
        hold, and ``assumptions``)? A model, ``z3.unsat`` (the core of
        ``assumptions`` in ``self.core``) or ``z3.unknown``."""
        stats, solver = self.stats, self.solver
        if stats.queries >= self.cap or time.perf_counter() > self.deadline:
            raise _Stop
        solver.push()
        for f in [*enc.axioms, *finalize_facts(enc)]:
            solver.add(f)
        solver.add(negate(disj(enc.reverts)))
        solver.add(extra)
        r = z3.unknown
        self.core: list[Any] = []
        try:
            for assume in ([self.hint], []) if self.dictionary else ([],):
                stats.queries += 1
                t0 = time.perf_counter()
                r = solver.check(*assume, *assumptions)
                if r == z3.sat:
                    return solver.model()
                if r == z3.unknown:
                    u = classify_unknown(solver.reason_unknown(), time.perf_counter() - t0, self.budget)
                    if u.reason == "timeout":
                        raise _Stop
            if r == z3.unsat and assumptions:
                self.core = list(solver.unsat_core())
            return r
        finally:
            solver.pop()

    def extend(self, node: _Node, a: tuple[str, str], reverts: list[Any] | None = None) -> tuple[_Node, StepVars]:
        """Encode ``a`` as the next transaction after ``node`` on the solver
        (inside the caller's push): the child node and its step."""
        i = len(node.seq) + 1
        child = node.enc.clone()
        sv, post = unroll_step(self.spec, child, self.solver, [a], node.states[-1], node.env, self.env0, i, reverts)
        _step_domain(self.spec, child, self.solver, sv, self.callers, self.run, self.hint, self.dictionary)
        child.skolem = {}
        return _Node(child, (*node.seq, a), [*node.states, post], [*node.steps, sv], sv.env, node.added), sv

    def goal(self, node: _Node, sv: StepVars) -> Any:
        return _goal(node.enc, self.job, self.expr, self.transition, [node.seq[-1]], sv, node.states, self.reach,
                     len(node.seq))

    def add_facts(self, node: _Node) -> _Node:
        for f in node.enc.facts[node.added:]:
            self.solver.add(f)
        node.added = len(node.enc.facts)
        return node

    def runs(self, node: _Node) -> bool:
        """Whether ``node``'s prefix can run (asked once per prefix)."""
        if node.seq in self.dead:
            return False
        if node.seq not in self.alive:
            self.stats.prefixes += 1
            if self.ask(node.enc, z3.BoolVal(True)) == z3.unsat:
                self.dead.add(node.seq)
                self.stats.dead += 1
                return False
            self.alive.add(node.seq)
        return True

    # ---------------------------------------------------- the exhaustive walk
    def walk(self, bound: int, node: _Node) -> None:
        """Every sequence of ``bound`` transactions after ``node`` (see :func:`search_sequences`)."""
        seq = node.seq
        leaf = len(seq) + 1 == bound
        for a in (self.lasts if leaf else self.actions):
            nxt = (*seq, a)
            if nxt in self.dead:
                continue
            if seq and not leaf and independent(self.analysis, seq[-1], a) \
                    and self.actions.index(a) < self.actions.index(seq[-1]):
                continue
            if leaf and not relevant(self.analysis, nxt, self.reads):
                continue
            self.solver.push()
            try:
                child, sv = self.extend(node, a)
                if leaf:
                    goal = self.goal(child, sv)
                    self.add_facts(child)
                    self.stats.leaves += 1
                    r = self.ask(child.enc, goal)
                    if isinstance(r, z3.ModelRef):
                        self.found.append((len(nxt), _trace(self.spec, r, child.steps, self.run, self.scenario)))
                        return
                    if r == z3.unknown:
                        self.incomplete = True
                    continue
                self.add_facts(child)
                if not self.runs(child):
                    continue
                self.walk(bound, child)
                if self.found:
                    return
            finally:
                self.solver.pop()

    # ------------------------------------------------------- the guided walk
    def own_reads(self, s: ir.Stmt) -> frozenset[Any]:
        """The state a statement's own expressions read (through functions and
        phase thresholds, not through the actions it calls: their statements
        answer for themselves)."""
        if s not in self._own:
            out: set[Any] = set()
            stack = list(ir.stmt_exprs(s))
            while stack:
                x = stack.pop()
                if isinstance(x, ir.ActionCall):
                    stack.extend(x.args)
                    continue
                if isinstance(x, ir.Ref | ir.FnCall | ir.PhaseOf):
                    out |= self.analysis.expr_reads(x)
                    if not isinstance(x, ir.Ref):
                        continue
                stack.extend(ir.expr_children(x))
            self._own[s] = frozenset(out)
        return self._own[s]

    def branch_reads(self, a: tuple[str, str]) -> frozenset[Any]:
        """The state the ``if`` tests of ``a`` (and of the actions it calls) read."""
        out: set[Any] = set()
        for m, n in {a, *self.analysis.action_callees(*a)}:
            for s in ir.walk(self.spec.modules[m].actions[n].body):
                if isinstance(s, ir.If):
                    out |= self.own_reads(s)
        return frozenset(out)

    def probe(self, node: _Node, a: tuple[str, str], with_goal: bool,
              change: frozenset[Any] = frozenset()) -> _Probe:
        """Can ``a`` run after ``node`` (and break the goal, ``with_goal``;
        and change one of the entries ``change``, when given)? If not, what
        blocks it, by an unsatisfiable core over one assumption per revert
        condition (the statement behind it), one for the goal and one for
        the change (whose reads are those of ``a``'s ``if`` tests)."""
        self.solver.push()
        try:
            reverts: list[Any] = []
            child, sv = self.extend(node, a, reverts)
            goal = self.goal(child, sv) if with_goal else None
            self.add_facts(child)
            # each assumption's label (the `require` it stands for) and the state that `require` reads
            lits: dict[int, tuple[Any, frozenset[Any]]] = {}
            assumptions = []
            tag = len(node.seq) + 1
            for k, r in enumerate(reverts):
                b = z3.Bool(f"passes!{tag}!{k}")
                self.solver.add(z3.Implies(b, negate(r)))
                origin = child.enc.revert_origins.get(r.get_id())
                lits[b.get_id()] = (origin[-1], frozenset().union(*map(self.own_reads, origin))) \
                    if origin is not None else (None, frozenset())
                assumptions.append(b)
            if goal is not None:
                g = z3.Bool(f"goal!{tag}")
                self.solver.add(z3.Implies(g, goal))
                lits[g.get_id()] = ("goal", self.goal_reads)
                assumptions.append(g)
            differs = [_differs(node.states[-1].get(k), child.states[-1].get(k))
                       for k in sorted(change & self.analysis.action_writes(*a))]
            if differs:
                c = z3.Bool(f"changes!{tag}")
                self.solver.add(z3.Implies(c, disj(differs)))
                lits[c.get_id()] = ("change", self.branch_reads(a))
                assumptions.append(c)
            self.stats.blocked += 1
            r = self.ask(child.enc, z3.BoolVal(True), assumptions)
            if isinstance(r, z3.ModelRef):
                if not with_goal:
                    self.alive.add(child.seq)
                return _Probe("ok", r, sv)
            if r == z3.unknown:
                return _Probe("unknown")
            core = [lits[c.get_id()] for c in self.core if c.get_id() in lits]
            if not with_goal and not differs:  # every revert condition assumed false: the prefix cannot run
                self.dead.add(child.seq)
            keys = frozenset().union(*(k for _, k in core))
            return _Probe("blocked", keys=keys, core=frozenset(label for label, _ in core))
        finally:
            self.solver.pop()

    def plan(self, node: _Node, depth: int) -> tuple[dict[tuple[str, str], int], frozenset[Any]]:
        """Goal regression from ``node``: the goal's action, then (level by
        level) the actions that write what blocks one of the level before,
        down to actions that can run now. Returns each runnable action's
        level (how many more steps the chain needs after it) and the
        signature of the blocks met (a child whose signature equals its
        parent's removed none of them). A trace found on the way is put in
        ``self.found``."""
        if self.job.action is None:
            return {}, frozenset()
        goal_action = self.job.action
        levels: dict[tuple[str, str], int] = {}
        sig: set[Any] = set()
        # each action of the chain, with the entries it was taken in for (it must change one)
        frontier: list[tuple[tuple[str, str], frozenset[Any]]] = [(goal_action, frozenset())]
        seen = {goal_action}
        level = 0
        room = depth - len(node.seq)
        while frontier and level < room:
            nxt: list[tuple[tuple[str, str], frozenset[Any]]] = []
            for x, change in frontier:
                # (the goal's action is asked with the goal even below ``first``: then it cannot be
                # broken, and the core says which of its conditions and the goal's block together)
                with_goal = x == goal_action
                p = self.probe(node, x, with_goal, change)
                if p.status == "ok":
                    if with_goal:
                        assert p.sv is not None
                        self.found.append((len(node.seq) + 1,
                                           _trace(self.spec, p.model, [*node.steps, p.sv], self.run, self.scenario)))
                        return levels, frozenset(sig)
                    levels.setdefault(x, level)
                    sig.add((x, "runs"))
                    continue
                if p.status == "unknown":
                    continue
                sig.add((x, p.core))
                for w in self.actions:
                    if w not in seen and self.analysis.action_writes(*w) & p.keys:
                        seen.add(w)
                        nxt.append((w, p.keys))
            frontier = nxt
            level += 1
        return levels, frozenset(sig)

    def guided(self, depth: int, node: _Node, sig: frozenset[Any] | None = None,
               levels: dict[tuple[str, str], int] | None = None) -> None:
        """Extend ``node`` towards the goal, up to ``depth`` transactions:
        first the actions the goal regression (:meth:`plan`) reaches, by
        level, and among those first the ones that remove a block (the
        signature changes); then the others, in order. Every extension's
        prefix must run; adjacent commuting transactions are taken in one
        order only."""
        if levels is None or sig is None:
            levels, sig = self.plan(node, depth)
            if self.found:
                return
        if len(node.seq) + 1 >= depth:
            return
        self.stats.guided += 1
        seq = node.seq
        # actions the prefix has not taken yet first (a repeated one more often makes no progress), then by level
        preferred = sorted(levels, key=lambda a: (a in seq, levels[a], self.actions.index(a)))
        deferred: list[tuple[str, str]] = []
        for stage, order in enumerate((preferred, deferred)):
            for a in order:
                nxt = (*seq, a)
                if nxt in self.dead:
                    continue
                if seq and independent(self.analysis, seq[-1], a) \
                        and self.actions.index(a) < self.actions.index(seq[-1]):
                    continue
                self.solver.push()
                try:
                    child, _ = self.extend(node, a)
                    self.add_facts(child)
                    if not self.runs(child):
                        continue
                    child_levels, child_sig = self.plan(child, depth)
                    if self.found:
                        return
                    if stage == 0 and not _unblocks(sig, child_sig):
                        deferred.append(a)  # no block removed: tried after the others that remove one
                        continue
                    self.guided(depth, child, child_sig, child_levels)
                    if self.found:
                        return
                finally:
                    self.solver.pop()
