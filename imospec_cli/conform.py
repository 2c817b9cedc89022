"""The `imospec conform`, `imospec mutate` and `imospec replay` commands.

Exit codes (:mod:`imospec_cli.exits`): ``conform`` 0 agree, 1 divergence,
2 no divergence but a public action never succeeded (see :class:`Reach`;
``--allow-never-succeeded`` accepts that); ``replay`` 0 agree, 1 differ; ``mutate`` 0 ran, 1 when the
unmutated implementation diverges; each 64 when the
implementation cannot be set up (a missing or malformed binding, a contract
that does not compile or deploy) or an argument is bad.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imospec_cli.exits import EXIT_FAIL, EXIT_OK, EXIT_UNKNOWN
from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
from imospec_cli.progress import Progress, add_quiet_argument
from imospec_cli.usage import nonneg_int, output_file, positive_int, report_setup_error
from imospec_cli.usage import setup_errors as setup_errors

if TYPE_CHECKING:
    from conformance.runner import CampaignResult, CampaignSettings

# The EVM stack (py-evm, pyrevm, vyper) is imported only by the commands that
# run it, so `imospec check` starts fast and keeps Python's default recursion limit.

BACKENDS = ("py-evm", "pyrevm")


class _Bindings(argparse._AppendAction):
    """A repeatable ``--impl``: the first given on the command line replaces
    the default (a configuration file's binding) rather than adding to it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is self.default:
            setattr(namespace, self.dest, None)
        super().__call__(parser, namespace, values, option_string)


def register(sub: Any) -> None:
    """Add `conform` and `replay` to the command line's subparsers."""
    p = sub.add_parser(
        "conform", help="run the contracts against the reference model, step by step",
        description="Generate action sequences from the spec (hypothesis state machines), run each step on "
        "the reference model and on the deployed contracts, and compare success/revert and reason, return "
        "values, events and the whole state. A divergence is shrunk, printed as a trace, and saved as a "
        "JSON fixture for `imospec replay`. Deterministic for a given --seed.",
    )
    p.add_argument("--impl", metavar="BINDING", type=Path, default=DEFAULT_BINDING,
                   help="binding file of the implementation to check (default: the bundled Vyper contracts)")
    p.add_argument("--backend", choices=BACKENDS, default="py-evm", help="EVM to run the contracts on")
    p.add_argument("--examples", type=positive_int, default=40, metavar="N",
                   help="action sequences to try (default 40)")
    p.add_argument("--steps", type=positive_int, default=25, metavar="N", help="steps per sequence (default 25)")
    p.add_argument("--seed", type=nonneg_int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--json", type=output_file, metavar="FILE", help="write a JSON summary to FILE")
    p.add_argument("--check-rules", action="store_true",
                   help="also check every invariant on the model after each step")
    add_never_succeeded_argument(p)
    add_quiet_argument(p)
    _add_engine_options(p, "the campaign's shards (the sequences of each starting state, 25 at most a shard)")
    p.set_defaults(func=cmd_conform)

    mu = sub.add_parser(
        "mutate", help="mutation testing: how many wrong contracts does the conformance suite catch?",
        description="Make mutants of the implementation's Vyper or Solidity sources (operator swaps, off-by-one "
        "constants, module-level constants too, dropped asserts, flipped rounding, swapped arguments, "
        "swapped event fields; a Solidity file's imported base contracts count under the first module that "
        "imports them), run a conformance campaign on "
        "each, and report the kill rate and every surviving mutant.",
    )
    mu.add_argument("--impl", metavar="BINDING", type=Path, action=_Bindings, default=None,
                    help="binding file (default: the bundled Vyper contracts). Repeatable, for deployments of "
                    "the same sources with other parameters: every mutant runs on the first binding, each "
                    "survivor (and each recorded equivalent) on the next, and so on; the report says which "
                    "binding killed each mutant. The mutants, and the equivalents file, are the first's")
    mu.add_argument("--module", action="append", metavar="M", help="only mutate these modules (repeatable)")
    mu.add_argument("--kind", action="append", choices=["op", "const", "assert", "round", "args", "event"],
                    help="only these kinds of mutation (repeatable)")
    mu.add_argument("--max-mutants", type=positive_int, metavar="N", help="a deterministic sample of N mutants")
    mu.add_argument("--rerun", type=Path, metavar="REPORT",
                    help="only the mutants that survived in REPORT, a file an earlier run wrote with --json")
    mu.add_argument("--backend", choices=BACKENDS, default="pyrevm")
    mu.add_argument("--examples", type=positive_int, metavar="N",
                    help="sequences per mutant (default: 10 for each starting state of the binding, "
                         "the state after the prelude and each scenario)")
    mu.add_argument("--steps", type=positive_int, default=25, metavar="N", help="steps per sequence (default 25)")
    mu.add_argument("--seed", type=nonneg_int, default=0, metavar="S",
                    help="seed of the mutant sample and of every campaign (default 0)")
    mu.add_argument("--json", type=output_file, metavar="FILE", help="write every mutant and its fate to FILE")
    mu.add_argument("--log", type=output_file, metavar="FILE",
                    help="append each mutant's fate to FILE as a JSON line as soon as it is known (a long run "
                    "can be watched, and one stopped early still tells what it found); with --spec, a FILE "
                    "that already holds fates is resumed: only the mutants not in it run")
    mu.add_argument("--own-campaigns", action="store_true",
                    help="run each mutant's own campaign (slow: the way it was done before). By default the "
                    "campaign is drawn once, on the unmutated implementation, and each mutant replays the "
                    "sequences that can run its code, to the first divergence: the same verdicts, and a "
                    "mutant whose code no sequence runs is a survivor reported as not reached")
    mu.add_argument("--equivalents", type=Path, metavar="FILE",
                    help="mutants known to be equivalent, with reasons (default: equivalent-mutants.json "
                    "next to the binding)")
    add_quiet_argument(mu)
    _add_engine_options(mu, "the mutants (one campaign each)")
    from imospec_cli import prove, spec_mutate

    spec_mutate.add_arguments(mu)
    prove.add_budget_arguments(mu)
    mu.add_argument("--cover-walks", metavar="N", type=int, default=12,
                    help="with --spec: witness walks from each starting state (default 12)")
    mu.add_argument("--cover-steps", metavar="N", type=int, default=30,
                    help="with --spec: steps per witness walk (default 30)")
    mu.set_defaults(func=cmd_mutate)

    r = sub.add_parser(
        "replay", help="re-run a saved divergence fixture on the model and the EVM",
        description="Re-run the steps of a fixture written by `imospec conform` and print the trace. "
        "Exit 0 when the model and the EVM now agree on every step, 1 when they still differ.",
    )
    r.add_argument("fixture", type=Path, metavar="FIXTURE")
    r.add_argument("--backend", choices=BACKENDS, help="override the fixture's backend")
    r.add_argument("--impl", type=Path, metavar="BINDING",
                   help="replay on another implementation of the same spec (default: the fixture's own)")
    r.set_defaults(func=cmd_replay)


def add_never_succeeded_argument(p: Any) -> None:
    """``--allow-never-succeeded`` (also ``allow_never_succeeded = true`` in imospec.toml)."""
    p.add_argument("--allow-never-succeeded", action="store_true",
                   help="exit 0, not 2, when no divergence was found but a public action never succeeded in "
                   "the campaign (its success path was never compared); the warning is still printed. An "
                   "action that cannot succeed at all is better stated in the spec, with a line "
                   "`// uncovered: succeeds: <why>` in its comment (docs/glossary.md, \"never succeeded\")")


def _add_engine_options(p: Any, what: str) -> None:
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help=f"processes that run {what} (default: every core; 1 runs them in this process). "
                   "The result is the same for any N")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="where the workers run: processes of this machine (default), or a Ray cluster "
                   "(needs the optional dependency: pip install 'imospec[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="with --engine ray: the cluster to join, e.g. ray://head:10001 or auto "
                   "(default: a local Ray instance, started and stopped for the run)")


