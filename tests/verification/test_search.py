"""The search before "unknown" (verification/search.py): wrong specs made by
patching the bundled spec's text, whose violations need a launched pool (more
transactions from deployment than the symbolic search reaches), are found
from the binding's concrete states, replayed on a fresh model and, as a
conformance fixture, on the EVM.

- the two plainly wrong pool mutants of issue 17;
- the four merchant holes of issue 11, each spec patched back to the old
  behaviour, against the rule that closes it: `offering.farm_funding_cap`,
  the first `ensures` of `buyback.execute` (the merchant's `min_mt_out`),
  `farm.tier_rises_only_from_held_stake`, `offering.opens_at_or_above_floor`.
  (`offering.custody_outflow` and `buyback.buybacks_never_worse` are
  accounting identities that the old behaviour keeps too: the outflow is
  bounded through `farm_funding_cap`, and `guaranteed` counts the minimum
  the old code used.)

Each search is also run on the unpatched spec, where it must find nothing:
the trace comes from the mutation, not from the search.

The same four holes are also reached FROM DEPLOYMENT (`bmc-deployment`): the
binding's constructors and nothing else (no prelude), then symbolic
transactions chosen among the rule's cone of influence narrowed to the
attack's kind of actions (`verification.search.deployed_search`), two actors.
The violations take 3 (the pool opening below the floor) to 7 transactions.
The search enumerates action sequences, one query with the actions pinned
each (`verification.fromstate.search_sequences`): with a free choice of
action at each of the 7 steps, the buyback's and the flash stake's depth-7
query stayed unknown after an hour.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import Binding, load_binding
from spec import ir
from spec.analysis import Analysis
from spec.driver import BUNDLED_PROTOCOL, load_spec
from tests.verification.conftest import SPECS, find, run
from verification.outcome import Budget, Job, Proved, Refuted, Unknown
from verification.runner import Options, prove
from verification.search import Goal, SearchMethod, SearchReport, search

ROOT = Path(__file__).resolve().parent.parent.parent
BINDING = ROOT / "evm_backend" / "contracts" / "binding.json"

# (file, text of the bundled spec, replacement): each a single-point change
POOL_NO_UNLOCK = ("pool.imo", "    emit Swap(caller, mt_in, 0, 0, dcep_out, receiver)\n    locked = false\n",
                  "    emit Swap(caller, mt_in, 0, 0, dcep_out, receiver)\n")
POOL_SWAPPED_UPDATE = ("pool.imo",
                       "    _update(new_mt, new_dcep)\n    emit Swap(caller, mt_in, 0, 0, dcep_out, receiver)\n",
                       "    _update(new_dcep, new_mt)\n    emit Swap(caller, mt_in, 0, 0, dcep_out, receiver)\n")
# issue 11's holes, the old behaviour patched back
HOLE_FARM_FUNDING = ("offering.imo",
                     '    require farm_funded * BPS <= FARM_FUNDING_BPS * merchant_kept(), "FARM_FUNDING_CAP"\n', "")
HOLE_BUYBACK_MIN = ("buyback.imo", "    let min_out = max(min_out_for(dcep_amount), min_mt_out)\n",
                    "    let min_out = min_out_for(dcep_amount)\n")
HOLE_FLASH_STAKE = ("farm.imo", "    let backed = tiers.level_of(held_stake_at(user, now))\n",
                    "    let backed = tiers.level_of(staked[user])\n")
HOLE_OPENS_BELOW_FLOOR = ("offering.imo",
                          "    require (soft_cap - mul_div_up(soft_cap, reserve_bps, BPS)) * WAD\n"
                          '        >= phases.floor * mul_div_down(mt_total, pool_mt_bps, BPS), "OPENS_BELOW_FLOOR"\n',
                          "")


def patched(tmp: Path, *patches: tuple[str, str, str]) -> ir.Spec:
    """The bundled spec with each (file, old text, new text) applied once."""
    out = tmp / "spec"
    shutil.copytree(BUNDLED_PROTOCOL, out)
    for name, old, new in patches:
        text = (out / name).read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{name}: the text to patch is not in the bundled spec exactly once"
        (out / name).write_text(text.replace(old, new), encoding="utf-8")
    res = load_spec([out])
    assert res.ok and res.spec is not None, [d.message for d in res.diagnostics]
    return res.spec


def bundled() -> ir.Spec:
    res = load_spec([BUNDLED_PROTOCOL])
    assert res.spec is not None
    return res.spec


def run_search(spec: ir.Spec, job: Job, binding: Binding, tmp: Path, evm: str | None = None,
               state_depth: int = 1) -> SearchReport:
    return search(spec, Analysis(spec), Goal(job), cti=True, depth=0, budget=Budget(), binding=binding,
                  evm_backend=evm, fixture_dir=tmp / "fixtures", state_depth=state_depth)


def assert_found_on_model(rep: SearchReport, rule: str) -> None:
    assert rep.found_by is SearchMethod.SIMULATION, rep.summary()
    assert rep.trace is not None and rep.trace.steps
    assert rep.replay is not None and rep.replay.status == "confirmed", rep.replay
    assert rule in rep.replay.detail
    assert [a.method for a in rep.attempts] == [SearchMethod.SIMULATION]


POOL_CASES = [
    ("lock_released", POOL_NO_UNLOCK, "pool.locked"),
    ("reserves_held", POOL_SWAPPED_UPDATE, "pool.reserve_"),
]


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
@pytest.mark.parametrize(("rule", "patch", "differs"), POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_wrong_pool_spec_is_found_and_replays_on_the_model_and_the_evm(
        tmp_path: Path, backend: str, rule: str, patch: tuple[str, str, str], differs: str) -> None:
    binding = load_binding(BINDING)
    job = Job("step", "pool", rule, ("pool", "swap_mt_for_dcep"))
    rep = run_search(patched(tmp_path, patch), job, binding, tmp_path, evm=backend)
    assert_found_on_model(rep, f"pool.{rule}")
    # the same steps run on the contracts, which implement the unmutated
    # protocol: every step succeeds there too, and the one that breaks the
    # rule on the wrong spec is the first where model and EVM differ
    assert rep.evm is not None and rep.evm.status == "ran", rep.evm
    assert rep.trace is not None
    actions = [s for s in rep.trace.steps if s.kind == "action"]
    assert rep.evm.evm_succeeded == (True,) * len(actions)
    assert rep.evm.first_difference == len(rep.trace.steps)
    assert differs in rep.evm.detail
    assert Path(rep.evm.fixture).is_file()
    # the fixture is a conformance fixture: on the unmutated spec it replays without a difference
    from conformance.runner import read_fixture, replay

    again = replay(read_fixture(rep.evm.fixture), binding, bundled(), backend)
    assert again.ok, again.first_difference


# the same search twice, for two rules of the pool: `lock_released` in the default run, `reserves_held` (136 s
# of a 67 min run at load 8) with `-m slow`
@pytest.mark.parametrize(("rule", "patch"), [(c[0], c[1]) if c[0] == "lock_released" else
                                             pytest.param(c[0], c[1], marks=pytest.mark.slow) for c in POOL_CASES],
                         ids=[c[0] for c in POOL_CASES])
def test_the_search_finds_nothing_on_the_unmutated_pool(tmp_path: Path, rule: str, patch: object) -> None:
    rep = run_search(bundled(), Job("step", "pool", rule, ("pool", "swap_mt_for_dcep")), load_binding(BINDING),
                     tmp_path)
    assert rep.found_by is None and rep.trace is None
    sim, from_states = rep.attempts
    assert sim.method is SearchMethod.SIMULATION and sim.status == "none" and sim.steps > 100
    assert from_states.method is SearchMethod.BMC_STATE and from_states.status == "none"
    assert from_states.depth == 1


def test_the_search_from_a_launched_state_reaches_the_wrong_pool_in_one_symbolic_step(tmp_path: Path) -> None:
    from conformance.simulate import ModelRun
    from verification.fromstate import search_from_state
    from verification.search import model_replay

    binding = load_binding(BINDING)
    job = Job("step", "pool", "lock_released", ("pool", "swap_mt_for_dcep"))
    for spec, found in ((patched(tmp_path, POOL_NO_UNLOCK), True), (bundled(), False)):
        run = ModelRun(spec, binding)
        for s in run.start_from("launched"):
            run.run(s)
        res = search_from_state(run.spec, Analysis(run.spec), job, run, "launched", 1, Budget())
        assert res.status == ("found" if found else "none"), res
        if found:
            assert res.trace is not None and res.trace.scenario == "launched"
            last = res.trace.steps[-1]
            assert last.kind == "action" and last.caller in run.actors
            assert model_replay(spec, binding, Goal(job), res.trace).status == "confirmed"


HOLES = [
    ("farm_funding_cap", HOLE_FARM_FUNDING, Job("step", "offering", "farm_funding_cap", ("offering", "fund_farm"))),
    ("execute_min_mt_out", HOLE_BUYBACK_MIN, Job("ensures", "buyback", None, ("buyback", "execute"), 0)),
    ("tier_rises_only_from_held_stake", HOLE_FLASH_STAKE,
     Job("step", "farm", "tier_rises_only_from_held_stake", ("farm", "deposit"))),
]


@pytest.mark.parametrize(("name", "patch", "job"), HOLES, ids=[h[0] for h in HOLES])
def test_issue11_hole_is_found_on_the_old_spec_from_the_binding_states(
        tmp_path: Path, name: str, patch: tuple[str, str, str], job: Job) -> None:
    binding = load_binding(BINDING)
    old = patched(tmp_path, patch)
    rep = run_search(old, job, binding, tmp_path)
    assert_found_on_model(rep, job.rule_label)
    # the fixed spec: the method that found the hole, the same walks from the same states, finds nothing; nor
    # does one symbolic transaction from the state the hole's trace started from, which reaches the hole on the
    # old spec but for the flash stake (from every one of the binding's states: the slow test below)
    fixed = run_search(bundled(), job, binding, tmp_path, state_depth=0)
    assert fixed.found_by is None, fixed.summary()
    sim, = fixed.attempts
    assert sim.method is SearchMethod.SIMULATION and sim.status == "none" and sim.steps > 100, fixed.summary()
    assert rep.trace is not None
    scenario = rep.trace.scenario
    assert _one_step_from(bundled(), binding, job, scenario).status == "none"
    assert _one_step_from(old, binding, job, scenario).status == ("none" if name == "tier_rises_only_from_held_stake"
                                                                  else "found")


def _one_step_from(spec: ir.Spec, binding: Binding, job: Job, scenario: str | None) -> Any:
    """The search of one symbolic transaction from the binding's state after ``scenario`` (None: the prelude)."""
    from conformance.simulate import ModelRun
    from verification.fromstate import search_from_state

    run = ModelRun(spec, binding)
    for s in run.start_from(scenario):
        run.run(s)
    return search_from_state(run.spec, Analysis(run.spec), job, run, scenario, 1, Budget())


