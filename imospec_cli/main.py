"""The `imospec` command line: one subcommand per pipeline stage.

Exit codes are stable so that scripts can trust them:

- 0: success (the spec is clean, every proof holds, no divergence);
- 1: the input or the implementation is wrong (diagnostics, refuted proofs,
  divergences);
- 2: inconclusive (a proof came back unknown) or a usage error;
- 3: an internal error of imospec itself (a bug: please report it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_UNKNOWN = 2
EXIT_INTERNAL = 3

DESCRIPTION = """\
imospec: one formal spec of the IMO protocol, and what follows from it.

The spec lives in spec/protocol/*.imo (see docs/language.md). From it imospec
derives an executable reference model, Z3 proofs of every invariant, and a
conformance suite that compares compiled contracts with the model.
"""


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="spec files or directories (default: the bundled protocol, spec/protocol)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="imospec",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 ok, 1 problems found, 2 inconclusive or bad usage, 3 internal error.",
    )
    parser.add_argument("--no-color", action="store_true", help="plain output without colours")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="parse and check a spec; print every diagnostic",
        description="Parse and check a spec. Every error is reported with its code "
        "(see docs/errors.md), file:line:col, the source line and a hint. Exit 0 only when clean.",
    )
    _add_paths(check)
    check.add_argument("--quiet", action="store_true", help="print only diagnostics, no summary")

    model = sub.add_parser(
        "model",
        help="print the executable reference model generated from the spec",
        description="Generate the reference model (plain Python) from the checked spec. "
        "With --emit MODULE, print that module's model source.",
    )
    model.add_argument(
        "--emit", metavar="MODULE", help="module to print ('all' for every module, 'runtime' for the shared runtime)"
    )
    model.add_argument("--list", action="store_true", help="list the modules")
    _add_paths(model)

    sub.add_parser(
        "errors",
        help="print the catalogue of diagnostic codes (docs/errors.md)",
        description="Print the diagnostic catalogue as Markdown.",
    )
    verify = sub.add_parser(
        "verify",
        help="the main job: check, prove and conform the bundled protocol, then one summary",
        description="Run `imospec check` on the bundled protocol, then `imospec prove` on it, then "
        "`imospec conform` of the bundled Vyper contracts on py-evm and pyrevm, with default budgets, and "
        "print one summary. Exit 0 when everything holds, 1 when something is wrong (a diagnostic, a "
        "refuted proof, a divergence), 2 when something is inconclusive (an unknown proof) and nothing wrong.",
    )
    verify.add_argument("--seed", type=int, default=0, metavar="S", help="conformance seed (default 0)")
    verify.add_argument("--skip-prove", action="store_true", help="leave out the proofs")
    verify.add_argument("--skip-conform", action="store_true", help="leave out the conformance runs")
    _register_optional(sub)
    return parser


def _register_optional(sub: argparse._SubParsersAction) -> None:
    """Add the commands of the proof and conformance packages."""
    import importlib

    for name in ("verification.cli", "conformance.cli"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # a package not written yet
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)


def _console(no_color: bool):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, no_color=no_color, soft_wrap=True)


def cmd_check(args: argparse.Namespace) -> int:
    from spec.diagnostics import render
    from spec.driver import BUNDLED_PROTOCOL, load_spec

    result = load_spec(args.paths or [BUNDLED_PROTOCOL])
    out = sys.stdout
    for d in result.diagnostics:
        print(render(d, result.sources), file=out)
    errors = len(result.errors)
    warnings = len(result.diagnostics) - errors
    if not args.quiet:
        modules = len(result.spec.modules) if result.spec else 0
        if errors:
            print(f"{errors} error(s), {warnings} warning(s) in {len(result.files)} file(s)", file=out)
        else:
            rules = sum(len(m.rules) for m in result.spec.modules.values()) if result.spec else 0
            actions = sum(len(m.actions) for m in result.spec.modules.values()) if result.spec else 0
            print(f"ok: {modules} module(s), {actions} action(s), {rules} rule(s), {warnings} warning(s)", file=out)
    return EXIT_FAIL if errors else EXIT_OK


def cmd_model(args: argparse.Namespace) -> int:
    from spec.diagnostics import render
    from spec.driver import BUNDLED_PROTOCOL, load_spec

    result = load_spec(args.paths or [BUNDLED_PROTOCOL])
    if not result.ok or result.spec is None:
        for d in result.diagnostics:
            print(render(d, result.sources), file=sys.stderr)
        print("the spec has errors; run `imospec check` for details", file=sys.stderr)
        return EXIT_FAIL
    from reference.codegen import RUNTIME_NAME, generate_module, runtime_source

    names = list(result.spec.modules)
    if args.list or not args.emit:
        for n in names:
            print(n)
        return EXIT_OK
    if args.emit == RUNTIME_NAME:
        print(runtime_source(), end="")
        return EXIT_OK
    targets = names if args.emit == "all" else [args.emit]
    for t in targets:
        if t not in result.spec.modules:
            from spec.diagnostics import did_you_mean

            hint = did_you_mean(t, names)
            print(f"error: no module `{t}` in the spec" + (f"; {hint}" if hint else ""), file=sys.stderr)
            return EXIT_UNKNOWN
        print(generate_module(result.spec, t), end="")
    return EXIT_OK


def cmd_errors(args: argparse.Namespace) -> int:
    from spec.diagnostics import catalogue_markdown

    print(catalogue_markdown(), end="")
    return EXIT_OK


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    """The names of the subcommands this installation offers."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def cmd_verify(args: argparse.Namespace) -> int:
    """Chain check, prove and conform; print one summary; return the worst exit code."""
    from spec.driver import BUNDLED_PROTOCOL

    stages: list[tuple[str, list[str]]] = [("check", ["check", str(BUNDLED_PROTOCOL)])]
    if not args.skip_prove:
        stages.append(("prove", ["prove", str(BUNDLED_PROTOCOL)]))
    if not args.skip_conform:
        for backend in ("py-evm", "pyrevm"):
            stages.append((f"conform ({backend})", ["conform", "--backend", backend, "--seed", str(args.seed)]))
    known = _commands(build_parser())
    results: list[tuple[str, int]] = []
    for name, argv in stages:
        if argv[0] not in known:
            print(f"== {name}: not available in this installation", flush=True)
            results.append((name, EXIT_UNKNOWN))
            continue
        print(f"== {name}", flush=True)
        code = main(argv)
        results.append((name, code))
        if name == "check" and code != EXIT_OK:
            break  # nothing else is meaningful on a spec with errors
    words = {EXIT_OK: "ok", EXIT_FAIL: "FAILED", EXIT_UNKNOWN: "inconclusive", EXIT_INTERNAL: "internal error"}
    print("\n== summary")
    for name, code in results:
        print(f"  {name:<20} {words.get(code, str(code))}")
    codes = [c for _, c in results]
    if EXIT_INTERNAL in codes:
        return EXIT_INTERNAL
    if EXIT_FAIL in codes:
        return EXIT_FAIL
    if EXIT_UNKNOWN in codes:
        return EXIT_UNKNOWN
    return EXIT_OK


COMMANDS = {"check": cmd_check, "model": cmd_model, "errors": cmd_errors, "verify": cmd_verify}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_UNKNOWN
    handler = COMMANDS.get(args.command) or getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return EXIT_UNKNOWN
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        import traceback

        log = Path(".imospec-cache") / "crash.log"
        try:
            log.parent.mkdir(exist_ok=True)
            log.write_text(traceback.format_exc())
            where = f" (traceback in {log})"
        except OSError:
            where = ""
        print(f"imospec: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
