"""``imospec prove``: prove every invariant of a spec with Z3.

Wiring: the main command line calls :func:`register` with its subparsers and
dispatches ``args.func(args)``; the handler returns the exit code:

- 0: every query proved;
- 1: something refuted (or the prover and the reference model disagree, or
  the spec does not check);
- 2: something unknown and nothing refuted, or a usage error (an unknown
  ``--module`` / ``--invariant``).

``python -m verification`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from verification.outcome import Proved, Refuted, Result, Unknown

EXIT_OK = 0
EXIT_REFUTED = 1
EXIT_UNKNOWN = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="spec files or directories (default: the bundled protocol, spec/protocol)")
    p.add_argument("--module", metavar="M", help="only the rules (and ensures) of module M")
    p.add_argument("--invariant", metavar="I", help="only the invariant, lemma or theorem I (or M.I)")
    p.add_argument("--timeout", metavar="S", type=_positive_float, default=10.0,
                   help="seconds per query (default 10)")
    p.add_argument("--rlimit", metavar="N", type=_positive_int, default=20_000_000,
                   help="Z3 resource limit per query, a deterministic budget (default 20000000)")
    p.add_argument("--depth", metavar="K", type=_nonneg_int, default=3,
                   help="bounded model checking depth for refuted steps (default 3; 0 disables)")
    p.add_argument("--json", metavar="FILE", help="write one JSON record per query to FILE ('-' for stdout)")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write .imospec-cache/proofs")
    p.add_argument("--cache-dir", metavar="DIR", help="where to cache verdicts (default .imospec-cache/proofs)")
    p.add_argument("--encoding", choices=("auto", "int", "bv"), default="auto",
                   help="integer or bit-vector encoding (auto: integers, bit-vectors when Z3 gives up)")
    p.add_argument("--jobs", metavar="N", type=_nonneg_int, default=0,
                   help="worker processes (default: one per CPU)")
    p.add_argument("--no-vacuity", action="store_true", help="skip the vacuity checks")
    p.add_argument("--no-replay", action="store_true", help="do not replay traces through the reference model")
    p.add_argument("--show-proved", action="store_true", help="list frame-proved pairs in the table too")


def register(subparsers: Any) -> None:
    """Add the ``prove`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "prove", help="prove every invariant with Z3: proved / refuted (with a trace) / unknown",
        description="Prove each invariant after init and across every action, each ensures clause and "
        "each theorem, with Z3. Refuted steps are searched for from deployment (bounded model checking) "
        "and replayed through the reference model. Exit 0 all proved, 1 something refuted, "
        "2 something unknown.",
    )
    add_arguments(p)
    p.set_defaults(func=handle)


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return v


def _positive_int(s: str) -> int:
    v = _nonneg_int(s)
    if v == 0:
        raise argparse.ArgumentTypeError("must be positive")
    return v


def _nonneg_int(s: str) -> int:
    try:
        v = int(s.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return v


class Progress:
    """Live progress on stderr: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, total_hint: int = 0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("proving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=Console(file=self.stream),
                                 transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def update(self, done: int, total: int, r: Result) -> None:
        label = f"{_verdict(r)} {r.job.rule_label} × {r.job.action_label}"
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(label, total=total)
            self._bar.update(self._task, completed=done, total=total, description=label)
        else:
            print(f"[{done}/{total}] {label} ({r.seconds:.2f}s{', cached' if r.cached else ''})",
                  file=self.stream, flush=True)


def _verdict(r: Result) -> str:
    o = r.outcome
    if r.job.kind.startswith("vacuity"):
        return "warning" if r.warning else "ok"
    if isinstance(o, Proved):
        return "proved" + (" (conditional)" if r.conditional_on else "")
    if isinstance(o, Refuted):
        return "refuted"
    assert isinstance(o, Unknown)
    return f"unknown ({o.reason})"


def handle(args: argparse.Namespace) -> int:
    """Run ``imospec prove`` with parsed arguments; return the exit code."""
    from spec.diagnostics import render
    from spec.driver import BUNDLED_PROTOCOL, load_spec
    from verification.runner import Options, SelectionError, prove

    paths = list(args.paths) or [str(BUNDLED_PROTOCOL)]
    loaded = load_spec(paths)
    if not loaded.ok or loaded.spec is None:
        for d in loaded.diagnostics:
            print(render(d, loaded.sources), file=sys.stderr)
        print("the spec has errors; run `imospec check` for details", file=sys.stderr)
        return EXIT_REFUTED
    options = Options(
        paths=paths, module=args.module, invariant=args.invariant, timeout=args.timeout, rlimit=args.rlimit,
        depth=args.depth, encoding=args.encoding, cache=not args.no_cache,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None, jobs=args.jobs,
        vacuity=not args.no_vacuity, replay=not args.no_replay,
    )
    try:
        with Progress(sys.stderr) as progress:
            report = prove(options, loaded.spec, progress.update)
    except SelectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    out = sys.stdout
    print_report(report, out, show_proved=args.show_proved)
    if args.json:
        data = report_json(report)
        text = json.dumps(data, indent=2, sort_keys=False)
        if args.json == "-":
            print(text, file=out)
        else:
            try:
                Path(args.json).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                print(f"error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
                return EXIT_UNKNOWN
    return report.exit_code()


def report_json(report: Any) -> dict[str, Any]:
    import z3

    proofs = report.proofs
    return {
        "z3": z3.get_full_version(),
        "seconds": round(report.seconds, 3),
        "summary": _summary(proofs),
        "exit_code": report.exit_code(),
        "records": [r.to_json() for r in report.results],
        "warnings": report.warnings,
        "errors": report.errors,
    }


def _summary(proofs: list[Result]) -> dict[str, int]:
    out = {"proved": 0, "refuted": 0, "unknown": 0, "frame": 0, "cached": 0}
    for r in proofs:
        if isinstance(r.outcome, Proved):
            out["proved"] += 1
            if r.outcome.method == "frame":
                out["frame"] += 1
        elif isinstance(r.outcome, Refuted):
            out["refuted"] += 1
        else:
            out["unknown"] += 1
        out["cached"] += int(r.cached)
    return out


def print_report(report: Any, out: TextIO, show_proved: bool = False) -> None:
    """The final table (rule × action, outcome, time), then counterexamples,
    warnings and a summary."""
    from verification.report import render_counterexample, render_trace

    rows = [r for r in report.proofs if show_proved or not (isinstance(r.outcome, Proved)
                                                           and r.outcome.method == "frame")]
    headers = ("rule", "action", "outcome", "time", "lemmas used")
    table = [headers]
    for r in rows:
        lemmas = ""
        if isinstance(r.outcome, Proved) and r.outcome.lemmas_used:
            lemmas = ", ".join(r.outcome.lemmas_used)
        outcome = _verdict(r)
        if isinstance(r.outcome, Unknown) and r.outcome.reason in ("incomplete", "unsupported") and r.outcome.detail:
            outcome += f": {r.outcome.detail[:60]}"
        if isinstance(r.outcome, Refuted) and r.bmc:
            st = r.bmc.get("status")
            outcome += {"reachable": f" (reachable in {r.bmc.get('depth')})",
                        "unreachable": f" (CTI, unreachable in {r.bmc.get('depth')})"}.get(str(st), f" (search {st})")
        time_s = f"{r.seconds:.2f}s" + ("*" if r.cached else "")
        table.append((r.job.rule_label, r.job.action_label, outcome, time_s, lemmas))
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w for w in widths), file=out)
    refuted = [r for r in report.proofs if isinstance(r.outcome, Refuted)]
    for r in refuted:
        assert isinstance(r.outcome, Refuted)
        print(file=out)
        after = "" if r.job.kind == "theorem" else f" after {r.job.action_label}"
        print(f"refuted: {r.job.rule_label}{after}", file=out)
        print(render_counterexample(r.outcome.counterexample), file=out)
        if r.bmc:
            print(render_trace(r.bmc), file=out)
    for r in report.results:
        if r.error:
            print(f"\nerror: {r.error}", file=out)
    for w in report.warnings:
        print(f"\nwarning: {w}", file=out)
    conditional = [r for r in report.proofs if r.conditional_on]
    for r in conditional:
        print(f"\nnote: {r.job.rule_label} × {r.job.action_label} is proved assuming "
              f"{', '.join(r.conditional_on)}, which is not proved", file=out)
    s = _summary(report.proofs)
    print(f"\n{s['proved']} proved ({s['frame']} by the frame rule), {s['refuted']} refuted, "
          f"{s['unknown']} unknown; {len(report.warnings)} warning(s); {s['cached']} cached; "
          f"{report.seconds:.1f}s", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m verification``: the ``prove`` command on its own."""
    parser = argparse.ArgumentParser(prog="imospec prove", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return handle(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