# the whole search on the fixed spec, the symbolic step from each of the binding's 27 states included: about
# 90 % of the test above's CPU before session 17 (cProfile; farm funding: 31 s of user CPU alone)
@pytest.mark.slow
@pytest.mark.parametrize(("name", "patch", "job"), HOLES, ids=[h[0] for h in HOLES])
def test_issue11_hole_is_not_found_on_the_fixed_spec_from_the_binding_states(
        tmp_path: Path, name: str, patch: tuple[str, str, str], job: Job) -> None:
    fixed = run_search(bundled(), job, load_binding(BINDING), tmp_path)
    assert fixed.found_by is None, fixed.summary()
    assert [(a.method, a.status) for a in fixed.attempts] == [(SearchMethod.SIMULATION, "none"),
                                                             (SearchMethod.BMC_STATE, "none")], fixed.summary()


def test_issue11_pool_opening_below_the_floor_is_found_with_such_a_deployment(tmp_path: Path) -> None:
    # the bundled deployment opens above the floor: the old constructor
    # accepted pool_mt_bps = 10000, which opens it in Iron (0.3 DCEP an MT)
    base = load_binding(BINDING)
    binding = dataclasses.replace(base, params={**base.params, "offering.pool_mt_bps": "10000"})
    job = Job("step", "offering", "opens_at_or_above_floor", ("offering", "contribute"))
    rep = run_search(patched(tmp_path, HOLE_OPENS_BELOW_FLOOR), job, binding, tmp_path)
    assert_found_on_model(rep, "offering.opens_at_or_above_floor")
    assert rep.trace is not None and rep.trace.steps[-1].action == "contribute"
    # the fixed constructor refuses that deployment: nothing to search from
    fixed = run_search(bundled(), job, binding, tmp_path)
    assert fixed.found_by is None
    assert fixed.attempts[0].status == "skipped" and "OPENS_BELOW_FLOOR" in fixed.attempts[0].detail


