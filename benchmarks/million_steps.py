"""A campaign of a million steps (or any number) across the bundled protocol,
with its progress printed as it goes.

It is one ``run_campaign`` (every starting state of the binding, shards of
25 sequences with their own seeds, ``--workers`` processes), so its result is
the one ``imospec conform --examples N`` gives for the same seed. Each line
says how many shards and steps are done, the steps/s so far, the time left
at that rate and the load average (the machine is shared); the last says
whether every step agreed, and the whole time. Usage:

    nice -n 10 python benchmarks/million_steps.py [--impl BINDING] [--steps-total 1000000]
        [--workers N] [--seed S] [--backend pyrevm] > million.log
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from conformance.binding import load_implementation
from conformance.parallel import default_workers
from conformance.runner import ShardResult, plan_shards, run_campaign

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "evm_backend" / "contracts" / "binding.json"
# a sequence of up to 25 steps runs about 26 of them on average on the bundled binding, counting the
# clock moves and the steps that make its starting state (session 13: 982,504 steps in 37,794
# sequences); the campaign draws this many sequences per million steps
STEPS_PER_SEQUENCE = 26


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", type=Path, default=DEFAULT)
    ap.add_argument("--steps-total", type=int, default=1_000_000, help="steps wanted (default a million)")
    ap.add_argument("--steps", type=int, default=25, help="steps per sequence (default 25)")
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="pyrevm")
    ap.add_argument("--every", type=int, default=20, help="print a line every N shards (default 20)")
    args = ap.parse_args()
    started = time.perf_counter()
    binding, spec = load_implementation(args.impl)
    examples = -(-args.steps_total // STEPS_PER_SEQUENCE)
    shards = len(plan_shards(len(binding.starts), examples, args.seed))
    print(f"{examples} sequences of up to {args.steps} steps, {shards} shards, {args.workers} worker(s), "
          f"{args.backend}, seed {args.seed}", flush=True)
    done = {"shards": 0, "steps": 0}

    def progress(r: ShardResult) -> None:
        done["shards"] += 1
        done["steps"] += r.stats.steps
        if done["shards"] % args.every == 0 or r.divergence is not None:
            elapsed = time.perf_counter() - started
            rate = done["steps"] / elapsed
            left = (shards - done["shards"]) * done["steps"] / done["shards"] / rate
            print(f"{done['shards']}/{shards} shards, {done['steps']} steps, {elapsed:.0f} s, {rate:.0f} steps/s, "
                  f"about {left / 60:.0f} min left, load {os.getloadavg()[0]:.1f}", flush=True)

    result = run_campaign(spec, binding, backend=args.backend, examples=examples, steps=args.steps, seed=args.seed,
                          shrink=False, workers=args.workers, on_shard=progress,
                          fixture_dir=Path(".imospec-cache/fixtures"))
    elapsed = time.perf_counter() - started
    verdict = "clean: the model and the EVM agree on every step" if result.ok else \
        f"DIVERGED (fixture {result.fixture})"
    print(f"{result.stats.steps} steps in {result.stats.examples} sequences, {elapsed:.0f} s "
          f"({result.stats.steps / elapsed:.0f} steps/s), load {os.getloadavg()[0]:.1f}: {verdict}", flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