def _workers(args: argparse.Namespace) -> int:
    from conformance.parallel import default_workers

    workers = getattr(args, "workers", None)
    return workers if workers is not None else default_workers()


def _fail(exc: Exception) -> int:
    """Print a setup error (with the spec's diagnostics, when that is what
    failed) and return the exit code for it (:func:`imospec_cli.usage.exit_code_for`)."""
    return report_setup_error(exc)


@dataclass(frozen=True)
class Reach:
    """Which public actions of the implementation a campaign made succeed.

    ``never``: the actions (``module.action``) that never succeeded on the
    model, whether they ran or not, and that the spec does not excuse: their
    success paths were not compared, so the campaign is inconclusive there.
    (An action only another module of the deployment may call is no actor's:
    it is not among them, see :func:`conformance.binding.module_only_actions`.)
    ``excused``: those that never succeeded and whose comment in the spec
    states that no run can make them succeed (``uncovered: succeeds: <why>``),
    with the reason. ``contradicted``: those the spec excuses that succeeded
    all the same (the spec's claim is wrong)."""

    never: tuple[str, ...] = ()
    excused: dict[str, str] = field(default_factory=dict)
    contradicted: tuple[str, ...] = ()

    def exit_code(self, *, allow_never_succeeded: bool = False) -> int:
        """The exit code of a campaign that found no divergence: 1 when the
        spec's claim is contradicted, 2 when an action never succeeded
        (unless allowed), else 0."""
        if self.contradicted:
            return EXIT_FAIL
        if self.never and not allow_never_succeeded:
            return EXIT_UNKNOWN
        return EXIT_OK