@pytest.mark.slow
@pytest.mark.parametrize(("rule", "patch"), [(c[0], c[1]) for c in POOL_CASES], ids=[c[0] for c in POOL_CASES])
def test_prove_refutes_the_wrong_pool_spec_by_simulation(tmp_path: Path, rule: str,
                                                         patch: tuple[str, str, str]) -> None:
    # `imospec prove` itself, not only the search: neither plainly wrong pool
    # mutant of issue 17 is left unknown
    spec = patched(tmp_path, patch)
    report = prove(Options(invariant=f"pool.{rule}", jobs=1, vacuity=False, cache=False,
                           binding=BINDING, evm="py-evm", depth=1), spec)
    step = next(r for r in report.proofs if r.job.action == ("pool", "swap_mt_for_dcep"))
    assert isinstance(step.outcome, Refuted), step.outcome
    assert step.outcome.method == "simulation"
    assert step.search is not None and step.search.found_by is SearchMethod.SIMULATION
    assert step.search.replay is not None and step.search.replay.status == "confirmed"
    assert step.search.trace is not None and step.search.evm is not None
    assert step.search.evm.first_difference == len(step.search.trace.steps)
    assert report.exit_code() == 1
    import io

    from imospec_cli.prove import print_report

    out = io.StringIO()
    print_report(report, out)
    assert "refuted (found by simulation)" in out.getvalue()
    assert "EVM replay (py-evm): ran, first difference at step" in out.getvalue()


