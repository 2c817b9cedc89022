"""The ``witnesses`` stage of ``imospec mutate --spec``: its cost per mutant,
and what running only the witness runs that may tell a mutant saves.

For a deterministic sample of the bundled spec's mutants (those that check,
of modules the binding implements) this script runs the unmutated spec's
witness runs on pyrevm against each mutant's model twice: only the runs
with a step that may run the code the mutant changes
(``imospec_cli.spec_mutate.reaching_steps``, as the stage does), and every
run. It prints the CPU seconds of each (this process), the steps run and
the verdict. The two verdicts must be the same (a run the filter leaves
out cannot diverge): the script says so, or lists the mutants where they
differ and exits 1. It also times the unmutated spec's runs, the stage's
premise, once.

The machine may be shared: every figure is printed with the load average.
Usage:

    python benchmarks/spec_mutation_witnesses.py [--sample 6] [--seed 0] [--file pool.imo ...]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    from dataclasses import replace

    from conformance.witness import CoverSettings
    from conformance.witness_conform import conform_witnesses
    from evm_backend.errors import ExecutionFailed
    from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
    from imospec_cli.spec_mutate import _baseline, reaching_steps
    from spec.mutate import spec_mutants

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample", type=int, default=6, help="mutants run (default 6)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample and of the covers' search")
    ap.add_argument("--file", action="append", help="only mutants of these spec files")
    args = ap.parse_args(argv)

    base = Pipeline.for_binding(DEFAULT_BINDING)
    covers = CoverSettings(seed=args.seed, check_rules=True)
    # (the covers' search from the baseline cache when there is one; the witness runs' premise is timed below)
    baseline = _baseline(base, covers, argparse.Namespace(cache_dir=None, no_cache=False), ("replay",))
    scenarios = base.scenarios
    c0 = time.process_time()
    premise = conform_witnesses(base.spec, base.binding, baseline.covers.met, scenarios=scenarios)
    print(f"unmutated spec: {premise.steps} steps from {premise.deployments} deployments, "
          f"{'conforms' if premise.ok else 'DIVERGES'}, {time.process_time() - c0:.1f} s CPU (load {_load()})")
    if not premise.ok:
        print(premise.render())
        return 1

    bound = set(base.binding.modules)
    mutants = [m for m in spec_mutants(base.sources.readable) if not args.file or Path(m.file).name in args.file]
    random.Random(args.seed).shuffle(mutants)
    differ: list[str] = []
    filtered_cpu: list[float] = []
    done = 0
    for m in mutants:
        if done >= args.sample:
            break
        p = Pipeline.for_binding(DEFAULT_BINDING)
        texts = dict(base.sources.texts)
        texts[m.file] = m.apply(texts[m.file] or "")
        p.__dict__["sources"] = replace(base.sources, texts=texts)
        stem = Path(m.file).stem
        if not p.ok or not any(x.name in bound for x in p.spec.modules.values()
                               if x.name == stem or stem in x.extends):
            continue
        p.spec  # noqa: B018  (the mutant's model generated before the clock starts)
        done += 1
        reach = reaching_steps(base.spec, m)
        verdicts: list[str] = []
        line = f"{m.describe()[:90]}\n   "
        for label, only in (("filtered", reach), ("every run", None)):
            if label == "every run" and reach is None:
                verdicts.append(verdicts[0])
                line += "  (every run already)"
                continue
            c = time.process_time()
            try:
                r = conform_witnesses(p.spec, p.binding, baseline.covers.met, scenarios=scenarios, reaching=only)
                verdict = "conforms" if r.ok else f"diverges ({r.goal})"
                steps = r.steps
            except ExecutionFailed as exc:  # the contracts refuse the mutant's deployment: a verdict too
                verdict, steps = f"{type(exc).__name__}", 0
            cpu = time.process_time() - c
            if label == "filtered":
                filtered_cpu.append(cpu)
            verdicts.append(verdict.split(" (")[0])
            line += f"  {label}: {steps} steps, {cpu:.1f} s CPU, {verdict[:60]}"
        print(line + f"  (load {_load()})", flush=True)
        if verdicts[0] != verdicts[1]:
            differ.append(m.describe())
    if filtered_cpu:
        ordered = sorted(filtered_cpu)
        print(f"{done} mutants: the stage's CPU a mutant (filtered): median {ordered[len(ordered) // 2]:.1f} s, "
              f"{ordered[0]:.1f} to {ordered[-1]:.1f} s")
    if differ:
        print("verdicts differ with and without the filter on:\n  " + "\n  ".join(differ))
        return 1
    print("the same verdict with and without the filter on every mutant")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
