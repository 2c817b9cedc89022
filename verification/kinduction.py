"""k-induction: prove an invariant step that is true but not 1-inductive,
without a hand-written lemma.

The step case for rule ``R`` and action ``A``: from a free state where ``R``
holds, ``k - 1`` transactions chosen among the actions in ``R``'s cone of
influence, each succeeding and each leaving ``R`` true, then ``A``: can ``A``
break ``R``? When not (unsat), and no violation exists within ``k - 1``
transactions of deployment (the base case: the bounded search from
deployment, over the same actions, came back ``unreachable`` at that depth),
every reachable state's ``A`` step keeps ``R``.

Why the prefix may use the cone's actions only: an action outside the cone
writes nothing that ``R`` or a cone action reads, so removing it from a path
changes neither whether the cone's actions succeed nor what they do to what
``R`` reads. Every reachable state therefore agrees, on what matters, with a
state reached by cone actions alone, and the induction runs over those paths
(the base case is over the same paths).

Only invariants (not transition rules, whose ``R`` relates two states) are
handled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import z3

from spec import ir
from spec.analysis import Analysis
from verification.bmc import unroll_step
from verification.build import Builder, FreeBase, finalize_facts, make_env, param_assumptions, rule_holds, scope_modules
from verification.encode import Encoder, EncodingError, Frame, SymState, disj, negate
from verification.outcome import Budget, Job
from verification.solve import classify_unknown


@dataclass(frozen=True)
class KInduction:
    """The step case at ``k``: ``proved`` (no path of ``k`` steps keeping
    the rule then breaking it with the action), ``cti`` (one exists: no
    verdict) or ``unknown`` (``detail`` says why)."""

    status: Literal["proved", "cti", "unknown"]
    k: int
    seconds: float = 0.0
    detail: str = ""
    wall_clock: bool = False


def k_induction_step(spec: ir.Spec, analysis: Analysis, job: Job, k: int, budget: Budget,
                     domain: str = "int") -> KInduction:
    """Check the step case of ``k``-induction for a ``step`` job (see the module docstring).

    Raises:
        nothing: an unsupported job or encoding is an ``unknown`` result.
    """
    t0 = time.perf_counter()
    if job.kind != "step" or job.action is None or k < 2:
        return KInduction("unknown", k, 0.0, "only the steps of invariants, with k >= 2")
    rule = next(r for r in spec.modules[job.module].rules if r.name == job.rule)
    if rule.transition:
        return KInduction("unknown", k, 0.0, "a transition rule relates two states: not handled")
    actions = analysis.cone_of_influence(analysis.rule_reads(rule))
    try:
        builder = Builder(spec, analysis, domain)
        enc = Encoder(spec, builder.encoder().dom)
        base = FreeBase(enc, "pre")
        st = SymState(base)
        fr = Frame(job.module, {}, None)
        solver = z3.Solver()
        solver.set("timeout", max(1, int(budget.timeout * 1000)))
        solver.set("rlimit", int(budget.rlimit))
        solver.add(rule_holds(enc, rule.expr, st, fr, None))
        for f in param_assumptions(enc, st, scope_modules(spec, analysis, job), connected_only=False):
            solver.add(f)
        env0 = make_env(enc, "k0")
        prev_env = env0
        for i in range(1, k):
            sv, st = unroll_step(spec, enc, solver, actions, st, prev_env, env0, i)
            prev_env = sv.env
            solver.add(rule_holds(enc, rule.expr, st, fr, None))
        _, post = unroll_step(spec, enc, solver, [job.action], st, prev_env, env0, k)
        broken = negate(rule_holds(enc, rule.expr, post, fr, None))
        for f in [*enc.facts, *enc.axioms, *finalize_facts(enc, base)]:
            solver.add(f)
        solver.add(negate(disj(enc.reverts)))
        solver.add(broken)
    except EncodingError as exc:
        return KInduction("unknown", k, time.perf_counter() - t0, f"unsupported: {exc}")
    t1 = time.perf_counter()
    r = solver.check()
    dt = time.perf_counter() - t1
    if r == z3.unsat:
        return KInduction("proved", k, time.perf_counter() - t0)
    if r == z3.sat:
        return KInduction("cti", k, time.perf_counter() - t0, f"a {k}-step path keeps the rule, then breaks it")
    u = classify_unknown(solver.reason_unknown(), dt, budget)
    return KInduction("unknown", k, time.perf_counter() - t0, f"{u.reason}: {u.detail}", u.reason == "timeout")
