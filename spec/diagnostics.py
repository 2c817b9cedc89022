"""Diagnostics: the one way the spec pipeline talks about bad input.

Every problem is a :class:`Diagnostic` with a stable code from :data:`CATALOGUE`,
a message, a source span and, where it helps, a hint. Stages collect every
diagnostic they find instead of stopping at the first. ``docs/errors.md`` is
generated from the catalogue (``imospec errors``) and a test keeps them equal.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class CodeInfo:
    """One entry of the diagnostic catalogue."""

    code: str
    title: str
    explanation: str
    severity: Severity = Severity.ERROR


def _catalogue(*entries: CodeInfo) -> dict[str, CodeInfo]:
    return {e.code: e for e in entries}


CATALOGUE: dict[str, CodeInfo] = _catalogue(
    # Reading and parsing
    CodeInfo("E001", "syntax error", "The parser met a token it did not expect here."),
    CodeInfo("E002", "unexpected character", "A character that no token of the language starts with."),
    CodeInfo("E003", "unreadable file", "The file is not UTF-8 text, or cannot be read."),
    CodeInfo("E004", "nesting too deep", "Brackets nest deeper than the checker accepts (100 levels)."),
    CodeInfo("E005", "module name does not match file", "A file `x.imo` must hold `module x`."),
    CodeInfo("E006", "empty spec", "There is no `.imo` file, or a file holds no module."),
    CodeInfo("E007", "file too large", "A spec file is over 1 MiB; the checker refuses it."),
    # Names
    CodeInfo("E010", "unknown name", "A name that no declaration, argument or local binding introduces."),
    CodeInfo("E011", "duplicate name", "Two declarations, arguments or locals share a name in one scope."),
    CodeInfo("E012", "unknown module", "An `import` or `extends` names a module that no file holds."),
    CodeInfo("E013", "unknown member", "`m.x` where module, record or schedule `m` has no member `x`."),
    CodeInfo("E014", "bad template", "`extends` names a module that is not `abstract`, or templates form a cycle."),
    CodeInfo("E015", "module not imported", "A module is used as `m.x` without `import m`."),
    CodeInfo("E016", "instance lacks a template's part", "A template uses a name (a function, an action, a constant...) that a module extending it does not declare; each instance must declare what its template leaves to it."),
    # Types
    CodeInfo("E020", "type mismatch", "An expression has a type other than the one its place requires."),
    CodeInfo("E021", "wrong number of arguments", "A call passes more or fewer arguments than declared."),
    CodeInfo("E022", "not callable", "Something that is not a function, action, record or phase set is called."),
    CodeInfo("E023", "statement has no effect", "An expression statement must be a call or an assignment."),
    CodeInfo("E024", "bad revert reason", "Revert reasons are UPPER_SNAKE_CASE strings, at most 32 characters."),
    CodeInfo("E025", "missing return", "A function, or an action with a result type, can end without `return`."),
    CodeInfo("E026", "bad loop bound", "A `for` bound must be a constant between 0 and 256."),
    CodeInfo("E027", "rule-only construct", "`old`, `sum` and `forall` are allowed only in rules and `ensures`."),
    CodeInfo("E028", "not a place", "The left side of an assignment must be a state variable, a local, a map entry or a record field."),
    CodeInfo("E029", "not indexable", "Only maps and lists can be indexed."),
    # Effects and mutability
    CodeInfo("E030", "assignment to a parameter", "A `param` or `const` is set at creation; only `init` may assign a param."),
    CodeInfo("E031", "assignment to a governed parameter", "A governed parameter changes only through `govern` in its timelock."),
    CodeInfo("E032", "govern outside a timelock", "`govern` may appear only in a module that some governed parameter names with `via`."),
    CodeInfo("E033", "function with effects", "A `fn` or a rule cannot assign state, emit events, govern, or call actions."),
    CodeInfo("E034", "internal action called from outside", "An `internal action` can only be called by its own module."),
    CodeInfo("E035", "misplaced call", "An action call must be a statement or the whole right side of `let`/assignment."),
    # Protocol rules
    CodeInfo("E040", "phase thresholds out of order", "The bands of a `phases` block must have strictly ascending thresholds."),
    CodeInfo("E041", "invariant names no state", "An invariant or lemma must read some state; a closed property is a `theorem`."),
    CodeInfo("E042", "action can never succeed", "The action's `require`s contradict each other on constants."),
    CodeInfo("E043", "bad signed request", "A request needs `nonce` and `expiry` fields of type uint256 and a nonce map `map[address, uint256]`."),
    CodeInfo("E044", "bad decay schedule", "`levels` and `periods` must be constant lists of equal length, levels ascending."),
    CodeInfo("E045", "bad governed bounds", "Bounds must be constant, `low <= high`, and the default inside them."),
    CodeInfo("E046", "theorem names state", "A `theorem` is a closed property of functions and constants."),
    CodeInfo("E047", "bad constant", "A constant expression fails to evaluate (overflow, division by zero, not constant)."),
    CodeInfo("E048", "timelock target unknown", "`via` names a module that does not exist or never uses `govern`."),
    CodeInfo("E049", "bad cover", "`succeeds` names no public action of the cover's module, or the cover uses `old`."),
    # Covers (met or not by `imospec prove`)
    CodeInfo("E050", "cover not met", "No witness run found reaches the state a `cover` describes, or makes its `succeeds` call succeed."),
    CodeInfo("E051", "bad `uncovered:` line", "An action's comment says a generated cover cannot be met, but names no goal of the action, gives no reason, or a run met it all the same."),
    CodeInfo("E052", "bad govern hook", "`after govern m.p: a()` needs `m` imported (or this module), `p` a governed parameter of `m`, and `a` an internal action of this module without arguments."),
    CodeInfo("W001", "unused import", "A module is imported but never used.", Severity.WARNING),
    CodeInfo("W002", "action never succeeded", "Generated cover: no witness run found in which this public action succeeds.", Severity.WARNING),
    CodeInfo("W003", "require never passed or never failed", "Generated cover: no witness run found in which this `require` passes, or none in which it fails: it may be dead, or never bite.", Severity.WARNING),
    CodeInfo("W004", "phase gate never admitted or never refused a phase", "Generated cover: no witness run found in which the `when` gate admits a listed phase, or refuses an unlisted one.", Severity.WARNING),
)


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec: code, message, place and optional hint."""

    code: str
    message: str
    span: Span | None
    hint: str | None = None

    @property
    def severity(self) -> Severity:
        """``error`` or ``warning``, from the code's catalogue entry."""
        return CATALOGUE[self.code].severity

    @property
    def is_error(self) -> bool:
        """Whether the diagnostic is an error (a warning is not)."""
        return self.severity is Severity.ERROR


