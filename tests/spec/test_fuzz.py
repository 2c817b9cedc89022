"""Fuzzing the checker: whatever the input, only clean diagnostics come out.

For every input the checker must:

- exit 0 or 1 (never 3, an internal error, and never die of a signal);
- write nothing that looks like a traceback or an internal error;
- report only codes of the CATALOGUE, each with a span (when it has one) inside
  the file it names;
- never raise from ``load_spec`` or ``render``.

Inputs: (a) programs generated from the grammar itself (``from_lark``), (b)
random edits of the real specs (the mini fixture and the bundled protocol),
(c) random bytes and text, (d) extreme inputs (empty, 2 MB, 5000 nested
brackets, 100k-term expressions, very deep statement nesting).

The default run is derandomized and small; ``pytest -m slow tests/spec/test_fuzz.py``
runs a longer, randomized campaign.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from imospec_cli.main import build_parser, main
from spec.diagnostics import CATALOGUE, Diagnostic, render
from spec.driver import load_spec
from spec.parser import KEYWORDS

REPO = Path(__file__).resolve().parents[2]
MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
PROTOCOL = REPO / "spec" / "protocol"

FAST = settings(
    derandomize=True, max_examples=100, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FAST_CHEAP = settings(FAST, max_examples=250)
SLOW = settings(
    max_examples=3000, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# Building the CLI parser imports the optional command packages (and py-evm, which
# raises the recursion limit to 100000). Do it once now, as the `imospec` script
# does, so every example runs in the same process state.
build_parser()

# what a crash looks like; quoted source lines start with a line-number gutter, so
# fuzzed text that happens to read "internal error" is not mistaken for one
TRACEBACK_RE = re.compile(
    r"Traceback \(most recent call last\)|^imospec: internal error|^\s*File \".*\", line \d+", re.M
)


# ------------------------------------------------------------------ oracle


def _lines_of(data: bytes) -> list[str] | list[bytes]:
    """The file's lines as the parser counts them: split at "\\n" only."""
    try:
        return data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return data.split(b"\n")


def _check_span(d: Diagnostic, contents: dict[str, bytes]) -> None:
    span = d.span
    if span is None:
        return
    assert span.file in contents, f"{d.code} names a file that was not given: {span.file!r}"
    lines = _lines_of(contents[span.file])
    where = f"{d.code} at {span.line}:{span.column}-{span.end_line}:{span.end_column} ({d.message})"
    assert 1 <= span.line <= len(lines), f"{where}: line outside the file ({len(lines)} lines)"
    assert 1 <= span.column <= len(lines[span.line - 1]) + 1, f"{where}: column outside line {span.line}"
    assert (span.end_line, span.end_column) >= (span.line, span.column), f"{where}: span ends before it starts"
    assert span.end_line <= len(lines), f"{where}: span ends after the file"
    # the end is exclusive; a caret at end of file may reach one past the last column
    assert span.end_column <= len(lines[span.end_line - 1]) + 2, f"{where}: span end outside line {span.end_line}"


def assert_clean(files: dict[str, bytes], extra: dict[str, bytes] | None = None) -> None:
    """Check ``files`` (name -> content) with the CLI and with load_spec; assert clean diagnostics."""
    everything = {**(extra or {}), **files}
    with tempfile.TemporaryDirectory(prefix="imofuzz") as tmp:
        root = Path(tmp)
        for name, data in everything.items():
            (root / name).write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.chdir(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "."])
        assert code in (0, 1), f"exit {code}; stderr:\n{err.getvalue()[-2000:]}"
        assert not TRACEBACK_RE.search(err.getvalue()), err.getvalue()[-2000:]
        assert not TRACEBACK_RE.search(out.getvalue()), out.getvalue()[-2000:]

        result = load_spec([root], base=root)
        for d in result.diagnostics:
            assert d.code in CATALOGUE, f"unknown code {d.code}"
            _check_span(d, everything)
            text = render(d, result.sources)
            assert f"[{d.code}]" in text
        assert (code == 0) == (not result.errors), "CLI exit code and load_spec disagree"


