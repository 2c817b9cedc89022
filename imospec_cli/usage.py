"""Usage and setup errors, shared by every subcommand: the argument parser,
argument types that validate up front, and the one map from an exception to
an exit code and a message with a hint.

A subcommand module (``prove``, ``conform``, ``verify``, and those other
engineers add) registers its parser with ``sub.add_parser(...)``: the parser
class is :class:`Parser`, so that its ``--help`` ends with the exit-code table
and a bad argument exits 64, never argparse's 2 (which means "inconclusive").
Its handler may raise :class:`UsageError`, or let a setup exception
(:func:`setup_errors`) escape: ``imospec_cli.main.main`` prints it with
:func:`report_setup_error` and returns :func:`exit_code_for`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from imospec_cli.exits import EXIT_FAIL, EXIT_TABLE, EXIT_USAGE

__all__ = [
    "Parser",
    "UsageError",
    "existing_path",
    "exit_code_for",
    "nonneg_int",
    "output_file",
    "positive_float",
    "positive_int",
    "report_setup_error",
    "setup_errors",
    "spec_setup_only",
]

#: Diagnostic codes that, with no place in a file, mean "the checker found
#: nothing to read" (a missing path, a directory with no ``.imo`` file, a file
#: the system refuses to read): a setup error (exit 64), not a wrong spec
#: (exit 1). With a place (a file that is not UTF-8, holds no module) they are
#: about the spec's content: exit 1.
SETUP_CODES = frozenset({"E003", "E006"})


class UsageError(Exception):
    """A command was given something it cannot use: a bad argument, a
    missing file, an unknown name. Nothing was checked (exit 64).

    ``hint`` says what to do instead (printed on its own line).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class Parser(argparse.ArgumentParser):
    """An argument parser whose ``--help`` ends with the exit-code table and
    whose errors exit 64 (usage), with the command's usage line and a hint."""

    def format_help(self) -> str:
        return super().format_help().rstrip("\n") + "\n\n" + EXIT_TABLE + "\n"

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        print(f"hint: `{self.prog} --help` lists the arguments", file=sys.stderr)
        sys.exit(EXIT_USAGE)


# ------------------------------------------------------------ argument types


def nonneg_int(s: str) -> int:
    """An argument that is a whole number, 0 or more (``1_000`` allowed)."""
    try:
        v = int(s.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {v}")
    return v


def positive_int(s: str) -> int:
    """An argument that is a whole number, 1 or more."""
    v = nonneg_int(s)
    if v == 0:
        raise argparse.ArgumentTypeError("must be at least 1, got 0")
    return v


def positive_float(s: str) -> float:
    """An argument that is a number above 0."""
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {s}")
    return v


def existing_path(s: str) -> Path:
    """An argument naming a file or directory that exists."""
    p = Path(s)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"{s} does not exist (looked for {p.resolve()})")
    return p


def output_file(s: str) -> Path:
    """An argument naming a file to write (``-`` for stdout): its directory must exist."""
    p = Path(s)
    if s != "-" and not p.resolve().parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {s}: the directory {p.resolve().parent} does not exist")
    if s != "-" and p.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {s}: it is a directory")
    return p


# ------------------------------------------------------------ setup errors


#: Where the setup exceptions live: (module, class name).
_SETUP_ERRORS = (
    ("imospec_cli.config", "ConfigError"), ("conformance.binding", "BindingError"),
    ("spec.driver", "SpecHasErrors"), ("evm_backend.errors", "EvmBackendError"),
    ("conformance.runner", "FixtureError"), ("conformance.parallel", "EngineUnavailable"),
    ("conformance.mutate", "MutationInputError"), ("verification.runner", "SelectionError"),
)


#: The hint of a setup exception that carries none of its own.
DEFAULT_HINTS = {
    "SelectionError": "`imospec model --list` lists the modules; rules are named RULE or MODULE.RULE",
    "FixtureError": "give a fixture that `imospec conform` saved (it prints the path after a divergence)",
    "MutationInputError": "give a report that `imospec mutate --json` wrote, or an equivalents file of its shape",
    "EngineUnavailable": "install the extra: pip install 'imospec[ray]', or use --engine local",
    "CompileError": "fix the contract, or the binding's path to it",
    "BindingError": "docs/conformance.md describes the binding format",
}


def setup_errors() -> tuple[type[Exception], ...]:
    """The exceptions that mean "this input cannot be used" (exit 64 or, for a
    spec with real errors, 1; never a traceback). Imported lazily, so that
    building the parser stays fast; a package that cannot be imported (a broken
    installation, reported as such) adds none."""
    import importlib

    found: list[type[Exception]] = [UsageError]
    for module, name in _SETUP_ERRORS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(found)


def spec_setup_only(diagnostics: Any) -> bool:
    """Whether every error among ``diagnostics`` says the spec could not be read
    (:data:`SETUP_CODES`), rather than that it is wrong."""
    errors = [d for d in diagnostics if d.is_error]
    return bool(errors) and all(d.code in SETUP_CODES and d.span is None for d in errors)


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a setup exception: 1 for a spec with real errors (it is
    wrong), 64 for everything else (nothing could be checked)."""
    from spec.driver import SpecHasErrors

    if isinstance(exc, SpecHasErrors) and not spec_setup_only(exc.checked.diagnostics):
        return EXIT_FAIL
    return EXIT_USAGE


def report_setup_error(exc: BaseException, file: Any = None) -> int:
    """Print a setup exception (the spec's diagnostics too, when that is what
    failed) with its hint; return :func:`exit_code_for` it."""
    from spec.driver import SpecHasErrors

    out = file if file is not None else sys.stderr
    if isinstance(exc, SpecHasErrors):
        print(exc.report, file=out)
        if spec_setup_only(exc.checked.diagnostics):
            print("hint: give a directory that holds `.imo` files, or a binding whose \"spec\" names one",
                  file=out)
            return EXIT_USAGE
        print(f"error: {exc}", file=out)
        return EXIT_FAIL
    print(f"error: {exc}", file=out)
    hint = getattr(exc, "hint", None) or DEFAULT_HINTS.get(type(exc).__name__)
    if type(exc).__name__ == "BindingError" and "CompileError:" in str(exc):  # a worker could not compile
        hint = DEFAULT_HINTS["CompileError"]
    if hint:
        print(f"hint: {hint}", file=out)
    return exit_code_for(exc)
