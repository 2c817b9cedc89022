"""What raises the mutation kill rate: quoted and smallest arguments, retried
argument draws, views that take numbers, and the record of equivalent mutants
that `imospec mutate` reads."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import find

from conformance.binding import load_binding, load_implementation
from conformance.deployment import check_deployments, deployment_cases, evm_deploys, model_deploys
from conformance.harness import MAX_TIME_STEP, MAX_VIEW_CALLS, Harness, Step
from conformance.machine import RunStats, build_machine
from conformance.mutate import (
    EQUIVALENTS_FILE,
    Mutant,
    MutationInputError,
    _apply,
    _mutant_binding,
    load_equivalents,
    mutations,
    run_mutants,
    survivors_of,
)
from conformance.strategies import (
    Linked,
    Quoted,
    linked_addresses,
    outcome_numbers,
    resolve,
    resolve_quotes,
    value_strategy,
)
from reference.model import Outcome
from reference.runtime import Event
from spec import ir

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


# ------------------------------------------------------------ equivalents


def _write(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"equivalent": entries}), encoding="utf-8")
    return path


def test_equivalents_file_is_read_by_file_line_and_mutated_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "eq.json", [{"file": "a.vy", "line": 3, "mutated": "  x = 1  ", "reason": "dead"}])
    assert load_equivalents(path) == {("a.vy", 3, "x = 1"): "dead"}
    assert load_equivalents(tmp_path / "missing.json") == {}


@pytest.mark.parametrize("entries", [
    [{"file": "a.vy", "line": 3, "mutated": "x = 1", "reason": "  "}],
    [{"file": "a.vy", "line": 3, "reason": "no mutated line"}],
    "not a list of entries",
])
def test_equivalents_without_reason_or_shape_are_refused(tmp_path: Path, entries: Any) -> None:
    path = tmp_path / "eq.json"
    path.write_text(json.dumps({"equivalent": entries}), encoding="utf-8")
    with pytest.raises(MutationInputError):
        load_equivalents(path)


def test_run_mutants_lists_equivalents_apart_and_flags_misjudged(tiny_binding_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    vault = binding.modules["vault"].vyper
    chosen = list(mutations("vault", vault))[:4]
    doomed = {_apply(chosen[0]), _apply(chosen[2])}  # these two "diverge"

    def campaign(spec: Any, mb: Any, **kwargs: Any) -> Any:
        return SimpleNamespace(ok=mb.modules["vault"].vyper.read_text(encoding="utf-8") not in doomed)

    monkeypatch.setattr("conformance.mutate.run_campaign", campaign)
    monkeypatch.setattr("evm_backend.compiler.compile_source", lambda *a, **k: None)
    equivalents = {chosen[1].key(): "cannot be observed", chosen[2].key(): "wrongly judged"}
    # (each mutant's own campaign, the one replaced here: the corpus method runs none)
    report = run_mutants(spec, load_binding(tiny_binding_path), chosen, equivalents=equivalents, method="campaign")
    assert report.killed == [chosen[0], chosen[2]]
    assert report.misjudged == [chosen[2]]
    assert report.equivalent == [(chosen[1], "cannot be observed")]
    assert report.survived == [chosen[3]]
    assert report.kill_rate == 2 / 3  # the equivalent one is not counted


def test_a_rerun_takes_the_survivors_of_an_earlier_report(tmp_path: Path) -> None:
    rows = [{"file": "a.vy", "line": 3, "kind": "op", "original": "x", "mutated": " y ", "fate": "survived"},
            {"file": "a.vy", "line": 4, "kind": "op", "original": "x", "mutated": "z", "fate": "killed"}]
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"kill_rate": 0.5, "mutants": rows}), encoding="utf-8")
    assert survivors_of(report) == {("a.vy", 3, "y")}
    report.write_text(json.dumps({"equivalent": []}), encoding="utf-8")
    with pytest.raises(MutationInputError, match="not a mutation report"):
        survivors_of(report)


def test_bundled_equivalents_name_real_mutants_with_reasons() -> None:
    known = load_equivalents(BINDING.parent / EQUIVALENTS_FILE)
    assert known, "the bundled binding records its equivalent mutants"
    # (the governance binding next to it shares the file)
    keys = {m.key() for path in (BINDING, BINDING.parent / "binding-governance.json")
            for name, mb in load_binding(path).modules.items() if mb.vyper is not None
            for m in mutations(name, mb.vyper)}
    stale = [k for k in known if k not in keys]
    assert not stale, f"recorded equivalents that no longer match a mutant: {stale}"
    assert all(len(reason) > 20 for reason in known.values())


# ---------------------------------------------------------------- quotes


def test_outcome_numbers_are_what_a_success_returns_and_logs() -> None:
    ok = Outcome(True, value=(7, 9), events=(Event("pool", "Swap", (("who", 5), ("up", True), ("out", 11))),))
    assert outcome_numbers(ok) == [5, 7, 9, 11]
    assert outcome_numbers(Outcome(False, reason="NOPE")) == []


def test_quoted_arguments_take_the_steps_own_output() -> None:
    probes: list[tuple[Any, ...]] = []

    def dry_run(args: tuple[Any, ...]) -> Outcome:
        probes.append(args)
        return Outcome(True, value=1234)

    args = resolve_quotes((50, Quoted(0), Quoted(1), Quoted(2)), dry_run)
    assert probes == [(50, 0, 0, 0)]  # placeholders are 0 in the dry run
    assert args[0] == 50 and args[1] == 1234 and args[3] == 1234  # even picks: exactly the quote
    assert args[2] in (0, 1233, 1234, 1235)
    assert resolve_quotes((Quoted(4),), lambda a: Outcome(False, reason="X")) == (0,)
    assert resolve_quotes((3, 4), lambda a: pytest.fail("no placeholder, no dry run")) == (3, 4)


def test_uint_arguments_include_quotes_and_the_smallest_amounts(tiny_binding_path: Path) -> None:
    _, spec = load_implementation(tiny_binding_path)
    strategy = value_strategy(ir.UINT, spec, [1, 2], [10**30])
    assert isinstance(find(strategy, lambda v: isinstance(v, Quoted)), Quoted)
    assert find(strategy, lambda v: v == 1) == 1


# --------------------------------------------------------------- retries


def test_of_several_draws_the_least_seen_outcome_runs(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    harness = Harness(spec, binding, "pyrevm")
    machine: Any = build_machine(harness, RunStats())
    ran: list[Step] = []
    fake = SimpleNamespace(_run=ran.append, outcomes_seen=Counter())
    who = harness.actors[0]
    other = harness.actors[1]
    # nothing seen yet: a success first, else the first draw
    machine.vault__top_up(fake, caller=who, arg_0=0, retries=[(who, (0,)), (other, (5,)), (who, (6,))])
    machine.vault__top_up(fake, caller=who, arg_0=0, retries=[(other, (0,))])
    machine.vault__top_up(fake, caller=who, arg_0=7, retries=[(who, (5,))])
    machine.vault__top_up(fake, caller=who, arg_0=0)  # no retries: the draw as it is
    assert [(s.caller, s.args) for s in ran] == [(other, (5,)), (who, (0,)), (who, (7,)), (who, (0,))]
    # successes have run often, the ZERO_AMOUNT revert never: the revert runs
    fake.outcomes_seen[("vault.top_up", "ok")] = 3
    machine.vault__top_up(fake, caller=who, arg_0=7, retries=[(who, (0,))])
    assert ran[-1].args == (0,)
    # the owner's price setting has run; another caller's UNAUTHORIZED has not
    fake.outcomes_seen[("vault.set_price", "ok")] = 1
    machine.vault__set_price(fake, caller=who, arg_0=5, retries=[(other, (5,))])
    assert (ran[-1].caller, ran[-1].args) == (other, (5,))


# ----------------------------------------------------------------- views


@pytest.fixture(scope="module")
def launched() -> Harness:
    binding, spec = load_implementation(BINDING)
    harness = Harness(spec, binding, "pyrevm")
    assert all(r.ok for r in harness.start_from("members"))
    return harness


def test_views_with_numbers_are_compared_at_blocks_and_moments(launched: Harness) -> None:
    h = launched
    block, now = h.backend.block_number, h.backend.timestamp
    numbers = h._view_numbers()
    assert {block - 1, block, now} <= set(numbers)
    # the latest block the state records (a checkpoint's) and the one before it
    recorded = max(v for v in h.model.numbers_held() if v < block - 1)
    assert {recorded - 1, recorded} <= set(numbers)
    paths = [p() for module, m in h.spec.modules.items() for p, _, _ in h._views(module, m)]
    # one actor at a time, in turn; a path names it by its label (actor:N, with its role)
    who = f"actor:{block % len(h.actors)}"
    asked = {p[len("mt.prior_votes("):-1].rsplit(", ", 1)[1] for p in paths
             if p.startswith(f"mt.prior_votes({who}") and p[len(f"mt.prior_votes({who}"):][:1] in ("/", ",")}
    assert str(block) in asked  # not yet determined: a revert on both sides
    assert str(block - 1) in asked
    assert str(recorded) in asked
    assert any(p.startswith("farm.staking_tier_at(") for p in paths)
    assert any(p.startswith("farm.emission(") for p in paths)
    assert any(p.startswith("buyback.min_out_for(") for p in paths)
    assert len([p for p in paths if p.startswith("farm.emission(")]) <= MAX_VIEW_CALLS
    assert h.compare_views() == []


def test_view_arguments_are_spread_over_their_product_without_making_it() -> None:
    from conformance.harness.values import _arg_product, _spread, _spread_product

    for choices in ([[0, 1, 7], [2, 3], [5, 6, 8, 9]], [list(range(10))] * 4, [[1, 2]], [[], [1]], []):
        assert _spread_product(choices, MAX_VIEW_CALLS) == _spread(_arg_product(choices), MAX_VIEW_CALLS)


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_a_decay_that_never_steps_down_is_caught_far_ahead(tmp_path: Path, backend: str) -> None:
    # In 'members' a staker withdraws its whole stake, so its tier decays from
    # then on. The scenario's later blocks never span a decay period; the
    # views at the far moment see the tier that never steps down.
    #
    # The bundled binding unlocks vesting's allocations within a year of its
    # genesis, and the views are also asked at the latest moment the state
    # holds, so there the tier is asked about at vesting's `unlock_end` and
    # the mutant is caught a little before the far moment. Here vesting keeps
    # the seed's own dates (the spec's defaults, 2020 and 2021, long before
    # the binding's clock): no moment the state holds is in reach, and only
    # the far moment can catch it.
    binding, spec = load_implementation(BINDING)
    frozen = next(m for m in mutations("farm", binding.modules["farm"].vyper) if m.mutated.strip() == "current -= 0")
    path = _mutant_binding(binding, frozen, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for name in ("vesting.unlock_start", "vesting.unlock_end"):
        del data["params"][name]
    path.write_text(json.dumps(data), encoding="utf-8")
    h = Harness(spec, load_binding(path), backend)
    reports = h.start_from("members")
    first = next(r for r in reports if not r.ok)
    where = first.differences[0].where
    assert where.startswith("farm.staking_tier_at("), where
    moment = int(where.rstrip(")").rsplit(", ", 1)[1], 16)
    # the far moment of the failing step; the scenario runs on after it, less than a day
    assert moment > h.backend.timestamp + MAX_TIME_STEP - 86400, f"caught at {moment}, not at the far moment"


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_views_are_asked_again_after_a_step_changes_the_state(tmp_path: Path, backend: str) -> None:
    # The views are called again only when a side's state or the clock moved
    # since they last agreed. A tier that never decays shows only once the
    # withdrawal has started the decay: an action, after which the clock has
    # not moved. Had the harness kept the views' last agreement across it,
    # this view mutant would pass.
    binding, spec = load_implementation(BINDING)
    frozen = next(m for m in mutations("farm", binding.modules["farm"].vyper) if m.mutated.strip() == "current -= 0")
    h = Harness(spec, load_binding(_mutant_binding(binding, frozen, tmp_path)), backend)
    steps = list(h.binding_steps(binding.scenarios["members"]))
    withdraw = next(i for i, s in enumerate(steps) if s.action == "withdraw")
    for s in steps[:withdraw]:
        assert h.run(s).ok, s.describe()
    assert h.compare_views() == []
    called = h.views_called
    assert h.compare_views() == [] and h.views_called == called  # nothing moved: no call at all
    reverted = h.run(Step("action", "farm", "withdraw", h.actors[3], (10**30,)))
    assert reverted.ok and not reverted.model.ok  # type: ignore[union-attr]
    assert h.compare_views() == [] and h.views_called == called  # a step that reverted changed nothing
    assert h.run(steps[withdraw]).ok  # the views are not compared after an action
    diffs = h.compare_views()
    assert h.views_called == called + 1
    assert any(d.where.startswith("farm.staking_tier_at(") for d in diffs), diffs


def test_view_answers_stand_until_what_they_read_changes() -> None:
    # py-evm says what each call read: an answer is asked again after a move
    # of the clock only when its call read the clock, and after an action only
    # when the action wrote a slot it read
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, "py-evm")
    assert all(r.ok for r in h.start_from("members"))
    asked: Counter[tuple[str, bytes]] = Counter()
    call_raw = h.backend.call_raw

    def counted(address: str, calldata: bytes, **kwargs: Any) -> Any:
        asked[(address, calldata)] += 1
        return call_raw(address, calldata, **kwargs)

    call_views = h.backend.call_views

    def counted_batch(calls: list[tuple[str, bytes]]) -> Any:
        for call in calls:
            asked[call] += 1
        return call_views(calls)

    h.backend.call_raw = counted  # type: ignore[method-assign]
    h.backend.call_views = counted_batch  # type: ignore[method-assign]

    def view_calls() -> set[tuple[str, bytes]]:
        return {(a, c) for module, m in h.spec.modules.items() for _, _, a, c, _ in h._view_calls(module, m)}

    assert h.compare_views() == []
    before = view_calls()
    reads = {call: call_raw(*call).reads for call in before}
    asked.clear()
    called = h.views_called
    assert h.run(Step("time", seconds=60, blocks=1)).ok  # (which compares the views)
    assert h.views_called == called + 1
    again = before & view_calls()  # (the calls whose arguments do not follow the clock)
    clocked = {c for c in again if reads[c].clock}  # type: ignore[union-attr]
    assert clocked and again - clocked
    assert all(asked[c] == 1 for c in clocked)
    assert not any(asked[c] for c in again - clocked)
    # an action: the answers that read what it wrote are asked again, no other
    before = view_calls()
    reads = {call: call_raw(*call).reads for call in before}
    report = h.run(Step("action", "mt", "transfer", h.actors[1], (h.actors[2], 10**18)))
    assert report.ok and report.evm is not None and report.evm.storage_writes
    written = report.evm.storage_writes
    asked.clear()
    assert h.compare_views() == []
    touched = {c for c in before if reads[c].storage & written}  # type: ignore[union-attr]
    untouched = {c for c in before if not reads[c].clock and not reads[c].storage & written}  # type: ignore[union-attr]
    assert touched and untouched
    assert all(asked[c] == 1 for c in touched)
    assert not any(asked[c] for c in untouched)


def test_after_an_action_a_view_is_asked_again_only_where_it_can_differ() -> None:
    # pyrevm says nothing of what a call read. After a step, and with the
    # clock where it was, a view call is asked again on the model only when
    # the step changed a variable its spec function reads, and on the
    # contract also when the step may have written any module the contract
    # may read (a contract may read what the spec does not: a mutant); a
    # view whose contract may read nothing the step could write is asked on
    # neither side.
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, "pyrevm")
    assert all(r.ok for r in h.start_from("members"))
    assert h.compare_views() == []
    asked: dict[str, Counter[tuple[str, str]]] = {"model": Counter(), "evm": Counter()}
    model_view, evm_views = h._model_view, h._evm_views

    def on_model(module: str, fn: ir.Fn, env: Any, args: tuple[int, ...]) -> Any:
        asked["model"][(module, fn.name)] += 1
        return model_view(module, fn, env, args)

    def on_evm(requests: list[tuple[str, bytes, Any, bool]]) -> Any:
        # (the contract's answers to all the calls a comparison asks, in one batch)
        for address, _, abi_fn, _ in requests:
            module = h.module_at[int(address, 16)]
            asked["evm"][(module, next(f.name for f, a in h._exported_views(module, spec.modules[module])
                                       if a is abi_fn))] += 1
        return evm_views(requests)

    h._model_view, h._evm_views = on_model, on_evm  # type: ignore[method-assign]
    report = h.run(Step("action", "mt", "transfer", h.actors[1], (h.actors[2], 10**18)))
    assert report.ok and report.model is not None and report.model.ok
    written_vars = {(m, n) for m, before in report.model.before.items() for m2, n, _ in h._model_changes(m, before)
                    if m2 == m}
    assert written_vars
    scope = h._evm_scope(report.step, report.evm)  # type: ignore[arg-type]
    assert h.compare_views() == []
    views = [(module, fn) for module, m in h.spec.modules.items() for fn, _ in h._exported_views(module, m)]
    kinds: Counter[str] = Counter()
    for module, fn in views:
        variables, modules, _ = h._view_deps[(module, fn.name)]
        key = (module, fn.name)
        if set(variables) & written_vars:
            kinds["both"] += 1
            assert asked["model"][key] and asked["evm"][key], key
        elif set(modules) & scope:
            kinds["contract only"] += 1
            assert not asked["model"][key] and asked["evm"][key], key
        else:
            kinds["neither"] += 1
            assert not asked["model"][key] and not asked["evm"][key], key
    assert kinds["both"] and kinds["contract only"] and kinds["neither"], kinds


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_a_wrong_view_with_a_number_is_caught(tmp_path: Path, backend: str) -> None:
    binding, spec = load_implementation(BINDING)
    mt = binding.modules["mt"].vyper
    wrong = next(m for m in mutations("mt", mt)
                 if m.mutated.strip() == 'assert at_block <= block.number, "NOT_YET_DETERMINED"')
    assert isinstance(wrong, Mutant)
    harness = Harness(spec, load_binding(_mutant_binding(binding, wrong, tmp_path)), backend)
    diffs = harness.compare_views()
    assert any(d.where.startswith("mt.prior_votes(") for d in diffs)


# ----------------------------------------------------------- deployments


def test_constructors_agree_with_init_rules_at_edge_parameters(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    harness = Harness(spec, binding, "pyrevm")
    cases = set(deployment_cases(harness))
    # the neighbours of the other parameters: a bound is tried exactly and one off
    assert {("vault", (("floor", 8 * 10**17),)), ("vault", (("floor", 8 * 10**17 - 1),)),
            ("vault", (("issue", 8 * 10**17),))} <= cases
    # and two parameters at 0 or 1 together
    assert ("vault", (("floor", 0), ("bronze", 1))) in cases
    assert model_deploys(harness, "vault", (("floor", 8 * 10**17),)) == (True, "BAD_PHASE_ORDER")
    assert evm_deploys(harness, "vault", (("floor", 8 * 10**17),)) == (True, "BAD_PHASE_ORDER")
    assert evm_deploys(harness, "vault", (("floor", 8 * 10**17 - 1),)) == (False, None)
    assert model_deploys(harness, "vault", (("floor", 0), ("bronze", 1))) == (False, None)
    assert evm_deploys(harness, "vault", (("floor", 0), ("bronze", 1))) == (False, None)
    assert check_deployments(harness) == []
    assert harness.compare_state(None, params=True) == []  # both sides are left as they were


def test_a_constructor_check_off_by_one_is_caught(tiny_binding_path: Path, tmp_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    vault = binding.modules["vault"].vyper
    wrong = next(m for m in mutations("vault", vault)
                 if m.mutated.strip() == 'assert _floor <= _bronze and _bronze < _issue, "BAD_PHASE_ORDER"')
    harness = Harness(spec, load_binding(_mutant_binding(binding, wrong, tmp_path)), "pyrevm")
    diffs = check_deployments(harness)
    # floor moved up to bronze, bronze moved down to floor, and both at 0 or both at 1
    assert [d.where for d in diffs] == ["deploy vault with floor = 800000000000000000",
                                        "deploy vault with bronze = 500000000000000000",
                                        "deploy vault with floor = 0, bronze = 0",
                                        "deploy vault with floor = 1, bronze = 1"]
    assert (diffs[0].model, diffs[0].evm) == ("reverted 'BAD_PHASE_ORDER'", "deployed")


def test_linked_addresses_follow_approvals_in_both_directions(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    harness = Harness(spec, binding, "pyrevm")  # the prelude: every actor approves the vault
    vault = harness.addresses["vault"]
    alice, bob = harness.actors[0], harness.actors[1]
    assert linked_addresses(harness.model, "cash", alice) == [vault]  # whom alice approved
    assert linked_addresses(harness.model, "cash", vault) == sorted(harness.actors)  # who approved the vault
    assert resolve(Linked(1), harness.model, "cash", vault) == sorted(harness.actors)[1]
    assert resolve(Linked(0), harness.model, "vault", bob) == harness.model.state("vault").owner  # held, not linked
    strategy = value_strategy(ir.ADDRESS, spec, [1, 2], [], actors=[alice])
    assert isinstance(find(strategy, lambda v: isinstance(v, Linked)), Linked)
