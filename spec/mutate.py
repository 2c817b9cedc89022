"""Single-point mutants of a spec: does ``imospec prove`` tell a wrong spec from a right one?

A mutant is the spec's text with one small change, made where the protocol's
behaviour lives (action, ``fn`` and ``init`` bodies, ``when`` gates and
constants); the rules, lemmas and covers are never touched. The operators:

- ``drop-require``: a ``require`` deleted;
- ``compare``: a comparison flipped at its boundary (``<``/``<=``, ``>``/``>=``,
  ``==``/``!=``);
- ``add-sub``: ``+`` and ``-`` swapped (also ``+=`` and ``-=``);
- ``const``: a constant off by one either way, or ten times as large;
- ``rounding``: ``mul_div_down`` and ``mul_div_up`` swapped;
- ``drop-assign``: an assignment deleted;
- ``swap-args``: the first two arguments of a call swapped;
- ``phases``: a phase added to a ``when`` gate's list, or one taken out.

Mutants are text edits at the spans the parser records, so a mutant reads
like a one-line change to the spec. The list is deterministic: files in name
order, edits in source order. Running the checks on each mutant is the
command line's job (``imospec mutate --spec``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

from spec import ast
from spec.diagnostics import DiagnosticError, Span
from spec.parser import parse_module

OPERATORS = ("drop-require", "compare", "add-sub", "const", "rounding", "drop-assign", "swap-args", "phases")
COMPARE_FLIPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
ROUNDING = {"mul_div_down": "mul_div_up", "mul_div_up": "mul_div_down"}
#: The file (beside the spec's ``.imo`` files) recording equivalent spec mutants, with their arguments.
EQUIVALENTS_FILE = "equivalent-mutants.json"


class SpecMutationError(Exception):
    """A spec cannot be mutated (it does not parse) or an equivalents file is malformed."""


@dataclass(frozen=True)
class SpecMutant:
    """One edit of one spec file: replace ``text[start:end]`` by ``replacement``."""

    file: str
    line: int
    column: int
    operator: str
    start: int
    end: int
    original: str
    replacement: str
    where: str  # module.declaration

    def apply(self, text: str) -> str:
        """The file's text with this mutant's edit."""
        return text[: self.start] + self.replacement + text[self.end:]

    def key(self) -> tuple[str, int, str, str]:
        """What identifies the mutant in an equivalents file: file name, line, operator, new text."""
        return (Path(self.file).name, self.line, self.operator, " ".join(self.replacement.split()))

    def describe(self) -> str:
        old = " ".join(self.original.split())
        new = " ".join(self.replacement.split()) or "(deleted)"
        if len(old) > 70:
            old = old[:67] + "..."
        if len(new) > 70:
            new = new[:67] + "..."
        return f"{Path(self.file).name}:{self.line}:{self.column} [{self.operator}] {self.where}: {old}  ->  {new}"


def spec_mutants(texts: dict[str, str]) -> list[SpecMutant]:
    """Every mutant of the spec whose files are ``texts`` (file name -> text).

    Raises:
        SpecMutationError: a file does not parse.
    """
    modules: list[tuple[str, str, ast.Module]] = []
    for f in sorted(texts):
        try:
            modules.append((f, texts[f], parse_module(texts[f], f)))
        except DiagnosticError as exc:
            raise SpecMutationError(f"{f} does not parse: {exc}") from None
    bands: dict[str, list[str]] = {}
    for _, _, m in modules:
        for d in m.decls:
            if isinstance(d, ast.Phases):
                bands[d.name] = [b.name for b in d.bands]
    out: list[SpecMutant] = []
    for f, text, m in modules:
        out.extend(_module_mutants(f, text, m, bands))
    return out


def _module_mutants(f: str, text: str, m: ast.Module, bands: dict[str, list[str]]) -> Iterator[SpecMutant]:
    lines = _line_starts(text)

    def off(line: int, col: int) -> int:
        return lines[line - 1] + col - 1

    def edit(span: Span, op: str, replacement: str, where: str, start: int | None = None,
             end: int | None = None) -> SpecMutant:
        s = off(span.line, span.column) if start is None else start
        e = off(span.end_line, span.end_column) if end is None else end
        return SpecMutant(f, span.line, span.column, op, s, e, text[s:e], replacement, where)

    for d in m.decls:
        where = f"{m.name}.{d.name}"
        if isinstance(d, ast.Const):
            orig = text[off(d.value.span.line, d.value.span.column):off(d.value.span.end_line, d.value.span.end_column)]
            for new in (f"({orig}) + 1", f"({orig}) - 1", f"({orig}) * 10"):
                yield edit(d.value.span, "const", new, where)
        body: list[ast.Stmt] = []
        if isinstance(d, ast.Init | ast.Fn | ast.Action):
            body = d.body
        if isinstance(d, ast.Action):
            for w in d.when:
                yield from _phase_mutants(w, bands.get(w.phases, []), edit, off, where)
        for s in ast.walk(body):
            yield from _stmt_mutants(s, text, edit, off, where)


def _phase_mutants(w: ast.WhenClause, all_bands: list[str], edit, off, where: str) -> Iterator[SpecMutant]:  # type: ignore[no-untyped-def]
    names = [n for n, _ in w.allowed]
    first, last = w.allowed[0][1], w.allowed[-1][1]
    start, end = off(first.line, first.column), off(last.end_line, last.end_column)
    variants: list[list[str]] = []
    if len(names) > 1:
        variants += [[n for n in names if n != drop] for drop in names]
    variants += [[*names, extra] for extra in all_bands if extra not in names]
    for v in variants:
        yield edit(first, "phases", ", ".join(v), where, start, end)


def _stmt_mutants(s: ast.Stmt, text: str, edit, off, where: str) -> Iterator[SpecMutant]:  # type: ignore[no-untyped-def]
    if isinstance(s, ast.Require):
        yield edit(s.span, "drop-require", "", where)
    if isinstance(s, ast.Assign):
        yield edit(s.span, "drop-assign", "", where)
        if s.op in ("+=", "-="):
            t_end = off(s.target.span.end_line, s.target.span.end_column)
            v_start = off(s.value.span.line, s.value.span.column)
            gap = text[t_end:v_start]
            i = gap.find(s.op)
            if i >= 0:
                yield edit(s.span, "add-sub", "-=" if s.op == "+=" else "+=", where, t_end + i, t_end + i + 2)
    for e in _stmt_exprs(s):
        for x in _walk_expr(e):
            yield from _expr_mutants(x, text, edit, off, where)


def _expr_mutants(e: ast.Expr, text: str, edit, off, where: str) -> Iterator[SpecMutant]:  # type: ignore[no-untyped-def]
    if isinstance(e, ast.BinOp) and (e.op in COMPARE_FLIPS or e.op in ("+", "-")):
        l_end = off(e.left.span.end_line, e.left.span.end_column)
        r_start = off(e.right.span.line, e.right.span.column)
        gap = text[l_end:r_start]
        i = gap.find(e.op)
        if i >= 0:
            if e.op in COMPARE_FLIPS:
                yield edit(e.span, "compare", COMPARE_FLIPS[e.op], where, l_end + i, l_end + i + len(e.op))
            else:
                yield edit(e.span, "add-sub", "-" if e.op == "+" else "+", where, l_end + i, l_end + i + 1)
    if isinstance(e, ast.Call):
        if isinstance(e.func, ast.Name) and e.func.id in ROUNDING:
            yield edit(e.func.span, "rounding", ROUNDING[e.func.id], where)
        if len(e.args) >= 2:
            a, b = e.args[0], e.args[1]
            sa, ea = off(a.span.line, a.span.column), off(a.span.end_line, a.span.end_column)
            sb, eb = off(b.span.line, b.span.column), off(b.span.end_line, b.span.end_column)
            ta, tb = text[sa:ea], text[sb:eb]
            if ta != tb:
                yield edit(e.span, "swap-args", tb + text[ea:sb] + ta, where, sa, eb)


def _stmt_exprs(s: ast.Stmt) -> list[ast.Expr]:
    if isinstance(s, ast.Let):
        return [s.value]
    if isinstance(s, ast.Assign):
        return [s.target, s.value]
    if isinstance(s, ast.ExprStmt):
        return [s.expr]
    if isinstance(s, ast.Require):
        return [s.cond]
    if isinstance(s, ast.If):
        return [s.test]
    if isinstance(s, ast.Emit):
        return list(s.args)
    if isinstance(s, ast.Return):
        return [s.value]
    if isinstance(s, ast.Govern):
        return [s.target, s.key, s.value]
    if isinstance(s, ast.For):
        return [s.bound]
    return []


def _walk_expr(e: ast.Expr) -> Iterator[ast.Expr]:
    """Every sub-expression of ``e``, ``e`` first, in source order."""
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        children: list[ast.Expr] = []
        for f in fields(x):
            v = getattr(x, f.name)
            if isinstance(v, ast.Expr):
                children.append(v)
            elif isinstance(v, list):
                children.extend(i for i in v if isinstance(i, ast.Expr))
        stack.extend(reversed(children))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def sample(mutants: list[SpecMutant], limit: int | None, seed: int) -> list[SpecMutant]:
    """A deterministic sample of at most ``limit`` mutants (all when ``limit`` is None), in source order."""
    if limit is None or len(mutants) <= limit:
        return list(mutants)
    picked = random.Random(seed).sample(range(len(mutants)), limit)
    return [mutants[i] for i in sorted(picked)]


#: What an equivalents file's entry matches: :meth:`SpecMutant.key`, with the
#: column appended when the entry gives one.
EquivalentKey = tuple[str, int, str, str] | tuple[str, int, str, str, int]


def load_equivalents(path: Path) -> dict[EquivalentKey, str]:
    """The spec mutants recorded as equivalent in ``path``, by :meth:`SpecMutant.key`, with their arguments.

    The file holds ``{"equivalent": [{"file", "line", "operator", "mutated", "argument"}, ...]}``;
    a missing file records none. An entry may also give the ``column`` where
    the edit starts: it then matches only the mutant there, for a line where
    two mutants of the same operator make the same new text and only one of
    them is equivalent (see :func:`equivalent_argument`).

    Raises:
        SpecMutationError: the file is not JSON of that shape, or an entry has no argument.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        out: dict[EquivalentKey, str] = {}
        for e in data["equivalent"]:
            argument = str(e["argument"]).strip()
            if not argument:
                raise SpecMutationError(f"{path}: an equivalent mutant needs an argument: {e!r}")
            key: EquivalentKey = (str(e["file"]), int(e["line"]), str(e["operator"]),
                                  " ".join(str(e["mutated"]).split()))
            if e.get("column") is not None:
                key = (*key, int(e["column"]))
            out[key] = argument
        return out
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecMutationError(f"{path}: not an equivalents file ({exc})") from None


def equivalent_argument(equivalents: dict[EquivalentKey, str], m: SpecMutant) -> str | None:
    """The recorded argument that ``m`` is equivalent, or None: an entry with
    ``m``'s column first, then one keyed by the line alone."""
    return equivalents.get((*m.key(), m.column)) or equivalents.get(m.key())