def reach(pipeline: Pipeline, result: CampaignResult) -> Reach:
    """What ``result``, a campaign of ``pipeline``'s implementation, left never succeeding."""
    from conformance.binding import module_only_actions
    from conformance.witness import never_succeeds

    spec, binding = pipeline.spec, pipeline.binding
    module_only = module_only_actions(spec, binding)  # run inside another module's calls, never an actor's
    public = [f"{m}.{a.name}" for m in binding.modules if m in spec.modules
              for a in spec.modules[m].actions.values() if not a.internal and f"{m}.{a.name}" not in module_only]
    outcomes = result.stats.outcomes
    succeeded = {a for a, c in outcomes.items() if c.ok > 0}
    claimed = never_succeeds(spec)
    never = sorted(a for a in {*public, *outcomes} if a not in succeeded)
    return Reach(tuple(a for a in never if a not in claimed), {a: claimed[a] for a in never if a in claimed},
                 tuple(sorted(a for a in claimed if a in succeeded)))


def summary(result: CampaignResult, where: Reach | None = None, *, allow_never_succeeded: bool = False) -> str:
    """The human summary of a campaign; ``where`` says what it left never
    succeeding (default: the actions it ran that never succeeded)."""
    s = result.stats
    rate = s.steps / result.seconds if result.seconds else 0.0
    lines = [f"{result.binding} on {result.backend}: {s.examples} sequence(s), {s.steps} step(s) "
             f"in {result.seconds:.1f} s ({rate:.0f} steps/s), seed {result.seed}"]
    for action, (ok, reverted) in sorted(s.outcomes.items()):
        lines.append(f"  {action:<40} {ok:>6} ok {reverted:>6} reverted")
    if where is None:
        where = Reach(tuple(never_succeeded(result)))
    for action, why in where.excused.items():
        lines.append(f"note: {action} never succeeded, as the spec says: {why}")
    for action in where.contradicted:
        lines.append(f"error: the spec says no run can make {action} succeed (`uncovered: succeeds`), yet this "
                     "campaign made it succeed; hint: drop that line from the action's comment")
    never = where.never
    if never:
        if not result.ok:
            end = ""
        elif allow_never_succeeded:
            end = "; allowed by --allow-never-succeeded, so they do not change the exit code"
        else:
            end = ("; so the campaign is inconclusive (exit 2). hint: a larger --examples or another --seed may "
                   "reach them; --allow-never-succeeded (allow_never_succeeded = true in imospec.toml) accepts "
                   "this; an action that cannot succeed is stated in the spec with `// uncovered: succeeds: "
                   "<why>` in its comment")
        lines.append(f"warning: {len(never)} action(s) never succeeded in this campaign, so their success paths "
                     f"were not compared: {', '.join(never)}{end} (docs/glossary.md, \"never succeeded\")")
    return "\n".join(lines)


def never_succeeded(result: CampaignResult) -> list[str]:
    """The actions the campaign ran that never succeeded (:func:`reach` also counts those it never ran)."""
    return sorted(a for a, (ok, _) in result.stats.outcomes.items() if ok == 0)


def run_with_progress(pipeline: Pipeline, settings: CampaignSettings, *, quiet: bool = False) -> CampaignResult:
    """Run a campaign of the pipeline's implementation with a progress bar (steps, rate, time left) on a
    terminal (:class:`imospec_cli.progress.Progress`)."""
    total = max(1, settings.examples * settings.steps)
    label = f"conform ({settings.backend})"
    with Progress(label, "steps", total, quiet=quiet) as progress:
        def tick(_: Any) -> None:
            progress.advance(1)

        def shard_done(r: Any) -> None:
            progress.advance(r.stats.steps)

        if settings.workers <= 1 and settings.engine == "local":
            return pipeline.campaign(settings, on_step=tick)
        return pipeline.campaign(settings, on_shard=shard_done)


