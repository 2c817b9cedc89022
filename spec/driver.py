"""The driver: chains the pure stages (read -> parse -> check) and caches them.

Every consumer gets a spec the same way::

    result = load_spec(["spec/protocol"])
    if result.ok:
        spec = result.spec   # the checked IR

Parsing is cached per file content; checking per set of files. Nothing raises
for bad input: problems come back as diagnostics.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spec import ast, ir
from spec.check import check_modules
from spec.diagnostics import Diagnostic, DiagnosticError, Span
from spec.parser import MAX_FILE_BYTES, parse_module

BUNDLED_PROTOCOL = Path(__file__).parent / "protocol"
SPEC_SUFFIX = ".imo"


class SpecHasErrors(Exception):
    """A spec was needed, but it does not check.

    ``checked`` is the load result with every diagnostic; ``report`` holds
    them rendered (code, place, caret, hint).
    """

    def __init__(self, checked: LoadResult, where: str | Path | None = None) -> None:
        from spec.diagnostics import render

        self.checked = checked
        self.report = "\n".join(render(d, checked.sources) for d in checked.diagnostics)
        place = f" {where}" if where is not None else ""
        super().__init__(f"the spec{place} has errors; run `imospec check{place}` for details")


@dataclass
class LoadResult:
    """The outcome of loading a spec: the IR (when clean) and diagnostics."""

    spec: ir.Spec | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics that are errors."""
        return [d for d in self.diagnostics if d.is_error]

    @property
    def ok(self) -> bool:
        """Whether the spec checked with no error (warnings allowed)."""
        return self.spec is not None and not self.errors

    def checked_spec(self, where: str | Path | None = None) -> ir.Spec:
        """The IR of a spec that checks.

        Raises:
            SpecHasErrors: the spec has errors.
        """
        if self.spec is None or self.errors:
            raise SpecHasErrors(self, where)
        return self.spec


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand directories into their ``.imo`` files, sorted; report missing paths."""
    files: list[Path] = []
    diags: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.rglob(f"*{SPEC_SUFFIX}"))
            if not found:
                diags.append(Diagnostic("E006", f"no `{SPEC_SUFFIX}` file under `{p}`", None))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            diags.append(Diagnostic("E003", f"cannot read `{p}`: no such file or directory", None))
    unique: list[Path] = []
    for f in files:
        if f not in unique:
            unique.append(f)
    return unique, diags


def read_source(path: Path, display: str) -> tuple[str | None, list[Diagnostic]]:
    """Read one file as UTF-8 text, or explain why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Diagnostic("E003", f"cannot read `{display}`: {exc.strerror}", None)]
    if len(data) > MAX_FILE_BYTES:
        return None, [
            Diagnostic(
                "E007", f"`{display}` is {len(data)} bytes; the limit is {MAX_FILE_BYTES}", Span(display, 1, 1, 1, 2)
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Diagnostic(
                "E003",
                f"`{display}` is not UTF-8 text (byte {exc.start})",
                Span(display, line, col, line, col + 1),
                "spec files are UTF-8 text",
            )
        ]
    if "\x00" in text:
        idx = text.index("\x00")
        line = text.count("\n", 0, idx) + 1
        col = idx - (text.rfind("\n", 0, idx) + 1) + 1
        return None, [
            Diagnostic(
                "E003", f"`{display}` contains a NUL byte; it looks binary", Span(display, line, col, line, col + 1)
            )
        ]
    # a UTF-8 byte-order mark carries no meaning in a spec: drop it
    return text.removeprefix("\ufeff"), []


_parse_cache: dict[tuple[str, str], ast.Module | DiagnosticError] = {}


def parse_cached(text: str, display: str) -> ast.Module:
    """Parse with a cache keyed by file name and content hash.

    Raises:
        DiagnosticError: on syntax errors (cached too).
    """
    key = (display, hashlib.sha256(text.encode()).hexdigest())
    hit = _parse_cache.get(key)
    if hit is None:
        try:
            hit = parse_module(text, display)
        except DiagnosticError as err:
            hit = err
        if len(_parse_cache) > 512:
            _parse_cache.clear()
        _parse_cache[key] = hit
    if isinstance(hit, DiagnosticError):
        raise hit
    return hit


def _is_blank(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("//") for line in text.splitlines())


def load_spec(paths: Sequence[str | Path] = (BUNDLED_PROTOCOL,), *, base: Path | None = None) -> LoadResult:
    """Read, parse and check the spec in ``paths`` (files or directories).

    File names in diagnostics are shown relative to ``base`` (default: the
    current directory) when possible. Never raises for bad input.
    """
    with _recursion_limit(RECURSION_LIMIT):
        return _load_spec(paths, base)


# Deeply nested input recurses in the tree builder and the checker. Their
# recursion is plain Python calls, which CPython 3.11 runs without growing the
# C stack, so a generous limit is safe; beyond it the input gets E004.
RECURSION_LIMIT = 60_000


@contextlib.contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _load_spec(paths: Sequence[str | Path], base: Path | None) -> LoadResult:
    return check_sources(read_sources(paths, base=base))


@dataclass
class Sources:
    """The first phase: the spec's files, read as text, and what went wrong reading them.

    ``texts`` maps each file's display name to its text (None when it could
    not be read); ``stems`` maps it to the file name without ``.imo``.
    """

    files: list[str]
    texts: dict[str, str | None]
    stems: dict[str, str]
    diagnostics: list[Diagnostic]

    @property
    def readable(self) -> dict[str, str]:
        """The text of every file that could be read."""
        return {k: v for k, v in self.texts.items() if v is not None}


def read_sources(paths: Sequence[str | Path] = (BUNDLED_PROTOCOL,), *, base: Path | None = None) -> Sources:
    """Read the spec files in ``paths`` (files or directories, expanded to their
    ``.imo`` files). Never raises for bad input: a missing or unreadable file
    is a diagnostic."""
    files, diags = discover(paths)
    base = base or Path.cwd()
    texts: dict[str, str | None] = {}
    stems: dict[str, str] = {}
    displays: list[str] = []
    for f in files:
        display = _display(f, base)
        displays.append(display)
        text, problems = read_source(f, display)
        diags.extend(problems)
        texts[display] = text
        stems[display] = f.stem
    return Sources(displays, texts, stems, diags)


def check_sources(sources: Sources) -> LoadResult:
    """Parse and check read sources: the checked IR (when clean) and every diagnostic.

    Never raises for bad input: problems come back as diagnostics.
    """
    with _recursion_limit(RECURSION_LIMIT):
        return _check_sources(sources)


def _check_sources(src: Sources) -> LoadResult:
    diags = list(src.diagnostics)
    sources: dict[str, str] = {}
    modules: list[ast.Module] = []
    for display in src.files:
        text = src.texts.get(display)
        if text is None:
            continue
        stem = src.stems[display]
        sources[display] = text
        if _is_blank(text):
            diags.append(
                Diagnostic(
                    "E006",
                    f"`{display}` holds no module",
                    Span(display, 1, 1, 1, 2),
                    f"start it with `module {stem}`",
                )
            )
            continue
        try:
            mod = parse_cached(text, display)
        except DiagnosticError as err:
            diags.extend(err.diagnostics)
            continue
        except RecursionError:
            diags.append(Diagnostic("E004", "the input nests too deeply", Span(display, 1, 1, 1, 2)))
            continue
        if mod.name != stem:
            diags.append(
                Diagnostic(
                    "E005",
                    f"`{display}` holds module `{mod.name}`",
                    mod.span,
                    f"rename the file to `{mod.name}{SPEC_SUFFIX}` or the module to `{stem}`",
                )
            )
        modules.append(mod)
    names: dict[str, ast.Module] = {}
    for m in modules:
        if m.name in names:
            diags.append(
                Diagnostic("E011", f"module `{m.name}` is defined twice", m.span, f"also in {names[m.name].file}")
            )
        names[m.name] = m
    if not src.files and not diags:
        diags.append(Diagnostic("E006", "no spec files given", None))
    spec: ir.Spec | None = None
    if modules:
        try:
            spec, check_diags = check_modules(list(names.values()), sources)
        except RecursionError:
            check_diags = [
                Diagnostic("E004", "an expression nests too deeply to check", None, "split it with `let` bindings")
            ]
        diags.extend(check_diags)
    return LoadResult(spec, _sorted(diags), sources, list(src.files))


def _display(f: Path, base: Path) -> str:
    try:
        return str(f.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(f)


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics by place, each distinct one once."""
    diags = list(dict.fromkeys(diags))

    def key(d: Diagnostic) -> tuple[str, int, int, str]:
        if d.span is None:
            return ("", 0, 0, d.code)
        return (d.span.file, d.span.line, d.span.column, d.code)

    return sorted(diags, key=key)
