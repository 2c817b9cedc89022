"""Search where the states are, before answering "unknown".

A counterexample to induction (CTI) is a lead, not a verdict: the state it
starts from may be unreachable. When a step or ``ensures`` query is not
proved, :func:`search` looks for a real trace, trying in order, within the
budget:

1. ``bmc-deployment``: the bounded search from the symbolic deployment
   (:func:`verification.bmc.bounded_check`: one incremental solver extended
   transaction by transaction, over the actions in the goal's cone of
   influence only);
2. ``simulation``: the binding's deployment, prelude and scenarios run on the
   reference model alone (concrete states where the protocol has been
   launched), then seeded random walks aimed at the CTI's actions, with the
   goal checked after every step (:func:`conformance.simulate.simulate`).

The first method that finds a trace decides, and the result names it
(:class:`SearchMethod`). A trace found on the model is replayed on a fresh
model; when a binding implements the modules it is also written as a
conformance fixture and replayed on the EVM (:func:`evm_replay`), so one
chain leads from the CTI to an EVM fixture.

The goal is general (:class:`Goal`): violate a rule or an ``ensures`` clause
(``reach=False``), or reach a state where a rule's predicate holds
(``reach=True``: what a ``cover`` needs), from deployment or from the
binding's concrete states.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spec import ir
from spec.analysis import Analysis
from verification.outcome import BoundedSearch, Budget, Job, ModelReplay

if TYPE_CHECKING:
    from conformance.binding import Binding
    from conformance.simulate import Trace


class SearchMethod(Enum):
    """How a trace (or a verdict) was found."""

    BMC_DEPLOYMENT = "bmc-deployment"
    K_INDUCTION = "k-induction"
    SIMULATION = "simulation"
    BMC_STATE = "bmc-state"


@dataclass(frozen=True)
class Goal:
    """What a search looks for: a state after a successful step where the
    job's rule (or ``ensures`` clause) fails, or, with ``reach``, holds."""

    job: Job
    reach: bool = False

    @property
    def label(self) -> str:
        return ("reach " if self.reach else "violate ") + self.job.rule_label


@dataclass(frozen=True)
class Attempt:
    """One method tried: ``found`` a trace (``proved``: k-induction proved
    the step), ``none`` within its bound
    (``depth`` transactions, or ``steps`` simulated), ``unknown`` (the budget
    ran out: ``detail`` says how) or ``skipped`` (``detail`` says why)."""

    method: SearchMethod
    status: Literal["found", "proved", "none", "unknown", "skipped"]
    depth: int = 0
    steps: int = 0
    seconds: float = 0.0
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method.value, "status": self.status, "depth": self.depth, "steps": self.steps,
                "time": round(self.seconds, 3), "detail": self.detail}


@dataclass(frozen=True)
class EvmReplay:
    """A model trace run on the binding's contracts next to the model:
    ``ran`` (every step ran on both sides; ``first_difference`` is the
    1-based step of the trace where model and EVM first differ, if any, and
    the saved ``fixture`` replays it) or ``unavailable``."""

    status: Literal["ran", "unavailable"]
    backend: str = ""
    fixture: str = ""
    first_difference: int | None = None
    evm_succeeded: tuple[bool, ...] = ()
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "backend": self.backend, "fixture": self.fixture,
                "first_difference": self.first_difference, "evm_succeeded": list(self.evm_succeeded),
                "detail": self.detail}


