"""Conformance throughput against the raw EVM call rate, measured in one run.

For each backend (py-evm, pyrevm) it prints, from the same run:

- raw: the contract calls of a recorded campaign, no model, no comparison
  (the best of three, alternating with the next figure);
- one step: the same steps through ``Harness.run`` (model + EVM + the
  comparison of outcome, events and the whole storage state);
- whole campaign: one seeded ``run_campaign`` (hypothesis drawing the steps,
  the views, the sweeps, the resets between sequences; start-up apart) in
  this process, and its ratio to the raw rate (the targets: 1,500 steps/s
  on pyrevm; half the raw rate on py-evm); also per second of this
  process's CPU time, which other processes on a shared machine change less
  than the wall clock, with the load average beside it;
- where a campaign step's time goes: generation (hypothesis and the
  machine's draws, with their dry runs on the model), model, EVM,
  comparison, views, and the rest of the harness; and its CPU time, which
  other processes on a shared machine change less than the wall clock;
- start-up: loading the spec, deploying both sides and the prelude, the
  edge deployments.

``--linear 1000,10000,100000`` times campaigns of that many steps on pyrevm
(one worker): the steps/s must not fall as a campaign grows.
``--scaling N`` times one campaign of N steps on one worker and on every
core, and prints the speed-up two ways: by wall time, and by CPU (the one
worker's CPU seconds over those of the N-worker run that must run one after
another: its serial part in this process, then the busiest worker's; see
``conformance.parallel.critical_cpu``), which a loaded machine changes
little; and whether both found the same.
``--baseline REV`` is an A/B run: the whole campaign (start-up apart) on
pyrevm, in a fresh process each time, of git revision REV (exported to a
temporary directory) and of this tree, alternating (A B, then B A, ...)
for ``--rounds`` rounds; it prints each run's steps per CPU second and the
load, the median ratio B/A, and whether both trees drew the same steps (a
digest of every step). Usage:

    python benchmarks/conformance_throughput.py [--impl BINDING] [--examples N] [--steps N]
        [--linear 1000,10000] [--scaling 5000] [--backends pyrevm,py-evm] [--baseline REV [--rounds N]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.binding import load_implementation
from conformance.harness import Harness, Step, StepReport, to_checksum
from conformance.parallel import TIMINGS, critical_cpu, default_workers, worker_cpu
from conformance.runner import ShardRunner, pin_constant_pool, plan_shards, run_campaign

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "evm_backend" / "contracts" / "binding.json"
TINY = ROOT / "tests" / "conformance" / "fixtures" / "tiny" / "impl" / "binding.json"
REPEATS = 3
SEED = 7


def record(spec, binding, backend: str, examples: int, steps: int) -> list[Step]:  # type: ignore[no-untyped-def]
    trace: list[Step] = []

    def keep(report: StepReport) -> None:
        if report.step.kind == "action":
            trace.append(report.step)

    run_campaign(spec, binding, backend=backend, examples=examples, steps=steps, seed=SEED, on_step=keep)
    return trace


def conformance_rate(spec, binding, backend: str, trace: list[Step]) -> float:  # type: ignore[no-untyped-def]
    h = Harness(spec, binding, backend)
    start = time.perf_counter()
    for step in trace:
        h.run(step)
    return len(trace) / (time.perf_counter() - start)


def raw_rate(spec, binding, backend: str, trace: list[Step],  # type: ignore[no-untyped-def]
             clock: Callable[[], float] = time.perf_counter) -> float:
    """The recorded steps' contract calls per second of ``clock`` (the wall
    clock, or ``time.process_time`` for CPU time): no model, no comparison."""
    h = Harness(spec, binding, backend)
    calls = []
    for step in trace:
        decl = h.spec.modules[step.module].actions[step.action]
        args = [h.abi_value(h.model_value(a, t), t) for a, (_, t) in zip(step.args, decl.params, strict=True)]
        calls.append((to_checksum(h.addresses[step.module]), h.binding.modules[step.module].name(step.action),
                      args, to_checksum(step.caller)))
    start = clock()
    for address, fn, args, sender in calls:
        h.backend.transact(address, fn, args, sender=sender)
    return len(calls) / (clock() - start)


class Clock:
    """Time spent in each part of a campaign, each part's own (exclusive)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.stack: list[str] = ["generation"]
        self.mark = time.perf_counter()

    def _switch(self, to: str | None) -> None:
        now = time.perf_counter()
        self.spent[self.stack[-1]] += now - self.mark
        self.mark = now
        if to is None:
            self.stack.pop()
        else:
            self.stack.append(to)

    def wrap(self, obj: Any, name: str, part: str | Callable[[], str]) -> None:
        inner = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._switch(part() if callable(part) else part)
            try:
                return inner(*args, **kwargs)
            finally:
                self._switch(None)

        setattr(obj, name, timed)


