"""Which functions of an implementation's sources a step can run: a static
over-approximation, read from the Vyper and Solidity sources alone.

A mutation run uses it to pick, for each mutant, the sequences of the
unmutated campaign that can execute the mutated line
(:mod:`conformance.mutate`). A sequence that cannot run the line runs on the
mutant exactly as it ran on the original, so it cannot show the mutant; the
approximation only has to be *sound*: every function a step may run is in
its reach (it may hold more).

The call graph is by name, across every source: a function reaches every
function of any file whose name it mentions (``self._fee(``, ``extcall
self.pool.swap(``, a Solidity modifier), and so on transitively. So a
contract calling ``transfer`` on a token reaches every ``transfer`` there is.

What runs where:

- a step of ``module.action`` runs the function the binding names for the
  action (and whatever it reaches);
- the harness may call any other externally callable function (an exported
  view, a getter, a fallback) in any sequence: those are :attr:`Reach.always`;
- a constructor runs at deployment (:attr:`Reach.deployment`), before every
  sequence.

A mutated line outside every function is a constant's declaration (the
functions that use the constant, transitively through other constants) or
else a declaration whose effect no function bounds (a Solidity state
variable's initial value): that one touches everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# A function as (file, name).
Function = tuple[str, str]

_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
_VY_DEF = re.compile(r"^def\s+(\w+)\s*\(")
_VY_DECL = re.compile(r"^(\w+)\s*:")
# a call in Vyper 0.4: ``self.f(`` (an internal function of the same file; an
# external one cannot be called through ``self``) or ``X(a).f(``/``self.x.f(``
# after ``extcall``/``staticcall`` (an external function of any contract)
_VY_CALL = re.compile(r"(\bself)?\.(\w+)\s*\(")
_SOL_FN = re.compile(r"\b(?:function\s+(\w+)|modifier\s+(\w+)|(constructor|receive|fallback))\s*\(")
_SOL_DECL = re.compile(r"(\w+)\s*=")
CONSTRUCTORS = ("__init__", "constructor")
FALLBACKS = ("__default__", "receive", "fallback")


@dataclass(frozen=True)
class Span:
    """One function of a source: its name, its lines (first and last, 1-based), whether it can be called
    from outside, and the identifiers it mentions."""

    file: str
    name: str
    first: int
    last: int
    external: bool
    mentions: frozenset[str]
    # what it calls, where the language says (Vyper): ``(file, name)`` for an
    # internal call ``self.name(``, ``("", name)`` for an external call
    # ``.name(`` (any file's externally callable ``name``); None: unknown, so
    # every function of any file named in ``mentions`` (Solidity: modifiers,
    # inheritance, calls without ``self``)
    calls: frozenset[Function] | None = None


def _strip_comment(line: str, solidity: bool) -> str:
    return line.split("//")[0] if solidity else line.split("#")[0]


def vyper_spans(file: str, source: str) -> list[Span]:
    """The top-level functions of a Vyper source."""
    lines = source.splitlines()
    spans: list[Span] = []
    for i, line in enumerate(lines):
        m = _VY_DEF.match(line)
        if m is None:
            continue
        decorators = []
        j = i - 1
        while j >= 0 and lines[j].startswith("@"):
            decorators.append(lines[j].strip())
            j -= 1
        end = i + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#" or lines[end].startswith(")")):
            end += 1
        text = " ".join(_strip_comment(x, False) for x in lines[i:end])
        external = any(d.startswith("@external") for d in decorators)
        masked = re.sub(r'"[^"]*"', '""', text)  # (a call's name inside a string runs nothing)
        calls = frozenset((file if own else "", name) for own, name in _VY_CALL.findall(masked))
        spans.append(Span(file, m.group(1), i + 1, end, external, frozenset(_IDENT.findall(text)), calls))
    return spans


def solidity_spans(file: str, source: str) -> list[Span]:
    """The functions, modifiers and constructors (with a body) of a Solidity source."""
    spans: list[Span] = []
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def line_of(offset: int) -> int:
        lo, hi = 0, len(starts) - 1
        while lo < hi:  # the last line start at or before offset
            mid = (lo + hi + 1) // 2
            if starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    for m in _SOL_FN.finditer(source):
        name = m.group(1) or m.group(2) or m.group(3)
        brace = source.find("{", m.end())
        semi = source.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue  # a declaration without a body (an interface's)
        depth, k = 0, brace
        while k < len(source):
            if source[k] == "{":
                depth += 1
            elif source[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        header = source[m.start():brace]
        text = "\n".join(_strip_comment(x, True) for x in source[m.start():k + 1].splitlines())
        external = m.group(3) in ("receive", "fallback") or bool(re.search(r"\b(external|public)\b", header))
        spans.append(Span(file, name, line_of(m.start()), line_of(k), external, frozenset(_IDENT.findall(text))))
    return spans


def spans_of(path: Path) -> list[Span]:
    """The functions of one source file (Vyper, or Solidity by its ``.sol`` suffix)."""
    source = path.read_text(encoding="utf-8")
    return solidity_spans(path.name, source) if path.suffix == ".sol" else vyper_spans(path.name, source)


@dataclass
class Reach:
    """The call graph of a set of sources, by name."""

    spans: list[Span]
    sources: dict[str, list[str]]  # file -> its lines
    by_name: dict[str, list[Span]] = field(default_factory=dict)
    _closure: dict[str, frozenset[Function]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s in self.spans:
            self.by_name.setdefault(s.name, []).append(s)

    @classmethod
    def of(cls, files: Iterable[Path]) -> Reach:
        files = list(dict.fromkeys(Path(f) for f in files))
        spans = [s for f in files for s in spans_of(f)]
        return cls(spans, {f.name: f.read_text(encoding="utf-8").splitlines() for f in files})

    def closure(self, names: Iterable[str]) -> frozenset[Function]:
        """Every function that calling any function named in ``names`` may run."""
        out: set[Function] = set()
        for name in names:
            found = self._closure.get(name)
            if found is None:
                found = self._closure[name] = self._walk(name)
            out |= found
        return frozenset(out)

    def _walk(self, name: str) -> frozenset[Function]:
        return self._from(self.by_name.get(name, []))

    def _from(self, spans: Iterable[Span]) -> frozenset[Function]:
        seen: set[Function] = set()
        todo = list(spans)
        while todo:
            s = todo.pop()
            if (s.file, s.name) in seen:
                continue
            seen.add((s.file, s.name))
            if s.calls is None:
                todo.extend(t for n in s.mentions for t in self.by_name.get(n, []))
                continue
            for file, n in s.calls:
                todo.extend(t for t in self.by_name.get(n, [])
                            if (t.file == file if file else t.external or t.name in FALLBACKS))
        return frozenset(seen)

    def always(self, entries: Iterable[str]) -> frozenset[Function]:
        """What any sequence may run besides its steps: every externally
        callable function that is no action's entry (views, getters,
        fallbacks), and what it reaches."""
        actions = set(entries)
        return self.closure(s.name for s in self.spans
                            if s.name not in CONSTRUCTORS and (s.external or s.name in FALLBACKS)
                            and s.name not in actions)

    def deployment(self) -> frozenset[Function]:
        """What deploying the contracts may run: the constructors and what they reach."""
        return self.closure(CONSTRUCTORS)

    def constructor(self, file: str) -> frozenset[Function] | None:
        """What deploying ``file``'s contract alone may run: its constructor
        and what it reaches; None when that cannot be told from the file's
        own functions (Solidity: base constructors and state variables'
        initial values run too)."""
        if file.endswith(".sol"):
            return None
        return self._from(s for s in self.spans if s.file == file and s.name in CONSTRUCTORS)

    def touched(self, file: str, line: int) -> frozenset[Function] | None:
        """The functions whose code a change of ``file``'s ``line`` changes,
        or None when the change may affect everything."""
        for s in self.spans:
            if s.file == file and s.first <= line <= s.last:
                return frozenset({(file, s.name)})
        lines = self.sources.get(file, [])
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if "constant" not in text or "public" in text:
            # a state variable's initial value, a constant with a getter the harness may call, or
            # something not understood
            return None
        solidity = file.endswith(".sol")
        code = _strip_comment(text, solidity)
        m = (_SOL_DECL.search(code) if solidity else _VY_DECL.match(code.strip()))
        if m is None:
            return None
        # the functions that use the constant, or a constant whose value uses it (in any file: a
        # Solidity contract inherits its bases' constants)
        names, todo = {m.group(1)}, [m.group(1)]
        while todo:
            pattern = re.compile(rf"\b{re.escape(todo.pop())}\b")
            for other_file, other_lines in self.sources.items():
                sol = other_file.endswith(".sol")
                for other in other_lines:
                    code = _strip_comment(other, sol)
                    if "constant" not in code or not pattern.search(code):
                        continue
                    d = _SOL_DECL.search(code) if sol else _VY_DECL.match(code.strip())
                    if d is not None and d.group(1) not in names:
                        names.add(d.group(1))
                        todo.append(d.group(1))
        return frozenset((s.file, s.name) for s in self.spans if s.mentions & names)
