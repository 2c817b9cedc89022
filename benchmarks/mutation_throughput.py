"""Mutation-run throughput: the corpus replay against each mutant's own
campaign (the way it was done before), measured in one run.

On a deterministic sample of the binding's mutants it runs

- the corpus method (``run_mutants(method="corpus")``): the unmutated
  campaign drawn once, then on each mutant only the sequences that can run
  its code, to the first divergence;
- the baseline (``method="campaign"``): each mutant's own hypothesis
  campaign, on the first ``--baseline`` mutants of the sample;

with the default budget (10 sequences of 25 steps from each starting state),
and prints for each: mutants/s, CPU seconds a mutant, and the projected time
of the full run (every mutant of the binding) at that rate, with the ratio of
the two. The verdicts of the mutants both methods ran must agree: the
benchmark says so, or lists the ones that differ (and exits 1).

``--exhaustive N`` checks what makes the corpus method fast against the
corpus itself: on the first N mutants of the sample it replays *every*
sequence of the corpus, in corpus order, with every module's edge
deployments (no reach, no replay order), and the verdicts must be the corpus
method's (else it lists them and exits 1).

``--compile N`` compiles the first N mutants of the sample cold (no
cache) the two ways a mutant can be compiled for deployment: Vyper's own
pipeline without the runtime output (as before session 14), and
``compile_source(runtime=False)``, which skips the optimizer pass over the
runtime tree alone (``evm_backend.compiler._deploy_only_data``); it prints
the CPU seconds of each, from one run, and checks that both give the same
deployment bytes, ABI and layout for every mutant (else exits 1).

``--breakdown`` then replays the sample again in this process, on the
corpus already drawn, with a fresh compile cache, and prints by fate
(killed, survived, stillborn...) the CPU seconds of compiling and of
replaying: where a mutant's time goes.

``--floor`` (with ``--compile N`` and ``--breakdown``) then prints the
least CPU a full run can take, from the sample's parts: every mutant of the
binding compiled cold at the sample's CPU a mutant, and each survivor's steps
(as many as the breakdown counted, in the sample's proportion of survivors)
at the cost of one step through ``Harness.run``, with nothing else (no
views, no sweeps, no deployments, no killed mutant's replay); in minutes on
this machine's idle cores, against the 10-minute target.

``--against REV`` then replays the sample on the corpus already drawn
twice at the same time, in two fresh processes: one with this tree's code, one
with the code of git revision ``REV`` (``git archive`` into a temporary
directory; e.g. ``--against c575c22``, the start of session 15), both with
the compile cache warmed first, so that each measures its replay alone. It
prints the CPU seconds of each by fate and their ratio, and checks that the
verdicts are the same mutant by mutant (else it lists them and exits 1).

``--scaling`` then runs the corpus method on the sample again with one
worker and with ``--workers`` (the mutants and originals compiled by the
first run) and prints the speed-up two ways: by wall time, and by CPU (one
worker's CPU seconds over those of the N-worker run that must run one after
another: its serial part in this process, then each stage's busiest
worker; see ``conformance.parallel.critical_cpu``). On idle cores the two
agree; on a loaded machine the wall figure says how much of the machine
the run got, the CPU figure how well the work divides. It checks that
both runs give the same verdicts (else exits 1). The machine may be shared: every
figure is printed with the load average, and the CPU seconds (this process
and its workers) say what the run cost whatever the load. Usage:

    python benchmarks/mutation_throughput.py [--impl BINDING] [--sample 24] [--baseline 4]
        [--exhaustive N] [--compile N] [--breakdown [--floor]] [--against REV] [--workers N] [--scaling] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from conformance.binding import load_implementation
from conformance.mutate import (
    _KILLERS,
    Corpus,
    MutationReport,
    Selection,
    mutations,
    replay_kills,
    run_mutants,
    select,
    targets,
)
from conformance.parallel import TIMINGS, critical_cpu, default_workers, worker_cpu

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "evm_backend" / "contracts" / "binding.json"


def cpu_seconds() -> float:
    """CPU time of this process and of its finished workers."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def own_cpu() -> float:
    """CPU time of this process alone (its workers' is in conformance.parallel.TIMINGS)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def timed(spec: Any, binding: Any, chosen: list[Any], *, method: str, workers: int,
          seed: int, corpora: list[Corpus] | None = None) -> tuple[MutationReport, float, float, float]:
    """(report, wall seconds, CPU seconds, seconds spent drawing the corpus);
    the corpus drawn is appended to ``corpora``."""
    corpus_seconds = [0.0]

    def seen(corpus: Corpus) -> None:
        corpus_seconds[0] = corpus.seconds
        if corpora is not None:
            corpora.append(corpus)

    _KILLERS.clear()  # (each run as from a fresh process)
    wall, cpu = time.perf_counter(), cpu_seconds()
    report = run_mutants(spec, binding, chosen, method=method, workers=workers, seed=seed, on_corpus=seen)
    return report, time.perf_counter() - wall, cpu_seconds() - cpu, corpus_seconds[0]


def exhaustive(spec: Any, binding: Any, corpus: Corpus, chosen: list[Any]) -> dict[Any, str]:
    """Each mutant's fate when every sequence of ``corpus`` replays on it in
    corpus order, after every module's edge deployments."""
    import tempfile

    everything = Selection(tuple(range(len(corpus.sequences))), True)
    out = {}
    with tempfile.TemporaryDirectory(prefix="imospec-exhaustive-") as work:
        for m in chosen:
            fate = replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus, selection=everything,
                                workdir=Path(work))
            out[m.key()] = "survived" if fate == "unreached" else fate
    return out