def _module_file(text: str, default: str = "fuzz") -> str:
    m = re.search(r"\bmodule\s+([A-Za-z_][A-Za-z0-9_]*)", text)
    return f"{m.group(1) if m else default}.imo"


# ------------------------------------------------------ (a) from the grammar


def _grammar() -> Lark:
    text = resources.files("spec").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False)


NAME_POOL = [
    "a", "b", "x", "n", "amount", "total", "balance_of", "owner", "req", "sig", "Phase", "Iron",
    "Bronze", "Gold", "tiers", "WAD", "LEVELS", "caller", "now", "self", "block_number", "chain_id",
    "min", "max", "old", "sum", "hash", "len", "isqrt", "mul_div_down", "div_up", "level_of", "at",
    "expiry", "MAX_UINT256", "ZERO_ADDRESS", "Entry", "Transfer", "fuzz", "token", "vault", "lock", "cash",
]  # fmt: skip


def _pad(s: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return s.map(lambda t: f" {t} ")


def _explicit(grammar: Lark, odd: bool = True) -> dict[str, st.SearchStrategy[str]]:
    """Plausible text for each terminal, padded with spaces so tokens never merge.

    With ``odd``, edge-case literals the lexer accepts (`0x_`, 2**256, long reasons) are included.
    """
    out: dict[str, st.SearchStrategy[str]] = {}
    for term in grammar.terminals:
        if type(term.pattern).__name__ == "PatternStr":
            out[term.name] = st.just(f" {term.pattern.value} ")
    names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
    ints = ["0", "1", "2", "10", "18", "100", "256", "1_000", str(2**256 - 1)]
    hexes = ["0x0", "0xABC", "0x" + "f" * 40, "0xdead_beef"]
    reasons = ['"ZERO_AMOUNT"', '"X"']
    if odd:
        ints += [str(2**256), "0_"]
        hexes += ["0x1" + "0" * 40, "0x_"]
        reasons += ['"bad reason"', '""', '"' + "A" * 40 + '"']
    out.update({
        "NAME": _pad(st.sampled_from(NAME_POOL) | names),
        "INT": _pad(st.sampled_from(ints) | st.integers(0, 2**300).map(str)),
        "HEX": _pad(st.sampled_from(hexes)),
        "STRING": _pad(st.sampled_from(reasons)),
        "ASSIGN_OP": _pad(st.sampled_from(["=", "+=", "-="])),
        "COMP_OP": _pad(st.sampled_from(["==", "!=", "<=", ">=", "<", ">"])),
        "ADD_OP": _pad(st.sampled_from(["+", "-"])),
        "MUL_OP": _pad(st.sampled_from(["*", "/", "%"])),
        "WS": st.sampled_from([" ", "\n", "\t", "\r\n"]),
        "COMMENT": st.sampled_from(["// note\n", "//\n", "// é ünïcode ✓\n"]),
    })
    return {k: v for k, v in out.items() if k in {t.name for t in grammar.terminals}}


GRAMMAR = _grammar()
PROGRAMS = from_lark(GRAMMAR, start="start", explicit=_explicit(GRAMMAR))
PLAIN_PROGRAMS = from_lark(GRAMMAR, start="start", explicit=_explicit(GRAMMAR, odd=False))


def _check_program(text: str) -> None:
    assert_clean({_module_file(text): text.encode("utf-8")})


@FAST
@given(PROGRAMS)
def test_grammar_generated_programs(text: str) -> None:
    _check_program(text)


@pytest.mark.slow
@SLOW
@given(PROGRAMS)
def test_grammar_generated_programs_slow(text: str) -> None:
    _check_program(text)


def test_generated_programs_parse() -> None:
    """Sanity: the grammar strategy produces text the parser accepts (so (a) reaches the checker)."""
    from spec.parser import parse_module

    @settings(derandomize=True, max_examples=30, deadline=None, database=None)
    @given(PLAIN_PROGRAMS)
    def inner(text: str) -> None:
        parse_module(text, "fuzz.imo")

    inner()


# ------------------------------------------------- (b) mutations of real specs


def _spec_dirs() -> dict[str, dict[str, str]]:
    out = {}
    for d in (MINI, PROTOCOL):
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(d.glob("*.imo"))}
        if files:
            out[d.name] = files
    return out


