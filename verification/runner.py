"""Plan and run every proof query of a spec.

:func:`prove` is the library entry point::

    report = prove(Options(), spec)      # spec: the checked IR
    for r in report.results: print(r.job.rule_label, r.outcome.kind)

It proves the IR it is given, and nothing else: it never reads a spec from
a path. Queries run in worker processes (``Options.jobs``; 1 runs
in-process); each worker receives the checked IR once, when it starts, and
builds its own encoders, so nothing Z3-related crosses a process boundary.
A refuted invariant step or ``ensures`` clause is followed, in the same
worker, by a bounded search from deployment and a replay through the
reference model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from spec import ir
from spec.analysis import Analysis
from verification.build import GOVERNED_BOUNDS, Builder
from verification.cache import CACHE_DIR, Cache
from verification.outcome import (
    DEFAULT_RLIMIT,
    DEFAULT_TIMEOUT,
    BoundedSearch,
    Budget,
    Job,
    Proved,
    Refuted,
    Result,
    Unknown,
)
from verification.solve import Verdict, solve_job

DEFAULT_DEPTH = 3

# A vacuity check is a warning, never a verdict: it gets a tenth of a query's
# rlimit (4,000,000 units at the default). Some of them (an action's
# requirements that are hard to satisfy together) spend minutes in Z3 phases
# that count few resource units; at 4,000,000 units they end
# `unknown (rlimit)` at once, the same on every machine, and at 8,000,000 the
# vacuity of `governor.propose` runs for minutes.
VACUITY_SHARE = 1 / 10


class SelectionError(Exception):
    """``--module`` or ``--invariant`` names nothing in the spec."""


@dataclass
class Options:
    """What to prove and with which budget."""

    module: str | None = None
    invariant: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    rlimit: int = DEFAULT_RLIMIT
    depth: int = DEFAULT_DEPTH
    encoding: str = "auto"
    cache: bool = True
    cache_dir: Path | None = None
    jobs: int = 0  # 0: one worker per CPU
    vacuity: bool = True
    # only the ``ensures`` clauses of the selected modules' actions and their
    # theorems (no invariant, no lemma)
    only_ensures: bool = False
    # public actions (module, action) that a concrete run of the reference
    # model has been seen to succeed in (a witness of the generated covers):
    # such an action's requirements do hold together, so its vacuity check
    # is answered without a solver
    succeeded: frozenset[tuple[str, str]] = frozenset()
    replay: bool = True
    # the search before "unknown" (verification.search): the binding whose
    # scenarios give concrete starting states (None: the symbolic search
    # from deployment only), the EVM a trace found is replayed on (None: the
    # model only), and the seed of the guided simulation
    binding: Path | None = None
    evm: str | None = None
    seed: int = 0
    # the search from the binding's deployment unrolls these actions only
    # (None: the goal's whole cone of influence)
    search_actions: tuple[tuple[str, str], ...] | None = None
    # whether a refuted query also searches for a trace (False: the solver's
    # refutation stands alone, and only an unknown one is searched)
    search_refuted: bool = True

    @property
    def budget(self) -> Budget:
        """The budget of one query: the rlimit that decides, the timeout as a safety net."""
        return Budget(self.timeout, self.rlimit)


@dataclass
class Report:
    """Every result of a run, and the spec they are about."""

    spec: ir.Spec
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def proofs(self) -> list[Result]:
        """The results that are verdicts on rules (vacuity checks left out)."""
        return [r for r in self.results if not r.job.kind.startswith("vacuity")]

    @property
    def warnings(self) -> list[str]:
        """The warnings of the vacuity checks."""
        return [r.warning for r in self.results if r.warning]

    @property
    def errors(self) -> list[str]:
        """Disagreements between the prover and the reference model, and internal errors."""
        return [r.error for r in self.results if r.error]

    @property
    def crashes(self) -> list[Result]:
        """The results of queries that raised: internal errors of imospec."""
        return [r for r in self.results if r.crash is not None]

    def exit_code(self) -> int:
        """3 a query crashed (an internal error of imospec); else 1 something
        refuted (or prover and model disagree); else 2 something unknown;
        else 0, everything proved."""
        if self.crashes:
            return 3
        if self.errors or any(isinstance(r.outcome, Refuted) for r in self.proofs):
            return 1
        if any(isinstance(r.outcome, Unknown) for r in self.proofs):
            return 2
        return 0


# ------------------------------------------------------------------ plan


def select_rules(spec: ir.Spec, module: str | None, invariant: str | None) -> list[tuple[str, ir.Rule]]:
    """The rules the options select.

    Raises:
        SelectionError: the module or rule does not exist.
    """
    from spec.diagnostics import did_you_mean

    if module is not None and module not in spec.modules:
        hint = did_you_mean(module, spec.modules)
        raise SelectionError(f"no module `{module}` in the spec" + (f"; {hint}" if hint else ""))
    rules = [(m.name, r) for m in spec.modules.values() for r in m.rules
             if module is None or m.name == module]
    if invariant is not None:
        name = invariant.split(".")[-1]
        mod = invariant.split(".")[0] if "." in invariant else None
        picked = [(m, r) for m, r in rules if r.name == name and (mod is None or m == mod)]
        if not picked:
            hint = did_you_mean(name, [r.name for _, r in rules])
            raise SelectionError(f"no invariant, lemma or theorem `{invariant}`"
                                 + (f" in module `{module}`" if module else "") + (f"; {hint}" if hint else ""))
        return picked
    return rules


def plan(spec: ir.Spec, analysis: Analysis, options: Options) -> tuple[list[Job], list[Result]]:
    """The jobs to run, and the results known without a solver (frame rule:
    an action that writes nothing a rule reads preserves it).

    Raises:
        SelectionError: the module or rule does not exist, or a search
            action is not a public action.
    """
    jobs: list[Job] = []
    free: list[Result] = []
    actions = analysis.public_actions()
    for am, aname in options.search_actions or ():
        if (am, aname) not in actions:
            raise SelectionError(f"--search-actions: no public action `{am}.{aname}` in the spec")
    rules = select_rules(spec, options.module, options.invariant)
    if options.only_ensures:  # and the theorems: closed formulas, one cheap query each
        rules = [(m, r) for m, r in rules if r.kind == "theorem"]
    for module, rule in rules:
        if rule.kind == "theorem":
            jobs.append(Job("theorem", module, rule.name))
            continue
        if not rule.transition:
            jobs.append(Job("init", module, rule.name))
        reads = analysis.rule_reads(rule)
        for am, aname in actions:
            job = Job("step", module, rule.name, (am, aname))
            if analysis.affects(am, aname, reads):
                jobs.append(job)
            else:
                free.append(Result(job, Proved((), "frame"), 0.0))
        if options.vacuity:
            jobs.append(Job("vacuity-rule", module, rule.name))
    if options.invariant is None:
        for m in spec.modules.values():
            if options.module is not None and m.name != options.module:
                continue
            if m.governed and not options.only_ensures:
                # deployment puts each governed parameter inside its bounds
                jobs.append(Job("init", m.name, GOVERNED_BOUNDS))
            for a in m.actions.values():
                for i, _ in enumerate(a.ensures):
                    jobs.append(Job("ensures", m.name, None, (m.name, a.name), i))
                if options.vacuity and not a.internal:
                    job = Job("vacuity-action", m.name, None, (m.name, a.name))
                    if (m.name, a.name) in options.succeeded:
                        free.append(Result(job, Refuted({"note": "a witness run of the covers saw it succeed"},
                                                        "int", WITNESSED), 0.0))
                    else:
                        jobs.append(job)
    return jobs, free


# ---------------------------------------------------------------- workers

# The spec a worker proves, set once per worker process by :func:`_start_worker`
# (or by :func:`prove` itself when it runs the jobs in-process).
_WORKER: dict[str, tuple[ir.Spec, Analysis, dict[str, Builder]]] = {}


def _start_worker(spec: ir.Spec) -> None:
    """Give this process the spec to prove (a pool initializer)."""
    _WORKER["spec"] = (spec, Analysis(spec), {})


def _fresh_solver_context() -> None:
    """Give the next job a Z3 context of its own.

    Z3 numbers terms in the order a context creates them, and its heuristics
    follow that order: a query built in a context that earlier queries filled
    spends a different amount of its rlimit than the same query built in a
    fresh one. Which earlier queries a worker ran depends on scheduling, so
    without this the rlimit, the budget that decides, did not give the same
    verdict from one run to the next.

    The builders are kept: each holds every action's step encoded once, in a
    Z3 context of its own, and copies it into the job's context
    (``Builder.step_core``), which numbers the copy the same way whichever
    jobs ran before.
    """
    import z3

    z3.z3._main_ctx = None


@dataclass(frozen=True)
class _Task:
    job: Job
    budget: Budget
    encoding: str
    cache_dir: str
    cache: bool
    depth: int
    replay: bool
    binding: str | None = None
    evm: str | None = None
    seed: int = 0
    search_actions: tuple[tuple[str, str], ...] | None = None
    search_refuted: bool = True


def run_task(task: _Task) -> Result:
    """Solve one job (and search for a trace when it is refuted). Runs in a worker."""
    from verification.report import explain

    spec, analysis, builders = _WORKER["spec"]
    _fresh_solver_context()

    def builder_for(dom: str) -> Builder:
        if dom not in builders:
            builders[dom] = Builder(spec, analysis, dom)
        return builders[dom]

    cache = Cache(Path(task.cache_dir), task.cache)
    job = task.job
    t0 = time.perf_counter()
    verdict = solve_job(builder_for, job, task.budget, task.encoding, cache, explain)
    result = Result(job, verdict.outcome, verdict.seconds, verdict.cached, rlimit_spent=verdict.rlimit_spent)
    if job.kind.startswith("vacuity"):
        return _vacuity(result)
    cti = isinstance(verdict.outcome, Refuted) or (isinstance(verdict.outcome, Unknown)
                                                   and verdict.candidate is not None)
    internal = job.kind == "ensures" and job.action is not None and \
        spec.modules[job.action[0]].actions[job.action[1]].internal
    # the search runs only for a query that is not proved: a proved one costs nothing more
    searchable = isinstance(verdict.outcome, Unknown) or (isinstance(verdict.outcome, Refuted)
                                                          and task.search_refuted)
    if searchable and job.kind in ("step", "ensures") and not internal and (task.depth > 0 or task.binding):
        _search(spec, analysis, task, verdict, cti, cache, result)
        result.seconds = time.perf_counter() - t0 if not verdict.cached else result.seconds
    return result


def _search(spec: ir.Spec, analysis: Analysis, task: _Task, verdict: Verdict, cti: bool, cache: Cache,
            result: Result) -> None:
    """Search for a trace to the violation (verification.search) and fold
    what it found into ``result``: a trace makes an unknown query refuted."""
    from verification.search import Attempt, Goal, SearchMethod, search

    job = task.job
    bmc = _bmc(spec, analysis, task, verdict.key, cache) if cti and task.depth > 0 else None
    binding = None
    if task.binding:
        from conformance.binding import BindingError, load_binding

        try:
            binding = load_binding(task.binding)
        except BindingError:
            binding = None
    rep = search(spec, analysis, Goal(job), cti=cti, depth=task.depth if bmc is not None else 0,
                 budget=task.budget, binding=binding, seed=task.seed, replay_model=task.replay,
                 evm_backend=task.evm if task.replay else None, bmc=bmc, state_depth=min(2, task.depth),
                 actions=task.search_actions, deployed_depth=task.depth)
    if bmc is not None:
        rep.rlimit_spent += task.budget.share(0.25).rlimit
    elif task.depth > 0:
        rep.attempts.insert(0, Attempt(SearchMethod.BMC_DEPLOYMENT, "skipped",
                                       detail="no counterexample to induction to aim at"))
    result.bmc = bmc
    result.search = rep
    outcome = verdict.outcome
    if rep.proved_by is not None and rep.found_by is None:
        # true but not 1-inductive: proved by k-induction (the base case is the bounded search)
        result.outcome = Proved((), rep.proved_by.value, outcome.encoding)
    elif rep.found_by is not None and isinstance(outcome, Unknown):
        # no verdict on the step, but a real violation: refuted
        if rep.found_by is SearchMethod.BMC_DEPLOYMENT and bmc is not None and bmc.status == "reachable":
            cex = dict(bmc.counterexample or {})
            cex["note"] = "found by the bounded search from deployment (the step query gave no verdict)"
        else:
            cex = {"note": f"found by {rep.found_by.value} (the step query gave no verdict)",
                   "trace": rep.trace_json()}
        result.outcome = Refuted(cex, outcome.encoding, rep.found_by.value)
    elif isinstance(outcome, Refuted) and rep.found_by is not None:
        result.outcome = Refuted(outcome.counterexample, outcome.encoding, rep.found_by.value)
    elif isinstance(outcome, Unknown):
        result.outcome = Unknown(outcome.reason, outcome.detail + "; " + rep.summary(), outcome.encoding)
    for rp in (bmc.replay if bmc else None, rep.replay):
        if rp is not None and rp.status == "mismatch":
            result.error = (f"prover and reference model disagree on {job.rule_label} after "
                            f"{job.action_label}: {rp.detail}")


def _bmc(spec: ir.Spec, analysis: Analysis, task: _Task, query_key: str, cache: Cache) -> BoundedSearch:
    from verification.bmc import bounded_check
    from verification.cache import input_key

    h = hashlib.sha256()
    h.update(input_key(spec, analysis, task.job, task.budget, "int", "bmc").encode())
    h.update(f"depth={task.depth};replay={task.replay};actions={task.search_actions}".encode())
    for name in sorted(spec.sources):
        h.update(name.encode())
        h.update(spec.sources[name].encode())
    h.update(_reference_fingerprint().encode())
    key = "bmc-" + h.hexdigest()
    hit = cache.get(key)
    if hit is not None:
        found = BoundedSearch.from_json(hit)
        found.cached = True
        return found
    # the whole search gets a quarter of a query's budget, shared among the depths
    per_depth = task.budget.share(0.25 / max(1, task.depth))
    out = bounded_check(spec, analysis, task.job, task.depth, per_depth, "int", task.replay, task.search_actions)
    if not out.wall_clock:  # a search the timeout cut short depends on the machine's load
        cache.put(key, out.to_json())
    return out


def _reference_fingerprint() -> str:
    root = Path(__file__).resolve().parent.parent / "reference"
    h = hashlib.sha256()
    for p in sorted(root.glob("*.py")):
        with contextlib.suppress(OSError):
            h.update(p.read_bytes())
    return h.hexdigest()


def _vacuity(result: Result) -> Result:
    job = result.job
    o = result.outcome
    if job.kind == "vacuity-action":
        assert job.action is not None
        if isinstance(o, Proved):
            result.warning = (f"action {job.action[0]}.{job.action[1]} can never succeed: its requirements "
                              "cannot all hold together, in any state")
    elif isinstance(o, Proved):
        result.warning = (f"{job.module}.{job.rule} holds in every state, whatever the actions do: "
                          "it is implied by the parameters' assumptions alone and constrains nothing")
    return result


# ------------------------------------------------------------------- run


# The method of a vacuity check answered by a concrete run in which the
# action succeeded (``Options.succeeded``), not by a solver.
WITNESSED = "witness"

# The order jobs are handed to workers: an action's vacuity check (its
# requirements together, with no invariant to cut them down) and an init
# query (every module deployed) take longest.
_FIRST = {"vacuity-action": 0, "init": 1}


def _action_sizes(spec: ir.Spec, analysis: Analysis) -> dict[tuple[str, str], int]:
    """Each public action's size: the IR nodes of its body and of every action
    it calls, a static estimate of what its step costs to encode and solve
    (the steps of `offering.finalize` and `pool.remove_liquidity` are among
    the costliest queries of the bundled spec, a token transfer among the
    cheapest)."""
    def nodes(key: tuple[str, str]) -> int:
        m, a = key
        if m not in spec.modules or a not in spec.modules[m].actions:
            return 0
        return sum(1 for _ in ir.walk(spec.modules[m].actions[a].body))

    return {k: nodes(k) + sum(nodes(c) for c in analysis.action_callees(*k) if c != k)
            for k in analysis.public_actions()}


def budget_for(job: Job, options: Options) -> Budget:
    """A job's budget: the options' own, a tenth of the rlimit for a vacuity check."""
    return options.budget.share(VACUITY_SHARE) if job.kind.startswith("vacuity") else options.budget


def prove(options: Options, spec: ir.Spec,
          progress: Callable[[int, int, Result], None] | None = None) -> Report:
    """Run every query of ``spec`` that ``options`` selects and return the report.

    ``spec`` is the checked IR (:attr:`spec.driver.LoadResult.spec`); it is
    what gets proved, in this process or in the workers.

    Raises:
        SelectionError: ``options.module`` / ``options.invariant`` select nothing.
    """
    t0 = time.perf_counter()
    analysis = Analysis(spec)
    jobs, free = plan(spec, analysis, options)
    report = Report(spec, list(free))
    cache_dir = str(options.cache_dir or CACHE_DIR)
    binding = str(options.binding) if options.binding is not None else None
    tasks = [_Task(j, budget_for(j, options), options.encoding, cache_dir, options.cache, options.depth,
                   options.replay, binding, options.evm, options.seed, options.search_actions,
                   options.search_refuted) for j in jobs]
    # the costliest first, so that no long query starts last and runs alone
    # on one worker (every job has a context of its own: the order changes no
    # verdict): the costliest kinds, then within a kind the biggest actions
    size = _action_sizes(spec, analysis)
    tasks.sort(key=lambda t: (_FIRST.get(t.job.kind, len(_FIRST)),
                              -size.get(t.job.action, 0) if t.job.action is not None else 0))
    total = len(tasks)
    workers = options.jobs or os.cpu_count() or 1
    workers = max(1, min(workers, total))
    done = 0
    if workers == 1 or total <= 2:
        _start_worker(spec)
        for t in tasks:
            try:
                r = run_task(t)
            except Exception as exc:  # an internal error of one query must not lose the others
                r = _crashed(t, exc)
            report.results.append(r)
            done += 1
            if progress:
                progress(done, total, r)
    else:
        ctx = get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                                 initargs=(spec,)) as pool:
            pending: dict[Future[Result], _Task] = {pool.submit(run_task, t): t for t in tasks}
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in finished:
                    t = pending.pop(fut)
                    try:
                        r = fut.result()
                    except Exception as exc:  # a crash in a worker is an internal error of one query
                        r = _crashed(t, exc)
                    report.results.append(r)
                    done += 1
                    if progress:
                        progress(done, total, r)
    order = {j: i for i, j in enumerate([r.job for r in free] + jobs)}
    report.results.sort(key=lambda r: order.get(r.job, 0))
    mark_conditional(report)
    report.seconds = time.perf_counter() - t0
    return report


def _crashed(t: _Task, exc: BaseException) -> Result:
    """The result of a job whose query raised: unknown, flagged as an internal
    error of imospec, with the traceback kept for the crash log."""
    import traceback

    detail = f"internal error: {type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(exc))
    cause = exc.__cause__  # a worker's own traceback, as the pool passes it on
    if cause is not None:
        trace = f"{cause}\n{trace}"
    return Result(t.job, Unknown("unsupported", detail), 0.0,
                  error=f"internal error on {t.job.rule_label} x {t.job.action_label}: {type(exc).__name__}: {exc}",
                  crash=trace)


def mark_conditional(report: Report) -> None:
    """A proof that used a lemma which is not itself proved is conditional."""
    status: dict[str, bool] = {}
    for r in report.results:
        if r.job.kind in ("init", "step") and r.job.rule:
            name = f"{r.job.module}.{r.job.rule}"
            status[name] = status.get(name, True) and isinstance(r.outcome, Proved)
    for r in report.results:
        if isinstance(r.outcome, Proved) and r.outcome.lemmas_used:
            missing = tuple(x for x in r.outcome.lemmas_used if not status.get(x, False))
            r.conditional_on = missing


def z3_version() -> str:
    """The full version string of the Z3 that proves (recorded in reports and cache keys)."""
    import z3

    return str(z3.get_full_version())