def campaign_breakdown(spec, binding, backend: str, examples: int, steps: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One whole campaign in this process, timed part by part."""
    pin_constant_pool()
    t0 = time.perf_counter()
    runner = ShardRunner(spec, binding, backend, steps=steps)
    t1 = time.perf_counter()
    assert runner.deployment() is None, "the deployment diverged"  # with the edge deployments
    t2 = time.perf_counter()
    h = runner.harness
    clock = Clock()
    clock.wrap(h, "run", "harness")
    clock.wrap(h.model, "execute", lambda: "model" if clock.stack[-1] == "harness" else "generation")
    clock.wrap(h.backend, "transact", "EVM")
    for name in ("compare_outcome", "compare_changes", "compare_state", "sweep", "start_from", "reset"):
        clock.wrap(h, name, "comparison" if name.startswith(("compare", "sweep")) else "harness")
    clock.wrap(h, "compare_views", "views")
    clock.mark = time.perf_counter()
    cpu = time.process_time()
    done = 0
    for shard in plan_shards(len(binding.starts), examples, SEED):
        result = runner.run(shard)
        assert result.divergence is None, f"the campaign diverged on {backend}"
        done += result.stats.steps
    clock._switch("generation")
    elapsed = time.perf_counter() - t2
    return {"steps": done, "seconds": elapsed, "rate": done / elapsed, "parts": dict(clock.spent),
            "harness": t1 - t0, "edges": t2 - t1, "cpu": time.process_time() - cpu}


def whole_rate(spec, binding, backend: str, examples: int, steps: int, workers: int = 1) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Steps and steps/s of one campaign, start-up included."""
    start = time.perf_counter()
    result = run_campaign(spec, binding, backend=backend, examples=examples, steps=steps, seed=SEED,
                          workers=workers)
    elapsed = time.perf_counter() - start
    assert result.ok, f"the campaign diverged on {backend}: {result.divergence}"
    return result.stats.steps, result.stats.steps / elapsed


# One whole campaign on pyrevm in a fresh process of a tree (the baseline's or
# this one): its action and clock steps, the CPU seconds they took (start-up
# apart) and a digest of the steps. It uses only what both trees have.
_AB_RUN = """
import hashlib, json, os, sys, time
from pathlib import Path
from conformance.binding import load_implementation
from conformance.runner import ShardRunner, pin_constant_pool, plan_shards
impl, examples, steps, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
binding, spec = load_implementation(impl)
pin_constant_pool()
lines = []
runner = ShardRunner(spec, binding, "pyrevm", steps=steps, on_step=lambda r: lines.append(r.step.describe()))
assert runner.deployment() is None, "the deployment diverged"
load = os.getloadavg()[0]
cpu, wall = time.process_time(), time.perf_counter()
done = 0
for shard in plan_shards(len(binding.starts), examples, seed):
    result = runner.run(shard)
    assert result.divergence is None, "the campaign diverged"
    done += result.stats.steps
digest = hashlib.sha256("\\n".join(lines).encode()).hexdigest()
print(json.dumps({"steps": done, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                  "load": [load, os.getloadavg()[0]], "digest": digest}))
"""


def ab_run(tree: Path, impl: Path, examples: int, steps: int) -> dict[str, Any]:
    """One whole campaign in a fresh process of ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _AB_RUN, str(impl), str(examples), str(steps), str(SEED)],
                         cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the run in {tree} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def baseline(rev: str, rounds: int, impl: Path, examples: int, steps: int) -> None:
    """The A/B run of ``--baseline``: REV's whole campaign against this tree's, alternating."""
    with tempfile.TemporaryDirectory(prefix="imospec-baseline-") as tmp:
        base = Path(tmp)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=False)
        if archive.returncode != 0:
            raise SystemExit(f"cannot export `{rev}`: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        trees = {"A": base, "B": ROOT}
        runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
        for i in range(rounds):
            for side in ("AB" if i % 2 == 0 else "BA"):
                tree = trees[side]
                r = ab_run(tree, tree / impl.resolve().relative_to(ROOT), examples, steps)
                runs[side].append(r)
                print(f"round {i + 1} {side} ({rev if side == 'A' else 'this tree'}): {r['steps']} steps, "
                      f"{r['steps'] / r['cpu']:.0f} steps per CPU second ({r['steps'] / r['wall']:.0f} per second), "
                      f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}", flush=True)
        rate = {k: statistics.median(r["steps"] / r["cpu"] for r in v) for k, v in runs.items()}
        same = len({r["digest"] for v in runs.values() for r in v}) == 1
        print(f"whole campaign on pyrevm ({examples} x {steps}, seed {SEED}), median steps per CPU second: "
              f"A ({rev}) {rate['A']:.0f}, B (this tree) {rate['B']:.0f}, B/A {rate['B'] / rate['A']:.2f}; "
              f"the steps drawn: {'identical' if same else 'DIFFERENT'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", type=Path, default=DEFAULT if DEFAULT.exists() else TINY)
    ap.add_argument("--examples", type=int, default=30)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--backends", default="py-evm,pyrevm")
    ap.add_argument("--linear", default="", metavar="N,N,...", help="campaign sizes in steps (pyrevm)")
    ap.add_argument("--scaling", type=int, default=0, metavar="N", help="steps of the scaling campaign")
    ap.add_argument("--baseline", metavar="REV", help="A/B run against git revision REV (whole campaign, pyrevm)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the --baseline run (default 3)")
    args = ap.parse_args()
    if args.baseline:
        baseline(args.baseline, args.rounds, args.impl, args.examples, args.steps)
        return
    t = time.perf_counter()
    binding, spec = load_implementation(args.impl)
    load = time.perf_counter() - t
    backends = [b for b in args.backends.split(",") if b]
    trace = record(spec, binding, "pyrevm", args.examples, args.steps) if backends else []
    print(f"implementation {binding.name}: {len(trace)} recorded action steps; spec loaded in {load:.2f} s")
    for backend in backends:
        # the measurements alternate, REPEATS times each, and the best of each
        # counts: what runs first or second on a noisy machine does not
        raws, confs = [], []
        for _ in range(REPEATS):
            raws.append(raw_rate(spec, binding, backend, trace))
            confs.append(conformance_rate(spec, binding, backend, trace))
        raw, conf = max(raws), max(confs)
        b = campaign_breakdown(spec, binding, backend, args.examples, args.steps)
        print(f"{backend:>7}: raw {raw:8.0f} calls/s   one step {conf:8.0f} steps/s ({conf / raw:.2f} of raw)   "
              f"whole campaign {b['rate']:6.0f} steps/s ({b['rate'] / raw:.3f} of raw), "
              f"{b['steps'] / b['cpu']:.0f} steps per CPU second; load {os.getloadavg()[0]:.1f}")
        total = sum(b["parts"].values())
        parts = "  ".join(f"{k} {v / total:.0%}" for k, v in sorted(b["parts"].items(), key=lambda kv: -kv[1]))
        print(f"         a campaign step ({b['steps']} steps, {1000 * b['seconds'] / b['steps']:.2f} ms each, "
              f"{1000 * b['cpu'] / b['steps']:.2f} ms of CPU): {parts}")
        print(f"         start-up: deploy both sides and the prelude {b['harness']:.2f} s, "
              f"edge deployments {b['edges']:.2f} s")
    for size in [int(n) for n in args.linear.split(",") if n]:
        # about `size` steps (a sequence of up to 25 runs 22 to 27 steps on the bundled binding:
        # hypothesis ends some early, and a pushed step runs several)
        examples = max(1, round(size / args.steps))
        b = campaign_breakdown(spec, binding, "pyrevm", examples, args.steps)
        print(f"linear cost: {examples} x {args.steps} ({b['steps']} steps) on pyrevm, one worker, "
              f"start-up apart: {b['rate']:.0f} steps/s, {1000 * b['cpu'] / b['steps']:.2f} ms of CPU a step "
              f"({b['steps'] / b['cpu']:.0f} steps per CPU second), "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    if args.scaling:
        examples = max(1, args.scaling // args.steps)
        cores = default_workers()
        scaling_run(spec, binding, 2, args.steps, 1)  # (a warm-up: what a first run loads, forked workers inherit)
        runs = [scaling_run(spec, binding, examples, args.steps, n) for n in (1, cores)]
        for n, (_, wall, cpu, critical, serial, _) in zip((1, cores), runs, strict=True):
            print(f"scaling: {examples} x {args.steps} on pyrevm, {n} worker(s): {wall:.1f} s wall, {cpu:.1f} CPU s, "
                  f"of which {critical:.1f} one after another ({serial:.1f} s serial in this process, then the "
                  f"busiest worker's); load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        (one, one_wall, one_cpu, one_critical, _, one_found) = runs[0]
        (_, many_wall, many_cpu, many_critical, _, many_found) = runs[1]
        print(f"scaling: {one / one_wall:.0f} steps/s on 1 worker, {one / many_wall:.0f} on {cores}: "
              f"{one_wall / many_wall:.2f}x in wall time; {one_critical / many_critical:.2f}x by CPU (the wall-time "
              f"speed-up on idle cores); the CPU spent {many_cpu / one_cpu:.2f}x the one worker's")
        print(f"scaling: the same campaign on 1 and {cores} workers: {'yes' if one_found == many_found else 'NO'}")


def scaling_run(spec, binding, examples: int, steps: int, workers: int) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    """(steps, wall s, CPU s, CPU s one after another, serial CPU s in this
    process, what the campaign found) of one campaign, start-up included
    (``conformance.parallel.critical_cpu``)."""
    TIMINGS.clear()
    wall, own, total = time.perf_counter(), own_cpu(), all_cpu()
    result = run_campaign(spec, binding, backend="pyrevm", examples=examples, steps=steps, seed=SEED,
                          workers=workers)
    wall, own, total = time.perf_counter() - wall, own_cpu() - own, all_cpu() - total
    assert result.ok, f"the campaign diverged: {result.divergence}"
    critical, serial = critical_cpu(TIMINGS, own)
    for fn, by_worker in worker_cpu(TIMINGS).items():
        print(f"scaling:   {fn}: CPU s by worker {', '.join(f'{c:.1f}' for c in by_worker.values())}")
    found = (result.stats.examples, result.stats.steps, dict(result.stats.outcomes))
    return result.stats.steps, wall, total, critical, serial, found


def own_cpu() -> float:
    """CPU time of this process alone."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def all_cpu() -> float:
    """CPU time of this process and of its finished workers."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own_cpu() + children.ru_utime + children.ru_stime

if __name__ == "__main__":
    main()
