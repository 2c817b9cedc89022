"""Solve one job under a budget, in stages (instances, pinned candidate, the
quantified query; integers, then bit-vectors), with the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from verification.build import (
    Builder,
    Built,
    instance_terms,
    quantified,
)
from verification.cache import Cache, input_key
from verification.capi import assert_all
from verification.domain import UINT_MAX
from verification.encode import (
    EncodingError,
)
from verification.outcome import Budget, Job, Outcome, Proved, Refuted, Unknown, outcome_from_json, outcome_to_json
from verification.shrink import pinned_candidate, smaller_model, wall_clock_bound


@dataclass
class Solved:
    """The raw answer of Z3 for a built query."""

    status: str  # sat | unsat | unknown
    model: Any = None
    core: tuple[str, ...] = ()
    reason: str = ""
    seconds: float = 0.0
    key: str = ""


def make_solver(built: Built, budget: Budget, stage: str = "full") -> tuple[Any, list[Any]]:
    """A solver loaded with the query. ``stage="instances"`` replaces every
    quantified assumption with its ground instances (a weaker query)."""
    s = z3.Solver()
    s.set("timeout", max(1, int(budget.timeout * 1000)))
    s.set("rlimit", int(budget.rlimit))
    assert_all(s, built.assertions)
    if stage == "instances":
        from verification.encode import type_tag
        from verification.instantiate import ground_terms, instantiate

        pools = ground_terms([(type_tag(t), x) for t, x in instance_terms(built)])
        memo: dict[int, bool] = {}  # the assumptions' subterms, alive as long as ``built``

        def weaken(f: Any) -> Any:
            return instantiate(f, pools, memo=memo)
    else:
        def weaken(f: Any) -> Any:
            return f
    assert_all(s, (weaken(f) for f in built.assumed))
    lits = []
    for name, f in built.tracked.items():
        lit = z3.Bool(f"lemma:{name}")
        assert_all(s, [z3.Implies(lit, weaken(f))])
        lits.append(lit)
    return s, lits


def quantified_solver_apart(built: Built, budget: Budget) -> tuple[Any, list[Any]]:
    """A solver loaded with the quantified query (``make_solver``'s), copied
    into a Z3 context of its own, where its terms are numbered in the order
    the solver holds them whatever else the job's context holds (the
    instantiated query solved there first made the quantified one of
    `offering.finalize` against `mt.newest_checkpoint_is_current` spend
    3,400,000 units instead of 69,000)."""
    s, lits = make_solver(built, budget, "full")
    own = z3.Context()
    apart = s.translate(own)
    apart.set("timeout", max(1, int(budget.timeout * 1000)))
    apart.set("rlimit", int(budget.rlimit))
    return apart, [lit.translate(own) for lit in lits]


def run_solver(solver: Any, lits: list[Any]) -> Solved:
    """Check a loaded solver: sat with a model, unsat with the lemmas in the core, or unknown with Z3's reason."""
    t0 = time.perf_counter()
    r = solver.check(*lits)
    dt = time.perf_counter() - t0
    if r == z3.unsat:
        core = tuple(sorted(str(c).removeprefix("lemma:") for c in solver.unsat_core()))
        return Solved("unsat", core=core, seconds=dt)
    if r == z3.sat:
        return Solved("sat", model=solver.model(), seconds=dt)
    return Solved("unknown", reason=solver.reason_unknown(), seconds=dt)


def rlimit_count(ctx: Any = None) -> int:
    """Z3's resource counter of a context (default: the current one) now
    ("rlimit count": it only grows, across every solver of the context),
    read through an empty check that costs a couple of units itself."""
    probe = z3.Solver(ctx=ctx)
    probe.check()
    try:
        return int(probe.statistics().get_key_value("rlimit count"))
    except z3.Z3Exception:  # a Z3 without the counter: nothing measured
        return 0


def classify_unknown(reason: str, seconds: float, budget: Budget) -> Unknown:
    """Name why Z3 answered "unknown": the wall-clock ``timeout``, the
    ``rlimit``, or ``incomplete`` (Z3 gave up)."""
    r = reason.lower()
    if wall_clock_bound(reason, seconds, budget):
        return Unknown("timeout", reason)
    if "canceled" in r or "resource" in r or "rlimit" in r or "max. " in r:
        return Unknown("rlimit", reason)
    return Unknown("incomplete", reason)


@dataclass
class Verdict:
    """A solved job: the outcome and how long it took (or that it was cached).

    ``candidate`` is set when the query with instantiated assumptions has a
    model but the quantified query gave no verdict: a possible violation
    that only a bounded search can confirm.
    """

    outcome: Outcome
    seconds: float
    cached: bool
    key: str
    built: Built | None = None
    model: Any = None
    candidate: dict[str, Any] | None = None
    wall_clock: bool = False  # the timeout cut some stage short: the verdict depends on the machine's load
    # the Z3 resource units its stages spent (Z3's "rlimit count"); None when a stage's answer came from the cache
    rlimit_spent: int | None = None


