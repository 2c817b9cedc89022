"""The `imospec` command line: one subcommand per pipeline stage.

This package owns argument parsing, exit codes (:mod:`imospec_cli.exits`) and
output; every command works through one :class:`imospec_cli.pipeline.Pipeline`.
``check``, ``model`` and ``errors`` live here; ``prove`` in
:mod:`imospec_cli.prove`; ``conform``, ``mutate`` and ``replay`` in
:mod:`imospec_cli.conform`; ``bind`` in :mod:`imospec_cli.bind`; ``verify`` in
:mod:`imospec_cli.verify`.

Exit codes are stable so that scripts can trust them; they are defined once,
in :mod:`imospec_cli.exits` (0 holds, 1 wrong, 2 inconclusive, 3 internal
error or a broken installation, 64 a usage or setup error). Usage errors and
argument types are shared in :mod:`imospec_cli.usage`, the config file is read
by :mod:`imospec_cli.config`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from imospec_cli import bind, conform, docs, fixtures, prove, verify
from imospec_cli.exits import EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE, write_crash_log
from imospec_cli.pipeline import Pipeline
from imospec_cli.usage import Parser, UsageError

__all__ = ["EXIT_FAIL", "EXIT_INTERNAL", "EXIT_OK", "EXIT_UNKNOWN", "EXIT_USAGE", "build_parser", "main"]

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
    parser = Parser(
        prog="imospec",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--no-color", action="store_true", help="plain output without colours")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="settings file (default: imospec.toml, or [tool.imospec] in pyproject.toml, in this "
                        "directory or a parent); flags on the command line override it")
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
    verify.register(sub)
    prove.register(sub)
    conform.register(sub)
    docs.register(sub)
    fixtures.register(sub)
    bind.register(sub)
    return parser


def _console(no_color: bool):  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(highlight=False, no_color=no_color, soft_wrap=True)


def cmd_check(args: argparse.Namespace) -> int:
    """``imospec check``: print every diagnostic and a summary; 0 when clean."""
    return run_check(Pipeline(args.paths or None), quiet=args.quiet)


def run_check(pipeline: Pipeline, *, quiet: bool = False) -> int:
    """Print the pipeline's diagnostics (and a summary unless ``quiet``); 0 when clean, 1 on errors."""
    from imospec_cli.usage import spec_setup_only
    from spec.diagnostics import render

    result = pipeline.checked
    out = sys.stdout
    for d in result.diagnostics:
        print(render(d, result.sources), file=out)
    errors = len(result.errors)
    warnings = len(result.diagnostics) - errors
    if not quiet:
        modules = len(result.spec.modules) if result.spec else 0
        if errors:
            print(f"{errors} error(s), {warnings} warning(s) in {len(result.files)} file(s)", file=out)
            if spec_setup_only(result.diagnostics):
                print("hint: give the spec's directory (it holds the `.imo` files) or its files", file=out)
        else:
            rules = sum(len(m.rules) for m in result.spec.modules.values()) if result.spec else 0
            actions = sum(len(m.actions) for m in result.spec.modules.values()) if result.spec else 0
            print(f"ok: {modules} module(s), {actions} action(s), {rules} rule(s), {warnings} warning(s)", file=out)
    if errors and spec_setup_only(result.diagnostics):
        return EXIT_USAGE
    return EXIT_FAIL if errors else EXIT_OK


def cmd_model(args: argparse.Namespace) -> int:
    """``imospec model``: list the modules, or print a module's generated reference model."""
    from spec.diagnostics import render

    result = Pipeline(args.paths or None).checked
    if not result.ok or result.spec is None:
        from imospec_cli.usage import spec_setup_only

        for d in result.diagnostics:
            print(render(d, result.sources), file=sys.stderr)
        print("the spec has errors; run `imospec check` for details", file=sys.stderr)
        return EXIT_USAGE if spec_setup_only(result.diagnostics) else EXIT_FAIL
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
            raise UsageError(f"no module `{t}` in the spec", hint or f"the modules: {', '.join(names)}")
        print(generate_module(result.spec, t), end="")
    return EXIT_OK


def cmd_errors(args: argparse.Namespace) -> int:
    from spec.diagnostics import catalogue_markdown

    print(catalogue_markdown(), end="")
    return EXIT_OK


COMMANDS = {"check": cmd_check, "model": cmd_model, "errors": cmd_errors}


def configure(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> None:
    """Make the config file's settings (``--config FILE``, else the one found
    from the working directory up) the defaults of ``parser``'s commands.

    Raises:
        ConfigError: the file is missing, not TOML, or sets what no option accepts.
    """
    from imospec_cli.config import ConfigError, apply, find_config, load_config

    args = list(sys.argv[1:] if argv is None else argv)
    given: Path | None = None
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--config" and i + 1 < len(args):
            given = Path(args[i + 1])
        elif a.startswith("--config="):
            given = Path(a.split("=", 1)[1])
    if given is not None and not given.is_file():
        raise ConfigError(f"{given}: no such config file (looked for {given.resolve()})",
                          "give an existing file to --config, or leave it out to use imospec.toml")
    path = given or find_config()
    if path is not None:
        apply(load_config(path), parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see the module docstring)."""
    from imospec_cli.usage import report_setup_error, setup_errors

    parser = build_parser()
    try:
        configure(parser, argv)
    except setup_errors() as exc:
        return report_setup_error(exc)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("imospec: error: no command given\nhint: `imospec verify` runs the main job; `imospec --help` "
              "lists the commands", file=sys.stderr)
        return EXIT_USAGE
    handler = COMMANDS.get(args.command) or getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args))
    except setup_errors() as exc:
        return report_setup_error(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except ImportError as exc:
        import traceback

        where = write_crash_log(traceback.format_exc())
        missing = getattr(exc, "name", None) or str(exc)
        print(f"imospec: `imospec {args.command}` needs the Python package `{missing}`, which cannot be "
              f"imported ({exc}); the installation is broken: reinstall with `pip install -e .`{where}",
              file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:
        import traceback

        where = write_crash_log(traceback.format_exc())
        print(f"imospec: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
