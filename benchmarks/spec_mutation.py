"""Spec-mutation throughput: a mutant's replay with and without the known
rule checks left out, measured in one run, and the baseline from its cache.

``imospec mutate --spec`` replays the unmutated spec's witnesses on every
mutant with every rule checked after each successful call. Where the
mutant's state equals the unmutated spec's at the same step, a rule that
reads nothing that differs has the verdict it had there (it held), and is
left out (``conformance.witness.replay_witnesses``' ``against``). On a
deterministic sample of the bundled spec's mutants (those that check) this
script replays each twice, with every check and with the known ones left
out, and prints the CPU seconds of each, their ratio and how many checks
were left out. The two replays must find the same violations and meet the
same goals: the script says so, or lists the mutants where they differ
(and exits 1).

It also times the unmutated spec's baseline (its covers' search and the
replay of its witnesses, recorded): computed, then read from the cache
(``imospec_cli.spec_mutate._baseline``); ``--cold`` ignores an existing
cache file.

The machine may be shared: every figure is printed with the load average,
and CPU seconds (this process) say what the run cost whatever the load.
Usage:

    python benchmarks/spec_mutation.py [--sample 12] [--seed 0] [--file pool.imo ...] [--cold]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    from conformance.witness import CoverSettings, goals_of, replay_witnesses
    from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
    from imospec_cli.spec_mutate import _baseline, stale_checks
    from spec.mutate import spec_mutants

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=12, help="mutants replayed (default 12)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample and of the covers' search")
    ap.add_argument("--file", action="append", help="only mutants of these spec files")
    ap.add_argument("--cold", action="store_true", help="compute the baseline even when a cache file has it")
    ap.add_argument("--cache-dir", default=None, help="the proof cache's directory (the baseline's is beside it)")
    args = ap.parse_args(argv)

    base = Pipeline.for_binding(DEFAULT_BINDING)
    covers = CoverSettings(seed=args.seed, check_rules=True)
    opts = argparse.Namespace(cache_dir=args.cache_dir, no_cache=False)
    if args.cold:
        from imospec_cli.spec_mutate import baseline_key
        from verification.cache import CACHE_DIR

        root = (Path(args.cache_dir) if args.cache_dir else CACHE_DIR).parent / "spec-baseline"
        (root / f"{baseline_key(base, covers)}.pickle").unlink(missing_ok=True)
    print(f"load average {_load()}")
    for what in ("computed" if args.cold else "computed or cached", "from the cache"):
        w0, c0 = time.perf_counter(), time.process_time()
        baseline = _baseline(base, covers, opts)
        print(f"baseline ({what}): {time.perf_counter() - w0:.1f} s wall, {time.process_time() - c0:.1f} s CPU; "
              f"{len(baseline.steps)} replayed steps recorded; load {_load()}", flush=True)

    texts = base.sources.readable
    mutants = [m for m in spec_mutants(texts) if not args.file or Path(m.file).name in args.file]
    random.Random(args.seed).shuffle(mutants)
    scenarios, binding = base.scenarios, base._cover_binding()
    rows: list[tuple[Any, float, float, int, list[str]]] = []
    differ: list[str] = []
    for m in mutants:
        if len(rows) >= args.sample:
            break
        p = Pipeline.for_binding(DEFAULT_BINDING, options=base.options)
        mtexts = dict(base.sources.texts)
        mtexts[m.file] = m.apply(mtexts[m.file] or "")
        p.__dict__["sources"] = replace(base.sources, texts=mtexts)
        if not p.ok:
            continue
        runs = []
        for against in (None, baseline.steps):
            c0 = time.process_time()
            r = replay_witnesses(p.spec, goals_of(p.spec), baseline.covers.met, binding=binding, scenarios=scenarios,
                                 check_rules=True, against=against, stale=stale_checks(p.spec, m))
            runs.append((time.process_time() - c0, r))
        (c_all, r_all), (c_known, r_known) = runs
        same = set(r_all.violations) == set(r_known.violations) and set(r_all.met) == set(r_known.met)
        if not same:
            differ.append(m.describe())
        rows.append((m, c_all, c_known, r_known.checks_known, sorted(r_all.violations)))
        print(f"  {c_all:6.1f} s -> {c_known:6.1f} s CPU (x{c_all / max(c_known, 1e-9):4.1f}), "
              f"{r_known.checks_known:6d} checks known, {len(r_all.violations)} violation(s), "
              f"{'same' if same else 'DIFFERENT'}  {m.describe()}  [load {_load()}]", flush=True)
    total_all = sum(r[1] for r in rows)
    total_known = sum(r[2] for r in rows)
    n = max(len(rows), 1)
    print(f"\n{len(rows)} mutants: replay {total_all / n:.1f} s CPU a mutant with every check, "
          f"{total_known / n:.1f} s with the known ones left out (x{total_all / max(total_known, 1e-9):.1f}); "
          f"load {_load()}")
    if differ:
        print("DIFFERENT verdicts:\n  " + "\n  ".join(differ))
        return 1
    print("the same violations and goals met on every mutant")
    return 0


if __name__ == "__main__":
    sys.exit(main())
