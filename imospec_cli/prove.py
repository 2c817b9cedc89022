"""``imospec prove``: prove every invariant of a spec with Z3.

Exit codes (see :mod:`imospec_cli.exits`):

- 0: every query proved;
- 1: something refuted (or the prover and the reference model disagree, or
  the spec does not check);
- 2: something unknown and nothing refuted;
- 3: a query crashed (an internal error of imospec; the traceback goes to
  ``.imospec-cache/crash.log``);
- 64: a usage or setup error (a missing path, no ``.imo`` file, an unknown
  ``--module`` / ``--invariant``, a bad argument).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from imospec_cli.exits import EXIT_FAIL, EXIT_INTERNAL, EXIT_USAGE, write_crash_log
from imospec_cli.progress import Progress, add_quiet_argument
from imospec_cli.usage import nonneg_int as _nonneg_int
from imospec_cli.usage import output_file, report_setup_error
from imospec_cli.usage import positive_float as _positive_float
from imospec_cli.usage import positive_int as _positive_int
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
                        f"machine however loaded (default {DEFAULT_RLIMIT}). It is split across a query's "
                        "stages: a fortieth for the query with its quantifiers instantiated (when that runs "
                        "out: an eighth for the quantified query, then a quarter for the instantiated one "
                        "again), an eighth for the pre-state pinned to a candidate, then the full query (an "
                        "eighth after a candidate, else all of it); a vacuity check gets a tenth; the bounded "
                        "search after a refutation a quarter, divided between its depths")
    p.add_argument("--timeout", metavar="S", type=_positive_float, default=DEFAULT_TIMEOUT,
                   help="wall-clock seconds, a safety net only (default "
                        f"{DEFAULT_TIMEOUT:g}): every solver call of a query (each stage above, each encoding, "
                        "each depth of the bounded search) gets the whole S, so a query may run several times "
                        "S. A verdict it decides is 'unknown (timeout)' and never cached")
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
                   help="depth of the bounded search from deployment for steps not proved, over free parameters "
                        "and then from the binding's own deployment (default 3; 0 disables it, k-induction and the "
                        "symbolic search from the binding's states, which goes min(2, K) deep)")
    p.add_argument("--json", metavar="FILE", type=output_file,
                   help="write the report to FILE ('-' for stdout) as one JSON document: the z3 version, the "
                        "summary, the exit code, and one record per query under \"records\"")
    p.add_argument("--encoding", choices=("auto", "int", "bv"), default="auto",
                   help="integer or bit-vector encoding (auto: integers, bit-vectors when Z3 gives up)")
    p.add_argument("--jobs", metavar="N", type=_nonneg_int, default=0,
                   help="worker processes (default: one per CPU)")
    p.add_argument("--no-vacuity", action="store_true", help="skip the vacuity checks")
    p.add_argument("--no-replay", action="store_true", help="do not replay traces through the reference model")
    p.add_argument("--binding", metavar="FILE",
                   help="a binding whose deployment and scenarios give the search before 'unknown' concrete "
                        "starting states (default: the bundled binding, when it fits the spec; 'none' to skip)")
    p.add_argument("--evm", choices=("py-evm", "pyrevm", "none"), default="py-evm",
                   help="the EVM a trace found from the binding's states is replayed on, as a conformance "
                        "fixture (default py-evm)")
    p.add_argument("--seed", metavar="N", type=_nonneg_int, default=0,
                   help="seed of the guided simulation on the model (default 0)")
    p.add_argument("--search-actions", metavar="M.A,...", type=_action_list,
                   help="the bounded search from the binding's deployment unrolls only these actions "
                        "(comma-separated MODULE.ACTION; default: every action in the goal's cone of influence); "
                        "it asks one sequence of them at a time, every sequence bound by bound. Without this "
                        "option a quarter of its 4,000 queries does that (about 2 transactions over a whole "
                        "cone) and the rest go to a guided walk to K transactions that extends each prefix "
                        "with what a goal regression (unsatisfiable cores: what blocks the goal's action, what "
                        "writes that, ...) reaches; it finds traces (issue 11's 7-transaction holes) but proves "
                        "no bound. A trace found is real either way; 'none' covers only the actions searched")
    p.add_argument("--show-proved", action="store_true", help="list frame-proved pairs in the table too")
    p.add_argument("--full", action="store_true",
                   help="show every state variable of a counterexample, not only those that changed or that "
                        "the violated clause reads")
    add_quiet_argument(p)
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
        "each theorem, with Z3. A step not proved is searched: from deployment (bounded model checking), "
        "by k-induction, by a guided simulation on the model from the binding's scenarios, and symbolically "
        "from those states; a trace found is replayed through the reference model and the EVM. "
        "Exit 0 all proved, 1 something refuted, "
        "2 something unknown, 3 internal error, 64 a usage or setup error.",
    )
    add_arguments(p)
    p.set_defaults(func=handle)


def _verdict(r: Result) -> str:
    o = r.outcome
    if r.job.kind.startswith("vacuity"):
        if isinstance(o, Unknown):  # a vacuity check that ran out says so: it did not pass
            return f"unknown ({o.reason}) (vacuity)"
        return "warning (vacuity)" if r.warning else "ok (vacuity)"
    if isinstance(o, Proved):
        return "proved" + (" (k-induction)" if o.method == "k-induction" else "") + (
            " (conditional)" if r.conditional_on else "")
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
        replay=not getattr(args, "no_replay", False), binding=_search_binding(getattr(args, "binding", None)),
        evm=None if getattr(args, "evm", "py-evm") == "none" else getattr(args, "evm", "py-evm"),
        seed=getattr(args, "seed", 0), search_actions=getattr(args, "search_actions", None),
    )


def _action_list(text: str) -> tuple[tuple[str, str], ...]:
    """``MODULE.ACTION,...`` as pairs (argparse type)."""
    out = []
    for part in text.split(","):
        m, dot, a = part.strip().partition(".")
        if not (m and dot and a):
            raise argparse.ArgumentTypeError(f"'{part.strip()}' is not MODULE.ACTION (for example offering.contribute)")
        out.append((m, a))
    return tuple(out)


def _search_binding(given: str | None) -> Path | None:
    """The binding the search starts from: the one given, none for 'none', else the bundled one."""
    from imospec_cli.pipeline import DEFAULT_BINDING

    if given == "none":
        return None
    return Path(given) if given else DEFAULT_BINDING


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
    settings = cover_settings_from(args)
    if settings is not None:
        pipeline.cover_settings = settings  # the covers' runs also answer the vacuity checks
    code = run(pipeline, sys.stdout, json_to=args.json, show_proved=args.show_proved, quiet=args.quiet,
               full=args.full)
    if settings is None or args.invariant is not None or code in (EXIT_INTERNAL, EXIT_USAGE) or not pipeline.ok:
        return code  # (a usage error, such as an unknown --module, checks nothing more)
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


def run(pipeline: Pipeline, out: TextIO, *, json_to: str | Path | None = None, show_proved: bool = False,
        quiet: bool = False, full: bool = False) -> int:
    """Prove the pipeline's spec, print the table and summary; return the exit code."""
    from spec.driver import SpecHasErrors
    from verification.runner import SelectionError

    try:
        with Progress("proving", "queries", quiet=quiet) as progress:
            report = pipeline.prove(lambda done, total, r: progress.update(
                done, total, f"{_verdict(r)} {r.job.rule_label} × {r.job.action_label}"))
    except (SpecHasErrors, SelectionError) as exc:
        return report_setup_error(exc)
    print_report(report, out, show_proved=show_proved, options=pipeline.options, paths=given_paths(pipeline),
                 full=full)
    if json_to:
        text = json.dumps(report_json(report), indent=2, sort_keys=False)
        if str(json_to) == "-":
            print(text, file=out)
        else:
            try:
                Path(json_to).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                print(f"error: cannot write {json_to}: {exc.strerror}", file=sys.stderr)
                return EXIT_USAGE
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
                 paths: Sequence[str] = (), full: bool = False) -> None:
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
        if isinstance(r.outcome, Refuted) and r.outcome.method not in ("z3", "bmc-deployment"):
            outcome += f" (found by {r.outcome.method})"
        elif isinstance(r.outcome, Refuted) and r.outcome.method == "bmc-deployment" and r.search is not None \
                and r.search.trace is not None and r.search.trace.from_deployment:
            # the symbolic search gave no trace: the search from the binding's deployment did
            depth = max((a.depth for a in r.search.attempts if a.status == "found"), default=0)
            outcome += f" (found by bmc-deployment in {depth})"
        elif isinstance(r.outcome, Unknown):
            outcome += f" ({_search_evidence(r)})"
        elif isinstance(r.outcome, Refuted) and r.bmc:
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
        runs = [s.get("action", "") for s in (r.bmc.steps if r.bmc and r.bmc.status == "reachable" else [])]
        if runs and runs[-1] != r.job.action_label:
            after += f" (the trace below runs {', '.join(dict.fromkeys(runs))})"
        print(f"refuted: {r.job.rule_label}{after}", file=out)
        print(render_counterexample(r.outcome.counterexample, full=full), file=out)
        if r.bmc and (r.search is None or r.search.found_by is None or r.bmc.status == "reachable"):
            print(render_trace(r.bmc), file=out)
        if r.search is not None and r.search.found_by is not None and r.outcome.method != "z3":
            print(f"found by {r.search.found_by.value}: {r.search.summary()}", file=out)
            for line in _search_lines(r):
                print(line, file=out)
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
    vacuity_unknown = [r for r in report.results
                       if r.job.kind.startswith("vacuity") and isinstance(r.outcome, Unknown)]
    if vacuity_unknown:
        print(f"\n{len(vacuity_unknown)} vacuity check(s) unknown (not passed): "
              + ", ".join(f"{r.job.rule_label if r.job.kind == 'vacuity-rule' else r.job.action_label}"
                          for r in vacuity_unknown[:10]) + (" ..." if len(vacuity_unknown) > 10 else ""),
              file=out)
    s = _summary(report.proofs)
    print(f"\n{s['proved']} proved ({s['frame']} by the frame rule), {s['refuted']} refuted, "
          f"{s['unknown']} unknown; {len(report.warnings)} warning(s); {s['cached']} cached; "
          f"{report.seconds:.1f}s", file=out)