class DiagnosticError(Exception):
    """Raised by a stage that cannot go on; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} diagnostic(s)")
        self.diagnostics = diagnostics


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return a 'did you mean' hint for the closest candidate, if any is close."""
    pool = sorted(set(candidates) - {name})
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def render(diagnostic: Diagnostic, sources: dict[str, str]) -> str:
    """Format a diagnostic as text: header, source line with a caret, hint.

    ``sources`` maps file names to their text, to quote the offending line.
    """
    info = CATALOGUE[diagnostic.code]
    where = f"{diagnostic.span}: " if diagnostic.span else ""
    lines = [f"{where}{info.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    span = diagnostic.span
    if span is not None and span.file in sources:
        # lines end at "\n" only, as the parser counts them (not at form feeds etc.)
        text_lines = sources[span.file].split("\n")
        if 1 <= span.line <= len(text_lines):
            raw = text_lines[span.line - 1].rstrip("\r")
            src = _printable(raw.expandtabs(4))
            before = _printable(raw[: span.column - 1].expandtabs(4))
            width = 1
            if span.end_line == span.line and span.end_column > span.column:
                width = len(_printable(raw[: span.end_column - 1].expandtabs(4))) - len(before)
            if len(src) > 160:
                src = src[:160] + " ..."
            gutter = f"{span.line:>5} | "
            lines.append(gutter + src)
            caret_col = min(len(before) + 1, len(src) + 1)
            width = max(1, min(width, len(src) + 1 - caret_col + 1))
            lines.append(" " * (len(gutter) + caret_col - 1) + "^" * width)
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return "\n".join(lines)


def _printable(text: str) -> str:
    """Control characters shown as spaces, so the caret lines up."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def catalogue_markdown() -> str:
    """Return docs/errors.md: every diagnostic code with its title and meaning."""
    out = [
        "# Diagnostic codes",
        "",
        "Generated from `spec/diagnostics.py` by `imospec errors`; a test keeps the two equal.",
        "Codes are stable: a code is never reused for another meaning.",
        "",
        "| code | severity | title | meaning |",
        "|---|---|---|---|",
    ]
    for info in CATALOGUE.values():
        out.append(
            f"| {info.code} | {info.severity.value} | {info.title} | {info.explanation} |"
        )
    return "\n".join(out) + "\n"