@dataclass
class SearchReport:
    """Everything the search did for one query: whether a CTI was found,
    every method tried, the method that decided (``found_by``, None when no
    method found a trace; ``proved_by``, when k-induction proved the step),
    the trace and its replays."""

    goal: Goal
    cti: bool
    attempts: list[Attempt] = field(default_factory=list)
    found_by: SearchMethod | None = None
    proved_by: SearchMethod | None = None
    bmc: BoundedSearch | None = None
    trace: Trace | None = None
    replay: ModelReplay | None = None
    evm: EvmReplay | None = None
    seconds: float = 0.0
    rlimit_spent: int = 0  # the Z3 resource units the symbolic methods were given
    wall_clock: bool = False

    @property
    def depth_reached(self) -> int:
        """The deepest bound a symbolic method completed (transactions from deployment)."""
        return max((a.depth for a in self.attempts if a.method is SearchMethod.BMC_DEPLOYMENT), default=0)

    @property
    def methods_tried(self) -> tuple[SearchMethod, ...]:
        return tuple(a.method for a in self.attempts if a.status != "skipped")

    def trace_json(self) -> dict[str, Any] | None:
        """The model trace as JSON-ready data (scenario and steps), or None."""
        if self.trace is None:
            return None
        from conformance.runner import step_to_json

        return {"scenario": self.trace.scenario, "steps": [step_to_json(s) for s in self.trace.steps]}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "goal": self.goal.label, "cti": self.cti, "found_by": self.found_by.value if self.found_by else None,
            "proved_by": self.proved_by.value if self.proved_by else None,
            "depth_reached": self.depth_reached, "attempts": [a.to_json() for a in self.attempts],
            "time": round(self.seconds, 3), "rlimit": self.rlimit_spent,
        }
        if self.trace is not None:
            out["trace"] = self.trace_json()
        if self.replay is not None:
            out["replay"] = self.replay.to_json()
        if self.evm is not None:
            out["evm"] = self.evm.to_json()
        return out

    def summary(self) -> str:
        """One line: the evidence behind an unknown (or the method that found a trace)."""
        tried = ", ".join(f"{a.method.value} {a.status}" + (f" (depth {a.depth})" if a.depth else "")
                          + (f" ({a.steps} steps)" if a.steps else "") for a in self.attempts)
        head = "counterexample to induction found" if self.cti else "no counterexample to induction"
        found = f"; found by {self.found_by.value}" if self.found_by else \
            f"; proved by {self.proved_by.value}" if self.proved_by else ""
        return (f"{head}; search depth {self.depth_reached}; tried: {tried or 'nothing'}; "
                f"{self.seconds:.1f}s, rlimit {self.rlimit_spent}{found}")


