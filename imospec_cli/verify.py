"""``imospec verify``: the main job, on one pipeline.

Check the bundled protocol, prove it, and run the bundled Vyper contracts
against the model on py-evm and pyrevm: every stage works on one
:class:`imospec_cli.pipeline.Pipeline`, so the spec is read, parsed and
checked once. One summary at the end names each unknown query with the
command that retries it with a larger budget.

Exit code: the worst of the stages (3 internal error, 1 something wrong,
2 inconclusive, 0 everything holds).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imospec_cli import conform, prove
from imospec_cli.exits import EXIT_FAIL, EXIT_OK, EXIT_USAGE, WORDS, worst
from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
from imospec_cli.progress import add_quiet_argument
from imospec_cli.usage import nonneg_int, output_file, positive_int, report_setup_error


def register(sub: Any) -> None:
    """Add ``verify`` to the command line's subparsers."""
    p = sub.add_parser(
        "verify",
        help="the main job: check, prove and conform the bundled protocol, then one summary",
        description="Run `imospec check` on the bundled protocol, then `imospec prove` on it, then "
        "`imospec conform` of the bundled Vyper contracts on py-evm and pyrevm, and print one summary; "
        "the spec is read and checked once for all of them. Exit 0 when everything holds, 1 when "
        "something is wrong (a diagnostic, a refuted proof, a divergence), 2 when something is "
        "inconclusive and nothing wrong (an unknown proof, a public action that never succeeded in a "
        "campaign), 3 on an internal error, 64 on a usage or setup "
        "error (a bad argument, a broken binding or config file). The summary names "
        "each unknown query with the command that retries it with a larger budget.",
    )
    p.add_argument("--impl", metavar="BINDING", type=Path, default=DEFAULT_BINDING,
                   help="binding of the implementation to conform, and through its \"spec\" the spec to check "
                   "and prove (default: the bundled Vyper contracts and protocol)")
    p.add_argument("--backend", dest="backends", action="append", choices=conform.BACKENDS, metavar="EVM",
                   help="an EVM to conform on, py-evm or pyrevm (repeatable; default: both)")
    p.add_argument("--seed", type=nonneg_int, default=0, metavar="S", help="conformance seed (default 0)")
    p.add_argument("--examples", type=positive_int, default=40, metavar="N",
                   help="action sequences per conformance run (default 40)")
    p.add_argument("--steps", type=positive_int, default=25, metavar="N", help="steps per sequence (default 25)")
    prove.add_budget_arguments(p)
    p.add_argument("--json", type=output_file, metavar="FILE",
                   help="write the summary as JSON to FILE ('-' for stdout)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write the assurance report into DIR: assurance.json (schema: "
                   "imospec_cli/report/assurance-report.schema.json), junit.xml, assurance.sarif (SARIF 2.1.0) "
                   "and assurance.html")
    p.add_argument("--mutation-report", type=Path, metavar="FILE",
                   help="with --report: file each mutant of `imospec mutate --json FILE` under its action")
    p.add_argument("--skip-prove", action="store_true", help="leave out the proofs")
    conform.add_never_succeeded_argument(p)
    add_quiet_argument(p)
    p.add_argument("--skip-conform", action="store_true", help="leave out the conformance runs")
    p.set_defaults(func=cmd_verify)


@dataclass
class Stage:
    """One stage of ``verify`` and its exit code."""

    name: str
    code: int
    detail: dict[str, Any] = field(default_factory=dict)


def cmd_verify(args: argparse.Namespace) -> int:
    """Chain check, prove and conform on one pipeline; print one summary; return the worst exit code."""
    if args.mutation_report is not None and args.report is None:
        print("error: --mutation-report needs --report DIR (the report it goes into)", file=sys.stderr)
        return EXIT_USAGE
    pipeline = Pipeline.for_binding(args.impl, options=prove.options_from(args))
    out = sys.stdout if args.json is None or str(args.json) != "-" else sys.stderr
    stages = run_stages(pipeline, args, out)
    code = worst(s.code for s in stages)
    print("\n== summary", file=out)
    for s in stages:
        print(f"  {s.name:<20} {WORDS.get(s.code, str(s.code))}", file=out)
    retry: list[str] = []
    if "verdicts" in pipeline.__dict__:
        retry = prove.retry_lines(pipeline.verdicts, pipeline.options, prove.given_paths(pipeline))
        for line in retry:
            print(line, file=out)
    if args.report is not None:
        code = worst([code, write_report(pipeline, args.report, args.mutation_report, out)])
    if args.json is not None:
        data = {"exit_code": code, "stages": [{"name": s.name, "exit_code": s.code, "status": WORDS.get(s.code),
                                               **s.detail} for s in stages]}
        text = json.dumps(data, indent=2)
        if str(args.json) == "-":
            print(text)
        else:
            args.json.write_text(text + "\n", encoding="utf-8")
    return code


