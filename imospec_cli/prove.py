"""``imospec prove``: prove every invariant of a spec with Z3.

Exit codes (see :mod:`imospec_cli.exits`):

- 0: every query proved;
- 1: something refuted (or the prover and the reference model disagree, or
  the spec does not check);
- 2: something unknown and nothing refuted, or a usage error (an unknown
  ``--module`` / ``--invariant``);
- 3: a query crashed (an internal error of imospec; the traceback goes to
  ``.imospec-cache/crash.log``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imospec_cli.exits import EXIT_FAIL, EXIT_INTERNAL, EXIT_UNKNOWN, write_crash_log
from verification.outcome import Proved, Refuted, Result, Unknown

if TYPE_CHECKING:
    from imospec_cli.pipeline import Pipeline
    from verification.runner import Options, Report

# kept in step with verification.outcome.DEFAULT_TIMEOUT / DEFAULT_RLIMIT (a test checks),
# so that building the parser does not import the prover
DEFAULT_TIMEOUT = 300.0
DEFAULT_RLIMIT = 40_000_000


def add_budget_arguments(p: argparse.ArgumentParser) -> None:
    """``--timeout``, ``--rlimit``, ``--no-cache`` and ``--cache-dir`` (shared by ``prove`` and ``verify``)."""
    p.add_argument("--rlimit", metavar="N", type=_positive_int, default=DEFAULT_RLIMIT,
                   help="Z3 resource limit per query: the deterministic budget that decides, the same on any "
                        f"machine however loaded (default {DEFAULT_RLIMIT})")
    p.add_argument("--timeout", metavar="S", type=_positive_float, default=DEFAULT_TIMEOUT,
                   help="wall-clock seconds per query, a safety net only (default "
                        f"{DEFAULT_TIMEOUT:g}); a verdict it decides is 'unknown (timeout)' and never cached")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write .imospec-cache/proofs")
    p.add_argument("--cache-dir", metavar="DIR", help="where to cache verdicts (default .imospec-cache/proofs)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``imospec prove``."""
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="spec files or directories (default: the bundled protocol, spec/protocol)")
    p.add_argument("--module", metavar="M", help="only the rules (and ensures) of module M")
    p.add_argument("--invariant", metavar="I", help="only the invariant, lemma or theorem I (or M.I)")
    add_budget_arguments(p)
    p.add_argument("--depth", metavar="K", type=_nonneg_int, default=3,
                   help="bounded model checking depth for refuted steps (default 3; 0 disables)")
    p.add_argument("--json", metavar="FILE", help="write one JSON record per query to FILE ('-' for stdout)")
    p.add_argument("--encoding", choices=("auto", "int", "bv"), default="auto",
                   help="integer or bit-vector encoding (auto: integers, bit-vectors when Z3 gives up)")
    p.add_argument("--jobs", metavar="N", type=_nonneg_int, default=0,
                   help="worker processes (default: one per CPU)")
    p.add_argument("--no-vacuity", action="store_true", help="skip the vacuity checks")
    p.add_argument("--no-replay", action="store_true", help="do not replay traces through the reference model")
    p.add_argument("--show-proved", action="store_true", help="list frame-proved pairs in the table too")
    add_cover_arguments(p)


def add_cover_arguments(p: argparse.ArgumentParser) -> None:
    """The witness search's arguments (shared by ``prove`` and ``mutate --spec``)."""
    p.add_argument("--no-covers", action="store_true",
                   help="skip the covers (explicit `cover`s; generated: every public action succeeds, every "
                        "`require` passes and fails, every phase gate admits and refuses)")
    p.add_argument("--cover-seed", metavar="S", type=_nonneg_int, default=0,
                   help="seed of the witness runs (default 0; the result is the same for a seed)")
    p.add_argument("--cover-walks", metavar="N", type=_positive_int, default=12,
                   help="random walks from each starting state (default 12)")
    p.add_argument("--cover-steps", metavar="N", type=_positive_int, default=30,
                   help="steps per walk (default 30)")
    p.add_argument("--witness", metavar="KEY", action="append", default=[],
                   help="print the witness trace of a cover (`reserve.redeem_whole_capacity`, "
                        "`reserve.redeem:succeeds`, `reserve.redeem:require ZERO_AMOUNT:fails`; 'all' for every one)")


