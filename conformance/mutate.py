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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.binding import Binding, ModuleBinding, load_binding, module_artifact
from conformance.harness import Harness, Step
from conformance.runner import run_campaign
from evm_backend.compiler import CompiledContract
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
# What the Vyper compiler itself raises on some mutants instead of a compile
# error (a constant `1 ** 32` makes its constant folder divide by log(1) = 0):
# such a mutant does not compile either.
COMPILER_CRASHES: tuple[type[Exception], ...] = (ArithmeticError,)
NOT_COMPILED: tuple[type[Exception], ...] = (EvmBackendError, *COMPILER_CRASHES)
IMPORT_LINE = re.compile(r"^(import|from)\s", re.MULTILINE)


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
    the same are in ``killed`` and in ``misjudged``. Survivors whose code no
    sequence of the campaign can run are in ``survived`` and in ``unreached``
    as well: a gap of the campaign, never an equivalent. ``killed_on`` names,
    for each killed mutant, the binding (the deployment) whose run killed it
    (see :func:`run_mutants_on`).
    """

    killed: list[Mutant] = field(default_factory=list)
    survived: list[Mutant] = field(default_factory=list)
    unreached: list[Mutant] = field(default_factory=list)
    stillborn: list[Mutant] = field(default_factory=list)
    equivalent: list[tuple[Mutant, str]] = field(default_factory=list)
    misjudged: list[Mutant] = field(default_factory=list)
    killed_on: dict[tuple[str, int, str], Path] = field(default_factory=dict)  # by key: the binding whose run killed it

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
    except NOT_COMPILED:
        return "stillborn"
    mb = load_binding(mutant_path)
    try:
        result = run_campaign(spec, mb, backend=backend, examples=examples, steps=steps, seed=seed,
                              fixture_dir=workdir / "fixtures", shrink=False)
    except EvmBackendError:
        return "killed"  # the mutant breaks deployment: observable at once
    return "survived" if result.ok else "killed"


# ------------------------------------------------------------ the corpus
#
# A mutant's campaign draws the very sequences the unmutated implementation's
# campaign draws with the same seed, up to the first step where the two
# behave differently: the generator reads the model (and the clock), never
# the contracts, and the model is not mutated. And a step that does not run
# the mutated code behaves as it did on the original. So the campaign kills
# the mutant exactly when one of the original campaign's sequences that can
# run the mutated code diverges on the mutant. A mutation run therefore draws
# the campaign once, on the original (:func:`record_corpus`), and replays on
# each mutant only the sequences that can reach its code (conformance.reach),
# in their campaign's order, to the first divergence (:func:`replay_kills`).
# The verdicts are those of each mutant's own campaign, without drawing it.


@dataclass(frozen=True)
class Sequence:
    """One sequence of a campaign: the index of its starting state in the
    binding's starts, and its steps as they ran (an empty one stands for a
    shard's starting state itself)."""

    start: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Corpus:
    """The sequences of the unmutated implementation's campaign, in campaign
    order, and the steps that make each starting state (the prelude's, then
    the scenario's)."""

    sequences: tuple[Sequence, ...]
    setups: tuple[tuple[Step, ...], ...]  # by start: the prelude's steps and the scenario's
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return sum(len(s.steps) for s in self.sequences)


class ImplementationDiverges(Exception):
    """The unmutated implementation already differs from the spec: its
    mutants cannot be told apart by a divergence."""


def step_entries(binding: Binding, steps: Iterable[Step]) -> set[str]:
    """The names of the contract functions that ``steps`` call (an action
    bound to a sequence of calls: every name its binding mentions)."""
    out: set[str] = set()
    for step in steps:
        if step.kind != "action":
            continue
        b = binding.modules[step.module]
        bound = b.actions.get(step.action)
        out.add(b.name(step.action))
        if bound is not None:
            out.update(re.findall(r"\b[A-Za-z_]\w*\b", repr(bound)))
    return out


def action_entries(binding: Binding, spec: ir.Spec) -> set[str]:
    """The contract functions of every action of the spec the binding implements."""
    return step_entries(binding, (Step("action", m, a) for m in binding.modules if m in spec.modules
                                  for a in spec.modules[m].actions))