def breakdown(spec: Any, binding: Any, corpus: Corpus, chosen: list[Any]) -> dict[str, list[float]]:
    """Replay each mutant of ``chosen`` on ``corpus`` in this process, with
    a fresh compile cache, and print by fate the CPU seconds of compiling
    and of the rest (the harness, the starting states, the sequences);
    return them by fate: ``[mutants, compile CPU s, the rest's CPU s, steps run]``."""
    import tempfile

    import conformance.mutate as mutate
    from conformance.harness import Harness
    from evm_backend.compiler import CACHE_DIR_ENV

    index = mutate.CorpusIndex(spec, binding, corpus)
    compiling = [0.0]
    steps = [0]
    real_artifacts, real_run = mutate._mutant_artifacts, Harness.run

    def artifacts(*a: Any, **k: Any) -> Any:
        start = time.process_time()
        try:
            return real_artifacts(*a, **k)
        finally:
            compiling[0] += time.process_time() - start

    def run(self: Any, *a: Any, **k: Any) -> Any:
        steps[0] += 1
        return real_run(self, *a, **k)

    by_fate: dict[str, list[float]] = {}
    before = os.environ.get(CACHE_DIR_ENV)
    _KILLERS.clear()
    with tempfile.TemporaryDirectory(prefix="imospec-breakdown-") as work:
        os.environ[CACHE_DIR_ENV] = str(Path(work) / "cache")
        mutate._mutant_artifacts, Harness.run = artifacts, run  # type: ignore[method-assign]
        try:
            for m in chosen:
                compiling[0], steps[0] = 0.0, 0
                start = time.process_time()
                fate = replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus, selection=index.select(m),
                                    workdir=Path(work))
                total = time.process_time() - start
                row = by_fate.setdefault(fate, [0, 0.0, 0.0, 0])
                row[0] += 1
                row[1] += compiling[0]
                row[2] += total - compiling[0]
                row[3] += steps[0]
        finally:
            mutate._mutant_artifacts, Harness.run = real_artifacts, real_run  # type: ignore[method-assign]
            if before is None:
                del os.environ[CACHE_DIR_ENV]
            else:
                os.environ[CACHE_DIR_ENV] = before
    spent = sum(r[1] + r[2] for r in by_fate.values())
    print(f"  breakdown (one process, compile cold, load {os.getloadavg()[0]:.1f}): {spent:.1f} CPU s for "
          f"{len(chosen)} mutants")
    for fate, (n, comp, rest, ran) in sorted(by_fate.items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
        print(f"    {fate:>9}: {int(n)} mutants, compile {comp:.1f} CPU s ({comp / n:.2f} each), replay {rest:.1f} "
              f"({rest / n:.2f} each, {ran / n:.0f} steps run each, the prelude and scenarios included), "
              f"{100 * (comp + rest) / spent:.0f}% of the CPU")
    return by_fate


def replay_sample(spec: Any, binding: Any, corpus: Corpus, chosen: list[Any]) -> dict[str, tuple[str, float]]:
    """Each mutant of ``chosen`` replayed on ``corpus`` in this process, in
    order (as one worker would, killers remembered): its fate and the CPU
    seconds of its replay, compiling apart (the compile cache is warmed
    first), by :meth:`Mutant.describe`. Only what every revision since
    session 13 has (``replay_kills``, ``CorpusIndex``): ``--against`` runs
    it with another revision's code."""
    import contextlib
    import tempfile

    from conformance.mutate import NOT_COMPILED, CorpusIndex, _mutant_artifacts

    index = CorpusIndex(spec, binding, corpus)
    out: dict[str, tuple[str, float]] = {}
    _KILLERS.clear()
    with tempfile.TemporaryDirectory(prefix="imospec-replay-") as work:
        for m in chosen:  # (the compile cache warm, and the originals compiled, before any timing)
            with contextlib.suppress(*NOT_COMPILED):  # (a stillborn mutant: replay_kills says so below)
                _mutant_artifacts(binding, m, Path(work))
        for m in chosen:
            start = time.process_time()
            fate = replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus, selection=index.select(m),
                                workdir=Path(work))
            out[m.describe()] = (fate, time.process_time() - start)
    return out