SPECS = _spec_dirs()
SNIPPETS = [*sorted(KEYWORDS),
    "{", "}", "(", ")", "[", "]", ",", ".", ":", ";", "=", "+=", "==>", "**", "->", "//", "\"", "'", "\n",
    "0", "0x", "115792089237316195423570985008687907853269984665640564039457584007913129639936",
    "old(", "sum(", "forall x: uint256.", "caller", "self", "x", "\t", "\u00e9", "\ufeff", "&&", "$",
]  # fmt: skip


@st.composite
def mutated_spec(draw: st.DrawFn) -> tuple[str, str, str, dict[str, str]]:
    """(spec name, file name, mutated text, the other files of that spec)."""
    spec_name = draw(st.sampled_from(sorted(SPECS)))
    files = SPECS[spec_name]
    name = draw(st.sampled_from(sorted(files)))
    text = files[name]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "truncate", "insert", "lines"]))
        n = len(text)
        a = draw(st.integers(0, n))
        b = min(n, a + draw(st.integers(0, 120)))
        if kind == "delete":
            text = text[:a] + text[b:]
        elif kind == "duplicate":
            text = text[:b] + text[a:b] + text[b:]
        elif kind == "swap":
            c = draw(st.integers(0, n))
            d = min(n, c + (b - a))
            if d <= a:
                text = text[:c] + text[a:b] + text[d:a] + text[c:d] + text[b:]
            elif c >= b:
                text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        elif kind == "truncate":
            text = text[:a]
        elif kind == "insert":
            token = draw(st.sampled_from(SNIPPETS))
            text = text[:a] + draw(st.sampled_from(["", " "])) + token + draw(st.sampled_from(["", " "])) + text[a:]
        else:  # delete, duplicate or move whole lines
            lines = text.split("\n")
            i = draw(st.integers(0, max(0, len(lines) - 1)))
            j = min(len(lines), i + draw(st.integers(1, 8)))
            op = draw(st.sampled_from(["del", "dup", "move"]))
            chunk = lines[i:j]
            rest = lines[:i] + lines[j:]
            if op == "del":
                lines = rest
            elif op == "dup":
                lines = lines[:j] + chunk + lines[j:]
            else:
                k = draw(st.integers(0, len(rest)))
                lines = rest[:k] + chunk + rest[k:]
            text = "\n".join(lines)
    others = {k: v for k, v in files.items() if k != name}
    return spec_name, name, text, others


def _check_mutant(case: tuple[str, str, str, dict[str, str]]) -> None:
    _, name, text, others = case
    assert_clean({name: text.encode("utf-8")}, {k: v.encode("utf-8") for k, v in others.items()})


@FAST
@given(mutated_spec())
def test_mutated_specs(case: tuple[str, str, str, dict[str, str]]) -> None:
    _check_mutant(case)


@pytest.mark.slow
@SLOW
@given(mutated_spec())
def test_mutated_specs_slow(case: tuple[str, str, str, dict[str, str]]) -> None:
    _check_mutant(case)


def test_unmutated_specs_are_clean() -> None:
    """Sanity for (b): the inputs before mutation pass the oracle too."""
    for files in SPECS.values():
        assert_clean({k: v.encode("utf-8") for k, v in files.items()})


# ------------------------------------------------------ (c) random bytes/text

RANDOM_BYTES = st.one_of(
    st.binary(max_size=400),
    st.binary(max_size=60).map(lambda b: b"module fuzz\n" + b),
    st.text(max_size=300).map(lambda t: ("module fuzz\n" + t).encode("utf-8")),
    st.text(alphabet=st.sampled_from(list("{}()[],.:;=+-*/%<>!&|'\"\\\n\t \x00\x0c\u2028\ufeffaz09_")),
            max_size=300).map(lambda t: ("module fuzz\n" + t).encode("utf-8")),
)


@FAST_CHEAP
@given(RANDOM_BYTES)
def test_random_bytes(data: bytes) -> None:
    assert_clean({"fuzz.imo": data})


