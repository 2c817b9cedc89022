"""The corpus method of a mutation run: the unmutated campaign drawn once,
and on each mutant only the sequences that can run its code, replayed to
the first divergence. Its verdicts must be each mutant's own campaign's; a
mutant whose code no sequence runs is a survivor reported as not reached."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.mutate import (
    Corpus,
    CorpusIndex,
    Mutant,
    MutationReport,
    Selection,
    mutations,
    record_corpus,
    replay_kills,
    run_mutants,
    run_mutants_on,
)
from conformance.reach import Reach, solidity_spans, vyper_spans
from imospec_cli.main import main

BUNDLED = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"

VYPER = '''\
X: constant(uint256) = 3
Y: constant(uint256) = X * 2

@internal
def _a() -> uint256:
    return Y

@external
def b() -> uint256:
    return self._a()

@external
def c():
    pass

@deploy
def __init__():
    pass
'''

SOLIDITY = '''\
contract T {
    uint256 private constant Z = 3;
    modifier only() { require(msg.sender != address(0)); _; }
    function b() external only returns (uint256) { return _a(); }
    function _a() internal pure returns (uint256) {
        return Z;
    }
    function c() external {}
}
'''


def _fates(report: MutationReport) -> dict[tuple[str, int, str], str]:
    out = {m.key(): "killed" for m in report.killed}
    out.update({m.key(): "survived" for m in report.survived})
    out.update({m.key(): "stillborn" for m in report.stillborn})
    return out


def test_reach_follows_calls_by_name_and_constants_to_their_users(tmp_path: Path) -> None:
    spans = {s.name: s for s in vyper_spans("t.vy", VYPER)}
    assert (spans["_a"].first, spans["_a"].last, spans["_a"].external) == (5, 7, False)
    assert spans["b"].external and "_a" in spans["b"].mentions
    (tmp_path / "t.vy").write_text(VYPER)
    (tmp_path / "T.sol").write_text(SOLIDITY)
    reach = Reach.of([tmp_path / "t.vy", tmp_path / "T.sol"])
    assert reach.closure(["b"]) == {("t.vy", "b"), ("t.vy", "_a"), ("T.sol", "b"), ("T.sol", "_a"),
                                    ("T.sol", "only")}
    assert reach.closure(["c"]) == {("t.vy", "c"), ("T.sol", "c")}
    # a constant touches the functions that use it, also through another constant
    assert reach.touched("t.vy", 1) == {("t.vy", "_a")}
    assert reach.touched("t.vy", 6) == {("t.vy", "_a")}
    assert reach.touched("T.sol", 2) == {("T.sol", "_a")}
    assert reach.touched("T.sol", 3) == {("T.sol", "only")}
    # the views the harness may call, and what deploying runs
    assert reach.always(["c"]) == reach.closure(["b"])
    assert reach.deployment() == {("t.vy", "__init__")}
    sol = {s.name: s for s in solidity_spans("T.sol", SOLIDITY)}
    assert (sol["_a"].first, sol["_a"].last) == (5, 7)


def test_each_verdict_is_the_mutants_own_campaigns(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    every = list(mutations("vault", binding.modules["vault"].vyper))
    # mutants of the constructor, a view, internal helpers and actions: killed, surviving and stillborn
    chosen = [m for m in every if m.line in (44, 53, 66, 77, 80, 94, 100, 113, 124)][::2]
    # (killed by the sixth of the eleven sequences that reach it: a replay of fewer misses it)
    chosen += [m for m in every if m.line == 136 and m.mutated.strip() == "if after >= before:"]
    corpus = run_mutants(spec, binding, chosen, examples=20, steps=12, seed=3)
    own = run_mutants(spec, binding, chosen, examples=20, steps=12, seed=3, method="campaign")
    assert corpus.killed and corpus.survived, "the sample should hold kills and survivors"
    assert _fates(corpus) == _fates(own)


def test_a_mutant_no_sequence_can_run_is_a_survivor_not_reached(tiny_binding_path: Path, tmp_path: Path) -> None:
    impl = tmp_path / "impl"
    shutil.copytree(tiny_binding_path.parent, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((tiny_binding_path.parent / data["spec"]).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    vault = impl / "vault.vy"
    source = vault.read_text()
    vault.write_text(source + "\n\n@internal\n@pure\ndef _never(x: uint256) -> uint256:\n    return x + 1\n")
    line = len(vault.read_text().splitlines())
    binding, spec = load_implementation(impl / "binding.json")
    never = Mutant("vault", vault, line, "op", "    return x + 1", "    return x - 1")
    called = next(m for m in mutations("vault", vault) if 132 <= m.line <= 139 and m.kind == "op")
    corpus = record_corpus(spec, binding, backend="pyrevm", examples=6, steps=8, seed=1)
    index = CorpusIndex(spec, binding, corpus)
    assert not index.select(never).reached
    assert index.select(called).sequences and len(index.select(called).sequences) < len(corpus.sequences)
    report = run_mutants(spec, binding, [never], examples=6, steps=8, seed=1)
    assert [m.key() for m in report.unreached] == [never.key()]
    assert [m.key() for m in report.survived] == [never.key()] and not report.killed and not report.equivalent


def test_mutate_reports_the_survivors_not_reached(tiny_binding_path: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, log = tmp_path / "m.json", tmp_path / "m.log"
    code = main(["mutate", "--impl", str(tiny_binding_path), "--module", "vault", "--max-mutants", "6",
                 "--examples", "4", "--steps", "6", "--workers", "1", "--json", str(out), "--log", str(log),
                 "--quiet"])
    assert code == 0
    rows = json.loads(out.read_text())["mutants"]
    assert rows and all(("reached" in r) == (r["fate"] == "survived") for r in rows)
    # the log has every mutant as it was classified, in the run's order
    logged = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted((r["line"], r["mutated"], r["fate"]) for r in logged) == sorted(
        (r["line"], r["mutated"], r["fate"] if r.get("reached", True) else "unreached") for r in rows)


def test_mutate_refuses_an_implementation_that_already_diverges(tiny_mutant: Callable[[str, str, str], Path],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    broken = tiny_mutant("vault.vy", "amount * WAD // floor_price", "amount * WAD // floor_price + 1")
    code = main(["mutate", "--impl", str(broken), "--module", "vault", "--max-mutants", "2", "--examples", "50",
                 "--steps", "12", "--seed", "4", "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "the implementation itself differs from the spec" in err and "Traceback" not in err


def test_a_mutant_the_compiler_crashes_on_is_stillborn(tmp_path: Path) -> None:
    binding, spec = load_implementation(BUNDLED)
    mt = binding.modules["mt"].vyper
    assert mt is not None
    # Vyper's constant folder divides by log(1) on `1 ** 32`, a ZeroDivisionError, not a compile error
    crash = next(m for m in mutations("mt", mt) if "= 1 ** 32" in m.mutated)
    assert replay_kills(spec, binding, crash, backend="pyrevm", corpus=Corpus((), ()),
                        selection=Selection((), False), workdir=tmp_path) == "stillborn"


def test_a_survivor_of_one_deployment_runs_on_the_next(tiny_binding_path: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    impl = tmp_path / "impl"
    shutil.copytree(tiny_binding_path.parent, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((tiny_binding_path.parent / data["spec"]).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    # a second deployment whose prelude tops up nothing: the dropped ZERO_AMOUNT check shows there
    data["prelude"] = [*data["prelude"], ["vault", "top_up", "actor:0", ["0"]]]
    (impl / "binding-zero.json").write_text(json.dumps(data))
    first, spec = load_implementation(impl / "binding.json")
    second, _ = load_implementation(impl / "binding-zero.json")
    every = list(mutations("vault", impl / "vault.vy"))
    dropped = next(m for m in every if m.kind == "assert" and "ZERO_AMOUNT" in m.original)
    wad = next(m for m in every if m.mutated.strip() == "added: uint256 = amount * WAD * floor_price")
    settings = {"examples": 3, "steps": 5, "seed": 0}
    alone = run_mutants(spec, first, [dropped, wad], **settings)
    assert [m.key() for m in alone.survived] == [dropped.key()], "the first deployment alone misses it"
    passes: list[tuple[Path, int]] = []
    both = run_mutants_on([(spec, first), (spec, second)], [dropped, wad],
                          on_pass=lambda b, n: passes.append((b.path, n)), **settings)
    assert passes == [(first.path, 2), (second.path, 1)]  # only the survivor runs again
    assert [m.key() for m in both.killed] == [dropped.key(), wad.key()] and not both.survived
    assert both.killed_on == {dropped.key(): second.path, wad.key(): first.path}
    # a mutant recorded as equivalent runs on the next deployment too: killed there, it was misjudged
    judged = run_mutants_on([(spec, first), (spec, second)], [dropped], equivalents={dropped.key(): "wrong"},
                            **settings)
    assert [m.key() for m in judged.misjudged] == [dropped.key()] and not judged.equivalent
    # the command: --impl repeated, and the report names the binding that killed each mutant
    out = tmp_path / "m.json"
    code = main(["mutate", "--impl", str(impl / "binding.json"), "--impl", str(impl / "binding-zero.json"),
                 "--module", "vault", "--kind", "assert", "--examples", "3", "--steps", "5", "--workers", "1",
                 "--json", str(out), "--quiet"])
    assert code == 0
    rows = {(r["line"], r["mutated"]): r for r in json.loads(out.read_text())["mutants"]}
    row = rows[(dropped.line, dropped.mutated.strip())]
    assert (row["fate"], row["binding"]) == ("killed", str(impl / "binding-zero.json"))
    assert f"killed on {impl / 'binding-zero.json'}: " in capsys.readouterr().out


CALLER = '''\
@internal
def _f() -> uint256:
    return 1

@external
def g() -> uint256:
    log Note(text="self._z(")
    return self._f() + staticcall Other(self.other).h()

@deploy
def __init__():
    x: uint256 = self._f()
'''

CALLEE = '''\
@internal
def _f() -> uint256:
    return 2

@internal
def _z() -> uint256:
    return 3

@internal
def h2() -> uint256:
    return 4

@external
def h() -> uint256:
    return self.h2()

@internal
def _g() -> uint256:
    return 5
'''


def test_reach_follows_vyper_calls_where_the_language_says(tmp_path: Path) -> None:
    # `self._f(` is the same file's internal function, `.h(` after staticcall
    # any file's external h; a name in a string or an internal function of
    # another file with the called name is not reached
    (tmp_path / "a.vy").write_text(CALLER)
    (tmp_path / "b.vy").write_text(CALLEE)
    reach = Reach.of([tmp_path / "a.vy", tmp_path / "b.vy"])
    assert reach.closure(["g"]) == {("a.vy", "g"), ("a.vy", "_f"), ("b.vy", "h"), ("b.vy", "h2")}
    assert reach.deployment() == {("a.vy", "__init__"), ("a.vy", "_f")}
    assert reach.constructor("a.vy") == {("a.vy", "__init__"), ("a.vy", "_f")}
    assert reach.constructor("b.vy") == frozenset()
    assert reach.constructor("T.sol") is None  # (base constructors run too: not told from the file)


def _edge_mutant(binding_path: Path) -> Mutant:
    binding, _ = load_implementation(binding_path)
    vault = binding.modules["vault"].vyper
    assert vault is not None
    return next(m for m in mutations("vault", vault) if m.line == 44 and m.mutated.strip().startswith(
        "assert _floor <= _bronze"))


def test_a_constructor_mutant_checks_its_own_modules_edge_deployments(tiny_binding_path: Path,
                                                                      tmp_path: Path) -> None:
    from conformance.deployment import check_deployments
    from conformance.mutate import _mutant_artifacts, _Prebuilt

    binding, spec = load_implementation(tiny_binding_path)
    edge = _edge_mutant(tiny_binding_path)  # seen only when the vault is deployed with floor == bronze
    corpus = record_corpus(spec, binding, backend="pyrevm", examples=4, steps=6, seed=1)
    selection = CorpusIndex(spec, binding, corpus).select(edge)
    assert selection.deployment and selection.deploy_modules == ("vault",)
    mutant_binding, artifacts = _mutant_artifacts(binding, edge, tmp_path)
    harness = _Prebuilt(spec, mutant_binding, "pyrevm", artifacts)
    assert check_deployments(harness, ["vault"]) and not check_deployments(harness, ["cash"])
    assert replay_kills(spec, binding, edge, backend="pyrevm", corpus=corpus, selection=selection,
                        workdir=tmp_path) == "killed"


def test_the_replay_order_puts_earlier_killers_first_and_never_changes_a_verdict(tiny_binding_path: Path,
                                                                                tmp_path: Path) -> None:
    from conformance import mutate

    binding, spec = load_implementation(tiny_binding_path)
    corpus = record_corpus(spec, binding, backend="pyrevm", examples=12, steps=10, seed=3)
    index = CorpusIndex(spec, binding, corpus)
    vault = binding.modules["vault"].vyper
    assert vault is not None
    chosen = [m for m in mutations("vault", vault) if m.line not in (44,)][::3]
    mutate._KILLERS.clear()
    learnt = {m.key(): replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus, selection=index.select(m),
                                    workdir=tmp_path) for m in chosen}
    assert "killed" in learnt.values() and "survived" in learnt.values()
    assert mutate._KILLERS, "a kill is remembered"
    # a mutant of a line whose mutant was killed replays that killer first
    (_scope, near), killers = next(iter(mutate._KILLERS.items()))
    m = next(m for m in chosen if (m.file.name, m.line) == near or near in index.select(m).near)
    assert mutate.replay_order(binding, index.select(m))[0] in killers
    # the others: each starting state once, the likeliest to run the mutated code often first
    for m in chosen:
        selection = index.select(m)
        touched = index.reach.touched(m.file.name, m.line)
        if touched is None or not selection.sequences:
            continue
        assert sorted(selection.likeliest) == list(selection.sequences)
        starts = [corpus.sequences[i].start for i in selection.likeliest]
        assert len(list(itertools.groupby(starts))) == len(set(starts)), "a starting state is made once"
        weight = [sum(index.counts[i][f] for f in touched) for i in selection.likeliest]
        for _, group in itertools.groupby(zip(starts, weight, strict=True), key=lambda sw: sw[0]):
            ws = [w for _, w in group]
            assert ws == sorted(ws, reverse=True)
    assert any(index.select(m).likeliest != index.select(m).sequences for m in chosen), "the order changes"
    # the same verdicts in corpus order, with nothing remembered, and in the reverse order
    mutate._KILLERS.clear()
    plain = {m.key(): replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus,
                                   selection=Selection(index.select(m).sequences, index.select(m).deployment),
                                   workdir=tmp_path) for m in chosen}
    mutate._KILLERS.clear()
    for m in chosen:
        for i in index.select(m).sequences:  # every sequence "killed" it: the whole selection reversed
            for key in index.select(m).near:
                mutate._KILLERS.setdefault((binding.path, key), []).insert(0, i)
    backwards = {m.key(): replay_kills(spec, binding, m, backend="pyrevm", corpus=corpus,
                                       selection=index.select(m), workdir=tmp_path) for m in chosen}
    mutate._KILLERS.clear()
    assert learnt == plain == backwards
