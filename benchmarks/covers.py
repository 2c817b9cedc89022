"""Benchmark: what the covers add to a cold ``imospec prove``.

    .venv/bin/python benchmarks/covers.py [--seed S] [--walks N] [--steps N] [--no-prove] [--jobs N]

In one run, on the bundled protocol: the witness search of every cover
(explicit and generated) at the given budget, then (unless ``--no-prove``) a
cold prove of the same spec with a fresh cache directory. Prints both times,
the covers' share of the total, the goals met, and the model steps per second.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--walks", type=int, default=DEFAULT_WALKS)
    ap.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--no-prove", action="store_true")
    args = ap.parse_args()
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
