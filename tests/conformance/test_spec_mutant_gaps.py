"""Session 14: survivors of ``imospec mutate --spec`` closed, each caught the
way ``mutate --spec`` catches it (a theorem refuted in its first prove
round, a cover the mutant cannot meet, a starting state's steps breaking a
rule, or conform against the bundled contracts diverging). Each test runs the
unmutated spec (it passes) and the mutant (it is caught)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline


def _mutant(base: Pipeline, file: str, old: str, new: str) -> Pipeline:
    """``base`` with the one occurrence of ``old`` in ``file`` made ``new``."""
    name = next(n for n in base.sources.texts if Path(n).name == file)
    texts = dict(base.sources.texts)
    assert (texts[name] or "").count(old) == 1, old
    texts[name] = (texts[name] or "").replace(old, new)
    p = Pipeline.for_binding(DEFAULT_BINDING)
    p.__dict__["sources"] = replace(base.sources, texts=texts)
    return p


def _first_round(p: Pipeline, module: str) -> dict[str, type]:
    """The outcome of each query of ``mutate --spec``'s first prove round
    (the ``ensures`` and theorems of ``module``), by rule label."""
    from verification.runner import Options, prove

    options = Options(module=module, only_ensures=True, vacuity=False, cache=False, jobs=1)
    return {r.job.rule_label: type(r.outcome) for r in prove(options, p.spec).proofs}


def test_a_day_off_by_one_is_refuted_by_the_default_window_theorem() -> None:
    """``offering.DAY - 1`` (read only by the default of ``duration``, which
    the bundled deployment and its contract take alike): theorem
    ``default_window_is_three_days`` is refuted in the first prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _first_round(base, "offering")["offering.default_window_is_three_days"] is Proved
    for new in ("86400 - 1", "86400 + 1", "86400 * 10"):
        mutant = _mutant(base, "offering.imo", "const DAY: uint256 = 86400", f"const DAY: uint256 = {new}")
        assert _first_round(mutant, "offering")["offering.default_window_is_three_days"] is Refuted, new


def _starts_meet(p: Pipeline, key: str) -> bool:
    """Whether the covers' starting states (deployment, the binding's
    scenarios, and the scenarios and deployments of ``scenarios.json``, their
    written steps) meet the goal ``key``: no walk is needed, so no seed can
    miss it."""
    from conformance.witness import CoverReport, _Search, goals_of, observed

    goals = [g for g in goals_of(p.spec) if g.key == key]
    assert len(goals) == 1, key
    report = CoverReport(goals)
    search = _Search(p.spec, p._cover_binding(), p._scenarios(), {key: goals[0]}, report, [])
    with observed(search.model) as obs:
        search.obs = obs
        search.starts()
    return key in report.met


def test_a_zero_buyback_is_written_so_the_widened_check_loses_its_fails_goal() -> None:
    """``buyback.execute`` with ``dcep_amount > 0`` made ``>=`` (a zero
    buyback then reverts in the pool's swap instead): the deployment
    ``timelocks_by_account`` ends with the merchant's buyback of 0 DCEP in
    Silver, which meets ``require ZERO_AMOUNT:fails`` on the spec (at every
    seed: a written step, not a walk; seed 1's walks missed it); on the mutant
    the check cannot fail for a uint256, so the goal is lost (the covers
    stage of ``mutate --spec``)."""
    key = "buyback.execute:require ZERO_AMOUNT:fails"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, key)
    mutant = _mutant(base, "buyback.imo", 'require dcep_amount > 0, "ZERO_AMOUNT"',
                     'require dcep_amount >= 0, "ZERO_AMOUNT"')
    assert not _starts_meet(mutant, key)