def cmd_conform(args: argparse.Namespace) -> int:
    """Run a campaign; 0 when no divergence, 1 on a divergence, 2 when an action never succeeded."""
    from conformance.runner import CampaignSettings

    settings = CampaignSettings(backend=args.backend, examples=args.examples, steps=args.steps, seed=args.seed,
                                check_rules=args.check_rules, workers=_workers(args), engine=args.engine,
                                address=args.address)
    return run(Pipeline.for_binding(args.impl), settings, json_to=args.json, quiet=args.quiet,
               allow_never_succeeded=args.allow_never_succeeded)


def run(pipeline: Pipeline, settings: CampaignSettings, *, json_to: Path | None = None, quiet: bool = False,
        allow_never_succeeded: bool = False) -> int:
    """Run one campaign of the pipeline's implementation, print its summary (and
    the shrunk divergence); return the exit code: 1 on a divergence, else
    :meth:`Reach.exit_code`."""
    from conformance.runner import format_trace

    try:
        result = run_with_progress(pipeline, settings, quiet=quiet)
    except setup_errors() as exc:
        return _fail(exc)
    where = reach(pipeline, result)
    print(summary(result, where, allow_never_succeeded=allow_never_succeeded))
    from imospec_cli.coverage import coverage_text

    print(coverage_text(pipeline, [result]))
    if result.divergence is not None:
        print("\nDIVERGENCE (shrunk):")
        print(format_trace(result.divergence, result.scenario))
        print(f"\nsaved as {result.fixture}; replay with: imospec replay {result.fixture}")
    if json_to:
        json_to.write_text(json.dumps({
            "binding": result.binding, "backend": result.backend, "seed": result.seed,
            "examples": result.stats.examples, "steps": result.stats.steps, "seconds": result.seconds,
            "outcomes": {a: list(c) for a, c in result.stats.outcomes.items()}, "ok": result.ok,
            "fixture": str(result.fixture) if result.fixture else None,
            "workers": result.workers, "shards": result.shards,
            "shard": result.shard.number if result.shard is not None else None,
            "never_succeeded": list(where.never), "never_succeeded_as_the_spec_says": where.excused,
        }, indent=2) + "\n")
    if not result.ok:
        return EXIT_FAIL
    return where.exit_code(allow_never_succeeded=allow_never_succeeded)


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a fixture; 0 when both sides agree on every step, 1 otherwise."""
    from conformance.runner import format_trace, read_fixture, replay

    try:
        fixture = read_fixture(args.fixture)
        pipeline = Pipeline.for_binding(args.impl if args.impl is not None else fixture.binding)
        result = replay(fixture, pipeline.binding, pipeline.spec, args.backend)
    except setup_errors() as exc:
        return _fail(exc)
    print(format_trace(result.reports[result.setup:], fixture.scenario, setup=result.reports[:result.setup]))
    if result.first_difference is not None:
        where = f"step {result.first_difference}" if result.first_difference else "a setup step"
        print(f"\nthe model and the EVM differ at {where}")
        return EXIT_FAIL
    print("\nthe model and the EVM agree on every step")
    return EXIT_OK


def cmd_mutate(args: argparse.Namespace) -> int:
    """Run mutation testing; 0 when it ran (the kill rate is the result), 1 on setup errors."""
    impls = args.impl if isinstance(args.impl, list) else [args.impl or DEFAULT_BINDING]
    if args.spec:
        from imospec_cli.spec_mutate import cmd_mutate_spec
        from imospec_cli.usage import UsageError

        if len(impls) > 1:
            return _fail(UsageError("mutate --spec: --impl given more than once",
                                    "--spec mutates the spec against one implementation: give one --impl"))
        args.impl = impls[0]
        return cmd_mutate_spec(args)
    from conformance.mutate import (
        EQUIVALENTS_FILE,
        ImplementationDiverges,
        MutationInputError,
        load_equivalents,
        mutations,
        run_mutants_on,
        select,
        survivors_of,
        targets,
    )

    problems: tuple[type[Exception], ...] = (*setup_errors(), MutationInputError)
    try:
        implementations = [(p.spec, p.binding) for p in map(Pipeline.for_binding, impls)]
        binding = implementations[0][1]
        equivalents = load_equivalents(args.equivalents or impls[0].parent / EQUIVALENTS_FILE)
    except problems as exc:
        return _fail(exc)
    candidates: list[Any] = []
    for module, source in targets(binding):
        if args.module and module not in args.module:
            continue
        candidates.extend(m for m in mutations(module, source) if not args.kind or m.kind in args.kind)
    if args.rerun is not None:
        try:
            wanted = survivors_of(args.rerun)
        except MutationInputError as exc:
            return _fail(exc)
        candidates = [m for m in candidates if m.key() in wanted]
    chosen = select(candidates, args.max_mutants, args.seed)
    workers = _workers(args)
    print(f"{len(candidates)} mutant(s) in all; running {len(chosen)} on {args.backend} "
          f"({workers} worker(s), {args.engine})", file=sys.stderr)

    bar = Progress("mutants", "mutants", 0, quiet=args.quiet)
    current: dict[str, Any] = {"binding": binding.path, "offset": 0}

    def on_pass(b: Any, n: int) -> None:
        current.update(binding=b.path, offset=bar.done)
        if b is not binding:
            print(f"then {n} survivor(s) and recorded equivalent(s) on {b.path}", file=sys.stderr)
        bar.update(bar.done, (bar.total or 0) + n, f"on {b.path.name}")

    def progress(i: int, n: int, m: Any, killed: bool) -> None:
        fate = "killed  " if killed else ("equiv.  " if m.key() in equivalents else "SURVIVED")
        bar.update(current["offset"] + i, None, f"{fate.strip()} {m.describe()}")

    log = args.log.open("a", encoding="utf-8") if args.log else None

    def logged(m: Any, fate: str) -> None:
        if log is not None:
            log.write(json.dumps({"file": m.file.name, "line": m.line, "kind": m.kind, "original": m.original.strip(),
                                  "mutated": m.mutated.strip(), "fate": fate,
                                  "binding": str(current["binding"])}) + "\n")
            log.flush()

    try:
        with bar:
            report = run_mutants_on(implementations, chosen, on_pass=on_pass, backend=args.backend,
                                    examples=args.examples, steps=args.steps, seed=args.seed, progress=progress,
                                    equivalents=equivalents, workers=workers, engine=args.engine,
                                    address=args.address, method="campaign" if args.own_campaigns else "corpus",
                                    on_fate=logged)
    except setup_errors() as exc:
        return _fail(exc)
    except ImplementationDiverges as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        if log is not None:
            log.close()
    tried = len(report.killed) + len(report.survived)
    print(f"killed {len(report.killed)} of {tried} non-equivalent mutants that compile ({report.kill_rate:.1%}); "
          f"{len(report.equivalent)} known equivalent; {len(report.stillborn)} did not compile")
    if len(implementations) > 1:
        for _, b in implementations:
            n = sum(1 for p in report.killed_on.values() if p == b.path)
            print(f"  killed on {b.path}: {n}")
    unreached = {m.key() for m in report.unreached}
    if unreached:
        print(f"{len(unreached)} of the survivors are reached by no sequence of the campaign (gaps)")
    for m in report.survived:
        print(f"  survived{' (not reached)' if m.key() in unreached else ''}: {m.describe()}")
    for m, reason in report.equivalent:
        print(f"  equivalent: {m.describe()}\n      because {reason}")
    for m in report.misjudged:
        print(f"  KILLED BUT RECORDED AS EQUIVALENT (remove it from the equivalents file): {m.describe()}")
    if args.json:
        def row(m: Any, fate: str, reason: str | None = None) -> dict[str, Any]:
            out = {"file": m.file.name, "line": m.line, "kind": m.kind, "original": m.original.strip(),
                   "mutated": m.mutated.strip(), "fate": fate}
            if reason is not None:
                out["reason"] = reason
            return out
        rows = ([{**row(m, "killed"), "binding": str(report.killed_on[m.key()])} for m in report.killed]
                + [{**row(m, "survived"), "reached": m.key() not in unreached} for m in report.survived]
                + [row(m, "equivalent", r) for m, r in report.equivalent]
                + [row(m, "stillborn") for m in report.stillborn])
        args.json.write_text(json.dumps({"kill_rate": report.kill_rate,
                                         "bindings": [str(b.path) for _, b in implementations],
                                         "mutants": rows}, indent=2) + "\n")
    return 0
