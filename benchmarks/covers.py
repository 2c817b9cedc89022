"""Benchmark: what the covers add to a cold ``imospec prove``, and what they cost against a baseline.

    .venv/bin/python benchmarks/covers.py [--seed S] [--walks N] [--steps N] [--no-prove] [--jobs N]
    .venv/bin/python benchmarks/covers.py --baseline DIR [--rounds R] [--seed S]

In one run, on the bundled protocol: the witness search of every cover
(explicit and generated) at the given budget, then (unless ``--no-prove``) a
cold prove of the same spec with a fresh cache directory. Prints both times,
the covers' share of the total, the goals met, and the model steps per second.

With ``--baseline DIR`` (a checkout of another version, such as ``git archive
main | tar -x -C DIR``): the covers stage alone, of that version and of this
one, in turns, ``--rounds`` times each, each in a fresh process (the spec
loaded before the clock starts). Prints, for each, the goals met, stated
unreachable and unmet, the model steps, and the CPU seconds of the search
(the process's own time, so other load on the machine counts less than in
wall time), then the median ratio this/baseline. The budget (walks, steps,
aimed tries) is counted, not timed: a version that only runs faster meets
the same goals with the same model steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance.witness import DEFAULT_STEPS, DEFAULT_WALKS, CoverSettings  # noqa: E402
from imospec_cli.pipeline import Pipeline  # noqa: E402
from verification.runner import Options  # noqa: E402

#: Run in a child process whose ``sys.path`` starts at one version's tree.
CHILD = """
import json, sys, time
from conformance.witness import CoverSettings
from imospec_cli.pipeline import Pipeline
p = Pipeline()
p.spec
c0, w0 = time.process_time(), time.perf_counter()
r = p.covers(CoverSettings(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
print(json.dumps({"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0, "steps": r.steps,
                  "met": len(r.met), "excused": len(r.excused), "unmet": len(r.unmet)}))
"""


def _child(tree: Path, seed: int, walks: int, steps: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(seed), str(walks), str(steps)], cwd=tree, env=env,
                         check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def against(baseline: Path, rounds: int, seed: int, walks: int, steps: int) -> None:
    """The covers stage of ``baseline`` and of this tree, in turns; figures and the median CPU ratio."""
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    for _ in range(rounds):
        for name, tree in (("baseline", baseline), ("this", ROOT)):
            runs[name].append(_child(tree, seed, walks, steps))
    for name, figs in runs.items():
        f = figs[0]
        cpus = ", ".join(f"{x['cpu']:.1f}" for x in figs)
        walls = ", ".join(f"{x['wall']:.1f}" for x in figs)
        print(f"{name:<8} {int(f['met'])} met, {int(f['excused'])} stated unreachable, {int(f['unmet'])} unmet; "
              f"{int(f['steps'])} model steps; CPU {cpus} s (wall {walls} s)")
    base = statistics.median(x["cpu"] for x in runs["baseline"])
    this = statistics.median(x["cpu"] for x in runs["this"])
    print(f"median CPU: baseline {base:.1f} s, this {this:.1f} s: ratio this/baseline {this / base:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--walks", type=int, default=DEFAULT_WALKS)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--no-prove", action="store_true")
    ap.add_argument("--baseline", type=Path, default=None, help="a checkout of the version to compare with")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each version with --baseline (default 3)")
    args = ap.parse_args()
    if args.baseline is not None:
        against(args.baseline.resolve(), args.rounds, args.seed, args.walks, args.steps)
        return
    with tempfile.TemporaryDirectory() as cache:
        p = Pipeline(options=Options(cache_dir=Path(cache), jobs=args.jobs))
        p.spec  # noqa: B018  (loading is not the covers' time)
        t0 = time.perf_counter()
        report = p.covers(CoverSettings(args.seed, args.walks, args.steps))
        covers = time.perf_counter() - t0
        print(f"covers: {len(report.met)} of {len(report.goals)} goals met, {len(report.excused)} stated "
              f"unreachable; {report.steps} model steps in {covers:.1f}s ({report.steps / covers:.0f} steps/s)")
        if args.no_prove:
            return
        t0 = time.perf_counter()
        proofs = p.prove()
        cold = time.perf_counter() - t0
        print(f"cold prove: {cold:.1f}s ({len(proofs.proofs)} verdicts, exit {proofs.exit_code()})")
        print(f"covers add {covers:.1f}s: {100 * covers / (cold + covers):.0f}% of prove + covers "
              f"({cold + covers:.1f}s), ratio covers/prove {covers / cold:.2f}")


if __name__ == "__main__":
    main()
