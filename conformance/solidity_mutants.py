"""Mutants of Solidity sources: the kinds of :mod:`conformance.mutate`, in Solidity's syntax.

The same six kinds as for Vyper, each where Solidity writes it:

- ``op``: ``+``/``-``, ``*``/``/``, ``<``/``<=``, ``>``/``>=``,
  ``==``/``!=``, ``&&``/``||`` swapped (never ``++``, ``+=``, ``**``, ``=>``,
  shifts or comment markers);
- ``const``: an integer literal off by one (``1_000`` to ``1001``/``999``;
  ``1e18`` to ``2e18``/``0e18`` and ``1e19``/``1e17``, as Vyper's
  ``10 ** 18`` has its base and exponent moved; ``1 days`` to ``2 days``),
  in a function body or in a ``constant`` declaration;
- ``assert``: a ``require(...)``/``assert(...)`` or an
  ``if (...) revert ...;`` dropped (a statement on several lines is
  disabled by ``if (false)`` in front);
- ``round``: a round-up term ``+ (a % b == 0 ? 0 : 1)`` dropped, and the
  literals of such a term, or of a ``+ 1``, moved by one;
- ``args``: the first two arguments of a call swapped;
- ``event``: two arguments of an ``emit`` swapped, only of the same type in
  the event's declaration when the file declares it (others never compile).

Only statements inside ``function``, ``constructor`` and ``modifier`` bodies
are mutated (plus ``constant`` declarations); comments and string literals
never are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.mutate import Mutant

OPERATOR_SWAPS = [
    (r"(?<![=!<>+\-*/])\+(?![=+])", "-"),
    (r"(?<![=!<>+\-*/])-(?![=>\-])", "+"),
    (r"(?<![*/])\*(?![*=/])", "/"),
    (r"(?<![/*])/(?![/=*])", "*"),
    (r"<=", "<"),
    (r"(?<![<])<(?![=<])", "<="),
    (r">=", ">"),
    (r"(?<![>=\-])>(?![=>])", ">="),
    (r"==", "!="),
    (r"!=", "=="),
    (r"&&", "||"),
    (r"\|\|", "&&"),
]
INT_LITERAL = re.compile(r"(?<![\w.])(\d[\d_]*)(?:e(\d+))?(?![\w.])")
CALL_TWO_ARGS = re.compile(r"(\w+)\(([^(),]+),\s*([^(),]+)([,)])")
NOT_CALLS = frozenset({"require", "assert", "revert", "type", "keccak256", "abi", "mapping", "if", "while", "for",
                       "return", "returns"})
CONSTANT_DECL = re.compile(r"^\s*[\w.]+(?:\s+(?:private|internal|public))?\s+constant\s+\w+\s*=")
FUNCTION_HEAD = re.compile(r"^\s*(?:function|constructor|modifier|fallback|receive)\b")
EMIT = re.compile(r"^(\s*emit\s+(\w+)\()(.*)(\);\s*)$")
EVENT_DECL = re.compile(r"\bevent\s+(\w+)\s*\(([^)]*)\)\s*;", re.S)
ROUND_UP = re.compile(r"\s*\+\s*\(\s*[^()]*%[^()]*\?\s*0\s*:\s*1\s*\)")
REVERT_IF = re.compile(r"^if\s*\(.*\)\s*revert\b.*;$")


def _mask(code: str) -> str:
    """``code`` with string literals blanked, so that no edit lands inside one."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: "\0" * len(m.group(0)), code)


def split_comment(line: str, in_block: bool) -> tuple[str, str, bool]:
    """(code, comment, still inside a ``/* */`` comment) of one line."""
    if in_block:
        end = line.find("*/")
        if end < 0:
            return "", line, True
        code, comment, rest_in_block = split_comment(line[end + 2:], False)
        return " " * (end + 2) + code, line[: end + 2] + comment, rest_in_block
    masked = _mask(line)
    line_at, block_at = masked.find("//"), masked.find("/*")
    if line_at >= 0 and (block_at < 0 or line_at < block_at):
        return line[:line_at], line[line_at:], False
    if block_at >= 0:
        end = masked.find("*/", block_at + 2)
        if end < 0:
            return line[:block_at], line[block_at:], True
        code, comment, rest_in_block = split_comment(line[end + 2:], False)
        return line[:block_at] + " " * (end + 2 - block_at) + code, line[block_at: end + 2] + comment, rest_in_block
    return line, "", False