def test_approving_an_unminted_card_is_a_step_of_members_so_conform_sees_the_lost_reason() -> None:
    """``member.approve`` without ``require holder != ZERO_ADDRESS,
    "INVALID_TOKEN"``: approving an unminted card still reverts, with
    NOT_APPROVED (no caller is its zero holder, nor approved by it), so only
    the reason tells the mutant from the spec. The binding's scenario
    ``members`` ends with such an approval (card 3; cards 1 and 2 are
    minted), which every campaign runs (each focus start gets a shard): on
    pyrevm the spec's model and the contracts agree on it, the mutant's
    model does not (conform, as ``mutate --spec`` runs it)."""
    from conformance.harness import Harness

    base = Pipeline.for_binding(DEFAULT_BINDING)
    last = base.binding.scenarios["members"][-1]
    assert last[:2] == ("member", "approve")
    reports = Harness(base.spec, base.binding, "pyrevm").start_from("members")
    assert all(r.ok for r in reports) and reports[-1].model is not None and reports[-1].model.reason == "INVALID_TOKEN"
    mutant = _mutant(base, "member.imo", '    require holder != ZERO_ADDRESS, "INVALID_TOKEN"\n'
                     '    require caller == holder or', "    require caller == holder or")
    bad = [r for r in Harness(mutant.spec, mutant.binding, "pyrevm").start_from("members") if not r.ok]
    assert bad and bad[0].step.action == "approve", bad[:1]


FLOOR_CHECK = ("require (soft_cap - mul_div_up(soft_cap, reserve_bps, BPS)) * WAD\n"
               "        >= phases.floor * mul_div_down(mt_total, pool_mt_bps, BPS)")


def test_the_launch_checks_boundary_and_seed_rounding_lose_the_cover_opens_at_the_floor() -> None:
    """The offering's init check ``OPENS_BELOW_FLOOR`` made stricter: ``>=``
    made ``>`` (``offering.imo:122:13``), or the pool's MT seed rounded up
    (``:123:27``). The deployment ``opens_at_the_floor`` of scenarios.json
    (a soft cap that seeds the pool at exactly the floor, with an MT seed of
    480,000.3 MT) launches the pool at the floor on the spec (cover
    ``opens_at_the_floor``); each mutant refuses that deployment, and no
    start meets the cover (the covers stage of ``mutate --spec``)."""
    key = "offering.opens_at_the_floor"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, key)
    strict = FLOOR_CHECK.replace(">= phases.floor", "> phases.floor")
    rounded_up = FLOOR_CHECK.replace("mul_div_down(mt_total", "mul_div_up(mt_total")
    for new in (strict, rounded_up):
        assert not _starts_meet(_mutant(base, "offering.imo", FLOOR_CHECK, new), key), new


def test_the_launch_checks_reserve_share_rounded_down_is_refuted_by_the_full_prove() -> None:
    """The same check with the reserve's share of the soft cap rounded down
    (``offering.imo:122:25``) is looser: it admits a soft cap whose pool seed
    (rounded up, as ``reserve_share`` rounds it) opens one unit under the
    floor. Not caught by the first pass of ``mutate --spec`` (the ``ensures``
    round proves no invariant), but by its ``prove`` stage: invariant
    ``opens_at_or_above_floor`` is refuted at ``contribute`` (the raise that
    reaches such a soft cap), and proved on the spec."""
    from verification.outcome import Proved, Refuted
    from verification.runner import Options, prove

    options = Options(module="offering", invariant="opens_at_or_above_floor", vacuity=False, cache=False, jobs=1)

    def at_contribute(p: Pipeline) -> type:
        proofs = prove(options, p.spec).proofs
        return next(type(r.outcome) for r in proofs if r.job.action_label == "offering.contribute")

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert at_contribute(base) is Proved
    down = FLOOR_CHECK.replace("(soft_cap - mul_div_up(", "(soft_cap - mul_div_down(")
    assert at_contribute(_mutant(base, "offering.imo", FLOOR_CHECK, down)) is Refuted


def test_a_relayed_mint_with_a_fee_is_a_step_of_failed_so_conform_sees_the_return_value() -> None:
    """``market.mint_for`` returning ``minted + fee`` instead of ``minted -
    fee`` (``market.imo:327``): the balances are right, only the value a
    relayed mint with a fee returns differs. The binding's scenario
    ``failed`` ends with such a mint (actor:1's request, signed by its key,
    relayed by actor:2 with a fee of 1 mDCEP), which every campaign runs: on
    pyrevm the spec's model and the contract return the same, the mutant's
    model does not (conform, as ``mutate --spec`` runs it)."""
    from conformance.harness import Harness

    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = Harness(base.spec, base.binding, "pyrevm").start_from("failed")
    last = reports[-1]
    assert all(r.ok for r in reports) and last.step.action == "mint_from_gasless_request"
    assert last.model is not None and last.model.ok and last.step.args[0][5] > 0  # (the fee)
    # the model-only run (the prover's guided simulation) takes the same step, with the abstract signature
    from conformance.simulate import ModelRun

    run = ModelRun(base.spec, base.binding)
    outcomes = [run.run(s) for s in run.start_from("failed")]
    assert outcomes[-1] is not None and outcomes[-1].ok and outcomes[-1].value == last.model.value
    mutant = _mutant(base, "market.imo", "    emit Mint(payer, recipient, amount, minted)\n    return minted - fee",
                     "    emit Mint(payer, recipient, amount, minted)\n    return minted + fee")
    bad = [r for r in Harness(mutant.spec, mutant.binding, "pyrevm").start_from("failed") if not r.ok]
    assert bad and bad[0].step.action == "mint_from_gasless_request", bad[:1]


