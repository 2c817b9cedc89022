"""Running a campaign's shards, or a mutation run's mutants, on every core of
this machine or on a Ray cluster.

The work is cut into tasks that do not depend on one another (a campaign's
deployment checks and its shards, see :func:`conformance.runner.plan_shards`;
one campaign a mutant) and the results come back in the order of the tasks,
whatever the order they finished in: the merged result is the same for any
number of workers. Each worker process keeps one harness and state machine
per implementation and runs every task it is given on them.

Engines:

- ``local``: a pool of ``workers`` processes of this machine (forked, so that
  they start with the spec and the binding already loaded);
- ``ray``: the same tasks as Ray tasks, on the cluster at ``address`` (or a
  local Ray instance when there is none). Every node needs imospec installed,
  and the binding and its contracts at the same path.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from conformance.binding import Binding, BindingError, load_implementation
from conformance.runner import Shard, ShardResult, ShardRunner, StepReport, pin_constant_pool, portable
from evm_backend.errors import EvmBackendError
from spec import ir
from spec.driver import SpecHasErrors

ENGINES = ("local", "ray")

T = TypeVar("T")
R = TypeVar("R")


class EngineUnavailable(Exception):
    """The engine asked for cannot run here (Ray is not installed)."""


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------- the tasks


@dataclass(frozen=True)
class CampaignTask:
    """One task of a campaign: its deployment checks (``shard`` None) or a shard."""

    binding: str
    backend: str
    steps: int
    check_rules: bool
    shrink: bool
    shard: Shard | None


# this process's implementations and runners, loaded once
_IMPLEMENTATIONS: dict[str, tuple[Binding, ir.Spec]] = {}
_RUNNERS: dict[tuple[str, str, int, bool], ShardRunner] = {}


def _implementation(path: str) -> tuple[Binding, ir.Spec]:
    found = _IMPLEMENTATIONS.get(path)
    if found is None:
        found = _IMPLEMENTATIONS[path] = load_implementation(path)
    return found


@dataclass(frozen=True)
class SetupFailed:
    """A worker could not set the implementation up: the error, as text (an
    exception carrying a receipt does not cross processes)."""

    error: str


def run_campaign_task(task: CampaignTask) -> list[StepReport] | ShardResult | SetupFailed | None:
    """Run one task in this process: the deployment's divergence (or None),
    or a shard's result, made portable."""
    pin_constant_pool()
    key = (task.binding, task.backend, task.steps, task.check_rules)
    runner = _RUNNERS.get(key)
    if runner is None:
        try:
            binding, spec = _implementation(task.binding)
            runner = _RUNNERS[key] = ShardRunner(spec, binding, task.backend, steps=task.steps,
                                                 check_rules=task.check_rules)
        except (BindingError, SpecHasErrors, EvmBackendError) as exc:
            return SetupFailed(f"{type(exc).__name__}: {exc}")
    if task.shard is None:
        return portable(runner.deployment())
    result = runner.run(task.shard, shrink=task.shrink)
    result.divergence = portable(result.divergence)
    return result


def run_shards(
    spec: ir.Spec, binding: Binding, *, backend: str, steps: int, check_rules: bool, shards: Sequence[Shard],
    shrink: bool, workers: int, engine: str, address: str | None,
    on_shard: Callable[[ShardResult], None] | None = None,
) -> tuple[list[StepReport] | None, list[ShardResult]]:
    """The deployment's divergence (or None) and the shards' results in
    shard order, up to the first that diverged (the workers stop there).

    Raises:
        BindingError: a worker could not set the implementation up (the
            error it met is in the message).
        EngineUnavailable: ``engine="ray"`` without Ray installed.
    """
    path = str(binding.path.resolve())
    _IMPLEMENTATIONS.setdefault(path, (binding, spec))  # a forked worker starts with it
    tasks = [CampaignTask(path, backend, steps, check_rules, shrink, s) for s in (None, *shards)]
    results = run_tasks(run_campaign_task, tasks, workers=workers, engine=engine, address=address)
    out: list[ShardResult] = []
    try:
        setup = next(results)
        if isinstance(setup, SetupFailed):
            raise BindingError(f"{binding.path}: {setup.error}")
        assert not isinstance(setup, ShardResult)
        for r in results if setup is None else []:
            if isinstance(r, SetupFailed):
                raise BindingError(f"{binding.path}: {r.error}")
            assert isinstance(r, ShardResult)
            out.append(r)
            if on_shard is not None:
                on_shard(r)
            if r.divergence is not None:
                break
    finally:
        results.close()  # the shards still running are stopped
    return setup, out


@dataclass(frozen=True)
class MutantTask:
    """One mutant's campaign."""

    binding: str
    mutant: Any  # conformance.mutate.Mutant
    backend: str
    examples: int
    steps: int
    seed: int


def run_mutant_task(task: MutantTask) -> str:
    """Compile one mutant and run its campaign: ``"stillborn"`` (it does not
    compile), ``"killed"`` or ``"survived"``."""
    from conformance.mutate import campaign_kills

    pin_constant_pool()
    binding, spec = _implementation(task.binding)
    return campaign_kills(spec, binding, task.mutant, backend=task.backend, examples=task.examples,
                          steps=task.steps, seed=task.seed, workdir=_workdir())