def test_an_unknown_lists_what_was_searched() -> None:
    # a query starved of its rlimit has no verdict and no CTI: the unknown says
    # so, and which methods were tried or skipped and why
    report = run("shift_ok", vacuity=False, rlimit=50)
    r = find(report, "shift.b_zero", "shift.tick")
    assert isinstance(r.outcome, Unknown) and r.search is not None and not r.search.cti
    assert [(a.method, a.status) for a in r.search.attempts] == [
        (SearchMethod.BMC_DEPLOYMENT, "skipped"), (SearchMethod.SIMULATION, "skipped")]
    assert "no counterexample to induction; search depth 0" in r.outcome.detail
    import io

    from imospec_cli.prove import print_report

    out = io.StringIO()
    print_report(report, out)
    assert "    searched: no counterexample to induction; search depth 0; tried: bmc-deployment skipped" \
        in out.getvalue()


@pytest.mark.slow
def test_an_unknown_carries_the_search_evidence(tmp_path: Path) -> None:
    # a query starved of its rlimit is unknown: the search ran, found no
    # trace on the unmutated spec, and the unknown says what was tried
    report = prove(Options(invariant="pool.reserves_held", module="pool", jobs=1, vacuity=False, cache=False,
                           binding=BINDING, evm=None, depth=1, rlimit=2_000), bundled())
    unknown = [r for r in report.proofs if isinstance(r.outcome, Unknown)]
    assert unknown
    r = unknown[0]
    assert r.search is not None and r.search.found_by is None
    assert SearchMethod.SIMULATION in r.search.methods_tried
    assert isinstance(r.outcome, Unknown) and "tried:" in r.outcome.detail and "simulation none" in r.outcome.detail
    assert r.to_json()["search"]["attempts"]
    # the command line shows the evidence under the unknown's retry line
    import io

    from imospec_cli.prove import print_report

    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()
    assert "    searched: " in text and "tried: " in text and "simulation none" in text
    assert ("counterexample to induction found" in text) == r.search.cti


def test_k_induction_proves_a_true_rule_that_is_not_1_inductive() -> None:
    report = run("shift_ok", vacuity=False)
    r = find(report, "shift.b_zero", "shift.tick")
    assert isinstance(r.outcome, Proved) and r.outcome.method == "k-induction", r.outcome
    assert r.search is not None and r.search.proved_by is SearchMethod.K_INDUCTION
    assert r.search.bmc is not None and r.search.bmc.status == "unreachable"
    assert report.exit_code() == 0


def test_k_induction_needs_its_base_case() -> None:
    # without the bounded search from deployment there is no base case: the CTI stays a refutation
    report = run("shift_ok", vacuity=False, depth=0)
    r = find(report, "shift.b_zero", "shift.tick")
    assert isinstance(r.outcome, Refuted) and r.outcome.method == "z3"


