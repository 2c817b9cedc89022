"""Benchmark: the search from the binding's deployment over a whole cone of influence.

    .venv/bin/python benchmarks/deep_search.py [--hole NAME ...] [--queries N]

For each of issue 11's two deep holes (the buyback's `min_mt_out` clause and
the flash-staked tier, 7 transactions from deployment), the bundled spec is
patched back to the old behaviour (the patches of
tests/verification/test_search.py) and `verification.fromstate.search_sequences`
runs from the bundled binding's deployment over every action of the rule's
cone of influence, two actors, the same query cap, twice in the same process:
the exhaustive walk alone (`guided=False`, the baseline) and with the guided
walk (`guided=True`, what `imospec prove` does without `--search-actions`).
Prints, for each, the verdict, the depth (of the trace found, or walked in
full), the solver queries, the wall-clock and CPU time, and the guided run's
ratios to the baseline. A verdict is the same on any machine (the queries have
a deterministic rlimit); the times measure the load as much as the search.
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

from conformance.binding import at_deployment  # noqa: E402
from conformance.simulate import ModelRun  # noqa: E402
from spec.analysis import Analysis  # noqa: E402
from tests.verification.test_search import DEPLOYED_BUDGET, DEPLOYED_HOLES, hole_binding, patched  # noqa: E402
from verification.fromstate import SequenceStats, dictionary_values, search_actions, search_sequences  # noqa: E402

DEEP = ("execute_min_mt_out", "tier_rises_only_from_held_stake")


def run(name: str, queries: int, guided: bool) -> tuple[str, int, int, float, float]:
    """One search: verdict, depth, queries, wall seconds, CPU seconds."""
    _, patch, job, depth, _, params = next(c for c in DEPLOYED_HOLES if c[0] == name)
    with tempfile.TemporaryDirectory() as tmp:
        spec = patched(Path(tmp), patch)
    binding = hole_binding(params)
    model = ModelRun(spec, at_deployment(binding))
    analysis = Analysis(spec)
    numbers = [int(v) for v in binding.params.values() if isinstance(v, int | str) and str(v).isdigit()]
    stats = SequenceStats()
    t0, c0 = time.perf_counter(), time.process_time()
    res = search_sequences(spec, analysis, job, model, None, depth, DEPLOYED_BUDGET, actors=model.actors[:2],
                           dictionary=dictionary_values(numbers), stats=stats, max_queries=queries, guided=guided)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if guided:
        print(f"  ({len(search_actions(spec, analysis, job))} actions in the cone; {res.detail})")
    return res.status, res.depth, stats.queries, wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hole", action="append", choices=DEEP, help="only this hole (repeatable; default both)")
    ap.add_argument("--queries", type=int, default=4000, help="the query cap of each search (default 4000)")
    args = ap.parse_args()
    print(f"{'hole':34} {'walk':10} {'verdict':8} {'depth':>5} {'queries':>8} {'wall s':>8} {'cpu s':>8}")
    for name in args.hole or DEEP:
        base = run(name, args.queries, guided=False)
        print(f"{name:34} {'exhaustive':10} {base[0]:8} {base[1]:5} {base[2]:8} {base[3]:8.1f} {base[4]:8.1f}")
        new = run(name, args.queries, guided=True)
        print(f"{name:34} {'guided':10} {new[0]:8} {new[1]:5} {new[2]:8} {new[3]:8.1f} {new[4]:8.1f}")
        print(f"  guided / exhaustive: queries {new[2] / max(1, base[2]):.2f}, cpu {new[4] / max(1e-9, base[4]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
