"""Conformance campaigns, traces and fixtures.

:func:`run_campaign` runs the generated state machine for a number of
examples and steps, deterministically for a given seed. When the model and the
EVM disagree, hypothesis shrinks the failing sequence; the shrunk trace is
printed step by step and saved as a JSON fixture that :func:`replay` re-runs
(``imospec replay FIXTURE``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisWarning
from hypothesis.reporting import with_reporter
from hypothesis.stateful import get_state_machine_test

from conformance.binding import Binding
from conformance.deployment import check_deployments
from conformance.harness import Harness, Step, StepReport
from conformance.harness.values import ADDRESS_LABELS, _show, normal
from conformance.machine import Divergence, RunStats, build_machine
from conformance.signatures import SignedValue
from spec import ir

FIXTURE_FORMAT = "imospec-trace/2"
#: Earlier versions of the format that are still read (version 2 added the
#: optional expectations of filled fixtures, see conformance.fixtures).
READABLE_FORMATS = ("imospec-trace/1", FIXTURE_FORMAT)


@dataclass(frozen=True)
class CampaignSettings:
    """One campaign's settings: the EVM, how many sequences of how many steps, the seed."""

    backend: str = "py-evm"
    examples: int = 40
    steps: int = 25
    seed: int = 0
    check_rules: bool = False
    workers: int = 1  # (they change how long it takes, never what it finds)
    engine: str = "local"
    address: str | None = None


@dataclass(frozen=True)
class Shard:
    """A unit of a campaign's work: ``examples`` sequences from the
    ``start``-th starting state, drawn with ``seed``. A campaign's shards
    depend on its seed and budget alone, never on how many workers run them:
    each finds the same divergences wherever and whenever it runs."""

    number: int  # its place in the campaign's list of shards
    start: int  # the index of its starting state in the binding's starts
    chunk: int  # its place among the shards of that starting state
    examples: int
    seed: int


@dataclass
class ShardResult:
    """What one shard found: its counts, and its divergence (shrunk, unless
    the campaign does not shrink) with the scenario it started from."""

    shard: Shard
    stats: RunStats
    seconds: float
    divergence: list[StepReport] | None = None
    scenario: str | None = None
    labels: dict[int, str] = field(default_factory=dict)  # the worker's address names, for the trace


@dataclass
class CampaignResult:
    """The outcome of a campaign.

    ``divergence`` is the first divergence: of the deployment, else of the
    first shard that diverged, in shard order; ``shard`` is that shard. It is
    the same whatever the number of workers."""

    backend: str
    binding: str
    seed: int
    stats: RunStats
    seconds: float
    divergence: list[StepReport] | None = None
    scenario: str | None = None  # the starting state of the divergent sequence
    fixture: Path | None = None
    shard: Shard | None = None
    workers: int = 1
    shards: int = 0

    @property
    def ok(self) -> bool:
        return self.divergence is None


def describe_report(i: int, r: StepReport) -> str:
    """One trace line: the step, what both sides did, and the differences."""
    head = f"step {i}: {r.step.describe()}"
    if r.step.kind == "time" or r.model is None or r.evm is None:
        return head
    if r.model.ok:
        what = "ok" + (f", returned {_show(r.model.value)}" if r.model.value is not None else "")
    else:
        what = f"reverted {r.model.reason!r}" if r.model.reason else "reverted (bare)"
    evm = "ok" if r.evm.success else (f"reverted {r.evm.revert_reason!r}" if r.evm.revert_reason else "reverted (bare)")
    line = f"{head}\n    model: {what}; evm: {evm}"
    for d in r.differences:
        line += f"\n    DIFFERS {d}"
    return line


def format_trace(trace: list[StepReport], scenario: str | None = None, *, setup: list[StepReport] | None = None) -> str:
    """A trace, its steps numbered from 1 after the starting state, which is
    named first (the state after the binding's prelude, then ``scenario``'s
    steps, if any). ``setup`` are the reports of the prelude and scenario
    steps (``replay`` runs them): printed only when one of them differs."""
    start = "the state after the binding's prelude" + (f", then scenario `{scenario}`" if scenario else "")
    lines = [f"starting state: {start}"]
    for i, r in enumerate(setup or []):
        if not r.ok:
            lines.append(describe_report(i + 1, r).replace("step ", "setup step ", 1))
    lines.extend(describe_report(i + 1, r) for i, r in enumerate(trace))
    return "\n".join(lines)