@dataclass(frozen=True)
class RecordTask:
    """One task of recording the unmutated campaign's corpus: its deployment
    checks (``shard`` None) or a shard's sequences."""

    binding: str
    backend: str
    steps: int
    shard: Shard | None


class _Recorder:
    """A harness and state machine that keep every sequence's steps."""

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str, steps: int) -> None:
        self.sequences: list[list[Any]] = []
        self._example = -1
        self.runner = ShardRunner(spec, binding, backend, steps=steps, on_step=self._step)

    def _step(self, report: StepReport) -> None:
        if self.runner.stats.examples != self._example:  # the state machine began a new sequence
            self._example = self.runner.stats.examples
            self.sequences.append([])
        self.sequences[-1].append(report.step)


_RECORDERS: dict[tuple[str, str, int], _Recorder] = {}


def run_record_task(task: RecordTask) -> tuple[list[Any], tuple[Any, ...], str | None] | SetupFailed:
    """Run one task of the corpus: (the shard's sequences, the steps that
    make its starting state, the first difference found or None); for the
    deployment task, no sequences and the deployment's difference."""
    from conformance.mutate import Sequence

    pin_constant_pool()
    key = (task.binding, task.backend, task.steps)
    recorder = _RECORDERS.get(key)
    if recorder is None:
        try:
            binding, spec = _implementation(task.binding)
            recorder = _RECORDERS[key] = _Recorder(spec, binding, task.backend, task.steps)
        except (BindingError, SpecHasErrors, EvmBackendError) as exc:
            return SetupFailed(f"{type(exc).__name__}: {exc}")
    runner = recorder.runner
    if task.shard is None:
        bad = runner.deployment()
        return [], (), None if bad is None else f"{bad[-1].step.describe()}: {bad[-1].differences[:1]}"
    recorder.sequences, recorder._example = [], -1
    result = runner.run(task.shard, shrink=False)
    harness = runner.harness
    start = runner.binding.starts[task.shard.start]
    setup = tuple(r.step for r in harness.prelude_reports)
    if start is not None:
        setup += tuple(harness.binding_steps(runner.binding.scenarios[start]))
    diverged = None
    if result.divergence:
        last = result.divergence[-1]
        diverged = f"{last.step.describe()}: {[str(d) for d in last.differences[:1]]}"
    return [Sequence(task.shard.start, tuple(s)) for s in recorder.sequences], setup, diverged


@dataclass(frozen=True)
class ReplayTask:
    """One mutant: the corpus's sequences that can run its code, replayed on it."""

    binding: str
    mutant: Any  # conformance.mutate.Mutant
    backend: str
    selection: Any  # conformance.mutate.Selection
    corpus: Any = None  # conformance.mutate.Corpus; None: this process's (a forked worker inherits it)


# the corpus of each implementation, set before the workers fork
CORPORA: dict[str, Any] = {}


def run_replay_task(task: ReplayTask) -> str:
    """Compile one mutant and replay its sequences: ``"stillborn"``,
    ``"unreached"``, ``"killed"`` or ``"survived"``."""
    from conformance.mutate import replay_kills

    pin_constant_pool()
    binding, spec = _implementation(task.binding)
    corpus = task.corpus if task.corpus is not None else CORPORA[task.binding]
    return replay_kills(spec, binding, task.mutant, backend=task.backend, corpus=corpus,
                        selection=task.selection, workdir=_workdir())


def forks() -> bool:
    """Whether this machine's worker processes start as forks of this one."""
    return "fork" in multiprocessing.get_all_start_methods()


# by process id: a forked worker inherits its parent's, and must not share it
_WORKDIRS: dict[int, tempfile.TemporaryDirectory[str]] = {}


def _workdir() -> Path:
    """This process's scratch directory for mutant copies of the implementation."""
    pid = os.getpid()
    if pid not in _WORKDIRS:
        _WORKDIRS[pid] = tempfile.TemporaryDirectory(prefix="imospec-mutants-")
    return Path(_WORKDIRS[pid].name)


# ------------------------------------------------------------- the engines


@dataclass(frozen=True)
class TaskTiming:
    """One task as it ran: the function, the process that ran it, and the
    CPU seconds it took there (what a benchmark needs to tell a loaded
    machine from work that does not divide)."""

    fn: str
    worker: int
    cpu: float


# the tasks run by :func:`run_tasks` in this process since it was last
# cleared, in the order their results came back
TIMINGS: list[TaskTiming] = []


def critical_cpu(timings: Sequence[TaskTiming], own_cpu: float) -> tuple[float, float]:
    """(the CPU seconds that must run one after another, the serial part)
    of a run whose tasks took ``timings`` and whose own process (this one)
    spent ``own_cpu``: the serial part (this process's CPU outside tasks),
    plus, for each kind of task in turn (a mutation run's corpus, then its
    replays), the busiest worker's. On idle cores that is the run's wall
    time, so one worker's figure over N workers' is the speed-up a loaded
    machine hides: what does not divide (serial start-up, a worker left
    with the last long task) shows in it; other processes do not."""
    me = os.getpid()
    inline = sum(t.cpu for t in timings if t.worker == me)
    serial = max(0.0, own_cpu - inline)
    return serial + inline + sum(max(w.values()) for w in worker_cpu(timings).values()), serial