def write_report(pipeline: Pipeline, directory: Path, mutation_report: Path | None, out: Any) -> int:
    """Write the assurance report of what ``pipeline`` did into ``directory``; the exit code of doing so."""
    from imospec_cli.report import MutationReportError, build, write_all
    from imospec_cli.report.matrix import read_mutation_report

    if "spec" not in pipeline.__dict__ and not pipeline.ok:
        print("no assurance report: the spec has errors", file=sys.stderr)
        return EXIT_FAIL
    try:
        mutants = read_mutation_report(mutation_report) if mutation_report is not None else None
        paths = write_all(build(pipeline, mutation_report=mutants), directory)
    except (MutationReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"assurance report: {', '.join(str(p) for p in paths.values())}", file=out)
    return EXIT_OK


def run_stages(pipeline: Pipeline, args: argparse.Namespace, out: Any) -> list[Stage]:
    """Run the stages of ``verify`` in order; stop after ``check`` when the spec has errors."""
    from conformance.binding import BindingError
    from conformance.runner import CampaignSettings
    from imospec_cli.main import run_check

    stages: list[Stage] = []
    print("== check", file=out, flush=True)
    try:
        code = _stdout_to(out, lambda: run_check(pipeline))
    except BindingError as exc:
        code = report_setup_error(exc)
    stages.append(Stage("check", code))
    if code != EXIT_OK:
        return stages  # nothing else is meaningful on a spec with errors
    if not args.skip_prove:
        from conformance.witness import CoverSettings

        pipeline.cover_settings = CoverSettings(seed=args.seed)  # the covers' runs answer the vacuity checks
        print("== prove", file=out, flush=True)
        code = _stdout_to(out, lambda: prove.run(pipeline, out, quiet=args.quiet))
        detail: dict[str, Any] = {}
        if "verdicts" in pipeline.__dict__:
            report = pipeline.verdicts
            detail = {"summary": prove.report_json(report)["summary"],
                      "unknown": [{"rule": r.job.rule_label, "action": r.job.action_label,
                                   "reason": getattr(r.outcome, "reason", ""),
                                   "retry": prove.retry_command(r, pipeline.options, prove.given_paths(pipeline))}
                                  for r in report.proofs if r.outcome.kind == "unknown" and r.crash is None]}
        if pipeline.ok:
            cover_settings = pipeline.cover_settings
            code = worst([code, prove.run_covers(pipeline, out, cover_settings)])
            met = pipeline.covers(cover_settings)  # the report run_covers printed (the pipeline keeps it per settings)
            detail["covers"] = {"goals": len(met.goals), "unmet": len(met.unmet)}
        stages.append(Stage("prove", code, detail))
    if not args.skip_conform:
        for backend in args.backends or conform.BACKENDS:
            name = f"conform ({backend})"
            print(f"== {name}", file=out, flush=True)
            settings = CampaignSettings(backend=backend, examples=args.examples, steps=args.steps, seed=args.seed)
            code = _stdout_to(out, lambda s=settings: conform.run(
                pipeline, s, quiet=args.quiet, allow_never_succeeded=args.allow_never_succeeded))
            result = next((c for c in pipeline.campaigns if c.backend == backend), None)
            detail = {}
            if result is not None:
                detail = {"steps": result.stats.steps, "sequences": result.stats.examples, "ok": result.ok,
                          "fixture": str(result.fixture) if result.fixture else None,
                          "outcomes": {a: list(c) for a, c in sorted(result.stats.outcomes.items())},
                          "never_succeeded": list(conform.reach(pipeline, result).never)}
            stages.append(Stage(name, code, detail))
    return stages


def _stdout_to(out: Any, fn: Any) -> int:
    """Run ``fn`` with its stdout going to ``out`` (stderr when the JSON summary owns stdout)."""
    if out is sys.stdout:
        return int(fn())
    import contextlib

    with contextlib.redirect_stdout(out):
        return int(fn())