def _search_lines(r: Result) -> list[str]:
    """The trace a model-based search found, and its replays (model, EVM)."""
    rep = r.search
    if rep is None or rep.trace is None:
        return []
    start = "the binding's deployment (no prelude)" if rep.trace.from_deployment else \
        "scenario " + repr(rep.trace.scenario) if rep.trace.scenario else "the binding prelude"
    lines = [f"  from {start}:"]
    lines += [f"  step {i}: {s.describe()}" for i, s in enumerate(rep.trace.steps, 1)]
    if rep.replay is not None:
        lines.append(f"  model replay: {rep.replay.status} ({rep.replay.detail})")
    if rep.evm is not None:
        diff = f", first difference at step {rep.evm.first_difference}: {rep.evm.detail}" \
            if rep.evm.first_difference else ", no difference"
        lines.append(f"  EVM replay ({rep.evm.backend}): {rep.evm.status}{diff}; fixture {rep.evm.fixture}")
    return lines


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
        lines.append(f"      evidence: {unknown_evidence(r, options)}")
        if r.search is not None:
            lines.append(f"    searched: {r.search.summary()}")
    return lines


def _search_evidence(r: Result) -> str:
    """What the search found behind an unknown step, in a few words (the table's column)."""
    if r.bmc is None:
        return "no CTI" if r.job.kind in ("step", "ensures") else "no search"
    if r.bmc.status == "unreachable":
        return f"CTI, unreachable in {r.bmc.depth}"
    return f"CTI, search unknown at {r.bmc.depth}"