@pytest.mark.slow
@SLOW
@given(RANDOM_BYTES)
def test_random_bytes_slow(data: bytes) -> None:
    assert_clean({"fuzz.imo": data})


# ------------------------------------------------------------ (d) extremes


def _sum(n: int) -> str:
    return "module fuzz\nstate s: uint256\naction f() {\n    s = " + " + ".join(["s"] * n) + "\n}\n"


def _module(*body: str) -> bytes:
    return ("module fuzz\n" + "".join(body)).encode()


# Cheap extremes, run in this process through main() and load_spec.
EXTREMES: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "only_newlines": lambda: b"\n" * 1000,
    "two_megabytes": lambda: _module(("// " + "x" * 97 + "\n") * 21000),
    "nested_parens_5000": lambda: _module("const X: uint256 = ", "(" * 5000, "1", ")" * 5000, "\n"),
    "nested_brackets_5000": lambda: _module("const X: list[uint256] = ", "[" * 5000, "]" * 5000, "\n"),
    "nested_braces_5000": lambda: _module("action f() {\n", "if true {\n" * 5000, "}\n" * 5000, "}\n"),
    "unbalanced_open_5000": lambda: _module("const X: uint256 = ", "(" * 5000, "\n"),
    "sum_100k_terms": lambda: _sum(100_000).encode(),
    "long_line": lambda: _module("state s: uint256", " " * 500_000, "x\n"),
    "many_decls": lambda: _module(*(f"state s{i}: uint256\n" for i in range(20_000))),
}

# Deep-recursion extremes, each in its own `imospec check` process so that a crash
# (a C stack overflow kills the process) fails one test instead of the whole run.
# They take from seconds to over a minute each, so they belong to the slow campaign.
DEEP_EXTREMES: dict[str, Callable[[], bytes]] = {
    "sum_100k_terms": lambda: _sum(100_000).encode(),
    "const_sum_100k_terms": lambda: _module("const a: uint256 = 1\nconst X: uint256 = ",
                                            " + ".join(["a"] * 100_000), "\n"),
    "not_100k": lambda: _module("state s: bool\ninvariant i: ", "not " * 100_000, "s\n"),
    "member_chain_100k": lambda: _module("state s: uint256\ninvariant i: s", ".x" * 100_000, " == 1\n"),
    "and_chain_20k": lambda: _module("state s: bool\naction f() {\n    require ",
                                     " and ".join(["s"] * 20_000), ', "NO"\n}\n'),
    "else_if_chain_35k": lambda: _module("fn f(a: uint256) -> uint256 {\n",
                                         "if a > 0 { return 1 } else " * 35_000, "{ return 2 }\n}\n"),
    "cond_chain_45k": lambda: _module("const X: uint256 = ", "if true then 1 else " * 45_000, "1\n"),
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_extreme_input(name: str) -> None:
    assert_clean({"fuzz.imo": EXTREMES[name]()})


_CHILD = """
import sys
from imospec_cli.main import main
sys.exit(main(["check", sys.argv[1]]))
"""


def _run_child(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "fuzz.imo").write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, "fuzz.imo"], cwd=tmp_path, capture_output=True, text=True,
        timeout=900, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode in (0, 1), f"exit {proc.returncode} (negative = killed by a signal)\n{proc.stderr[-2000:]}"
    assert not TRACEBACK_RE.search(proc.stderr), proc.stderr[-2000:]
    assert proc.stdout, "no output at all"
    headers = re.findall(r"(?m)^(?:(\S+):(\d+):(\d+): )?(?:error|warning)\[([EW]\d{3})\]", proc.stdout)
    lines = _lines_of(data)
    for file, line, col, code in headers:
        assert code in CATALOGUE
        if file:
            assert file == "fuzz.imo"
            assert 1 <= int(line) <= len(lines) and 1 <= int(col) <= len(lines[int(line) - 1]) + 1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEEP_EXTREMES))
def test_deep_extreme_input_via_cli(name: str, tmp_path: Path) -> None:
    _run_child(tmp_path, DEEP_EXTREMES[name]())