def test_k_induction_does_not_prove_a_false_rule() -> None:
    # with `poke` setting `a`, the 2-step path poke, tick keeps the rule and then breaks it
    from verification.kinduction import k_induction_step

    res = load_spec([SPECS / "shift_poke"])
    assert res.spec is not None
    k2 = k_induction_step(res.spec, Analysis(res.spec), Job("step", "shift", "b_zero", ("shift", "tick")), 2,
                          Budget())
    assert k2.status == "cti"
    report = run("shift_poke", vacuity=False)
    r = find(report, "shift.b_zero", "shift.tick")
    assert isinstance(r.outcome, Refuted) and r.outcome.method == "bmc-deployment"
    assert r.search is not None and r.search.found_by is SearchMethod.BMC_DEPLOYMENT


# ---------------------------------------------------------------- from deployment

LAUNCH = ("dcep.mint", "dcep.approve", "offering.contribute", "offering.finalize")
# (id, patch, job, depth of the shortest violation, the chosen actions, binding parameters)
DEPLOYED_HOLES = [
    ("opens_at_or_above_floor", HOLE_OPENS_BELOW_FLOOR,
     Job("step", "offering", "opens_at_or_above_floor", ("offering", "contribute")), 3,
     (*LAUNCH, "offering.refund"), {"offering.pool_mt_bps": "10000"}),
    ("farm_funding_cap", HOLE_FARM_FUNDING, Job("step", "offering", "farm_funding_cap", ("offering", "fund_farm")),
     5, (*LAUNCH, "offering.merchant_sell", "offering.fund_farm"), {}),
    ("tier_rises_only_from_held_stake", HOLE_FLASH_STAKE,
     Job("step", "farm", "tier_rises_only_from_held_stake", ("farm", "deposit")), 7,
     (*LAUNCH, "offering.claim", "pool.approve", "farm.deposit"), {}),
    ("execute_min_mt_out", HOLE_BUYBACK_MIN, Job("ensures", "buyback", None, ("buyback", "execute"), 0), 7,
     (*LAUNCH, "buyback.book_revenue", "buyback.execute"), {}),
]
DEEP = {"tier_rises_only_from_held_stake", "execute_min_mt_out"}
# the deterministic budget of each depth's check (the timeout is only a safety net)
DEPLOYED_BUDGET = Budget(3600.0, 2_000_000_000)


def deployed(spec: ir.Spec, job: Job, binding: Binding, depth: int, actions: tuple[str, ...], tmp: Path,
             evm: str | None = None) -> SearchReport:
    """The search from the binding's deployment alone (the symbolic one, over free parameters, skipped)."""
    chosen = [tuple(a.split(".", 1)) for a in actions]
    return search(spec, Analysis(spec), Goal(job), cti=True, depth=0, deployed_depth=depth, budget=DEPLOYED_BUDGET,
                  binding=binding, evm_backend=evm, fixture_dir=tmp / "fixtures", state_depth=0,
                  actions=chosen)  # type: ignore[arg-type]


def hole_binding(params: dict[str, str]) -> Binding:
    base = load_binding(BINDING)
    return dataclasses.replace(base, params={**base.params, **params})


def assert_found_from_deployment(rep: SearchReport, job: Job, depth: int) -> None:
    assert rep.found_by is SearchMethod.BMC_DEPLOYMENT, rep.summary()
    first = rep.attempts[0]
    assert first.method is SearchMethod.BMC_DEPLOYMENT and first.status == "found" and first.depth == depth
    assert "deployment" in first.detail
    assert rep.trace is not None and rep.trace.from_deployment and rep.trace.scenario is None
    actions = [s for s in rep.trace.steps if s.kind == "action"]
    assert len(actions) == depth
    if job.action is not None:
        assert (actions[-1].module, actions[-1].action) == job.action
    # replayed on a fresh model deployed the same way, without the prelude: the last step breaks the rule
    assert rep.replay is not None and rep.replay.status == "confirmed", rep.replay
    assert job.rule_label in rep.replay.detail


def deployed_case(tmp_path: Path, case: tuple[Any, ...], fixed_too: bool = True) -> None:
    name, patch, job, depth, actions, params = case
    binding = hole_binding(params)
    rep = deployed(patched(tmp_path, patch), job, binding, depth, actions, tmp_path)
    assert_found_from_deployment(rep, job, depth)
    # no shallower violation: the search said none at every depth before
    assert rep.depth_reached == depth
    if not fixed_too:  # the searches from the binding's states above show the fixed spec's side
        return
    # the fixed spec: the same search, as deep, finds nothing
    if name == "opens_at_or_above_floor":
        fixed = deployed(bundled(), job, binding, depth, actions, tmp_path)
        assert fixed.found_by is None
        assert fixed.attempts[0].status == "skipped" and "OPENS_BELOW_FLOOR" in fixed.attempts[0].detail
    else:
        fixed = deployed(bundled(), job, binding, depth, actions, tmp_path)
        assert fixed.found_by is None, fixed.summary()
        assert fixed.attempts[0].method is SearchMethod.BMC_DEPLOYMENT and fixed.attempts[0].status == "none", \
            fixed.summary()
        assert fixed.attempts[0].depth == depth