def unknown_evidence(r: Result, options: Options | None) -> str:
    """The evidence behind one unknown: counterexample to induction found or
    not, how deep the search from deployment went, and the budget spent."""
    from verification.outcome import DEFAULT_RLIMIT, DEFAULT_TIMEOUT

    assert isinstance(r.outcome, Unknown)
    parts: list[str] = []
    if r.bmc is None:
        if r.job.kind in ("step", "ensures"):
            parts.append("no counterexample to induction (CTI) found, so no search from deployment was run")
    elif r.bmc.status == "unreachable":
        parts.append(f"a possible counterexample to induction (CTI) found; no violation within {r.bmc.depth} "
                     f"step(s) of deployment (searched {', '.join(r.bmc.actions) or 'no action'})")
    else:
        parts.append(f"a possible counterexample to induction (CTI) found; the search from deployment gave no "
                     f"answer up to depth {r.bmc.depth}" + (f" ({r.bmc.detail})" if r.bmc.detail else ""))
    rlimit = options.rlimit if options else DEFAULT_RLIMIT
    timeout = options.timeout if options else DEFAULT_TIMEOUT
    spent = {"rlimit": f"the rlimit of {rlimit:,} spent", "timeout": f"the {timeout:g} s safety net ran out",
             "incomplete": "Z3 gave up (incomplete)", "unsupported": "not encodable"}[r.outcome.reason]
    parts.append(f"{spent} in {r.seconds:.1f} s")
    return "; ".join(parts)