def solve_job(builder_for: Callable[[str], Builder], job: Job, budget: Budget, encoding: str,
              cache: Cache, explain: Callable[[Built, Any], dict[str, Any]]) -> Verdict:
    """Encode and solve one job.

    Stages, for each encoding tried (``auto``: integers first, bit-vectors
    when Z3 answers "incomplete"):

    1. when the query assumes quantified formulas, the same query with the
       quantifiers instantiated at its ground terms, on a fortieth of the
       budget: unsat proves the job (the instances are implied); a model is
       a candidate (go to 4);
    2. when that ran out of its rlimit, the quantified query itself on an
       eighth, in a context of its own (``quantified_solver_apart``):
       unsat proves (a few instantiated queries cost a hundred times what
       the quantified one does: the step of ``offering.finalize`` against
       ``mt.newest_checkpoint_is_current`` spent 7,300,000 units
       instantiated and 69,000 quantified); a model decides nothing here;
    3. when that decided nothing, the instantiated query again, on a quarter
       (a model is a candidate);
    4. with a candidate, the quantified query with the pre-state pinned to
       the candidate completed with zeros, on an eighth: sat refutes with a
       genuine counterexample;
    5. the quantified query itself (an eighth after a candidate, which
       quantifier instantiation rarely settles, else the whole budget):
       unsat proves, sat refutes.

    A query that stage 1 decides runs the stages it ran before stage 1 had
    its smaller budget, on the same terms: its verdict is the same.

    For ``vacuity-action`` jobs the sense is reversed by the caller: unsat
    means the action can never succeed.

    Every stage runs within its share of the rlimit, which decides; the
    wall-clock timeout is a safety net. When it fires in any stage the
    verdict depends on the machine's load, and nothing of the job is cached
    (the stages that finished within their rlimit are).

    Raises:
        nothing: encoding problems come back as ``Unknown("unsupported")``.
    """
    t_start = time.perf_counter()
    b0 = builder_for("int" if encoding == "auto" else encoding)
    final_key = input_key(b0.spec, b0.analysis, job, budget, encoding, "final")
    hit0 = cache.get(final_key)
    if hit0 is not None and "candidate" in hit0 and not _timed_out(hit0["outcome"]):
        return Verdict(outcome_from_json(hit0["outcome"]), time.perf_counter() - t_start, True,
                       hit0.get("key", ""), None, None, hit0["candidate"])
    verdict = _solve_stages(builder_for, job, budget, encoding, cache, explain)
    if verdict.wall_clock:
        return verdict
    cache.put(final_key, {"outcome": outcome_to_json(verdict.outcome), "candidate": verdict.candidate,
                          "key": verdict.key})
    return verdict


