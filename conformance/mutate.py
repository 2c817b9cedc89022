"""Mutation testing of the conformance suite.

A mutant is a copy of one Vyper contract with one small change of the kinds
that real bugs take:

- ``op``: an operator swapped (``+``/``-``, ``*``/``//``, ``<``/``<=``,
  ``>``/``>=``, ``==``/``!=``, ``and``/``or``);
- ``const``: an integer literal off by one, in a function body or in a
  module-level ``constant`` (a period a day too long, a tier of 0);
- ``assert``: an ``assert`` dropped;
- ``round``: a rounding flipped (``+ 1``/``+ convert(...)`` of a round-up dropped);
- ``args``: the first two arguments of a call swapped;
- ``event``: the values of two fields of a ``log`` swapped.

Each mutant that compiles runs through a conformance campaign. It is *killed*
when the campaign finds a divergence (or its deployment breaks); otherwise it
*survives*, and the report lists it for a human to classify as equivalent
(no observable difference is possible) or as a gap in the suite.

Mutants a human has judged equivalent are recorded, with the reason, in a JSON
file next to the binding (:data:`EQUIVALENTS_FILE`, read by
:func:`load_equivalents`). They still run: one that is killed was misjudged,
and the report says so. The kill rate counts the other mutants only.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from conformance.binding import Binding, load_binding
from conformance.runner import run_campaign
from evm_backend.errors import EvmBackendError
from spec import ir

OPERATOR_SWAPS = [
    (r"(?<![=!<>+\-*/])\+(?![=+])", "-"),
    (r"(?<![=!<>+\-*/])-(?![=>\-])", "+"),
    (r"(?<![*])\*(?![*=])", "//"),
    (r"//(?!=)", "*"),
    (r"<=", "<"),
    (r"(?<![<])<(?![=<])", "<="),
    (r">=", ">"),
    (r"(?<![>\-])>(?![=>])", ">="),
    (r"==", "!="),
    (r"!=", "=="),
    (r"\band\b", "or"),
    (r"\bor\b", "and"),
]
EQUIVALENTS_FILE = "equivalent-mutants.json"
INT_LITERAL = re.compile(r"(?<![\w.])(\d+)(?![\w.])")
CALL_TWO_ARGS = re.compile(r"(\w+)\(([^(),]+),\s*([^(),]+)([,)])")
CONSTANT_DECL = re.compile(r"^\w+\s*:\s*constant\(.*\)\s*=")
LOG_CALL = re.compile(r"^(\s*log\s+\w+\()(.*)(\)\s*)$")


class MutationInputError(Exception):
    """An equivalents file or an earlier mutation report cannot be read or has the wrong shape."""


@dataclass(frozen=True)
class Mutant:
    """One mutation of one contract: where, what kind, and the new line."""

    module: str
    file: Path
    line: int
    kind: str
    original: str
    mutated: str

    def describe(self) -> str:
        return f"{self.file.name}:{self.line} [{self.kind}] {self.original.strip()}  ->  {self.mutated.strip()}"

    def key(self) -> tuple[str, int, str]:
        """What identifies the mutant in an equivalents file: file name, line, mutated line."""
        return (self.file.name, self.line, self.mutated.strip())


@dataclass
class MutationReport:
    """Killed and surviving mutants, and those that did not compile.

    Survivors recorded as equivalent are in ``equivalent`` (with the reason),
    not in ``survived``; mutants recorded as equivalent that were killed all
    the same are in ``killed`` and in ``misjudged``.
    """

    killed: list[Mutant] = field(default_factory=list)
    survived: list[Mutant] = field(default_factory=list)
    stillborn: list[Mutant] = field(default_factory=list)
    equivalent: list[tuple[Mutant, str]] = field(default_factory=list)
    misjudged: list[Mutant] = field(default_factory=list)

    @property
    def kill_rate(self) -> float:
        """Killed over the mutants that compile and are not known equivalents."""
        tried = len(self.killed) + len(self.survived)
        return len(self.killed) / tried if tried else 0.0


def load_equivalents(path: Path) -> dict[tuple[str, int, str], str]:
    """The mutants recorded as equivalent in ``path``, by :meth:`Mutant.key`, with their reasons.

    The file holds ``{"equivalent": [{"file", "line", "mutated", "reason"}, ...]}``;
    a missing file records none.

    Raises:
        MutationInputError: the file is not JSON of that shape, or an entry has no reason.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["equivalent"]
        out: dict[tuple[str, int, str], str] = {}
        for e in entries:
            reason = str(e["reason"]).strip()
            if not reason:
                raise MutationInputError(f"{path}: {e['file']}:{e['line']}: an equivalent mutant needs a reason")
            out[(str(e["file"]), int(e["line"]), str(e["mutated"]).strip())] = reason
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MutationInputError(f"{path}: not an equivalents file ({type(exc).__name__}: {exc})") from None
    return out