def code_lines(source: str) -> Iterator[tuple[int, str, str]]:
    """(line number, code, comment) of the lines inside function, constructor
    and modifier bodies (not their headers)."""
    depth, body_depth, pending, in_block = 0, None, False, False
    for no, line in enumerate(source.splitlines(), start=1):
        code, comment, in_block = split_comment(line, in_block)
        masked = _mask(code)
        in_body = body_depth is not None and depth >= body_depth
        if in_body and code.strip() not in ("", "}"):
            yield no, code, comment
        if not in_body and FUNCTION_HEAD.match(masked):
            pending = True
        for ch in masked:
            if ch == "{":
                depth += 1
                if pending:
                    body_depth, pending = depth, False
            elif ch == "}":
                depth -= 1
                if body_depth is not None and depth < body_depth:
                    body_depth = None
        if pending and ";" in masked:
            pending = False  # a declaration without a body (an interface's)


def _literal_variants(m: re.Match[str]) -> Iterator[str]:
    """The literal of ``m`` off by one: its value, or an exponent form's mantissa and exponent."""
    mantissa = int(m.group(1).replace("_", ""))
    if m.group(2) is None:
        for delta in (1, -1):
            if mantissa + delta >= 0:
                yield str(mantissa + delta)
        return
    exponent = int(m.group(2))
    for delta in (1, -1):
        if mantissa + delta >= 0:
            yield f"{mantissa + delta}e{exponent}"
    for delta in (1, -1):
        if exponent + delta >= 0:
            yield f"{mantissa}e{exponent + delta}"


def _event_types(source: str) -> dict[str, list[str]]:
    """The parameter types of each event the source declares, by name."""
    out: dict[str, list[str]] = {}
    for m in EVENT_DECL.finditer(source):
        params = [p.split() for p in m.group(2).split(",") if p.strip()]
        out[m.group(1)] = [p[0] for p in params]
    return out


def mutations(module: str, path: Path) -> Iterator[Mutant]:
    """Every mutant of one Solidity file, in a fixed order."""
    from conformance.mutate import Mutant

    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    events = _event_types(source)
    for no, code, comment in code_lines(source):
        line = lines[no - 1]

        def mutant(kind: str, new_code: str, no: int = no, line: str = line, comment: str = comment) -> Mutant:
            return Mutant(module, path, no, kind, line, new_code + comment)

        masked = _mask(code)
        stripped = code.strip()
        indent = code[: len(code) - len(code.lstrip())]
        if stripped.startswith(("require(", "assert(")) or REVERT_IF.match(stripped):
            gap = code[len(code.rstrip()):] if comment else ""  # the spaces before a trailing comment
            dropped = indent + "{}" if stripped.endswith(";") else indent + "if (false) " + stripped
            yield mutant("assert", dropped + gap)
        for pattern, repl in OPERATOR_SWAPS:
            for m in re.finditer(pattern, masked):
                if repl in ("-", "+") and masked[: m.start()].rstrip().endswith(("(", ",", "=", "[", "?", ":",
                                                                                  "return")):
                    continue  # a sign, not a binary operator
                yield mutant("op", code[: m.start()] + repl + code[m.end():])
        for m in ROUND_UP.finditer(masked):
            yield mutant("round", code[: m.start()] + code[m.end():])
        for m in INT_LITERAL.finditer(masked):
            if masked[: m.start()].endswith("address("):
                continue  # the zero address is a name (Vyper's empty(address)), not a number
            kind = "round" if "%" in masked or (m.group(0) == "1" and re.search(r"\+\s*1\b", masked)) else "const"
            for variant in _literal_variants(m):
                yield mutant(kind, code[: m.start()] + variant + code[m.end():])
        for m in CALL_TWO_ARGS.finditer(masked):
            a, b = code[m.start(2): m.end(2)], code[m.start(3): m.end(3)]
            if a.strip() == b.strip() or m.group(1) in NOT_CALLS or re.search(r"\bemit\s+$", masked[: m.start(1)]):
                continue
            yield mutant("args", code[: m.start(2)] + b.strip() + ", " + a.strip() + code[m.end(3):])
        emit = EMIT.match(code)
        if emit is not None:
            yield from (mutant("event", new) for new in _emit_swaps(emit, events))
    for no, line in enumerate(lines, start=1):
        code, comment, _ = split_comment(line, False)
        decl = CONSTANT_DECL.match(_mask(code))
        if decl is None:
            continue
        for m in INT_LITERAL.finditer(_mask(code), decl.end()):
            for variant in _literal_variants(m):
                yield Mutant(module, path, no, "const", line, code[: m.start()] + variant + code[m.end():] + comment)


def _emit_swaps(emit: re.Match[str], events: dict[str, list[str]]) -> Iterator[str]:
    """The ``emit`` line with two of its arguments swapped (every pair of different values of one type)."""
    from conformance.mutate import _split_top_level

    head, name, body, tail = emit.groups()
    values = [body[a:b].strip() for a, b in _split_top_level(body)]
    types = events.get(name)
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            if values[i] == values[j]:
                continue
            if types is not None and len(types) == len(values) and types[i] != types[j]:
                continue
            swapped = list(values)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            yield head + ", ".join(swapped) + tail
