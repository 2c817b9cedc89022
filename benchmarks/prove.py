"""Benchmark: whole-protocol proof time, cold and cached.

    .venv/bin/python benchmarks/prove.py [PATH...] [--jobs N] [--timeout S] [--rlimit N] [--json FILE]
    .venv/bin/python benchmarks/prove.py --baseline REV [--rounds N] [--jobs N] [PATH...]

Copies the spec to a temporary snapshot, then runs ``imospec prove`` on it twice
with one fresh cache directory: the first run is cold (every query solved), the
second reads every verdict from the cache.
Prints the wall-clock time of each run, the load average as it ended, its CPU time (this process and its
workers: on a shared machine the wall clock measures the load as much as the
prover), and the median and worst time per solver query (queries settled by
the frame rule, which never reach Z3, are counted apart, and so are the
vacuity checks a witness run of the covers answered), and the outcome counts.
The cold run includes the witness search that answers those vacuity checks,
as `imospec prove` does.

With ``--baseline REV`` (a git revision, e.g. ``main``) it is an A/B run
instead: REV's tree is exported to a temporary directory, and a cold
``imospec prove --no-cache`` of the same spec runs once with REV's
code (A) and once with this tree's (B), each in a process of its own with
this interpreter, alternating the order over ``--rounds``. It prints each
run's wall and CPU seconds (the process and its workers) and the load
average around it, the ratio B/A of the CPU seconds, and whether both give
every obligation the same verdict: the exit status is 1 when a verdict
differs (a faster prover that proves something else is a regression), and
it reports how many solver queries spent a different rlimit (none, when a
change left every query Z3 sees untouched).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline  # noqa: E402
from spec.driver import BUNDLED_PROTOCOL, load_spec  # noqa: E402
from verification.outcome import DEFAULT_RLIMIT, DEFAULT_TIMEOUT, Proved, Refuted, Result  # noqa: E402
from verification.runner import WITNESSED, Options, Report  # noqa: E402


def _solver_results(report: Report) -> list[Result]:
    return [r for r in report.results if not (isinstance(r.outcome, Proved) and r.outcome.method == "frame")
            and not (isinstance(r.outcome, Refuted) and r.outcome.method == WITNESSED)]


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and of its finished workers so far."""
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def summarize(label: str, report: Report, wall: float, cpu: float = 0.0) -> dict[str, Any]:
    """Timing and outcome figures of one run."""
    solved = _solver_results(report)
    times = sorted(r.seconds for r in solved)
    worst = max(solved, key=lambda r: r.seconds) if solved else None
    proofs = report.proofs
    return {
        "run": label,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "witnessed_vacuity": sum(1 for r in report.results
                                 if isinstance(r.outcome, Refuted) and r.outcome.method == WITNESSED),
        "queries": len(report.results),
        "solver_queries": len(solved),
        "frame_rule": len(report.results) - len(solved),
        "cached": sum(1 for r in solved if r.cached),
        "median_seconds": round(statistics.median(times), 4) if times else 0.0,
        "worst_seconds": round(times[-1], 3) if times else 0.0,
        "worst_query": f"{worst.job.rule_label} x {worst.job.action_label}" if worst else "",
        "proved": sum(1 for r in proofs if isinstance(r.outcome, Proved)),
        "refuted": sum(1 for r in proofs if isinstance(r.outcome, Refuted)),
        "unknown": sum(1 for r in proofs if not isinstance(r.outcome, Proved | Refuted)),
        "exit_code": report.exit_code(),
    }


def verdicts(records: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], str]:
    """Each obligation of an ``imospec prove --json`` report and its outcome
    (vacuity checks, which are warnings, included)."""
    return {(r["kind"], r["module"], str(r["invariant"]), str(r["action"])): r["outcome"] for r in records}


def spent(records: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], int]:
    """The Z3 resource units each solver query spent (where the report says)."""
    return {(r["kind"], r["module"], str(r["invariant"]), str(r["action"])): r["rlimit_spent"]
            for r in records if r.get("rlimit_spent") is not None}