def register(subparsers: Any) -> None:
    """Add the ``prove`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "prove", help="prove every invariant with Z3: proved / refuted (with a trace) / unknown",
        description="Prove each invariant after init and across every action, each ensures clause and "
        "each theorem, with Z3. Refuted steps are searched for from deployment (bounded model checking) "
        "and replayed through the reference model. Exit 0 all proved, 1 something refuted, "
        "2 something unknown, 3 internal error.",
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


def options_from(args: argparse.Namespace) -> Options:
    """The prover's options from parsed arguments (``prove``'s or ``verify``'s)."""
    from verification.runner import Options

    return Options(
        module=getattr(args, "module", None), invariant=getattr(args, "invariant", None), timeout=args.timeout,
        rlimit=args.rlimit, depth=getattr(args, "depth", 3), encoding=getattr(args, "encoding", "auto"),
        cache=not args.no_cache, cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        jobs=getattr(args, "jobs", 0), vacuity=not getattr(args, "no_vacuity", False),
        replay=not getattr(args, "no_replay", False),
    )


def cover_settings_from(args: argparse.Namespace) -> Any:
    """The witness search's settings from parsed arguments, or None with ``--no-covers``."""
    from conformance.witness import CoverSettings

    if getattr(args, "no_covers", False):
        return None
    return CoverSettings(seed=getattr(args, "cover_seed", 0), walks=getattr(args, "cover_walks", 12),
                         steps=getattr(args, "cover_steps", 30))


def handle(args: argparse.Namespace) -> int:
    """Run ``imospec prove`` with parsed arguments; return the exit code."""
    from imospec_cli.exits import worst
    from imospec_cli.pipeline import Pipeline

    pipeline = Pipeline(args.paths or None, options=options_from(args))
    code = run(pipeline, sys.stdout, json_to=args.json, show_proved=args.show_proved)
    settings = cover_settings_from(args)
    if settings is None or args.invariant is not None or code in (EXIT_INTERNAL,) or not pipeline.ok:
        return code
    return worst([code, run_covers(pipeline, sys.stdout, settings, module=args.module, witnesses=args.witness)])


def run_covers(pipeline: Pipeline, out: TextIO, settings: Any, *, module: str | None = None,
               witnesses: Sequence[str] = ()) -> int:
    """Meet the spec's covers with witness runs; print the unmet ones at their
    source (and the witnesses asked for); 1 when one is unmet, else 0."""
    from spec.diagnostics import render

    report = pipeline.covers(settings)
    goals = [g for g in report.goals if module is None or g.module == module]
    keys = {g.key for g in goals}
    met = [g for g in goals if g.key in report.met]
    diags = [d for d in report.diagnostics() if module is None or d.span is None
             or any(d.span == g.span for g in goals)]
    print(f"\n== covers ({len(goals)} goals; seed {settings.seed}, {settings.walks} walks x {settings.steps} steps "
          f"from each starting state)", file=out)
    for d in diags:
        print(render(d, pipeline.spec.sources), file=out)
    for key in witnesses:
        chosen = sorted(k for k in report.met if k in keys) if key == "all" else [key]
        for k in chosen:
            w = report.met.get(k)
            if w is None:
                known = "not met" if k in keys else "no such cover"
                print(f"witness {k}: {known}", file=out)
                continue
            print(f"witness {k}:\n{w.render()}", file=out)
    excused = [g for g in report.excused if g.key in keys]
    errors = sum(1 for d in diags if d.is_error)
    print(f"{len(met)} met, {len(excused)} stated unreachable in the spec; {errors} error(s), "
          f"{len(diags) - errors} warning(s); {report.steps} model steps, {report.seconds:.1f}s", file=out)
    return EXIT_FAIL if errors else 0