def _replay_worker(impl: Path, sample: int, seed: int, corpus_file: Path, out_file: Path) -> int:
    """``--replay-worker``: :func:`replay_sample` of the sample on the
    pickled corpus, with whatever code ``PYTHONPATH`` gives, into ``out_file`` (JSON)."""
    import pickle

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    binding, spec = load_implementation(impl)
    chosen = select([m for module, f in targets(binding) for m in mutations(module, f)], sample, seed)
    corpus = pickle.loads(corpus_file.read_bytes())
    out_file.write_text(json.dumps(replay_sample(spec, binding, corpus, chosen)), encoding="utf-8")
    return 0


def against(rev: str, impl: Path, sample: int, seed: int, corpus: Corpus) -> int:
    """Replay the sample with this tree's code and with revision ``rev``'s,
    at the same time (two fresh processes); print the CPU of each by fate and
    the ratio; return how many verdicts differ."""
    import io
    import pickle
    import subprocess
    import tarfile
    import tempfile

    with tempfile.TemporaryDirectory(prefix="imospec-against-") as work:
        tree = Path(work) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        corpus_file = Path(work) / "corpus.pkl"
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
        corpus_file.write_bytes(pickle.dumps(corpus))
        load = os.getloadavg()[0]
        # (both in fresh processes, started together: the same load, and neither with this one's heap)
        procs = [(Path(work) / f"{name}.json", subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--impl", str(impl.resolve()), "--sample", str(sample),
             "--seed", str(seed), "--replay-worker", str(corpus_file), str(Path(work) / f"{name}.json")],
            env={**os.environ, "PYTHONPATH": str(code)}, cwd=str(code)))
            for name, code in (("theirs", tree), ("mine", ROOT))]
        got = []
        for out_file, proc in procs:
            if proc.wait() != 0:
                print(f"  against {rev}: a replay failed (exit {proc.returncode})")
                return 1
            got.append({k: (f, c) for k, (f, c) in json.loads(out_file.read_text(encoding="utf-8")).items()})
        theirs, mine = got
    by_fate: dict[str, list[float]] = {}
    for k, (fate, cpu) in mine.items():
        row = by_fate.setdefault(fate, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += theirs.get(k, ("", 0.0))[1]
        row[2] += cpu
    total_theirs, total_mine = sum(c for _, c in theirs.values()), sum(c for _, c in mine.values())
    print(f"  against {rev} (both replays at once, compile apart, load {load:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after): {total_theirs:.1f} CPU s there, {total_mine:.1f} here "
          f"({total_theirs / max(total_mine, 1e-9):.2f}x)")
    for fate, (n, t, m) in sorted(by_fate.items(), key=lambda kv: -kv[1][1]):
        print(f"    {fate:>9}: {int(n)} mutants, {t:.1f} CPU s there, {m:.1f} here ({t / max(m, 1e-9):.2f}x)")
    differ = [k for k in mine if theirs.get(k, ("?",))[0] != mine[k][0]]
    for k in differ:
        print(f"  VERDICTS DIFFER: {k}: {rev} {theirs.get(k, ('missing',))[0]}, here {mine[k][0]}")
    if not differ:
        print(f"  the {len(mine)} verdicts of {rev} and of this tree agree")
    return len(differ)


def compile_both_ways(chosen: list[Any]) -> tuple[int, float]:
    """Compile each mutant cold with Vyper's own pipeline (no runtime
    output) and with ``compile_source(runtime=False)``; print the CPU
    seconds of each and return how many mutants' outputs differ, and the
    deployment-only pipeline's CPU seconds a mutant."""
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FileInput, FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings
    from vyper.exceptions import VyperException, VyperInternalException

    from conformance.mutate import NOT_COMPILED, _apply
    from evm_backend.compiler import compile_source
    from evm_backend.fork import EVM_VERSION

    formats = ["bytecode", "abi", "layout", "method_identifiers"]
    settings = Settings(optimize=OptimizationLevel.GAS, evm_version=EVM_VERSION)
    theirs_cpu = ours_cpu = 0.0
    compiled = differ = 0
    for m in chosen:
        source = _apply(m)
        file_input = FileInput(contents=source, source_id=0, path=m.file, resolved_path=m.file.resolve())
        start = time.process_time()
        try:
            theirs: dict[str, Any] | None = compile_from_file_input(
                file_input, input_bundle=FilesystemInputBundle([]), settings=settings, output_formats=formats)
        except (VyperException, VyperInternalException, ArithmeticError):
            theirs = None
        middle = time.process_time()
        try:
            ours = compile_source(source, name=m.file.stem, path=str(m.file), use_cache=False, runtime=False)
        except NOT_COMPILED:
            ours = None
        theirs_cpu += middle - start
        ours_cpu += time.process_time() - middle
        if theirs is None or ours is None:
            same = theirs is None and ours is None
        else:
            compiled += 1
            same = (bytes.fromhex(theirs["bytecode"][2:]), json.loads(json.dumps(theirs["abi"])),
                    json.loads(json.dumps(theirs["layout"])), dict(theirs["method_identifiers"])) == \
                (ours.bytecode, ours.abi, ours.layout, ours.method_identifiers)
        if not same:
            differ += 1
            print(f"  COMPILATIONS DIFFER: {m.describe()}")
    verdict = f"the outputs differ for {differ}" if differ else "the same deployment bytes, ABI and layout for each"
    print(f"  compile: {len(chosen)} mutants cold ({compiled} compile), load {os.getloadavg()[0]:.1f}: Vyper's "
          f"pipeline {theirs_cpu:.1f} CPU s, the deployment-only one {ours_cpu:.1f} CPU s "
          f"({theirs_cpu / max(ours_cpu, 1e-9):.2f}x); {verdict}")
    return differ, ours_cpu / max(len(chosen), 1)


def floor(spec: Any, binding: Any, total: int, compile_each: float, by_fate: dict[str, list[float]]) -> None:
    """Print the least CPU a full run can take, from the sample's parts: every
    mutant compiled cold (the deployment-only pipeline, a mutant of the
    sample on average), and each survivor's steps (the prelude, the
    scenarios and the corpus, as the breakdown counted them) at the cost of
    one step through ``Harness.run`` (the model, the EVM and the comparison
    of outcome, events and changed state; no views, no sweeps: see
    ``benchmarks/campaign_ceiling.py``). Nothing else is counted: not the
    killed mutants' replays, not the harness each mutant deploys, not the
    corpus's own campaign."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from campaign_ceiling import one_step
    from conformance_throughput import record

    step = one_step(spec, binding, "pyrevm", record(spec, binding, "pyrevm", 30, 25))
    sampled = sum(int(r[0]) for r in by_fate.values())
    survivors = by_fate.get("survived", [0, 0.0, 0.0, 0])
    share = survivors[0] / max(sampled, 1)
    steps_each = survivors[3] / max(survivors[0], 1)
    compiling = total * compile_each
    replaying = total * share * steps_each * step
    cores = os.cpu_count() or 1
    minutes = (compiling + replaying) / cores / 60
    print(f"  floor: compiling all {total} mutants cold {compiling / 60:.1f} CPU min ({compile_each:.2f} s each); "
          f"the survivors ({share:.1%} of the sample, {steps_each:.0f} steps each) at {1e6 * step:.0f} us a step "
          f"{replaying / 60:.1f} CPU min; together {minutes:.1f} min on {cores} idle cores against the 10-minute "
          f"target ({'within it' if minutes <= 10 else 'above it'}); load {os.getloadavg()[0]:.1f}")


def fates(report: MutationReport) -> dict[Any, str]:
    out = {m.key(): "killed" for m in report.killed}
    out.update({m.key(): "survived" for m in report.survived})
    out.update({m.key(): "survived" for m, _ in report.equivalent})
    out.update({m.key(): "stillborn" for m in report.stillborn})
    return out


def line(name: str, n: int, wall: float, cpu: float, total: int, workers: int, fixed: float = 0.0) -> float:
    """Print one method's figures; returns its projected full-run time.

    The projection at this run's rate holds at this run's load; the one from
    the CPU seconds spent (``fixed`` counted once) is what ``workers`` idle
    cores would take."""
    per = (wall - fixed) / n
    projected = fixed + per * total
    fixed_cpu = cpu * fixed / wall if wall else 0.0
    idle = (fixed_cpu + (cpu - fixed_cpu) / n * total) / workers
    print(f"{name:>9}: {n} mutants in {wall:.1f} s wall ({n / wall:.3f} mutants/s; {cpu / n:.1f} CPU s a mutant), "
          f"load {os.getloadavg()[0]:.1f}; the full run of {total}: about {projected / 60:.1f} min at this load, "
          f"{idle / 60:.1f} min from the CPU spent on {workers} idle core(s)")
    return projected


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", type=Path, default=DEFAULT)
    ap.add_argument("--module", action="append", help="only these modules' mutants (repeatable)")
    ap.add_argument("--sample", type=int, default=24, help="mutants the corpus method runs (default 24)")
    ap.add_argument("--baseline", type=int, default=4,
                    help="of those, how many the baseline runs too (default 4: about 15 CPU s each)")
    ap.add_argument("--exhaustive", type=int, default=0, metavar="N",
                    help="of the sample, how many replay every sequence of the corpus too, whose verdicts "
                         "must be the corpus method's (default 0)")
    ap.add_argument("--compile", type=int, default=0, metavar="N",
                    help="of the sample, how many to compile cold both ways (Vyper's pipeline and the "
                         "deployment-only one), comparing CPU and output (default 0)")
    ap.add_argument("--breakdown", action="store_true",
                    help="replay the sample again in this process with a cold compile cache and print, by fate, "
                         "the CPU of compiling and of replaying")
    ap.add_argument("--floor", action="store_true",
                    help="with --compile N and --breakdown: print the least CPU the full run can take (every "
                         "mutant compiled cold, the survivors' steps at one step's cost) against the 10-minute "
                         "target")
    ap.add_argument("--against", metavar="REV",
                    help="replay the sample with this tree's code and git revision REV's at once, comparing "
                         "the CPU by fate and the verdicts")
    ap.add_argument("--replay-worker", nargs=2, type=Path, metavar=("CORPUS", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scaling", action="store_true", help="also time the corpus method on one worker")
    args = ap.parse_args()

    if args.replay_worker:
        return _replay_worker(args.impl, args.sample, args.seed, *args.replay_worker)
    binding, spec = load_implementation(args.impl)
    every = [m for module, f in targets(binding) if not args.module or module in args.module
             for m in mutations(module, f)]
    chosen = select(every, args.sample, args.seed)
    print(f"{args.impl}: {len(every)} mutants; a sample of {len(chosen)}, {args.workers} worker(s), "
          f"load {os.getloadavg()[0]:.1f}")

    if args.floor and not (args.compile and args.breakdown):
        ap.error("--floor needs --compile N and --breakdown")
    status = 0
    compile_each = 0.0
    if args.compile:
        differ, compile_each = compile_both_ways(chosen[: args.compile])
        status = 1 if differ else 0

    corpora: list[Corpus] = []
    report, wall, cpu, corpus = timed(spec, binding, chosen, method="corpus", workers=args.workers, seed=args.seed,
                                      corpora=corpora)
    print(f"   corpus: the unmutated campaign drawn in {corpus:.1f} s; killed {len(report.killed)}, "
          f"survived {len(report.survived)} ({len(report.unreached)} reached by no sequence), "
          f"stillborn {len(report.stillborn)}")
    fast = line("corpus", len(chosen), wall, cpu, len(every), args.workers, fixed=corpus)

    if args.exhaustive:
        mine, every_sequence = fates(report), exhaustive(spec, binding, corpora[0], chosen[: args.exhaustive])
        differ = [k for k in every_sequence if mine.get(k) != every_sequence[k]]
        for k in differ:
            status = 1
            print(f"  VERDICTS DIFFER: {k}: corpus {mine.get(k)}, every sequence {every_sequence[k]}")
        if not differ:
            print(f"  the {len(every_sequence)} verdicts of the corpus method and of every sequence agree")

    if args.breakdown:
        by_fate = breakdown(spec, binding, corpora[0], chosen)
        if args.floor:
            floor(spec, binding, len(every), compile_each, by_fate)

    if args.against:
        status = 1 if against(args.against, args.impl, args.sample, args.seed, corpora[0]) else status

    if args.baseline:
        base_chosen = chosen[: args.baseline]
        base, bwall, bcpu, _ = timed(spec, binding, base_chosen, method="campaign", workers=args.workers,
                                     seed=args.seed)
        slow = line("baseline", len(base_chosen), bwall, bcpu, len(every), args.workers)
        print(f"    ratio: the corpus method's full run is {slow / fast:.1f}x faster")
        mine, theirs = fates(report), fates(base)
        differ = [k for k in theirs if mine.get(k) != theirs[k]]
        if differ:
            status = 1
            for k in differ:
                print(f"  VERDICTS DIFFER: {k}: corpus {mine.get(k)}, own campaign {theirs[k]}")
        else:
            print(f"  the {len(theirs)} verdicts of both methods agree")

    if args.scaling:
        # after the run above (which compiled the mutants and the originals): the sample again on one worker,
        # then on --workers, each with no memory of earlier kills (conformance.mutate.replay_order)
        runs = []
        for n in (1, args.workers):
            _KILLERS.clear()
            TIMINGS.clear()
            before, own = os.getloadavg()[0], own_cpu()
            report, w, c, _ = timed(spec, binding, chosen, method="corpus", workers=n, seed=args.seed)
            critical, serial = critical_cpu(TIMINGS, own_cpu() - own)
            runs.append((w, c, critical, fates(report)))
            print(f"  scaling: {n} worker(s): {w:.1f} s wall, {c:.1f} CPU s, of which {critical:.1f} one after "
                  f"another ({serial:.1f} s serial in this process, then the busiest worker's) "
                  f"(load {before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores)")
            for fn, workers in worker_cpu(TIMINGS).items():
                print(f"           {fn}: CPU s by worker {', '.join(f'{c:.1f}' for c in workers.values())}")
        (one, one_cpu, one_critical, one_fates), (many, many_cpu, many_critical, many_fates) = runs
        print(f"  scaling: {one / many:.2f}x in wall time on {args.workers} workers; "
              f"{one_critical / many_critical:.2f}x by CPU (one worker's CPU over the N workers' CPU one after "
              f"another: the wall-time speed-up on idle cores); the CPU spent {many_cpu / one_cpu:.2f}x the one "
              f"worker's")
        if many_fates != one_fates:
            status = 1
            print(f"  VERDICTS DIFFER between 1 and {args.workers} workers: "
                  f"{sorted(k for k in one_fates if many_fates.get(k) != one_fates[k])}")
        else:
            print(f"  the {len(one_fates)} verdicts on 1 and {args.workers} workers agree")
    return status


if __name__ == "__main__":
    sys.exit(main())