def worker_cpu(timings: Sequence[TaskTiming]) -> dict[str, dict[int, float]]:
    """By kind of task (in the order first run), the CPU seconds each
    worker process spent on tasks of that kind (tasks run in this process
    apart)."""
    me = os.getpid()
    per: dict[str, dict[int, float]] = {}
    for t in timings:
        if t.worker != me:
            per.setdefault(t.fn, {}).setdefault(t.worker, 0.0)
            per[t.fn][t.worker] += t.cpu
    return per


def _timed(fn: Callable[[T], R], task: T) -> tuple[R, int, float]:
    """``fn(task)``, the id of the process that ran it and its CPU seconds."""
    start = time.process_time()
    out = fn(task)
    return out, os.getpid(), time.process_time() - start


def run_tasks(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int, engine: str = "local",
              address: str | None = None) -> Generator[R, None, None]:
    """``fn`` of every task, in the order of the tasks, run by ``workers``
    processes (or by a Ray cluster). Closing the generator stops the tasks
    still running. Each task's CPU time is added to :data:`TIMINGS`.

    Raises:
        EngineUnavailable: ``engine="ray"`` without Ray installed.
        ValueError: an unknown engine.
    """
    if engine == "ray":
        timed = _ray_map(functools.partial(_timed, fn), tasks, workers=workers, address=address)
    elif engine != "local":
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    elif workers <= 1:
        timed = (_timed(fn, t) for t in tasks)
    else:
        timed = _pool_map(functools.partial(_timed, fn), tasks, workers)
    return _untimed(fn, timed)


def _untimed(fn: Callable[..., Any], timed: Generator[tuple[R, int, float], None, None]) -> Generator[R, None, None]:
    while isinstance(fn, functools.partial):  # (a batch's function is the one it runs on each task)
        fn = fn.args[0] if fn.func is _run_batch else fn.func
    name = getattr(fn, "__name__", repr(fn))
    try:
        for out, worker, cpu in timed:
            TIMINGS.append(TaskTiming(name, worker, cpu))
            yield out
    finally:
        timed.close()


# A batch of a mutation run's tasks is run by one worker, in order: a
# worker's memory of the sequences that killed a mutant of a line
# (conformance.mutate.replay_order) helps the next mutants of that line
# only if the same worker runs them. The batches shrink towards the end of
# the run (guided self-scheduling), so that no worker is left with a long
# one while the others wait.
MAX_BATCH = 16


def batches(n: int, workers: int) -> list[range]:
    """``range(n)`` cut into consecutive batches for ``workers`` processes:
    each a quarter of an even share of what is left, at most
    :data:`MAX_BATCH`, at least 1 (1 each on one worker: nothing to
    balance)."""
    out, first = [], 0
    while first < n:
        size = 1 if workers <= 1 else max(1, min(MAX_BATCH, (n - first) // (4 * workers)))
        out.append(range(first, min(n, first + size)))
        first += size
    return out


def _run_batch(fn: Callable[[T], R], batch: Sequence[T]) -> list[R]:
    return [fn(t) for t in batch]


def run_batched(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int, engine: str = "local",
                address: str | None = None) -> Generator[R, None, None]:
    """:func:`run_tasks` with consecutive tasks run together (see
    :func:`batches`): ``fn`` of every task, in the order of the tasks.

    Raises:
        As :func:`run_tasks`.
    """
    cut = [[tasks[i] for i in b] for b in batches(len(tasks), workers)]
    results = run_tasks(functools.partial(_run_batch, fn), cut, workers=workers, engine=engine, address=address)
    try:
        for batch in results:
            yield from batch
    finally:
        results.close()


def _pool_map(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> Generator[R, None, None]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # (the objects made so far, the spec and the binding among them, out of
    # the collector's sight while the workers fork: its passes would write
    # to every one of them and so copy the pages a forked worker shares)
    gc.freeze()
    try:
        pool = context.Pool(min(workers, max(1, len(tasks))))
    finally:
        gc.unfreeze()
    with pool:
        yield from pool.imap(fn, tasks, chunksize=1)


def _call(fn: Callable[[T], R], task: T) -> R:
    return fn(task)


def _ray_map(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int,
             address: str | None) -> Generator[R, None, None]:
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(
            "--engine ray needs Ray, an optional dependency: pip install 'imospec[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote: Any = ray.remote(_call)  # (Ray takes a function, not a partial)
        refs = [remote.remote(fn, t) for t in tasks]
        for i, ref in enumerate(refs):
            try:
                yield ray.get(ref)
            except GeneratorExit:
                for rest in refs[i + 1:]:
                    ray.cancel(rest)
                raise
    finally:
        if started_here:
            ray.shutdown()