def search(spec: ir.Spec, analysis: Analysis, goal: Goal, *, cti: bool, depth: int, budget: Budget,
           binding: Binding | None = None, seed: int = 0, replay_model: bool = True,
           evm_backend: str | None = None, fixture_dir: Path | None = None,
           bmc: BoundedSearch | None = None, walks: int = 8, length: int = 6,
           wall_clock: float = 120.0, state_depth: int = 2,
           actions: Sequence[tuple[str, str]] | None = None, actors: int = 2,
           deployed_depth: int | None = None) -> SearchReport:
    """Look for a trace to ``goal``: the bounded search from deployment
    (``depth`` transactions, ``budget`` shared among the depths; ``bmc``,
    when given, is its result already known), then, with a ``binding``, the
    guided simulation from its concrete states (``walks`` walks of
    ``length`` steps from each, seeded), then the bounded search of
    ``state_depth`` symbolic transactions from each of those states
    (``budget``'s rlimit shared among them). A trace found on the model is
    replayed on a fresh model and, with ``evm_backend``, on the EVM.
    ``wall_clock`` seconds is the safety net of the simulation: a search it
    cuts short is ``wall_clock`` (never cached).

    With a ``binding``, the search from deployment runs a second time when
    the symbolic one finds nothing: from the binding's concrete deployment
    (:func:`deployed_search`, ``actors`` callers, the cone's actions narrowed
    to ``actions`` when given), up to ``deployed_depth`` transactions
    (default ``depth``).

    Raises:
        nothing: every problem is an ``unknown`` or ``skipped`` attempt.
    """
    t0 = time.perf_counter()
    rep = SearchReport(goal, cti)
    job = goal.job
    if depth > 0 and not goal.reach:
        if bmc is None:
            from verification.bmc import bounded_check

            bmc = bounded_check(spec, analysis, job, depth, budget, "int", replay_model)
            rep.rlimit_spent += budget.rlimit * depth
        rep.bmc = bmc
        status = {"reachable": "found", "unreachable": "none"}.get(bmc.status, "unknown")
        reached = bmc.depth if bmc.status != "unknown" else max(0, bmc.depth - 1)
        rep.attempts.append(Attempt(SearchMethod.BMC_DEPLOYMENT, status, reached, 0, bmc.seconds,  # type: ignore[arg-type]
                                    bmc.detail))
        rep.wall_clock = rep.wall_clock or bmc.wall_clock
        if bmc.status == "reachable":
            rep.found_by = SearchMethod.BMC_DEPLOYMENT
            rep.replay = bmc.replay
    deep = depth if deployed_depth is None else deployed_depth
    known = bmc.depth if bmc is not None and bmc.status == "unreachable" else 0
    if deep > known and not goal.reach and rep.found_by is None and binding is not None:
        deployed_search(spec, analysis, goal, binding, deep, budget, rep, actions, actors, known)
    if bmc is not None and bmc.status == "unreachable" and job.kind == "step" and not goal.reach \
            and rep.found_by is None:
        _k_induction(spec, analysis, job, bmc.depth, budget, rep)
    if rep.found_by is None and rep.proved_by is None:
        if binding is None:
            rep.attempts.append(Attempt(SearchMethod.SIMULATION, "skipped",
                                        detail="no binding: no concrete starting states"))
        else:
            _simulate(spec, analysis, goal, binding, seed, walks, length, wall_clock, rep)
            if rep.trace is None and state_depth > 0:
                _from_states(spec, analysis, goal, binding, state_depth, budget, rep)
    if rep.trace is not None and replay_model and binding is not None and rep.replay is None:
        rep.replay = model_replay(spec, binding, goal, rep.trace)
    if rep.trace is not None and binding is not None and evm_backend is not None:
        rep.evm = evm_replay(spec, binding, rep.trace, evm_backend, fixture_dir or Path(".imospec-cache/fixtures"),
                             goal)
    rep.seconds = time.perf_counter() - t0
    return rep