# Survivors of the whole-spec run's first pass (engineer smut, session 14).


def test_the_buybacks_unit_off_by_one_is_refuted_by_prices_in_the_pools_unit() -> None:
    """``buyback.WAD`` +-1 or x10 (``buyback.imo:58``): read only by
    ``min_out_for``, whose bound moves by a hair; no campaign of the first
    pass made a buyback. Theorem ``buyback.prices_in_the_pools_unit`` is
    refuted in the first prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _first_round(base, "buyback")["buyback.prices_in_the_pools_unit"] is Proved
    for new in ("(10 ** 18) - 1", "(10 ** 18) + 1", "(10 ** 18) * 10"):
        mutant = _mutant(base, "buyback.imo", "const WAD: uint256 = 10 ** 18", f"const WAD: uint256 = {new}")
        assert _first_round(mutant, "buyback")["buyback.prices_in_the_pools_unit"] is Refuted, new


def test_buybacks_in_silver_and_of_the_whole_allocation_are_covers_the_narrowed_checks_lose() -> None:
    """``execute``'s gate ``[Gold, Silver]`` made ``[Gold]``
    (``buyback.imo:163``) and ``dcep_amount <= allocated - spent`` made ``<``
    (``:171``): the scenario ``silver_buyback`` of scenarios.json spends the
    whole allocation in Silver, meeting covers ``buys_back_in_silver`` and
    ``spends_the_whole_allocation`` on the spec; each mutant loses its cover."""
    silver, whole = "buyback.buys_back_in_silver", "buyback.spends_the_whole_allocation"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, silver) and _starts_meet(base, whole)
    gold_only = _mutant(base, "buyback.imo", "when Phase(pool.twap()) in [Gold, Silver]",
                        "when Phase(pool.twap()) in [Gold]")
    assert not _starts_meet(gold_only, silver)
    narrowed = _mutant(base, "buyback.imo", "require dcep_amount <= allocated - spent,",
                       "require dcep_amount < allocated - spent,")
    assert not _starts_meet(narrowed, whole)


def test_the_largest_yield_share_is_a_cover_the_narrowed_init_loses() -> None:
    """``init``'s ``reserve_yield_bps <= BPS - BUYBACK_BPS`` made ``<``
    (``buyback.imo:89``): the deployment ``yield_at_the_cap`` (8,000 bps)
    books revenue there on the spec (cover ``books_at_the_largest_yield_share``);
    the mutant refuses that deployment."""
    key = "buyback.books_at_the_largest_yield_share"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, key)
    mutant = _mutant(base, "buyback.imo", "require reserve_yield_bps <= BPS - BUYBACK_BPS",
                     "require reserve_yield_bps < BPS - BUYBACK_BPS")
    assert not _starts_meet(mutant, key)


def test_a_year_off_by_a_second_is_refuted_by_a_year_is_365_days() -> None:
    """``market.SECONDS_PER_YEAR`` -1/+1/x10 (``market.imo:73``; interest a
    hair off, which no first-pass campaign accrued long enough to show):
    theorem ``a_year_is_365_days`` of both markets is refuted in the first
    prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _first_round(base, "mdcep")["mdcep.a_year_is_365_days"] is Proved
    for new in ("(31536000) - 1", "(31536000) + 1", "(31536000) * 10"):
        mutant = _mutant(base, "market.imo", "const SECONDS_PER_YEAR: uint256 = 31536000",
                         f"const SECONDS_PER_YEAR: uint256 = {new}")
        assert _first_round(mutant, "mdcep")["mdcep.a_year_is_365_days"] is Refuted, new
