"""Correct small specs are proved: init and every action, lemmas, sums, ensures."""

from __future__ import annotations

from pathlib import Path

from spec.driver import load_spec
from tests.verification.conftest import SPECS, find, run
from verification.outcome import Proved, Refuted
from verification.runner import Options


def test_reserve_floor_guarantee_and_sum_are_proved() -> None:
    report = run("reserve_ok")
    for action in ("init", "reserve.top_up", "reserve.redeem"):
        assert isinstance(find(report, "reserve.floor_guarantee", action).outcome, Proved)
    # sum(contributed) is a ghost total kept in step with every write
    assert isinstance(find(report, "reserve.contributions", "reserve.top_up").outcome, Proved)
    frame = find(report, "reserve.contributions", "reserve.redeem").outcome
    assert isinstance(frame, Proved) and frame.method == "frame"
    assert isinstance(find(report, "reserve.redeem.ensures[1]", "reserve.redeem").outcome, Proved)
    assert report.exit_code() == 0


def test_constant_product_never_decreases_with_the_fee() -> None:
    report = run("pool_ok")
    assert isinstance(find(report, "pool.k_never_decreases", "pool.swap_a_for_b").outcome, Proved)
    assert report.exit_code() == 0


def test_lemma_strengthens_induction_and_is_reported() -> None:
    report = run("tiers_ok")
    for action in ("member.deposit", "member.withdraw", "member.refresh"):
        o = find(report, "member.decay_never_jumps_up", action).outcome
        assert isinstance(o, Proved)
        assert "member.tier_backed" in o.lemmas_used
    assert isinstance(find(report, "member.decay_monotone_in_time", "-").outcome, Proved)
    assert report.exit_code() == 0
    assert not any(r.conditional_on for r in report.results)


def test_timelock_window_proved_and_cti_is_not_reachable() -> None:
    report = run("timelock_ok", vacuity=False)
    o = find(report, "timelock.executed_after_delay", "timelock.execute").outcome
    assert isinstance(o, Proved) and o.lemmas_used == ("timelock.eta_respects_delay",)
    assert isinstance(find(report, "timelock.executed_inside_window", "timelock.execute").outcome, Proved)
    # true but not inductive on its own: a counterexample to induction only
    r = find(report, "timelock.cancelled_never_executed", "timelock.execute")
    assert isinstance(r.outcome, Refuted)
    assert r.bmc is not None and r.bmc.status == "unreachable" and r.bmc.depth == 3


def test_vault_with_records_sums_and_params() -> None:
    report = run("vault_ok")
    assert report.exit_code() == 0, [(r.job.rule_label, r.job.action_label, r.outcome) for r in report.results]


def test_vacuity_warnings() -> None:
    report = run("vacuous")
    warnings = "\n".join(report.warnings)
    assert "gate.stuck can never succeed" in warnings
    assert "gate.trivially_true holds in every state" in warnings
    assert "total_within_cap holds in every state" not in warnings
    assert "raise_cap can never succeed" not in warnings
    assert report.exit_code() == 0


def test_theorems_and_ensures() -> None:
    report = run("misc")
    assert isinstance(find(report, "calc.div_up_bounds", "-").outcome, Proved)
    bad = find(report, "calc.mul_div_rounds_down_wrongly", "-").outcome
    assert isinstance(bad, Refuted) and set(bad.counterexample["witnesses"]) == {"a", "b"}
    assert isinstance(find(report, "calc.within_limit", "calc.spend").outcome, Proved)
    assert isinstance(find(report, "calc.spend.ensures[1]", "calc.spend").outcome, Proved)
    r = find(report, "calc.bump.ensures[1]", "calc.bump")
    assert isinstance(r.outcome, Refuted)
    assert r.bmc is not None and r.bmc.status == "reachable"
    assert r.bmc.replay is not None and r.bmc.replay.status == "confirmed"
    assert report.exit_code() == 1


def test_proof_using_an_unproved_lemma_is_conditional() -> None:
    report = run("conditional", vacuity=False)
    lemma = find(report, "counter.b_within_a", "counter.grow_b")
    assert isinstance(lemma.outcome, Refuted)
    assert lemma.bmc is not None and lemma.bmc.status == "reachable"
    step = find(report, "counter.c_within_a", "counter.copy_b")
    assert isinstance(step.outcome, Proved) and step.outcome.lemmas_used == ("counter.b_within_a",)
    assert step.conditional_on == ("counter.b_within_a",)
    # and indeed the invariant is false: the bounded search finds it from the other side
    assert report.exit_code() == 1


GATE = """module gate

state level: uint256
state cap: uint256

action raise_cap(amount: uint256) {
    cap += amount
}

action stuck(amount: uint256) {
    require level > cap, "OVER"
    require level < cap, "UNDER"
    level += amount
}

invariant level_within_cap: level <= cap
"""


def test_a_witnessed_success_answers_the_vacuity_check_without_a_solver(tmp_path: Path) -> None:
    """An action some concrete run saw succeed needs no solver for its vacuity
    check; one no run can make succeed still gets the solver's warning."""
    from imospec_cli.pipeline import Pipeline
    from verification.runner import WITNESSED

    (tmp_path / "gate.imo").write_text(GATE, encoding="utf-8")
    p = Pipeline([tmp_path], options=Options(jobs=1, rlimit=20_000_000, cache=False))
    assert p.witnessed_successes() == frozenset({("gate", "raise_cap")})
    report = p.prove()
    raise_cap = find(report, "(vacuity)", "gate.raise_cap", "vacuity-action")
    assert isinstance(raise_cap.outcome, Refuted) and raise_cap.outcome.method == WITNESSED
    assert raise_cap.seconds == 0.0
    stuck = find(report, "(vacuity)", "gate.stuck", "vacuity-action")
    assert isinstance(stuck.outcome, Proved)  # by the solver: the warning below
    assert "gate.stuck can never succeed" in "\n".join(report.warnings)
    assert "raise_cap can never succeed" not in "\n".join(report.warnings)


def test_only_ensures_plans_no_invariant() -> None:
    from spec.analysis import Analysis
    from verification.runner import plan

    res = load_spec([SPECS / "misc"])
    assert res.spec is not None
    jobs, free = plan(res.spec, Analysis(res.spec), Options(only_ensures=True, vacuity=False))
    assert {j.kind for j in jobs} == {"ensures", "theorem"} and not free


CONNECTED = """\
module knobs

param low: uint256 = 1
param high: uint256 = 2
param cap: uint256 = 3
param spare: uint256 = 4

state level: uint256 = 0

init {
    require low < high, "BAD_RANGE"
    require high <= cap, "BAD_CAP"
    require spare > 0, "BAD_SPARE"
}

action set_low()
    ensures level == low
{
    level = low
}
"""


def test_a_query_assumes_the_deployment_requires_connected_to_what_it_reads(tmp_path: Path) -> None:
    """`set_low` reads `low`: the require on `low` and `high`, and through
    `high` the one on `cap`, are assumed; the one on `spare` alone is not."""
    from spec.analysis import Analysis
    from verification.build import Builder
    from verification.outcome import Job

    (tmp_path / "knobs.imo").write_text(CONNECTED, encoding="utf-8")
    res = load_spec([tmp_path])
    assert res.spec is not None
    built = Builder(res.spec, Analysis(res.spec), "int").build(
        Job(kind="ensures", module="knobs", rule=None, action=("knobs", "set_low"), clause=0))
    text = "\n".join(a.sexpr() for a in built.assertions)
    assert "param.knobs.high" in text and "param.knobs.cap" in text
    assert "param.knobs.spare" not in text