def record_corpus(spec: ir.Spec, binding: Binding, *, backend: str, examples: int, steps: int, seed: int,
                  workers: int = 1, engine: str = "local", address: str | None = None) -> Corpus:
    """The sequences of the unmutated implementation's campaign (of
    ``examples`` sequences of up to ``steps`` steps, with ``seed``), on
    ``workers`` processes: the same corpus for any number of them.

    Raises:
        ImplementationDiverges: the implementation's deployment or one of
            its sequences differs from the spec.
        BindingError: a worker could not set the implementation up.
    """
    import time

    from conformance.parallel import _IMPLEMENTATIONS, RecordTask, SetupFailed, run_record_task, run_tasks
    from conformance.runner import plan_shards

    started = time.perf_counter()
    path = str(binding.path.resolve())
    _IMPLEMENTATIONS.setdefault(path, (binding, spec))
    shards = plan_shards(len(binding.starts), examples, seed)
    tasks = [RecordTask(path, backend, steps, s) for s in (None, *shards)]
    sequences: list[Sequence] = []
    setups: dict[int, tuple[Step, ...]] = {}
    for task, got in zip(tasks, run_tasks(run_record_task, tasks, workers=workers, engine=engine,
                                          address=address), strict=True):
        if isinstance(got, SetupFailed):
            from conformance.binding import BindingError

            raise BindingError(f"{binding.path}: {got.error}")
        recorded, setup, diverged = got
        if diverged is not None:
            where = "its deployment" if task.shard is None else f"a sequence from start {task.shard.start}"
            raise ImplementationDiverges(f"{binding.path}: the implementation itself differs from the spec in "
                                         f"{where} ({diverged}); run `imospec conform` on it first")
        if task.shard is not None:
            setups[task.shard.start] = setup
            sequences.append(Sequence(task.shard.start, ()))  # the shard's starting state
            sequences.extend(recorded)
    return Corpus(tuple(sequences), tuple(setups.get(i, ()) for i in range(len(binding.starts))),
                  time.perf_counter() - started)


@dataclass(frozen=True)
class Selection:
    """What of a corpus can run one mutant's code: the indices of those
    sequences (in corpus order), and whether deploying can run it."""

    sequences: tuple[int, ...]
    deployment: bool
    # the modules whose deployment at edge parameters can run the mutated
    # code (None: every module's), when ``deployment``
    deploy_modules: tuple[str, ...] | None = None
    # what identifies the mutated code for the replay order (the file and
    # line, then each function the line is in, or whose code it changes)
    near: tuple[Any, ...] = ()
    # ``sequences`` in the order the likeliest to run the mutated code
    # often come first (see :meth:`CorpusIndex.select`; empty: corpus order)
    likeliest: tuple[int, ...] = ()

    @property
    def reached(self) -> bool:
        return self.deployment or bool(self.sequences)


class CorpusIndex:
    """A corpus with the functions each of its sequences may run."""

    def __init__(self, spec: ir.Spec, binding: Binding, corpus: Corpus) -> None:
        from conformance.reach import Reach

        self.corpus = corpus
        self.reach = Reach.of(f for _, f in targets(binding))
        # each module's source (None: built, or a source that imports others)
        self.modules = {module: None if (src := b.vyper or b.solidity) is None
                        or IMPORT_LINE.search(src.read_text(encoding="utf-8")) else src
                        for module, b in binding.modules.items()}
        self.on_deploy = self.reach.deployment()
        always = self.reach.always(action_entries(binding, spec))
        setups = [self.reach.closure(step_entries(binding, setup)) for setup in corpus.setups]
        self.runs = [always | setups[s.start] | self.reach.closure(step_entries(binding, s.steps)) if s.steps
                     else setups[s.start] for s in corpus.sequences]
        # by sequence: how many of its steps can run each function
        self.counts: list[Counter[Any]] = []
        reached: dict[tuple[str, str, str], frozenset[Any]] = {}  # by step kind, module and action
        for s in corpus.sequences:
            count: Counter[Any] = Counter()
            for step in s.steps:
                key = (step.kind, step.module, step.action)
                if key not in reached:
                    reached[key] = self.reach.closure(step_entries(binding, (step,)))
                count.update(reached[key])
            self.counts.append(count)

    def select(self, m: Mutant) -> Selection:
        """The corpus's sequences that can run mutant ``m``'s code (all of
        them when deploying can: the state after it may differ unseen)."""
        touched = self.reach.touched(m.file.name, m.line)
        near = ((m.file.name, m.line), *sorted(touched or ()), m.file.name)
        if touched is None or touched & self.on_deploy:
            every = tuple(range(len(self.corpus.sequences)))
            return Selection(every, True, self._deploying(touched), near, self._likeliest(every, touched))
        chosen = tuple(i for i, runs in enumerate(self.runs) if runs & touched)
        return Selection(chosen, False, None, near, self._likeliest(chosen, touched))

    def _likeliest(self, sequences: tuple[int, ...], touched: frozenset[Any] | None) -> tuple[int, ...]:
        """``sequences`` by starting state, the one whose sequences have the
        most steps that can run a function of ``touched`` first, and within
        it the sequence with the most such steps first, else in corpus order
        (a starting state is made once, as in corpus order). Empty when
        ``touched`` is unknown."""
        if touched is None:
            return ()
        weight = {i: sum(self.counts[i][f] for f in touched) for i in sequences}
        by_start: dict[int, int] = {}
        for i in sequences:
            start = self.corpus.sequences[i].start
            by_start[start] = by_start.get(start, 0) + weight[i]
        rank = {start: n for n, start in enumerate(sorted(by_start, key=lambda s: -by_start[s]))}
        return tuple(sorted(sequences, key=lambda i: (rank[self.corpus.sequences[i].start], -weight[i])))

    def _deploying(self, touched: frozenset[Any] | None) -> tuple[str, ...] | None:
        """The modules whose own deployment can run a function of
        ``touched`` (None: any module's may, or it cannot be told)."""
        if touched is None:
            return None
        out = []
        for module, b in self.modules.items():
            runs = None if b is None else self.reach.constructor(b.name)
            if runs is None:
                return None
            if runs & touched:
                out.append(module)
        return tuple(out)