def step_to_json(s: Step) -> dict[str, Any]:
    if s.kind == "time":
        return {"kind": "time", "seconds": s.seconds, "blocks": s.blocks}
    return {"kind": "action", "module": s.module, "action": s.action, "caller": f"0x{s.caller:040x}",
            "args": [_jsonable(a) for a in s.args]}


def step_from_json(d: dict[str, Any]) -> Step:
    if d["kind"] == "time":
        return Step("time", seconds=int(d["seconds"]), blocks=int(d["blocks"]))
    return Step("action", d["module"], d["action"], int(d["caller"], 16), tuple(_from_json(a) for a in d["args"]))


def _jsonable(v: Any) -> Any:
    if isinstance(v, SignedValue):
        return {"signed": v.to_json()}
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return [_jsonable(getattr(v, f)) for f in v.__dataclass_fields__]
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, dict) and "signed" in v:
        return SignedValue.from_json(v["signed"])
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    return v


def save_fixture(path: Path, binding: Binding, backend: str, seed: int, trace: list[StepReport],
                 scenario: str | None = None) -> None:
    """Write a failing trace as a replayable JSON fixture."""
    last = trace[-1]
    data = {
        "format": FIXTURE_FORMAT,
        "binding": str(binding.path.resolve()),
        "backend": backend,
        "seed": seed,
        "scenario": scenario,
        "steps": [step_to_json(r.step) for r in trace],
        "divergence": {"step": len(trace), "differences": [str(d) for d in last.differences]},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def pin_constant_pool() -> None:
    """Keep hypothesis's pool of constants to its own.

    Hypothesis (6.131 on) draws about one number in twenty from literals it
    finds in the source of the local modules loaded so far. Which modules
    those are depends on the entry point (the CLI, a test, a benchmark) and
    on what a run imports lazily, so one seed would draw different campaigns
    from each, and from one mutant to the next in a mutation run. With no
    local constants, a seed and the code of the spec and the implementation
    decide the campaign. (A hypothesis without the feature is left as it is.)
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - an older hypothesis
        return
    if getattr(providers, "_get_local_constants", None) is None:  # pragma: no cover
        return
    none = Constants()
    providers._get_local_constants = lambda: none
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()


def start_seed(seed: int, index: int) -> int:
    """The hypothesis seed of the sequences that start from the ``index``-th
    starting state of a campaign run with ``seed`` (of its first shard)."""
    return seed * 1009 + index


# A starting state's sequences run in shards of at most SHARD_EXAMPLES
# sequences, each with its own seed: the unit of work that `--workers` and
# Ray hand out. (A campaign of at most this many sequences a starting state,
# such as every default one, has one shard per starting state, seeded as
# campaigns always were.)
SHARD_EXAMPLES = 25


def shard_seed(seed: int, index: int, chunk: int) -> int:
    """The hypothesis seed of the ``chunk``-th shard of the ``index``-th
    starting state of a campaign run with ``seed``."""
    if chunk == 0:
        return start_seed(seed, index)
    digest = hashlib.sha256(f"imospec-shard:{seed}:{index}:{chunk}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def plan_shards(starts: int, examples: int, seed: int) -> list[Shard]:
    """The shards of a campaign of ``examples`` sequences shared between
    ``starts`` starting states (the first ones taking one more each until
    all are given out; at least one each)."""
    shards: list[Shard] = []
    for index in range(starts):
        total = max(1, examples // starts + (index < examples % starts))
        for chunk, first in enumerate(range(0, total, SHARD_EXAMPLES)):
            shards.append(Shard(len(shards), index, chunk, min(SHARD_EXAMPLES, total - first),
                                shard_seed(seed, index, chunk)))
    return shards


class ShardRunner:
    """One process's harness and state machine for one implementation: runs
    a campaign's deployment checks and its shards, in any order."""

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str, *, steps: int, check_rules: bool = False,
                 on_step: Callable[[StepReport], None] | None = None) -> None:
        self.binding = binding
        self.steps = steps
        self.harness = Harness(spec, binding, backend, check_rules=check_rules)
        self.stats = RunStats()
        self._failing: dict[str, list[StepReport]] = {}
        self._stats_at_failure: RunStats | None = None
        self.machine = build_machine(self.harness, self.stats, on_step, self._keep)
        # the starting state made last, its scenario's reports, and the
        # harness's count of rebases right after (see _start)
        self._started: tuple[int, list[StepReport], int] | None = None

    def _start(self, index: int) -> list[StepReport]:
        """Make the ``index``-th starting state the one every sequence begins
        from, and return its scenario's reports. A campaign's shards of one
        starting state come one after another (:func:`plan_shards`), and
        when the harness still returns to the state the last call made
        (nothing rebased it since), that state is kept and its reports are
        given again: the scenario's steps are deterministic, so running them
        again makes the same state and the same reports."""
        harness = self.harness
        if self._started is not None and self._started[0] == index and self._started[2] == harness.rebases:
            return self._started[1]
        reports = harness.start_from(self.binding.starts[index])
        self._started = (index, reports, harness.rebases)
        return reports

    def _keep(self, trace: list[StepReport]) -> None:
        self._failing["trace"] = list(trace)  # the last one kept is the shrunk one
        if self._stats_at_failure is None:  # the budget's sequences, before shrinking runs any more
            st = self.stats
            self._stats_at_failure = RunStats(st.examples, st.steps,
                                              {k: replace(v, reasons=dict(v.reasons)) for k, v in st.outcomes.items()},
                                              set(st.clauses))

    def drop_filler_time(self, trace: list[StepReport]) -> list[StepReport]:
        """The shrunk trace without the clock moves it does not need: each is
        dropped (last first) when the steps without it still run as before up
        to the last, which still diverges. Hypothesis shrinks a clock move's
        length, but keeps the move itself when the next draws depend on it."""
        steps = [r.step for r in trace]
        best = trace
        for i in reversed(range(len(steps) - 1)):
            if steps[i].kind != "time":
                continue
            candidate = steps[:i] + steps[i + 1:]
            reports = self._rerun(candidate)
            if reports is not None:
                steps, best = candidate, reports
        return best

    def _rerun(self, steps: list[Step]) -> list[StepReport] | None:
        """The reports of ``steps`` from the shard's starting state, when only the last one diverges."""
        harness = self.harness
        harness.reset()
        reports = []
        for n, step in enumerate(steps, start=1):
            report = harness.run(step)
            reports.append(report)
            if not report.ok and n < len(steps):
                return None
        if not harness.full_compare:
            reports[-1].differences.extend(d for d in harness.sweep() if d not in reports[-1].differences)
        return reports if not reports[-1].ok else None

    def deployment(self) -> list[StepReport] | None:
        """The deployment's divergence, if any: the state after it and after
        the prelude, and the constructors at edge parameters
        (:func:`conformance.deployment.check_deployments`)."""
        harness = self.harness
        bad = [rep for rep in harness.prelude_reports if not rep.ok]
        deployment = harness.deployment_differences or check_deployments(harness)
        if deployment or bad:
            return bad[:1] or [StepReport(Step("time"), None, None, deployment)]
        return None

    def run(self, shard: Shard, *, shrink: bool = True) -> ShardResult:
        """Run one shard: its sequences from its starting state (with the
        objects made before it out of the cyclic collector's sight, see
        :func:`collect_new_objects_only`)."""
        with collect_new_objects_only():
            return self._run(shard, shrink=shrink)

    def _run(self, shard: Shard, *, shrink: bool) -> ShardResult:
        started = time.perf_counter()
        stats = self.stats
        stats.examples, stats.steps, stats.outcomes, stats.clauses = 0, 0, {}, set()
        start = self.binding.starts[shard.start]
        result = ShardResult(shard, stats, 0.0)
        reports = self._start(shard.start)
        if any(not r.ok for r in reports):
            # the scenario's own steps, up to the first that differs, are the trace: replay runs
            # them after the prelude
            first = next(i for i, r in enumerate(reports) if not r.ok)
            result.divergence, result.scenario = reports[:first + 1], None
        else:
            config = settings(
                max_examples=shard.examples, stateful_step_count=self.steps, deadline=None, database=None,
                derandomize=False, suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                report_multiple_bugs=False, print_blob=False,
            )
            # hypothesis copies the seed from the machine class to the test it
            # builds; each shard has its own, or they would all run the same
            # draws (the same actions, in the same order, with the same arguments)
            seeded = hypothesis_seed(shard.seed)(self.machine)
            self._failing.clear()
            self._stats_at_failure = None
            try:
                # hypothesis's own notes (its warning after five minutes of shrinking on a slow EVM,
                # its warning that the repr of a step's strategies is large) are not the user's
                # business: the shrunk trace is
                with with_reporter(_silent), warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Generating overly large repr", HypothesisWarning)
                    test = get_state_machine_test(seeded, settings=config)
                    # (no example database: hypothesis would otherwise key it by a digest of its own
                    # test function's source, tokenized for every shard; the seed decides the draws)
                    test._hypothesis_internal_database_key = None  # type: ignore[attr-defined]
                    test()
            except Divergence:
                trace = self._failing.get("trace")
                if trace and shrink:
                    trace = self.drop_filler_time(trace)
                result.divergence, result.scenario = trace, start
        result.stats = self._stats_at_failure or RunStats(
            stats.examples, stats.steps,
            {k: replace(v, reasons=dict(v.reasons)) for k, v in stats.outcomes.items()}, set(stats.clauses))
        result.seconds = time.perf_counter() - started
        result.labels = dict(ADDRESS_LABELS)
        return result


