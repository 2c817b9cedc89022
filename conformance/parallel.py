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

import multiprocessing
import os
import tempfile
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


def run_tasks(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int, engine: str = "local",
              address: str | None = None) -> Generator[R, None, None]:
    """``fn`` of every task, in the order of the tasks, run by ``workers``
    processes (or by a Ray cluster). Closing the generator stops the tasks
    still running.

    Raises:
        EngineUnavailable: ``engine="ray"`` without Ray installed.
        ValueError: an unknown engine.
    """
    if engine == "ray":
        return _ray_map(fn, tasks, workers=workers, address=address)
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if workers <= 1:
        return (fn(t) for t in tasks)
    return _pool_map(fn, tasks, workers)


def _pool_map(fn: Callable[[T], R], tasks: Sequence[T], workers: int) -> Generator[R, None, None]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with context.Pool(min(workers, max(1, len(tasks)))) as pool:
        yield from pool.imap(fn, tasks, chunksize=1)


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
        remote = ray.remote(fn)
        refs = [remote.remote(t) for t in tasks]
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