# the artifacts of the unmutated implementations' modules, compiled once a process
_ORIGINALS: dict[tuple[str, str], CompiledContract] = {}


def _original_artifact(binding: Binding, module: str) -> CompiledContract:
    key = (str(binding.path.resolve()), module)
    if key not in _ORIGINALS:
        _ORIGINALS[key] = module_artifact(binding, binding.modules[module])
    return _ORIGINALS[key]


def _mutant_artifacts(binding: Binding, m: Mutant, workdir: Path) -> tuple[Binding, dict[str, CompiledContract]]:
    """The binding a mutant runs with and its modules' contracts: the
    mutated contract compiled (cached by its source), the others the
    original's, compiled once. (A mutant that imports, or a Solidity one, runs
    from a copy of the implementation: the compile caches' keys name no
    directory, so the copy's unchanged modules come from the cache.)

    Raises:
        EvmBackendError: the mutant does not compile.
    """
    from evm_backend.compiler import compile_source

    if m.file.suffix == ".sol" or IMPORT_LINE.search(m.file.read_text(encoding="utf-8")):
        copy = load_binding(_mutant_binding(binding, m, workdir))
        return copy, {name: module_artifact(copy, b) for name, b in copy.modules.items()}
    mutant = compile_source(_apply(m), name=m.file.stem, path=str(m.file), runtime=False)  # (only deployed)
    mutated = m.file.resolve()
    return binding, {name: mutant if b.vyper is not None and b.vyper.resolve() == mutated
                     else _original_artifact(binding, name) for name, b in binding.modules.items()}


class _Prebuilt(Harness):
    """A harness deploying contracts already compiled."""

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str,
                 artifacts: dict[str, CompiledContract]) -> None:
        self._prebuilt = artifacts
        super().__init__(spec, binding, backend)

    def _artifact(self, b: ModuleBinding) -> CompiledContract:
        return self._prebuilt[b.module]


def replay_kills(spec: ir.Spec, binding: Binding, m: Mutant, *, backend: str, corpus: Corpus,
                 selection: Selection, workdir: Path) -> str:
    """Compile mutant ``m`` and replay on it the corpus's sequences of
    ``selection``, to the first divergence: ``"stillborn"`` when it does not
    compile, ``"unreached"`` when no sequence can run its code (it survives),
    else ``"killed"`` or ``"survived"`` (as its own campaign would say)."""
    from conformance.deployment import check_deployments
    from conformance.machine import FULL_COMPARE_EVERY

    try:
        mutant_binding, artifacts = _mutant_artifacts(binding, m, workdir)
    except NOT_COMPILED:
        return "stillborn"
    if not selection.reached:
        return "unreached"
    try:
        harness = _Prebuilt(spec, mutant_binding, backend, artifacts)
        if harness.deployment_differences or any(not r.ok for r in harness.prelude_reports):
            return "killed"
        if selection.deployment and check_deployments(harness, selection.deploy_modules):
            return "killed"
        current: int | None = None
        for i in replay_order(binding, selection):
            seq = corpus.sequences[i]
            if seq.start != current:
                if any(not r.ok for r in harness.start_from(binding.starts[seq.start])):
                    _killed_by(binding, selection, i)
                    return "killed"
                current = seq.start
            if not seq.steps:
                continue
            harness.reset()
            for n, step in enumerate(seq.steps, start=1):  # as the state machine runs them
                report = harness.run(step)
                if not harness.full_compare and n % FULL_COMPARE_EVERY == 0:
                    report.differences.extend(harness.sweep())
                if not report.ok:
                    _killed_by(binding, selection, i)
                    return "killed"
            if not harness.full_compare and harness.sweep():
                _killed_by(binding, selection, i)
                return "killed"
    except EvmBackendError:
        return "killed"  # the mutant breaks deployment: observable at once
    return "survived"