def deployed_search(spec: ir.Spec, analysis: Analysis, goal: Goal, binding: Binding, depth: int, budget: Budget,
                    rep: SearchReport, actions: Sequence[tuple[str, str]] | None = None, actors: int = 2,
                    known: int = 0) -> None:
    """The bounded search from the binding's deployment (``bmc-deployment``):
    the constructors run on the model with the binding's parameters,
    addresses, accounts and clock, and nothing else (no prelude); from that
    concrete state, up to ``depth`` symbolic transactions, one action
    sequence at a time (:func:`verification.fromstate.search_sequences`:
    each query pins the actions, so it holds only those, not a choice among
    all of them at every step), asked from depth ``known + 1`` on (the
    symbolic search proved there is no violation within ``known``
    transactions of any deployment).

    What is restricted, and why a trace found is still real: the deployment
    is the binding's (only the transactions are symbolic); the transactions
    are the goal's cone of influence, narrowed to ``actions`` when given
    (each sequence is asked first with integer arguments from a dictionary
    of round amounts and the binding's parameters, then with free
    arguments; the sequences left out are those that lose no trace);
    their callers are the first ``actors`` accounts of the binding (actor 0
    is the merchant in the bundled binding), and an address argument names
    an actor or a deployed module. Each restriction removes behaviours, none
    adds one, and a trace found is replayed on a fresh model, which must
    reach the goal at its last step. ``none`` therefore means no violation
    among the behaviours searched, not that none exists.
    """
    from conformance.binding import at_deployment
    from verification.fromstate import SequenceStats, dictionary_values, search_sequences

    t0 = time.perf_counter()
    run = _model_run(spec, at_deployment(binding), SearchMethod.BMC_DEPLOYMENT, t0, rep,
                     f"from {binding.name}'s deployment: ")
    if run is None:
        return
    if goal.job.module not in run.spec.modules:
        rep.attempts.append(Attempt(SearchMethod.BMC_DEPLOYMENT, "skipped", detail=(
            f"{binding.name}'s deployment has no module {goal.job.module}")))
        return
    params = [int(v) for v in binding.params.values() if isinstance(v, int | str) and str(v).isdigit()]
    stats = SequenceStats()
    res = search_sequences(run.spec, Analysis(run.spec), goal.job, run, None, depth, budget, goal.reach,
                           chosen=actions, actors=run.actors[:max(1, actors)], first_check=known + 1,
                           dictionary=dictionary_values(params), stats=stats)
    rep.rlimit_spent += budget.rlimit * max(1, stats.queries)
    rep.wall_clock = rep.wall_clock or res.wall_clock
    where = f"from {binding.name}'s deployment, {actors} actor(s)" + \
        (f", {len(actions)} chosen action(s)" if actions is not None else "")
    if res.status == "found" and res.trace is not None:
        from conformance.simulate import Trace

        rep.trace = Trace(None, res.trace.steps, from_deployment=True)
        rep.found_by = SearchMethod.BMC_DEPLOYMENT
        rep.attempts.append(Attempt(SearchMethod.BMC_DEPLOYMENT, "found", res.depth, 0, time.perf_counter() - t0,
                                    f"{where}; {res.detail}"))
        return
    rep.attempts.append(Attempt(SearchMethod.BMC_DEPLOYMENT, "unknown" if res.status == "unknown" else "none",
                                res.depth, 0, time.perf_counter() - t0,
                                where + (f"; {res.detail}" if res.detail else "")))


def _model_run(spec: ir.Spec, binding: Binding, method: SearchMethod, t0: float, rep: SearchReport,
               where: str = "") -> Any:
    """The binding deployed on ``spec``'s model (a ``conformance.simulate.ModelRun``),
    or None after recording ``method`` as skipped when it does not deploy there."""
    from conformance.simulate import ModelRun

    try:
        return ModelRun(spec, binding)
    except Exception as exc:  # the binding does not deploy on this spec's model
        rep.attempts.append(Attempt(method, "skipped", seconds=time.perf_counter() - t0,
                                    detail=f"{where}{type(exc).__name__}: {exc}"))
        return None


def _k_induction(spec: ir.Spec, analysis: Analysis, job: Job, base_depth: int, budget: Budget,
                 rep: SearchReport, k_max: int = 3) -> None:
    """k-induction for k = 2 .. min(k_max, base_depth + 1): the base case is
    the bounded search's ``unreachable`` at ``base_depth``."""
    from verification.kinduction import k_induction_step

    t0 = time.perf_counter()
    last = None
    for k in range(2, min(k_max, base_depth + 1) + 1):
        last = k_induction_step(spec, analysis, job, k, budget)
        rep.rlimit_spent += budget.rlimit
        rep.wall_clock = rep.wall_clock or last.wall_clock
        if last.status == "proved":
            rep.proved_by = SearchMethod.K_INDUCTION
            rep.attempts.append(Attempt(SearchMethod.K_INDUCTION, "proved", k, 0, time.perf_counter() - t0,
                                        f"the step case holds at k = {k}; base case: no violation within "
                                        f"{base_depth} step(s) of deployment"))
            return
        if last.status == "unknown":
            break
    if last is not None:
        rep.attempts.append(Attempt(SearchMethod.K_INDUCTION, "none" if last.status == "cti" else "unknown",
                                    last.k, 0, time.perf_counter() - t0, last.detail))