@contextlib.contextmanager
def collect_new_objects_only() -> Iterator[None]:
    """While it lasts, the cyclic garbage collector passes over the objects
    that were there when it began (``gc.freeze``; put back under its eye
    after, ``gc.unfreeze``, so that a cycle among them is still collected
    later): the spec, the harness, the model, the strategies and the saved
    states, a few hundred thousand objects that a shard keeps, and that
    each full pass of the collector walked (about a seventh of a campaign's
    CPU on the bundled protocol). The collector's timing changes nothing a
    shard draws or compares. A process whose objects are frozen already (a
    worker forked with its parent's frozen, see
    :func:`conformance.parallel._pool_map`) is left as it is."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _silent(_text: object) -> None:
    """A hypothesis reporter that prints nothing."""


def portable(reports: list[StepReport] | None) -> list[StepReport] | None:
    """Reports that can cross to another process: the model's side keeps its
    result, reason, value (as a plain value) and events, not its states (nor
    its undo log, which holds pieces of them)."""
    if reports is None:
        return None
    out = []
    for r in reports:
        model = None if r.model is None else replace(r.model, value=normal(r.model.value), before={}, journal=())
        step = step_from_json(json.loads(json.dumps(step_to_json(r.step))))
        out.append(StepReport(step, model, r.evm, list(r.differences)))
    return out


def run_campaign(
    spec: ir.Spec,
    binding: Binding,
    *,
    backend: str = "py-evm",
    examples: int = 50,
    steps: int = 30,
    seed: int = 0,
    fixture_dir: Path = Path(".imospec-cache/fixtures"),
    on_step: Callable[[StepReport], None] | None = None,
    check_rules: bool = False,
    shrink: bool = True,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
    on_shard: Callable[[ShardResult], None] | None = None,
) -> CampaignResult:
    """Run ``examples`` generated action sequences of up to ``steps`` steps.

    First the deployment: the state after it and after the prelude, and the
    constructors at edge parameters (:func:`conformance.deployment.check_deployments`).
    Then every shard of the campaign (:func:`plan_shards`), on ``workers``
    processes of this machine, or on a Ray cluster with ``engine="ray"``
    (``address``: the cluster's; None starts a local Ray instance). The
    results are taken in shard order and the campaign stops at the first
    shard that diverges (later shards that already ran are dropped), so the
    divergence found, and the counts, are the same whatever the number of
    workers. Deterministic for a given seed. A divergence is shrunk (unless
    ``shrink`` is false: mutation testing only asks whether there is one),
    saved as a fixture and returned in the result.
    ``on_step`` sees every step, in this process only (one worker);
    ``on_shard`` sees every shard's result as it is merged.

    Raises:
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
        EngineUnavailable: ``engine="ray"`` without Ray installed.
    """
    pin_constant_pool()
    started = time.perf_counter()
    shards = plan_shards(len(binding.starts), examples, seed)
    result = CampaignResult(backend, binding.name, seed, RunStats(), 0.0, workers=workers, shards=len(shards))
    results: list[ShardResult] = []
    if workers <= 1 and engine == "local":
        runner = ShardRunner(spec, binding, backend, steps=steps, check_rules=check_rules, on_step=on_step)
        setup = runner.deployment()
        for shard in shards if setup is None else []:
            results.append(runner.run(shard, shrink=shrink))
            if on_shard is not None:
                on_shard(results[-1])
            if results[-1].divergence is not None:
                break
    else:
        from conformance.parallel import run_shards

        setup, results = run_shards(spec, binding, backend=backend, steps=steps, check_rules=check_rules,
                                    shards=shards, shrink=shrink, workers=workers, engine=engine,
                                    address=address, on_shard=on_shard)
    if setup is not None:
        result.divergence = setup
    if results and results[0].labels:  # a worker's names of the addresses, for this process's trace
        ADDRESS_LABELS.update(results[0].labels)
    for r in results if setup is None else []:
        result.stats.merge(r.stats)
        if r.divergence is not None:
            result.divergence, result.scenario, result.shard = r.divergence, r.scenario, r.shard
            break
    result.seconds = time.perf_counter() - started
    if result.divergence is not None:
        result.fixture = fixture_dir / f"{binding.name}-{backend}-seed{seed}.json"
        save_fixture(result.fixture, binding, backend, seed, result.divergence, result.scenario)
    return result


class FixtureError(Exception):
    """A file given as a trace fixture cannot be read or is not one."""


@dataclass(frozen=True)
class Fixture:
    """A saved divergence: the binding it was found with, the EVM, the
    starting scenario and the steps after it."""

    path: Path
    binding: Path
    backend: str
    scenario: str | None
    steps: tuple[Step, ...]
    from_deployment: bool = False  # the steps start right after the deployment, without the prelude


@dataclass
class ReplayResult:
    """A fixture run again: every step's report (the first ``setup`` of them
    the prelude's and the scenario's, then the fixture's steps) and the
    harness they ran on."""

    reports: list[StepReport]
    harness: Harness
    setup: int = 0

    @property
    def first_difference(self) -> int | None:
        """The number of the first fixture step where the model and the EVM
        differ (1-based, as ``conform`` numbers them; 0 when a prelude or
        scenario step differs already), or None."""
        i = next((i for i, r in enumerate(self.reports) if not r.ok), None)
        return None if i is None else max(0, i + 1 - self.setup)

    @property
    def ok(self) -> bool:
        """Whether both sides agree on every step."""
        return self.first_difference is None


def read_fixture(path: str | Path) -> Fixture:
    """Read a fixture written by a campaign.

    Raises:
        FixtureError: the file cannot be read, or is not a trace fixture.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FixtureError(f"cannot read fixture {p}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
        raise FixtureError(f"{p} is not an imospec trace fixture")
    try:
        steps = tuple(step_from_json(d) for d in data["steps"])
        return Fixture(p, Path(data["binding"]), str(data.get("backend", "py-evm")), data.get("scenario"), steps,
                       bool(data.get("from_deployment", False)))
    except (KeyError, TypeError) as exc:
        raise FixtureError(f"{p}: a malformed fixture ({type(exc).__name__}: {exc})") from None


def replay(fixture: Fixture, binding: Binding, spec: ir.Spec, backend: str | None = None) -> ReplayResult:
    """Re-run a fixture on the model (of ``spec``) and the EVM (of ``binding``).

    Raises:
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
    """
    if fixture.from_deployment:
        from conformance.binding import at_deployment

        binding = at_deployment(binding)
    harness = Harness(spec, binding, backend or fixture.backend)
    reports = list(harness.prelude_reports)
    reports += harness.start_from(fixture.scenario)
    setup = len(reports)
    for step in fixture.steps:
        reports.append(harness.run(step))
    return ReplayResult(reports, harness, setup)
