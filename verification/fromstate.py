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