def _from_states(spec: ir.Spec, analysis: Analysis, goal: Goal, binding: Binding, depth: int, budget: Budget,
                 rep: SearchReport) -> None:
    """The bounded search from each concrete state of the binding (after the
    prelude, after each scenario): ``depth`` symbolic transactions."""
    from verification.fromstate import search_from_state

    t0 = time.perf_counter()
    run = _model_run(spec, binding, SearchMethod.BMC_STATE, t0, rep)
    if run is None:
        return
    if goal.job.module not in run.spec.modules:
        rep.attempts.append(Attempt(SearchMethod.BMC_STATE, "skipped", detail=(
            f"{binding.name}'s deployment has no module {goal.job.module}")))
        return
    starts = binding.starts
    each = budget.share(1 / max(1, len(starts) * depth))
    reached = depth
    unknown = ""
    for scenario in starts:
        for s in run.start_from(scenario):
            run.run(s)
        res = search_from_state(run.spec, Analysis(run.spec), goal.job, run, scenario, depth, each, goal.reach)
        rep.rlimit_spent += each.rlimit * max(1, res.depth)
        rep.wall_clock = rep.wall_clock or res.wall_clock
        if res.status == "found" and res.trace is not None:
            rep.trace = res.trace
            rep.found_by = SearchMethod.BMC_STATE
            rep.attempts.append(Attempt(SearchMethod.BMC_STATE, "found", res.depth, 0, time.perf_counter() - t0,
                                        f"from {scenario or 'the prelude'}"))
            return
        if res.status == "unknown":
            reached = min(reached, res.depth)
            unknown = res.detail
    rep.attempts.append(Attempt(SearchMethod.BMC_STATE, "unknown" if unknown else "none", reached, 0,
                                time.perf_counter() - t0,
                                f"{len(starts)} starting state(s)" + (f"; {unknown}" if unknown else "")))


def _simulate(spec: ir.Spec, analysis: Analysis, goal: Goal, binding: Binding, seed: int, walks: int,
              length: int, wall_clock: float, rep: SearchReport) -> None:
    from conformance.binding import BindingError
    from conformance.simulate import simulate

    t0 = time.perf_counter()
    try:
        res = simulate(spec, binding, model_goal(goal), aim=aim_actions(spec, analysis, goal.job), seed=seed,
                       walks=walks, length=length, deadline=t0 + wall_clock)
    except (BindingError, KeyError, ValueError) as exc:
        rep.attempts.append(Attempt(SearchMethod.SIMULATION, "skipped", seconds=time.perf_counter() - t0,
                                    detail=f"the binding does not run on this spec: {exc}"))
        return
    except Exception as exc:  # a deployment or prelude that reverts on this spec's model
        rep.attempts.append(Attempt(SearchMethod.SIMULATION, "skipped", seconds=time.perf_counter() - t0,
                                    detail=f"the binding's deployment fails on the model: {type(exc).__name__}: "
                                           f"{exc}"))
        return
    if res.trace is not None:
        rep.trace = res.trace
        rep.found_by = SearchMethod.SIMULATION
        rep.attempts.append(Attempt(SearchMethod.SIMULATION, "found", steps=res.steps_run, seconds=res.seconds,
                                    detail=f"{res.starts} starting state(s)"))
    elif res.exhausted:
        rep.attempts.append(Attempt(SearchMethod.SIMULATION, "none", steps=res.steps_run, seconds=res.seconds,
                                    detail=f"{res.starts} starting state(s), {walks} walks of {length} steps each"))
    else:
        rep.wall_clock = True
        rep.attempts.append(Attempt(SearchMethod.SIMULATION, "unknown", steps=res.steps_run, seconds=res.seconds,
                                    detail=f"timeout after {wall_clock:g}s"))


def aim_actions(spec: ir.Spec, analysis: Analysis, job: Job) -> list[tuple[str, str]]:
    """The actions a search aims at: the CTI's action, then the public actions
    that write what the goal reads."""
    from verification.bmc import _target

    _, _, reads = _target(spec, analysis, job)
    out = [job.action] if job.action is not None and not spec.modules[job.action[0]].actions[job.action[1]].internal \
        else []
    out += [a for a in analysis.public_actions() if analysis.affects(*a, reads) and a not in out]
    return [a for a in out if a is not None]