def run_tree(tree: Path, spec: Path | None, jobs: int, out: Path) -> dict[str, Any]:
    """A cold ``imospec prove`` of ``spec`` (None: the tree's bundled protocol,
    with its binding, as a user runs it) with the code of ``tree``, in a
    process of its own: its wall and CPU seconds, the load average around
    it, and its JSON report."""
    code = "import sys; from imospec_cli.main import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, "prove", *([str(spec)] if spec else []), "--no-cache", "--jobs", str(jobs),
           "--cache-dir", str(out.parent / "cache-unused"), "--json", str(out), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(tree))
    load0 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load1 = os.getloadavg()[0]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if not out.exists():
        raise SystemExit(f"the prover of {tree} wrote no report (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    return {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "load": (round(load0, 2), round(load1, 2)),
            "exit_code": proc.returncode, "summary": report.get("summary", {}), "records": report["records"],
            "tail": [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-2:]}


def _same_files(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and \
        all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def ab(args: argparse.Namespace, snapshot: Path, tmp: Path) -> int:
    """The A/B run of ``--baseline``: REV's prover against this tree's, same spec, same process shape.

    The bundled protocol is proved as ``imospec prove`` proves it (no path:
    with the bundled binding, whose witness runs answer vacuity checks); REV
    must bundle the same spec files, or the run stops. Other paths: the
    snapshot.
    """
    base = tmp / "baseline"
    base.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=False)
    if archive.returncode != 0:
        print(f"cannot export `{args.baseline}`: {archive.stderr.decode().strip()}", file=sys.stderr)
        return 64
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
    trees = {"A": base, "B": ROOT}
    spec: Path | None = snapshot
    if not args.paths:
        bundled = BUNDLED_PROTOCOL.resolve().relative_to(ROOT)
        binding = DEFAULT_BINDING.resolve().relative_to(ROOT)
        if not _same_files(base / bundled, ROOT / bundled) or not (base / binding).is_file() or \
                (base / binding).read_bytes() != (ROOT / binding).read_bytes():
            print(f"`{args.baseline}` bundles another spec or binding than this tree: the verdicts would not "
                  "be comparable", file=sys.stderr)
            return 64
        spec = None
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    for i in range(args.rounds):
        for side in ("AB" if i % 2 == 0 else "BA"):
            r = run_tree(trees[side], spec, args.jobs, tmp / f"{side}{i}.json")
            runs[side].append(r)
            print(f"round {i + 1} {side} ({args.baseline if side == 'A' else 'this tree'}): "
                  f"wall {r['wall_seconds']:.1f}s, cpu {r['cpu_seconds']:.1f}s, "
                  f"load {r['load'][0]:.1f} -> {r['load'][1]:.1f}, exit {r['exit_code']}, {r['summary']}"
                  + (f" ({' / '.join(r['tail'])})" if r["exit_code"] else ""), flush=True)
    cpu = {k: statistics.median(r["cpu_seconds"] for r in v) for k, v in runs.items()}
    wall = {k: statistics.median(r["wall_seconds"] for r in v) for k, v in runs.items()}
    print(f"median cpu: A {cpu['A']:.1f}s, B {cpu['B']:.1f}s, B/A {cpu['B'] / max(cpu['A'], 1e-9):.3f}; "
          f"median wall: A {wall['A']:.1f}s, B {wall['B']:.1f}s, B/A {wall['B'] / max(wall['A'], 1e-9):.3f}")
    va = verdicts(runs["A"][0]["records"])
    differ = 0
    for side, rs in runs.items():
        for r in rs:
            vb = verdicts(r["records"])
            for k in sorted(set(va) | set(vb)):
                if va.get(k) != vb.get(k):
                    differ += 1
                    print(f"verdict differs ({side}): {' '.join(k)}: {va.get(k)} vs {vb.get(k)}")
    sa, sb = spent(runs["A"][0]["records"]), spent(runs["B"][0]["records"])
    moved = sum(1 for k in sa if k in sb and sa[k] != sb[k])
    proved = sum(1 for v in va.values() if v == "proved")
    print(f"verdicts: {'identical' if not differ else f'{differ} differ'} "
          f"({len(va)} obligations, {proved} proved); solver queries whose rlimit spent differs: "
          f"{moved} of {len(set(sa) & set(sb))}")
    if args.json:
        rows = {k: [{x: y for x, y in r.items() if x != "records"} for r in v] for k, v in runs.items()}
        figures = {"baseline": args.baseline, "runs": rows, "cpu_ratio": cpu["B"] / max(cpu["A"], 1e-9),
                   "verdicts_identical": not differ}
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="spec files or directories (default: the bundled protocol)")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per CPU)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"wall-clock safety net per query (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--rlimit", type=int, default=DEFAULT_RLIMIT,
                        help=f"Z3 rlimit per query, the budget that decides (default {DEFAULT_RLIMIT})")
    parser.add_argument("--depth", type=int, default=3, help="bounded model checking depth (default 3)")
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument("--baseline", metavar="REV",
                        help="A/B run: a cold prove with REV's code against one with this tree's (see above)")
    parser.add_argument("--rounds", type=int, default=1, help="A/B rounds, alternating the order (default 1)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="imospec-bench-") as tmp:
        # a snapshot: the two runs must see the same spec even while it is being edited
        snapshot = Path(tmp) / "spec"
        snapshot.mkdir()
        for raw in args.paths or [str(BUNDLED_PROTOCOL)]:
            src = Path(raw)
            for f in sorted([*src.rglob("*.imo"), *src.glob("*.json")]) if src.is_dir() else [src]:
                shutil.copyfile(f, snapshot / f.name)
        if args.baseline:
            return ab(args, snapshot, Path(tmp))
        paths = [str(snapshot)]
        loaded = load_spec(paths)
        if not loaded.ok or loaded.spec is None:
            print("the spec has errors; run `imospec check` for details", file=sys.stderr)
            return 1
        bundled = not args.paths
        for label in ("cold", "cached"):
            opts = Options(jobs=args.jobs, timeout=args.timeout, rlimit=args.rlimit,
                           depth=args.depth, cache=True, cache_dir=Path(tmp) / "cache")
            t0, c0 = time.perf_counter(), cpu_seconds()
            # as `imospec prove`: the covers' witness runs (with the bundled
            # binding for the bundled spec) answer the vacuity checks they show
            pipeline = Pipeline([snapshot], binding=DEFAULT_BINDING if bundled else None, options=opts)
            pipeline.__dict__["spec"] = loaded.spec
            report = pipeline.prove()
            rows.append(summarize(label, report, time.perf_counter() - t0, cpu_seconds() - c0))
            rows[-1]["load"] = round(os.getloadavg()[0], 2)  # the one-minute load average as the run ended
    print(f"{'run':<7} {'wall':>8} {'cpu':>8} {'queries':>8} {'solver':>7} {'witness':>7} {'cached':>7} "
          f"{'median':>8} {'worst':>8} {'load':>5}  proved/refuted/unknown  worst query")
    for r in rows:
        print(f"{r['run']:<7} {r['wall_seconds']:>7.1f}s {r['cpu_seconds']:>7.1f}s {r['queries']:>8} "
              f"{r['solver_queries']:>7} {r['witnessed_vacuity']:>7} "
              f"{r['cached']:>7} {r['median_seconds']:>7.3f}s {r['worst_seconds']:>7.2f}s {r['load']:>5.1f}  "
              f"{r['proved']}/{r['refuted']}/{r['unknown']:<16} {r['worst_query']}")
    cold, cached = rows
    if cold["cpu_seconds"] and cached["cpu_seconds"]:
        print(f"cached/cold: wall {cached['wall_seconds'] / max(cold['wall_seconds'], 1e-9):.3f}, "
              f"cpu {cached['cpu_seconds'] / cold['cpu_seconds']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