def survivors_of(report: Path) -> set[tuple[str, int, str]]:
    """The mutants that survived in a report written by ``imospec mutate --json``, by :meth:`Mutant.key`.

    Raises:
        MutationInputError: the file cannot be read or is not such a report.
    """
    try:
        rows = json.loads(report.read_text(encoding="utf-8"))["mutants"]
        return {(str(r["file"]), int(r["line"]), str(r["mutated"]).strip()) for r in rows if r["fate"] == "survived"}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MutationInputError(f"{report}: not a mutation report ({type(exc).__name__}: {exc})") from None


def _code_lines(source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of the statements inside function bodies."""
    in_function = False
    in_docstring = False
    for i, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if in_docstring:
            in_docstring = stripped.count('"""') % 2 == 0  # still open unless this line closes it
            continue
        if stripped.startswith('"""'):
            # a docstring: skip it, and every line up to its closing quotes
            in_docstring = stripped.count('"""') == 1
            continue
        if not line.startswith((" ", "\t")):
            in_function = stripped.startswith("def ")
            continue
        if not in_function or not stripped or stripped.startswith("#"):
            continue
        yield i, line


def _strip_comment(line: str) -> tuple[str, str]:
    code, hash_, comment = line.partition("#")
    if code.count('"') % 2 == 1:  # a '#' inside a string: keep the whole line
        return line, ""
    return code, hash_ + comment


def mutations(module: str, path: Path) -> Iterator[Mutant]:
    """Every mutant of one contract (Vyper, or Solidity by its ``.sol``
    suffix: :mod:`conformance.solidity_mutants`), in a fixed order."""
    if path.suffix == ".sol":
        from conformance.solidity_mutants import mutations as solidity_mutations

        yield from solidity_mutations(module, path)
        return
    source = path.read_text(encoding="utf-8")
    for no, line in _code_lines(source):
        code, comment = _strip_comment(line)
        stripped = code.strip()
        if stripped.startswith("assert "):
            indent = code[: len(code) - len(code.lstrip())]
            yield Mutant(module, path, no, "assert", line, f"{indent}pass")
        if stripped.startswith(("log ", "return ", "def ")) and "(" not in stripped:
            continue
        masked = re.sub(r'"[^"]*"', lambda m: "\0" * len(m.group(0)), code)  # no edits inside strings
        for pattern, repl in OPERATOR_SWAPS:
            for m in re.finditer(pattern, masked):
                if repl in ("-", "+") and (masked[: m.start()].rstrip().endswith(("(", ",", "=", "[")) or
                                           masked[m.start() - 1: m.start()] == "e"):
                    continue  # a sign, not a binary operator
                new = code[: m.start()] + repl + code[m.end():]
                yield Mutant(module, path, no, "op", line, new + comment)
        for m in INT_LITERAL.finditer(masked):
            value = int(m.group(1))
            for delta in (1, -1):
                if value + delta < 0:
                    continue
                new = code[: m.start()] + str(value + delta) + code[m.end():]
                kind = "round" if value == 1 and ("+ 1" in code or "+1" in code) else "const"
                yield Mutant(module, path, no, kind, line, new + comment)
        for m in CALL_TWO_ARGS.finditer(masked):
            a, b = code[m.start(2): m.end(2)], code[m.start(3): m.end(3)]
            if a.strip() == b.strip() or m.group(1) in ("range", "empty", "convert", "max_value", "min_value"):
                continue
            new = code[: m.start(2)] + b.strip() + ", " + a.strip() + code[m.end(3):]
            yield Mutant(module, path, no, "args", line, new + comment)
        if stripped.startswith("log "):
            yield from _log_swaps(module, path, no, line, code, comment)
    yield from _constant_mutations(module, path, source)


def _constant_mutations(module: str, path: Path, source: str) -> Iterator[Mutant]:
    """Each integer literal of a module-level ``constant``'s value off by one."""
    for no, line in enumerate(source.splitlines(), start=1):
        code, comment = _strip_comment(line)
        decl = CONSTANT_DECL.match(code)
        if decl is None:
            continue
        start = decl.end()
        masked = re.sub(r'"[^"]*"', lambda m: "\0" * len(m.group(0)), code)
        for m in INT_LITERAL.finditer(masked, start):
            value = int(m.group(1))
            for delta in (1, -1):
                if value + delta >= 0:
                    new = code[: m.start()] + str(value + delta) + code[m.end():]
                    yield Mutant(module, path, no, "const", line, new + comment)


def _split_top_level(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the comma-separated items of ``text`` at
    bracket depth 0."""
    spans, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(text)))
    return spans


def _log_swaps(module: str, path: Path, no: int, line: str, code: str, comment: str) -> Iterator[Mutant]:
    """The ``log`` of ``code`` with the values of two of its fields swapped
    (every pair; a swap of values of different types does not compile)."""
    m = LOG_CALL.match(code)
    if m is None:
        return
    head, body, tail = m.groups()
    fields = []
    for a, b in _split_top_level(body):
        name, eq, value = body[a:b].partition("=")
        if not eq:
            return  # positional fields: not a form these contracts use
        fields.append((name.strip(), value.strip()))
    for i in range(len(fields)):
        for j in range(i + 1, len(fields)):
            if fields[i][1] == fields[j][1]:
                continue
            values = [v for _, v in fields]
            values[i], values[j] = values[j], values[i]
            new = head + ", ".join(f"{n}={v}" for (n, _), v in zip(fields, values, strict=True)) + tail
            yield Mutant(module, path, no, "event", line, new + comment)


def _apply(m: Mutant) -> str:
    lines = m.file.read_text(encoding="utf-8").splitlines(keepends=True)
    end = "\n" if lines[m.line - 1].endswith("\n") else ""
    lines[m.line - 1] = m.mutated.rstrip("\n") + end
    return "".join(lines)


def _mutant_binding(binding: Binding, m: Mutant, workdir: Path) -> Path:
    """A copy of the implementation with the mutant in place, and its binding."""
    impl = binding.path.parent
    dst = workdir / "impl"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(impl, dst)
    (dst / m.file.relative_to(impl)).write_text(_apply(m), encoding="utf-8")
    data = json.loads(binding.path.read_text(encoding="utf-8"))
    data["spec"] = str(binding.spec_dir)
    target = dst / binding.path.name
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


# The default budget of a mutant's campaign: this many sequences start from
# each starting state (the state after the prelude, and each scenario of the
# binding). Many mutants can only be seen from one of them (a failed offering,
# a pool in Gold), and with fewer, whether a campaign happens to call the one
# action that shows them from the one state that allows it is a lottery.
SEQUENCES_PER_START = 10


def campaign_kills(spec: ir.Spec, binding: Binding, m: Mutant, *, backend: str, examples: int, steps: int,
                   seed: int, workdir: Path) -> str:
    """Compile mutant ``m`` of ``binding``'s implementation and run its
    campaign (unshrunk, to the first divergence): ``"stillborn"`` when it does
    not compile, else ``"killed"`` or ``"survived"``."""
    from evm_backend.compiler import compile_source
    from evm_backend.solc import compile_solidity

    mutant_path = _mutant_binding(binding, m, workdir)
    try:
        if m.file.suffix == ".sol":  # with its imports, from the mutant's copy of the implementation
            compile_solidity(mutant_path.parent / m.file.relative_to(binding.path.parent))
        else:
            compile_source(_apply(m), name=m.file.stem, path=str(m.file))
    except EvmBackendError:
        return "stillborn"
    mb = load_binding(mutant_path)
    try:
        result = run_campaign(spec, mb, backend=backend, examples=examples, steps=steps, seed=seed,
                              fixture_dir=workdir / "fixtures", shrink=False)
    except EvmBackendError:
        return "killed"  # the mutant breaks deployment: observable at once
    return "survived" if result.ok else "killed"


def run_mutants(
    spec: ir.Spec,
    binding: Binding | Path,
    mutants: list[Mutant],
    *,
    backend: str = "pyrevm",
    examples: int | None = None,
    steps: int = 25,
    seed: int = 0,
    progress: object = None,
    equivalents: dict[tuple[str, int, str], str] | None = None,
    workers: int = 1,
    engine: str = "local",
    address: str | None = None,
) -> MutationReport:
    """Run the conformance campaign on each mutant; classify it.

    ``equivalents`` (see :func:`load_equivalents`) are mutants known to be
    equivalent: a survivor among them is reported as equivalent, not survived.
    ``examples`` defaults to :data:`SEQUENCES_PER_START` for each starting
    state of the binding (the state after the prelude and each scenario).
    The mutants run on ``workers`` processes (or on a Ray cluster, see
    :mod:`conformance.parallel`), each mutant's campaign in one of them as it
    would run alone: the report is the same for any number of workers.

    ``binding`` is the implementation's (or the path of its file), and
    ``spec`` the checked IR of the spec it names
    (:class:`imospec_cli.pipeline.Pipeline` gives both).

    Raises:
        BindingError: a mutant's binding cannot be written or read back.
        EngineUnavailable: ``engine="ray"`` without Ray installed.
    """
    from conformance.parallel import _IMPLEMENTATIONS, MutantTask, run_mutant_task, run_tasks

    known = equivalents or {}
    if not isinstance(binding, Binding):
        binding = load_binding(binding)  # the binding file only: the spec is the one given
    if examples is None:
        examples = SEQUENCES_PER_START * len(binding.starts)
    path = str(binding.path.resolve())
    _IMPLEMENTATIONS.setdefault(path, (binding, spec))  # a forked worker starts with it
    tasks = [MutantTask(path, m, backend, examples, steps, seed) for m in mutants]
    report = MutationReport()
    fates = run_tasks(run_mutant_task, tasks, workers=workers, engine=engine, address=address)
    for i, (m, fate) in enumerate(zip(mutants, fates, strict=True)):
        if fate == "stillborn":
            report.stillborn.append(m)
            continue
        killed = fate == "killed"
        reason = known.get(m.key())
        if killed:
            report.killed.append(m)
            if reason is not None:
                report.misjudged.append(m)
        elif reason is not None:
            report.equivalent.append((m, reason))
        else:
            report.survived.append(m)
        if callable(progress):
            progress(i + 1, len(mutants), m, killed)
    return report


def targets(binding: Binding) -> list[tuple[str, Path]]:
    """The (module, source file) pairs to mutate: each module's Vyper or
    Solidity source and, for Solidity, the files of the implementation it
    imports (a base contract several modules share, once, under the first
    module that imports it). Modules bound to built artifacts have none."""
    from evm_backend.solc import local_imports

    out: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    impl = binding.path.parent.resolve()
    for module, mb in binding.modules.items():
        source = mb.vyper or mb.solidity
        if source is None:
            continue
        files = [source]
        if mb.solidity is not None:
            files += [f for f in local_imports(mb.solidity) if f.resolve().is_relative_to(impl)]
        for f in files:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                out.append((module, f))
    return out


def select(all_mutants: list[Mutant], limit: int | None, seed: int) -> list[Mutant]:
    """A deterministic sample of at most ``limit`` mutants, spread over kinds and files."""
    if limit is None or len(all_mutants) <= limit:
        return all_mutants
    import random

    rng = random.Random(seed)
    picked = rng.sample(all_mutants, limit)
    return sorted(picked, key=lambda m: (m.file.name, m.line, m.kind, m.mutated))