def model_goal(goal: Goal) -> Any:
    """The goal as a predicate on the reference model (see :data:`conformance.simulate.Goal`)."""
    job = goal.job

    def check(model: Any, old: Any, env: Any, module: str, action: str, args: tuple[Any, ...]) -> bool:
        if job.kind == "ensures":
            assert job.action is not None
            if (module, action) != job.action:
                return False
            pred = getattr(model.package, module).ENSURES[action][job.clause]
            holds = bool(pred(model.world, old, env, *args))
        else:
            pred, transition = getattr(model.package, job.module).RULES[job.rule]
            holds = bool(pred(model.world, old if transition else None))
        return holds if goal.reach else not holds

    return check


def model_replay(spec: ir.Spec, binding: Binding, goal: Goal, trace: Trace) -> ModelReplay:
    """Run a model trace again on a freshly deployed model: does the last step reach the goal?"""
    from conformance.simulate import ModelRun
    from reference.runtime import World, clone

    if trace.from_deployment:
        from conformance.binding import at_deployment

        binding = at_deployment(binding)
    run = ModelRun(spec, binding)
    scenario = run.start_from(trace.scenario)
    steps = [*scenario, *trace.steps]
    check = model_goal(goal)
    for i, step in enumerate(steps, 1):
        before = clone(run.model.world.state)
        out = run.run(step)
        if out is not None and not out.ok and i > len(scenario):  # the scenario's own steps may revert
            return ModelReplay("mismatch", f"step {i} ({step.describe()}) reverts on the model: {out.reason}")
        if i == len(steps):
            old = World({**run.model.world.state, **before}, run.model.world.address, run.model.package)
            if check(run.model, old, run.env(step.caller), step.module, step.action, step.args):
                return ModelReplay("confirmed", f"{goal.label}: reached after step {i} ({step.describe()})")
    return ModelReplay("mismatch", f"{goal.label}: not reached after the trace")


def evm_replay(spec: ir.Spec, binding: Binding, trace: Trace, backend: str, fixture_dir: Path,
               goal: Goal) -> EvmReplay:
    """Save a model trace as a conformance fixture and run it on ``backend``
    with the model alongside (:func:`conformance.runner.replay`)."""
    from conformance.runner import FIXTURE_FORMAT, Fixture, replay, step_to_json

    name = (goal.job.rule_label + "-" + goal.job.action_label).replace("/", "_").replace(" ", "_")
    path = fixture_dir / f"search-{binding.name}-{backend}-{name}.json"
    data = {"format": FIXTURE_FORMAT, "binding": str(binding.path.resolve()), "backend": backend, "seed": 0,
            "scenario": trace.scenario, "steps": [step_to_json(s) for s in trace.steps],
            "divergence": {"step": len(trace.steps), "differences": [f"the spec breaks {goal.job.rule_label}"]}}
    if trace.from_deployment:
        data["from_deployment"] = True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        result = replay(Fixture(path, binding.path, backend, trace.scenario, trace.steps, trace.from_deployment),
                        binding, spec, backend)
    except Exception as exc:  # no compiler, no EVM, a deployment that fails: no EVM replay
        return EvmReplay("unavailable", backend, str(path), detail=f"{type(exc).__name__}: {exc}")
    own = result.reports[-len(trace.steps):] if trace.steps else []
    first = next((i + 1 for i, r in enumerate(own) if not r.ok), None)
    succeeded = tuple(bool(r.evm.success) for r in own if r.evm is not None)
    detail = "" if first is None else "; ".join(str(d) for d in own[first - 1].differences)[:400]
    return EvmReplay("ran", backend, str(path), first, succeeded, detail)