# The replay order. Whether a mutant is killed does not depend on the order
# its sequences replay in: each sequence starts from its starting state (made
# again whenever the start changes) with that state's storage index, so what
# it compares depends on it alone, and the mutant is killed when any of them
# diverges. But a mutant is usually killed by a sequence that killed another
# mutant of the same line or function: those go first. This process's
# memory of them (a forked worker starts with its parent's, and adds its own).
_KILLERS: dict[Any, list[int]] = {}
_REMEMBERED = 4  # sequences remembered a line, function or file


def replay_order(binding: Binding, selection: Selection) -> list[int]:
    """``selection``'s sequences in the order they replay: those that killed
    an earlier mutant of the same line, then of the same function, then of
    the same file (most recent first, on ``binding``'s corpus), then the
    others, the likeliest to run the mutated code often first (see
    :meth:`CorpusIndex.select`), or in corpus order."""
    chosen = set(selection.sequences)
    first = list(dict.fromkeys(i for key in selection.near for i in _KILLERS.get((binding.path, key), ())
                               if i in chosen))
    done = set(first)
    rest = [i for i in selection.likeliest or selection.sequences if i not in done]
    return first + rest


def _killed_by(binding: Binding, selection: Selection, i: int) -> None:
    """Remember that sequence ``i`` of ``binding``'s corpus killed a mutant of ``selection``'s code."""
    for key in selection.near:
        seen = _KILLERS.setdefault((binding.path, key), [])
        if i in seen:
            seen.remove(i)
        seen.insert(0, i)
        del seen[_REMEMBERED:]


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
    method: str = "corpus",
    on_corpus: Callable[[Corpus], None] | None = None,
    on_fate: Callable[[Mutant, str], None] | None = None,
) -> MutationReport:
    """Classify each mutant by the conformance campaign.

    ``equivalents`` (see :func:`load_equivalents`) are mutants known to be
    equivalent: a survivor among them is reported as equivalent, not survived.
    ``examples`` defaults to :data:`SEQUENCES_PER_START` for each starting
    state of the binding (the state after the prelude and each scenario).

    ``method="corpus"`` (the default) draws the campaign once, on the
    unmutated implementation, and replays on each mutant the sequences that
    can run its code (:func:`replay_kills`): the verdicts of each mutant's
    own campaign, much faster, and a mutant whose code no sequence runs is
    reported as a survivor that is ``unreached``. ``method="campaign"`` runs
    each mutant's own campaign (the way it was done before; the benchmark's
    baseline). ``on_corpus`` sees the corpus once it is drawn, ``on_fate``
    each mutant as it is classified, with its fate (``killed``, ``survived``,
    ``unreached``, ``equivalent`` or ``stillborn``).

    The mutants run on ``workers`` processes (or on a Ray cluster, see
    :mod:`conformance.parallel`), each as it would run alone: the report is
    the same for any number of workers.

    ``binding`` is the implementation's (or the path of its file), and
    ``spec`` the checked IR of the spec it names
    (:class:`imospec_cli.pipeline.Pipeline` gives both).

    Raises:
        BindingError: a mutant's binding cannot be written or read back.
        EngineUnavailable: ``engine="ray"`` without Ray installed.
        ImplementationDiverges: (``method="corpus"``) the unmutated
            implementation differs from the spec.
        ValueError: an unknown method.
    """
    from conformance.parallel import (
        _IMPLEMENTATIONS,
        CORPORA,
        MutantTask,
        ReplayTask,
        forks,
        run_batched,
        run_mutant_task,
        run_replay_task,
    )

    known = equivalents or {}
    if not isinstance(binding, Binding):
        binding = load_binding(binding)  # the binding file only: the spec is the one given
    if examples is None:
        examples = SEQUENCES_PER_START * len(binding.starts)
    path = str(binding.path.resolve())
    _IMPLEMENTATIONS.setdefault(path, (binding, spec))  # a forked worker starts with it
    report = MutationReport()
    if method == "campaign":
        fates = run_batched(run_mutant_task, [MutantTask(path, m, backend, examples, steps, seed) for m in mutants],
                            workers=workers, engine=engine, address=address)
    elif method == "corpus":
        corpus = record_corpus(spec, binding, backend=backend, examples=examples, steps=steps, seed=seed,
                               workers=workers, engine=engine, address=address)
        if on_corpus is not None:
            on_corpus(corpus)
        index = CorpusIndex(spec, binding, corpus)
        CORPORA[path] = corpus  # a forked worker starts with it; elsewhere each task carries it
        carried = None if engine == "local" and forks() else corpus
        tasks = [ReplayTask(path, m, backend, index.select(m), carried) for m in mutants]
        fates = run_batched(run_replay_task, tasks, workers=workers, engine=engine, address=address)
    else:
        raise ValueError(f"unknown mutation method {method!r}; known: corpus, campaign")
    for i, (m, fate) in enumerate(zip(mutants, fates, strict=True)):
        reason = known.get(m.key())
        if on_fate is not None:
            on_fate(m, "equivalent" if reason is not None and fate in ("survived", "unreached") else fate)
        if fate == "stillborn":
            report.stillborn.append(m)
            continue
        killed = fate == "killed"
        if killed:
            report.killed.append(m)
            if reason is not None:
                report.misjudged.append(m)
        elif reason is not None:
            report.equivalent.append((m, reason))
        else:
            report.survived.append(m)
            if fate == "unreached":
                report.unreached.append(m)
        if callable(progress):
            progress(i + 1, len(mutants), m, killed)
    report.killed_on = {m.key(): binding.path for m in report.killed}
    return report