@pytest.mark.parametrize("case", [c for c in DEPLOYED_HOLES if c[0] not in DEEP], ids=lambda c: c[0])
def test_issue11_hole_is_reached_from_deployment(tmp_path: Path, case: tuple[Any, ...]) -> None:
    deployed_case(tmp_path, case)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in DEPLOYED_HOLES if c[0] in DEEP], ids=lambda c: c[0])
def test_issue11_deep_hole_is_reached_from_deployment(tmp_path: Path, case: tuple[Any, ...]) -> None:
    # seven transactions deep: found by enumerating action sequences
    deployed_case(tmp_path, case, fixed_too=False)


def deep_prove_options(job: Job, depth: int, actions: tuple[str, ...] | None, evm: str | None = None) -> Options:
    """`imospec prove` of one hole's rule (an ``ensures``: the module's), searching from the bundled binding
    (over ``actions`` only, when given)."""
    select: dict[str, Any] = {"invariant": job.rule_label} if job.kind == "step" else \
        {"module": job.module, "only_ensures": True}
    chosen = None if actions is None else tuple(tuple(a.split(".", 1)) for a in actions)
    return Options(**select, jobs=1, vacuity=False, cache=False, binding=BINDING, evm=evm, depth=depth,
                   search_actions=chosen)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in DEPLOYED_HOLES if c[0] in DEEP], ids=lambda c: c[0])
def test_prove_refutes_the_old_deep_hole_from_deployment(tmp_path: Path, case: tuple[Any, ...]) -> None:
    import io

    from imospec_cli.prove import print_report

    _, patch, job, depth, actions, _ = case
    report = prove(deep_prove_options(job, depth, actions), patched(tmp_path, patch))
    r = next(r for r in report.proofs if r.job == job)
    assert isinstance(r.outcome, Refuted), r.outcome
    assert r.outcome.method == "bmc-deployment"
    assert r.search is not None and r.search.found_by is SearchMethod.BMC_DEPLOYMENT, r.search
    found = r.search.attempts[-1]
    assert found.method is SearchMethod.BMC_DEPLOYMENT and found.status == "found" and found.depth == depth
    assert "action sequence(s) asked" in found.detail
    assert r.search.trace is not None and r.search.trace.from_deployment
    assert len([s for s in r.search.trace.steps if s.kind == "action"]) == depth
    assert r.search.replay is not None and r.search.replay.status == "confirmed"
    assert job.rule_label in r.search.replay.detail
    assert report.exit_code() == 1
    out = io.StringIO()
    print_report(report, out)
    row = next(line for line in out.getvalue().splitlines()
               if line.startswith(job.rule_label + " ") and job.action_label in line)
    assert f"refuted (found by bmc-deployment in {depth})" in row
    assert "found by bmc-deployment: " in out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in DEPLOYED_HOLES if c[0] in DEEP], ids=lambda c: c[0])
def test_prove_refutes_the_old_deep_hole_from_deployment_over_the_whole_cone(tmp_path: Path,
                                                                            case: tuple[Any, ...]) -> None:
    # no --search-actions: every action of the rule's cone of influence (74),
    # two actors; the exhaustive walk covers the first bounds, the guided walk
    # reaches the seven transactions, and the trace replays on the model and,
    # as a fixture from deployment, on the EVM (the fixed contracts: they
    # differ from the old spec's model at the last step at the latest)
    import io

    from imospec_cli.prove import print_report

    _, patch, job, depth, _, _ = case
    report = prove(deep_prove_options(job, depth, None, evm="py-evm"), patched(tmp_path, patch))
    r = next(r for r in report.proofs if r.job == job)
    assert isinstance(r.outcome, Refuted), r.outcome
    assert r.outcome.method == "bmc-deployment"
    assert r.search is not None and r.search.found_by is SearchMethod.BMC_DEPLOYMENT, r.search
    found = r.search.attempts[-1]
    assert found.status == "found" and found.depth == depth, found
    assert "found by the guided walk" in found.detail and "chosen action" not in found.detail
    assert r.search.trace is not None and r.search.trace.from_deployment
    assert len([s for s in r.search.trace.steps if s.kind == "action"]) == depth
    assert r.search.replay is not None and r.search.replay.status == "confirmed"
    assert job.rule_label in r.search.replay.detail
    assert r.search.evm is not None and r.search.evm.status == "ran", r.search.evm
    assert r.search.evm.first_difference is not None
    assert report.exit_code() == 1
    out = io.StringIO()
    print_report(report, out)
    assert f"refuted (found by bmc-deployment in {depth})" in out.getvalue()
    assert "  from the binding's deployment (no prelude):" in out.getvalue()