def run(pipeline: Pipeline, out: TextIO, *, json_to: str | None = None, show_proved: bool = False) -> int:
    """Prove the pipeline's spec, print the table and summary; return the exit code."""
    from spec.driver import SpecHasErrors
    from verification.runner import SelectionError

    try:
        with Progress(sys.stderr) as progress:
            report = pipeline.prove(progress.update)
    except SpecHasErrors as exc:
        print(exc.report, file=sys.stderr)
        print("the spec has errors; run `imospec check` for details", file=sys.stderr)
        return EXIT_FAIL
    except SelectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    print_report(report, out, show_proved=show_proved, options=pipeline.options, paths=given_paths(pipeline))
    if json_to:
        text = json.dumps(report_json(report), indent=2, sort_keys=False)
        if json_to == "-":
            print(text, file=out)
        else:
            try:
                Path(json_to).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                print(f"error: cannot write {json_to}: {exc.strerror}", file=sys.stderr)
                return EXIT_UNKNOWN
    if report.crashes:
        where = write_crash_log("\n".join(r.crash or "" for r in report.crashes))
        print(f"imospec: internal error in {len(report.crashes)} proof quer{'y' if len(report.crashes) == 1 else 'ies'}"
              f"{where}", file=sys.stderr)
        return EXIT_INTERNAL
    return report.exit_code()


def given_paths(pipeline: Pipeline) -> list[str]:
    """The spec paths to repeat in a retry command: none for the bundled protocol."""
    from spec.driver import BUNDLED_PROTOCOL

    paths = [str(p) for p in pipeline.paths]
    return [] if [Path(p).resolve() for p in paths] == [BUNDLED_PROTOCOL.resolve()] else paths


def report_json(report: Report) -> dict[str, Any]:
    """The whole report as JSON-ready data (``--json``)."""
    from verification.runner import z3_version

    proofs = report.proofs
    return {
        "z3": z3_version(),
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


def print_report(report: Report, out: TextIO, show_proved: bool = False, options: Options | None = None,
                 paths: Sequence[str] = ()) -> None:
    """The final table (rule × action, outcome, time), then counterexamples,
    warnings, each unknown query with the command that retries it with a
    larger budget, and a summary."""
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
            st = r.bmc.status
            outcome += {"reachable": f" (reachable in {r.bmc.depth})",
                        "unreachable": f" (CTI, unreachable in {r.bmc.depth})"}.get(st, f" (search {st})")
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
    for line in retry_lines(report, options, paths):
        print(line, file=out)
    s = _summary(report.proofs)
    print(f"\n{s['proved']} proved ({s['frame']} by the frame rule), {s['refuted']} refuted, "
          f"{s['unknown']} unknown; {len(report.warnings)} warning(s); {s['cached']} cached; "
          f"{report.seconds:.1f}s", file=out)


def retry_command(r: Result, options: Options | None, paths: Sequence[str] = ()) -> str:
    """The command that retries one unknown query with a larger budget: four
    times the rlimit (twice the safety net too when the timeout decided)."""
    from verification.outcome import DEFAULT_RLIMIT, DEFAULT_TIMEOUT

    rlimit = options.rlimit if options else DEFAULT_RLIMIT
    timeout = options.timeout if options else DEFAULT_TIMEOUT
    job = r.job
    # ensures clauses are selected by module; rules by name
    select = f"--module {job.module}" if job.kind == "ensures" else f"--invariant {job.module}.{job.rule}"
    where = "".join(f"{shlex.quote(p)} " for p in paths)
    cmd = f"imospec prove {where}{select} --rlimit {rlimit * 4}"
    if isinstance(r.outcome, Unknown) and r.outcome.reason == "timeout":
        cmd += f" --timeout {timeout * 2:g}"
    return cmd + " --no-vacuity"


def retry_lines(report: Report, options: Options | None, paths: Sequence[str] = ()) -> list[str]:
    """One line per unknown query: what it is, why, and how to retry it."""
    unknown = [r for r in report.proofs if isinstance(r.outcome, Unknown) and r.crash is None]
    if not unknown:
        return []
    lines = ["", f"{len(unknown)} unknown quer{'y' if len(unknown) == 1 else 'ies'}; retry with a larger budget:"]
    for r in unknown:
        assert isinstance(r.outcome, Unknown)
        lines.append(f"  {r.job.rule_label} × {r.job.action_label} ({r.outcome.reason}): "
                     f"{retry_command(r, options, paths)}")
    return lines