def _solve_stages(builder_for: Callable[[str], Builder], job: Job, budget: Budget, encoding: str,
                  cache: Cache, explain: Callable[[Built, Any], dict[str, Any]]) -> Verdict:
    order = ["int", "bv"] if encoding == "auto" else [encoding]
    last: Verdict | None = None
    total = 0.0
    all_cached = True
    wall_clock = False
    candidate: dict[str, Any] | None = None
    spent = 0  # the resource units of the stages solved here
    some_cached = False  # then ``spent`` is not the query's: say nothing
    for dom in order:
        t0 = time.perf_counter()
        try:
            built = builder_for(dom).build(job)
        except EncodingError as exc:
            return Verdict(Unknown("unsupported", str(exc), dom), time.perf_counter() - t0 + total, False, "")
        total += time.perf_counter() - t0
        stages = [INSTANCES_FIRST] if quantified(built) else ["full"]
        inst_model: Any = None
        candidate = None
        while stages:
            stage = stages.pop(0)
            if stage == "pinned" and inst_model is None:
                continue
            stage_budget = budget.share(STAGE_SHARE.get(stage, 1 / 8 if candidate is not None else 1.0))
            t1 = time.perf_counter()
            if stage == QUANTIFIED_FIRST:
                solver, lits = quantified_solver_apart(built, stage_budget)
            else:
                solver, lits = make_solver(built, stage_budget, _SOLVER_MODE.get(stage, stage))
            if stage == "pinned":
                solver.add(*pinned_candidate(built, inst_model))
            b = builder_for(dom)
            key = input_key(b.spec, b.analysis, job, stage_budget, dom, stage)
            hit = cache.get(key) if stage != "pinned" else None
            if hit is not None and _timed_out(hit):
                hit = None  # a timeout a cache from elsewhere holds: solve again
            if hit is not None:
                some_cached = True
                outcome = outcome_from_json(hit)
                total += time.perf_counter() - t1
                model = None
            else:
                all_cached = False
                before = rlimit_count(solver.ctx)
                solved = run_solver(solver, lits)
                spent += rlimit_count(solver.ctx) - before
                timed_out = False
                if solved.status == "sat" and stage != QUANTIFIED_FIRST:
                    # (the first instances stage shrinks within the budget of the second: the same model)
                    solved.model, timed_out = smaller_model(
                        solver, built, budget.share(STAGE_SHARE["instances"]) if stage == INSTANCES_FIRST
                        else stage_budget, solved.model)
                if stage == QUANTIFIED_FIRST and solved.status == "sat":
                    # (its model lives in the context apart: the usual stages refute and explain)
                    outcome = Unknown("incomplete", "the quantified query has a model", dom)
                else:
                    outcome = _to_outcome(solved, stage_budget, dom, built, explain)
                timed_out = timed_out or (isinstance(outcome, Unknown) and outcome.reason == "timeout")
                wall_clock = wall_clock or timed_out
                if not timed_out:
                    cache.put(key, outcome_to_json(outcome))
                total += time.perf_counter() - t1
                model = solved.model
            if stage == "pinned":
                if isinstance(outcome, Refuted):
                    # the candidate, completed with zeros, satisfies every assumption
                    if not wall_clock:
                        cache.put(input_key(b.spec, b.analysis, job, budget, dom, "verdict"),
                                  outcome_to_json(outcome))
                    return Verdict(outcome, total, False, key, built, model, wall_clock=wall_clock,
                                   rlimit_spent=None if some_cached else spent)
                continue
            if isinstance(outcome, Proved):
                if stage in ("instances", INSTANCES_FIRST):
                    outcome = Proved(outcome.lemmas_used, "z3-instances", dom)
                return Verdict(outcome, total, all_cached, key, built, model, wall_clock=wall_clock,
                               rlimit_spent=None if some_cached else spent)
            if stage == INSTANCES_FIRST:
                # decided within the small budget: the stages that follow are the usual ones;
                # cut short: the quantified query on a small budget, then the usual stages
                stages = ["pinned", "full"] if isinstance(outcome, Refuted) else [QUANTIFIED_FIRST, "instances",
                                                                                 "pinned", "full"]
            if stage == QUANTIFIED_FIRST:
                continue
            if stage in ("instances", INSTANCES_FIRST):
                if isinstance(outcome, Refuted):
                    candidate = outcome.counterexample
                    inst_model = model
                    if inst_model is None:  # cached: the verdict of the later stages is cached too
                        vhit = cache.get(input_key(b.spec, b.analysis, job, budget, dom, "verdict"))
                        if vhit is not None:
                            return Verdict(outcome_from_json(vhit), total, True, key, built)
                continue
            last = Verdict(outcome, total, all_cached, key, built, model, candidate, wall_clock,
                           None if some_cached else spent)
            if isinstance(outcome, Refuted):
                return last
        if not (last is not None and isinstance(last.outcome, Unknown) and last.outcome.reason == "incomplete"):
            break
    assert last is not None
    last.seconds = total
    last.cached = all_cached
    last.candidate = candidate
    last.wall_clock = wall_clock
    last.rlimit_spent = None if some_cached else spent
    return last


# The stages of a query whose assumptions are quantified, and each one's
# share of the rlimit (see solve_job).
INSTANCES_FIRST = "instances-first"
QUANTIFIED_FIRST = "quantified-first"
STAGE_SHARE = {INSTANCES_FIRST: 1 / 40, QUANTIFIED_FIRST: 1 / 8, "instances": 1 / 4, "pinned": 1 / 8}
_SOLVER_MODE = {INSTANCES_FIRST: "instances", "pinned": "full"}


def _timed_out(data: dict[str, Any]) -> bool:
    """Whether cached outcome data is a timeout (this version never writes one;
    a cache filled by another may hold one, and it must not be believed)."""
    return data.get("outcome") == "unknown" and data.get("reason") == "timeout"


def _to_outcome(solved: Solved, budget: Budget, dom: str, built: Built,
                explain: Callable[[Built, Any], dict[str, Any]]) -> Outcome:
    if solved.status == "unsat":
        lemmas = tuple(c for c in solved.core if c in built.tracked)
        return Proved(lemmas, "z3", dom)
    if solved.status == "sat":
        try:
            cex = explain(built, solved.model)
        except (z3.Z3Exception, EncodingError, KeyError, ValueError, AttributeError) as exc:
            cex = {"error": f"could not read the model: {exc}"}
        return Refuted(cex, dom)
    u = classify_unknown(solved.reason, solved.seconds, budget)
    return Unknown(u.reason, u.detail, dom)


UINT256_MAX = UINT_MAX