def _deployed_run(spec: ir.Spec, params: dict[str, str]) -> tuple[Binding, Any]:
    from conformance.binding import at_deployment
    from conformance.simulate import ModelRun

    binding = hole_binding(params)
    return binding, ModelRun(spec, at_deployment(binding))


def test_the_guided_walk_reaches_the_buyback_hole_over_the_whole_cone(tmp_path: Path) -> None:
    # seven transactions from deployment over all 74 actions of the cone: far
    # beyond what the exhaustive walk covers (2 transactions in 100 queries);
    # the goal regression (what blocks `buyback.execute`, by unsatisfiable
    # cores, then what writes that, ...) orders the guided walk so that the
    # trace comes within a few hundred queries
    from verification.fromstate import SequenceStats, dictionary_values, search_sequences

    _, patch, job, depth, _, params = next(c for c in DEPLOYED_HOLES if c[0] == "execute_min_mt_out")
    spec = patched(tmp_path, patch)
    binding, run = _deployed_run(spec, params)
    stats = SequenceStats()
    res = search_sequences(spec, Analysis(spec), job, run, None, depth, DEPLOYED_BUDGET, actors=run.actors[:2],
                           dictionary=dictionary_values(), stats=stats, max_queries=400)
    assert res.status == "found" and res.depth == depth, res
    assert "found by the guided walk" in res.detail
    assert stats.guided > 0 and stats.blocked > 0 and stats.queries <= 400
    assert res.trace is not None
    actions = [(s.module, s.action) for s in res.trace.steps if s.kind == "action"]
    assert actions[-1] == job.action and ("offering", "finalize") in actions
    assert model_replay_confirmed(spec, binding, job, res.trace)


def test_the_guided_walk_claims_no_bound_it_did_not_exhaust(tmp_path: Path) -> None:
    # the fixed spec, where no trace breaks the clause: the search runs out of
    # queries and says unknown, with the depth the exhaustive walk covered,
    # never one the guided walk only went through
    from verification.fromstate import SequenceStats, dictionary_values, search_sequences

    _, _, job, depth, _, params = next(c for c in DEPLOYED_HOLES if c[0] == "execute_min_mt_out")
    spec = bundled()
    _, run = _deployed_run(spec, params)
    stats = SequenceStats()
    res = search_sequences(spec, Analysis(spec), job, run, None, depth, DEPLOYED_BUDGET, actors=run.actors[:2],
                           dictionary=dictionary_values(), stats=stats, max_queries=200)
    assert res.status == "unknown", res
    assert 0 < res.depth < depth
    assert f"no violation within {res.depth} transaction(s) (every sequence asked)" in res.detail
    assert "200 queries spent" in res.detail and stats.guided > 0


def test_the_farm_funding_trace_from_deployment_replays_on_the_evm(tmp_path: Path) -> None:
    # the old spec's trace, as a conformance fixture from deployment, on the
    # fixed contracts of both EVMs: every step but the last succeeds on both
    # sides, and the last (all the kept MT into the farm) is refused by the
    # contract, where the old spec's model lets it through
    from conformance.runner import read_fixture, replay
    from verification.search import evm_replay

    _, patch, job, depth, actions, params = DEPLOYED_HOLES[1]
    binding = hole_binding(params)
    old = patched(tmp_path, patch)
    rep = deployed(old, job, binding, depth, actions, tmp_path)
    assert_found_from_deployment(rep, job, depth)
    assert rep.trace is not None
    for backend in ("py-evm", "pyrevm"):
        evm = evm_replay(old, binding, rep.trace, backend, tmp_path / "fixtures", Goal(job))
        assert evm.status == "ran", evm
        assert evm.evm_succeeded == (True,) * (depth - 1) + (False,)
        assert evm.first_difference == len(rep.trace.steps)
        assert "FARM_FUNDING_CAP" in evm.detail
        fixture = read_fixture(evm.fixture)
        assert fixture.from_deployment and fixture.scenario is None
        # on the fixed spec the fixture replays without a difference: model and contract both refuse the last step
        again = replay(fixture, binding, bundled(), backend)
        assert again.ok, again.first_difference
        assert again.setup == 0  # no prelude ran


