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

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import z3

from spec import ir
from spec.analysis import Analysis
from verification.bmc import StepVars, _target, unroll_step
from verification.build import Builder, finalize_facts, goal_clauses
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

    def describe(self) -> str:
        return (f"{self.leaves} action sequence(s) asked, {self.prefixes} prefix(es) checked "
                f"({self.dead} cannot run), {self.queries} solver queries")


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
                     stats: SequenceStats | None = None) -> FromState:
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
    if not actions:
        return FromState("none", depth, detail="no action to unroll")
    if job.kind == "ensures":
        lasts = [a for a in actions if a == job.action]
    else:
        lasts = [a for a in actions if analysis.affects(*a, reads) or a == job.action]
    deadline = time.perf_counter() + budget.timeout
    hint = z3.Bool("from_dictionary")
    dead: set[tuple[tuple[str, str], ...]] = set()
    alive: set[tuple[tuple[str, str], ...]] = set()
    try:
        enc0, solver, env0 = _concrete_start(spec, analysis, run, budget)
    except EncodingError as exc:
        return FromState("unknown", 0, detail=f"unsupported: {exc}")
    start = SymState(ConcreteBase(enc0, run))

    class Stop(Exception):
        pass

    def ask(enc: Encoder, extra: Any) -> Any:
        """Can the transactions on the solver all succeed (and ``extra`` hold)?"""
        if stats.queries >= max_queries or time.perf_counter() > deadline:
            raise Stop
        solver.push()
        for f in [*enc.axioms, *finalize_facts(enc)]:
            solver.add(f)
        solver.add(negate(disj(enc.reverts)))
        solver.add(extra)
        r = z3.unknown
        try:
            for assume in ([hint], []) if dictionary else ([],):
                stats.queries += 1
                t0 = time.perf_counter()
                r = solver.check(*assume)
                if r == z3.sat:
                    return solver.model()
                if r == z3.unknown:
                    u = classify_unknown(solver.reason_unknown(), time.perf_counter() - t0, budget)
                    if u.reason == "timeout":
                        raise Stop
            return r
        finally:
            solver.pop()

    found: list[tuple[int, Trace]] = []
    incomplete = [False]

    def walk(bound: int, enc: Encoder, seq: tuple[tuple[str, str], ...], states: list[SymState],
             steps: list[StepVars], prev_env: Env, added: int) -> None:
        i = len(seq) + 1
        leaf = i == bound
        for a in (lasts if leaf else actions):
            nxt = (*seq, a)
            if nxt in dead:
                continue
            if seq and not leaf and independent(analysis, seq[-1], a) and actions.index(a) < actions.index(seq[-1]):
                continue
            if leaf and not relevant(analysis, nxt, reads):
                continue
            solver.push()
            try:
                child = enc.clone()
                sv, post = unroll_step(spec, child, solver, [a], states[-1], prev_env, env0, i)
                _step_domain(spec, child, solver, sv, callers, run, hint, dictionary)
                child.skolem = {}
                goal = _goal(child, job, expr, transition, [a], sv, [*states, post], reach, i) if leaf else None
                for f in child.facts[added:]:
                    solver.add(f)
                if leaf:
                    stats.leaves += 1
                    r = ask(child, goal)
                    if isinstance(r, z3.ModelRef):
                        found.append((i, _trace(spec, r, [*steps, sv], run, scenario)))
                        return
                    if r == z3.unknown:
                        incomplete[0] = True
                    continue
                if nxt not in alive:
                    stats.prefixes += 1
                    r = ask(child, z3.BoolVal(True))
                    if r == z3.unsat:
                        dead.add(nxt)
                        stats.dead += 1
                        continue
                    alive.add(nxt)
                walk(bound, child, nxt, [*states, post], [*steps, sv], sv.env, len(child.facts))
                if found:
                    return
            finally:
                solver.pop()

    complete = first_check - 1
    try:
        for bound in range(first_check, depth + 1):
            walk(bound, enc0, (), [start], [], env0, 0)
            if found:
                return FromState("found", found[0][0], found[0][1], detail=stats.describe())
            if not incomplete[0]:
                complete = bound
        if incomplete[0]:
            return FromState("unknown", complete, detail=f"a query ran out of its rlimit at depth {complete + 1}; "
                             + stats.describe())
    except Stop:
        wall = time.perf_counter() > deadline
        return FromState("unknown", complete,
                         detail=("timeout" if wall else f"{max_queries} queries") + " spent; " + stats.describe(),
                         wall_clock=wall)
    except EncodingError as exc:
        return FromState("unknown", complete, detail=f"unsupported: {exc}")
    return FromState("none", depth, detail=stats.describe())