def run_mutants_on(
    implementations: list[tuple[ir.Spec, Binding]],
    mutants: list[Mutant],
    *,
    on_pass: Callable[[Binding, int], None] | None = None,
    **options: Any,
) -> MutationReport:
    """Classify each mutant on several deployments of one implementation.

    ``implementations`` are (spec, binding) pairs, e.g. the bundled binding
    and one that deploys the same contracts with other parameters. Every
    mutant runs on the first (:func:`run_mutants`, with ``options``); each
    that survives it, and each recorded equivalent, runs again on the next,
    and so on: a mutant is killed when one deployment's campaign kills it,
    and ``killed_on`` says which. A mutant is matched to a later binding's
    sources by :meth:`Mutant.key` and its original line; one its sources do
    not have keeps its fate. A survivor is ``unreached`` only when no
    deployment's campaign can run its code. ``on_pass`` sees each binding
    before its run, with the number of mutants to run on it. The report is
    the same for any number of workers, and deterministic for a seed.

    Raises:
        ValueError: no implementation given; else as :func:`run_mutants`.
    """
    if not implementations:
        raise ValueError("run_mutants_on needs at least one binding")
    order = {m.key(): i for i, m in enumerate(mutants)}
    report: MutationReport | None = None
    for spec, binding in implementations:
        if report is None:
            pending = mutants
        else:
            theirs = {m.key(): m for module, source in targets(binding) for m in mutations(module, source)}
            pending = [theirs[m.key()] for m in (*report.survived, *(m for m, _ in report.equivalent))
                       if m.key() in theirs and theirs[m.key()].original == m.original]
            pending.sort(key=lambda m: order[m.key()])
        if on_pass is not None:
            on_pass(binding, len(pending))
        if report is not None and not pending:
            continue
        got = run_mutants(spec, binding, pending, **options)
        if report is None:
            report = got
            continue
        killed = {m.key() for m in got.killed}
        reached = {m.key() for m in got.survived if m not in got.unreached}
        reached |= {m.key() for m, _ in got.equivalent}  # (an unreached equivalent is reported as equivalent)
        was_equivalent = [m for m, _ in report.equivalent]
        report = MutationReport(
            killed=sorted([*report.killed, *(m for m in (*report.survived, *was_equivalent) if m.key() in killed)],
                          key=lambda m: order[m.key()]),
            survived=[m for m in report.survived if m.key() not in killed],
            unreached=[m for m in report.unreached if m.key() not in killed and m.key() not in reached],
            stillborn=report.stillborn,
            equivalent=[(m, r) for m, r in report.equivalent if m.key() not in killed],
            misjudged=sorted([*report.misjudged, *(m for m in was_equivalent if m.key() in killed)],
                             key=lambda m: order[m.key()]),
            killed_on={**report.killed_on, **{k: binding.path for k in killed}},
        )
    assert report is not None
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