@pytest.mark.slow
def test_prove_refutes_the_old_farm_funding_from_deployment(tmp_path: Path) -> None:
    spec = patched(tmp_path, HOLE_FARM_FUNDING)
    _, _, job, depth, actions, _ = DEPLOYED_HOLES[1]
    report = prove(Options(invariant="offering.farm_funding_cap", jobs=1, vacuity=False, cache=False,
                           binding=BINDING, evm=None, depth=depth,
                           search_actions=tuple(tuple(a.split(".", 1)) for a in actions)), spec)  # type: ignore[misc]
    step = next(r for r in report.proofs if r.job.action == job.action)
    assert isinstance(step.outcome, Refuted), step.outcome
    assert step.outcome.method == "bmc-deployment"
    assert step.search is not None and step.search.found_by is SearchMethod.BMC_DEPLOYMENT
    assert step.search.trace is not None and step.search.trace.from_deployment
    assert step.search.replay is not None and step.search.replay.status == "confirmed"


def test_the_sequence_search_prunes_only_what_loses_no_trace() -> None:
    from verification.fromstate import independent, relevant

    spec = bundled()
    an = Analysis(spec)
    mint, approve, contribute = ("dcep", "mint"), ("dcep", "approve"), ("offering", "contribute")
    finalize, execute, book = ("offering", "finalize"), ("buyback", "execute"), ("buyback", "book_revenue")
    # balances and allowances are apart: either order reaches the same state
    assert independent(an, mint, approve) and independent(an, approve, mint)
    # contribute reads the balance mint writes
    assert not independent(an, mint, contribute) and not independent(an, contribute, mint)
    # both read the clock: swapped, each would run at the other's time
    assert an.reads_clock(*contribute) and an.reads_clock(*finalize) and not an.reads_clock(*mint)
    assert not independent(an, contribute, finalize)
    _, _, reads = _target_reads(spec, an, Job("ensures", "buyback", None, execute, 0))
    assert relevant(an, [mint, approve, contribute, finalize, book, execute], reads)
    # the launch and the booking each write what a later step reads; an operator
    # approval for cards writes nothing the buyback reads: dropped, a shorter sequence
    assert not relevant(an, [("member", "set_approval_for_all"), execute], reads)


def _target_reads(spec: ir.Spec, an: Analysis, job: Job) -> Any:
    from verification.bmc import _target

    return _target(spec, an, job)


def test_the_sequence_search_from_deployment_prunes_and_counts(tmp_path: Path) -> None:
    # the farm-funding hole, 5 transactions deep: far fewer sequences asked
    # than there are, and prefixes that cannot run cut off with what follows
    from conformance.binding import at_deployment
    from conformance.simulate import ModelRun
    from verification.fromstate import SequenceStats, dictionary_values, search_sequences

    _, patch, job, depth, actions, params = DEPLOYED_HOLES[1]
    spec = patched(tmp_path, patch)
    binding = hole_binding(params)
    run = ModelRun(spec, at_deployment(binding))
    stats = SequenceStats()
    chosen = [tuple(a.split(".", 1)) for a in actions]
    res = search_sequences(spec, Analysis(spec), job, run, None, depth, DEPLOYED_BUDGET, chosen=chosen,  # type: ignore[arg-type]
                           actors=run.actors[:2], dictionary=dictionary_values(), stats=stats)
    assert res.status == "found" and res.depth == depth, res
    assert res.trace is not None
    assert [(s.module, s.action) for s in res.trace.steps if s.kind == "action"][-1] == job.action
    assert 0 < stats.leaves < len(chosen) ** (depth - 1)
    assert stats.dead > 0 and stats.prefixes > stats.dead
    assert stats.queries >= stats.leaves + stats.prefixes
    assert model_replay_confirmed(spec, binding, job, res.trace)


def model_replay_confirmed(spec: ir.Spec, binding: Binding, job: Job, trace: Any) -> bool:
    from conformance.simulate import Trace
    from verification.search import model_replay

    return model_replay(spec, binding, Goal(job), Trace(None, trace.steps, from_deployment=True)).status == "confirmed"
