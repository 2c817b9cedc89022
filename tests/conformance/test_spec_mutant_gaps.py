"""Session 14: survivors of ``imospec mutate --spec`` closed, each caught the
way ``mutate --spec`` catches it (a theorem refuted in its first prove
round, a cover the mutant cannot meet, a starting state's steps breaking a
rule, or conform against the bundled contracts diverging). Each test runs the
unmutated spec (it passes) and the mutant (it is caught)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

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


def _first_round(p: Pipeline, module: str, *theorems: str) -> dict[str, type]:
    """The outcome of each of ``theorems`` (names) of ``module`` in ``mutate --spec``'s first prove round (the
    ``ensures`` and theorems of ``module``, each query on its own: a theorem is a closed formula, whose
    verdict the round's other queries do not change), by rule label."""
    from verification.runner import Options, prove

    out: dict[str, type] = {}
    for theorem in theorems:
        options = Options(module=module, invariant=theorem, only_ensures=True, vacuity=False, cache=False, jobs=1,
                          binding=None, search_refuted=False)  # as mutate --spec's first round
        proofs = prove(options, p.spec).proofs
        assert [r.job.kind for r in proofs] == ["theorem"], proofs
        out.update({r.job.rule_label: type(r.outcome) for r in proofs})
    return out


def _theorem(p: Pipeline, label: str) -> type:
    """The outcome of theorem ``label`` (``module.name``) in ``mutate --spec``'s first prove round."""
    module, name = label.split(".")
    return _first_round(p, module, name)[label]


def test_a_day_off_by_one_is_refuted_by_the_default_window_theorem() -> None:
    """``offering.DAY - 1`` (read only by the default of ``duration``, which
    the bundled deployment and its contract take alike): theorem
    ``default_window_is_three_days`` is refuted in the first prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _theorem(base, "offering.default_window_is_three_days") is Proved
    for new in ("86400 - 1", "86400 + 1", "86400 * 10"):
        mutant = _mutant(base, "offering.imo", "const DAY: uint256 = 86400", f"const DAY: uint256 = {new}")
        assert _theorem(mutant, "offering.default_window_is_three_days") is Refuted, new


def _starts_meet(p: Pipeline, key: str) -> bool:
    """Whether the covers' starting states (deployment, the binding's
    scenarios, and the scenarios and deployments of ``scenarios.json``, their
    written steps) meet the goal ``key``: no walk is needed, so no seed can
    miss it."""
    return _starts_met(p, key) == {key}


def _cover_lost(key: str, file: str, old: str, new: str) -> None:
    """The goal ``key`` is met by the covers' starting states on the bundled
    spec (:func:`_starts_meet`), and not on the mutant with ``old`` made
    ``new`` in ``file``: the covers stage of ``mutate --spec`` catches it (E050)."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, key)
    assert not _starts_meet(_mutant(base, file, old, new), key)


def _starts_met(p: Pipeline, *keys: str) -> set[str]:
    """Which of the goals ``keys`` the covers' starting states meet (:func:`_starts_meet`), from one run of
    them: the starting states' steps are written, so which goals are asked changes no step."""
    from conformance.witness import CoverReport, _Search, goals_of, observed

    goals = {g.key: g for g in goals_of(p.spec) if g.key in keys}
    assert sorted(goals) == sorted(set(keys)), keys
    report = CoverReport(list(goals.values()))
    # a state cover (no action) is checked after every successful step, as `covers` checks it
    state = [(g, c) for g in goals.values() for c in p.spec.modules[g.module].covers
             if g.kind == "cover" and g.action is None and c.name == g.detail]
    search = _Search(p.spec, p._cover_binding(), p.scenarios, goals, report, state)
    with observed(search.model) as obs:
        search.obs = obs
        search.starts()
    return set(keys) & set(report.met)


def test_a_zero_buyback_is_written_so_the_widened_check_loses_its_fails_goal() -> None:
    """``buyback.execute`` with ``dcep_amount > 0`` made ``>=`` (a zero
    buyback then reverts in the pool's swap instead): the deployment
    ``timelocks_by_account`` ends with the merchant's buyback of 0 DCEP in
    Silver, which meets ``require ZERO_AMOUNT:fails`` on the spec (at every
    seed: a written step, not a walk; seed 1's walks missed it); on the mutant
    the check cannot fail for a uint256, so the goal is lost (the covers
    stage of ``mutate --spec``)."""
    _cover_lost("buyback.execute:require ZERO_AMOUNT:fails", "buyback.imo",
                'require dcep_amount > 0, "ZERO_AMOUNT"',
                'require dcep_amount >= 0, "ZERO_AMOUNT"')


def _scenario(p: Pipeline, scenario: str) -> list[Any]:
    """The reports of the binding's ``scenario`` (prelude first) on pyrevm against ``p``'s model."""
    from conformance.harness import Harness

    return Harness(p.spec, p.binding, "pyrevm").start_from(scenario)


def _first_bad(p: Pipeline, scenario: str) -> Any:
    """The first step of ``scenario`` where ``p``'s model and the contracts differ (None: none)."""
    return next((r for r in _scenario(p, scenario) if not r.ok), None)


def test_members_ends_with_refusals_whose_reasons_conform_sees() -> None:
    """Reason-only spec mutants, each caught by conform on the binding's
    scenario ``members`` (every campaign runs every scenario's steps: each
    start gets a shard). ``member.approve`` without ``INVALID_TOKEN``
    (``member.imo:140``): approving an unminted card still reverts, with
    NOT_APPROVED; the scenario's actor:3 approves card 3, which nobody has
    minted. ``offering.fund_farm`` without ``EXCEEDS_MERCHANT_MT`` (smut's
    ``offering.imo:373``): funding the farm with more than the merchant holds
    reverts FARM_FUNDING_CAP instead; the scenario's merchant tries 10**12 MT.
    The spec's model and the contracts agree on every step."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "members")
    assert all(r.ok for r in reports)
    reasons = [(r.step.action, r.model.reason) for r in reports if r.model is not None and not r.model.ok]
    assert ("approve", "INVALID_TOKEN") in reasons and ("fund_farm", "EXCEEDS_MERCHANT_MT") in reasons
    mutant = _mutant(base, "member.imo", '    require holder != ZERO_ADDRESS, "INVALID_TOKEN"\n'
                     '    require caller == holder or', "    require caller == holder or")
    bad = _first_bad(mutant, "members")
    assert bad is not None and bad.step.action == "approve", bad
    mutant = _mutant(base, "offering.imo", '    require amount <= merchant_mt, "EXCEEDS_MERCHANT_MT"\n    farm_funded',
                     "    farm_funded")
    bad = _first_bad(mutant, "members")
    assert bad is not None and bad.step.action == "fund_farm", bad


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

    # (search_refuted=False: the solver's refutation is the verdict; the search for its trace would only name it)
    options = Options(module="offering", invariant="opens_at_or_above_floor", vacuity=False, cache=False, jobs=1,
                      search_refuted=False)

    def at_contribute(p: Pipeline) -> type:
        proofs = prove(options, p.spec).proofs
        return next(type(r.outcome) for r in proofs if r.job.action_label == "offering.contribute")

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert at_contribute(base) is Proved
    down = FLOOR_CHECK.replace("(soft_cap - mul_div_up(", "(soft_cap - mul_div_down(")
    assert at_contribute(_mutant(base, "offering.imo", FLOOR_CHECK, down)) is Refuted


def test_failed_ends_with_a_relayed_mint_with_a_fee_and_a_sale_conform_sees() -> None:
    """Spec mutants caught by conform on the binding's scenario ``failed``.
    ``market.mint_for`` returning ``minted + fee`` (``market.imo:327``): the
    balances are right, only the value a relayed mint with a fee returns
    differs; the scenario ends with one (actor:1's request, signed by its key,
    relayed by actor:2 with a fee of 1 mDCEP). ``offering.merchant_sell``
    without ``NOT_SUCCEEDED`` (smut's ``offering.imo:356``): a failed
    offering's merchant holds no MT, so its sale reverts EXCEEDS_MERCHANT_MT
    instead; the scenario's merchant tries to sell 1 MT. The spec's model and
    the contracts agree on every step."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "failed")
    assert all(r.ok for r in reports)
    mint = next(r for r in reports if r.step.action == "mint_from_gasless_request")
    assert mint.model is not None and mint.model.ok and mint.step.args[0][5] > 0  # (the fee)
    sale = next(r for r in reports if r.step.action == "merchant_sell")
    assert sale.model is not None and sale.model.reason == "NOT_SUCCEEDED"
    # the model-only run (the prover's guided simulation) takes the signed step too, with the abstract signature
    from conformance.simulate import ModelRun

    run = ModelRun(base.spec, base.binding)
    outcomes = [(s, run.run(s)) for s in run.start_from("failed")]
    value = next(o.value for s, o in outcomes if o is not None and s.action == "mint_from_gasless_request")
    assert value == mint.model.value
    mutant = _mutant(base, "market.imo", "    emit Mint(payer, recipient, amount, minted)\n    return minted - fee",
                     "    emit Mint(payer, recipient, amount, minted)\n    return minted + fee")
    bad = _first_bad(mutant, "failed")
    assert bad is not None and bad.step.action == "mint_from_gasless_request", bad
    mutant = _mutant(base, "offering.imo", '    require succeeded, "NOT_SUCCEEDED"\n    require mt_amount',
                     "    require mt_amount")
    bad = _first_bad(mutant, "failed")
    assert bad is not None and bad.step.action == "merchant_sell", bad
    # ``pay_fee``'s ``fee <= balance_of[owner]`` made ``<`` (smut's ``market.imo:290``): the scenario's last
    # step, a relayed permit whose fee is the owner's whole balance, succeeds on the spec, FEE_TOO_LARGE on it
    permit = reports[-1]
    assert permit.step.action == "permit" and permit.model is not None and permit.model.ok
    mutant = _mutant(base, "market.imo", 'require fee <= balance_of[owner], "FEE_TOO_LARGE"',
                     'require fee < balance_of[owner], "FEE_TOO_LARGE"')
    bad = _first_bad(mutant, "failed")
    assert bad is not None and bad.step.action == "permit", bad


# Survivors of the whole-spec run's first pass (engineer smut, session 14).


def test_the_buybacks_unit_off_by_one_is_refuted_by_prices_in_the_pools_unit() -> None:
    """``buyback.WAD`` +-1 or x10 (``buyback.imo:58``): read only by
    ``min_out_for``, whose bound moves by a hair; no campaign of the first
    pass made a buyback. Theorem ``buyback.prices_in_the_pools_unit`` is
    refuted in the first prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _theorem(base, "buyback.prices_in_the_pools_unit") is Proved
    for new in ("(10 ** 18) - 1", "(10 ** 18) + 1", "(10 ** 18) * 10"):
        mutant = _mutant(base, "buyback.imo", "const WAD: uint256 = 10 ** 18", f"const WAD: uint256 = {new}")
        assert _theorem(mutant, "buyback.prices_in_the_pools_unit") is Refuted, new


def test_buybacks_in_silver_and_of_the_whole_allocation_are_covers_the_narrowed_checks_lose() -> None:
    """``execute``'s gate ``[Gold, Silver]`` made ``[Gold]``
    (``buyback.imo:163``) and ``dcep_amount <= allocated - spent`` made ``<``
    (``:171``): the scenario ``silver_buyback`` of scenarios.json spends the
    whole allocation in Silver, meeting covers ``buys_back_in_silver`` and
    ``spends_the_whole_allocation`` on the spec; each mutant loses its cover."""
    silver, whole = "buyback.buys_back_in_silver", "buyback.spends_the_whole_allocation"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_met(base, silver, whole) == {silver, whole}
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
    _cover_lost("buyback.books_at_the_largest_yield_share", "buyback.imo",
                "require reserve_yield_bps <= BPS - BUYBACK_BPS",
                "require reserve_yield_bps < BPS - BUYBACK_BPS")


def test_a_year_off_by_a_second_is_refuted_by_a_year_is_365_days() -> None:
    """``market.SECONDS_PER_YEAR`` -1/+1/x10 (``market.imo:73``; interest a
    hair off, which no first-pass campaign accrued long enough to show):
    theorem ``a_year_is_365_days`` of both markets is refuted in the first
    prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _theorem(base, "mdcep.a_year_is_365_days") is Proved
    for new in ("(31536000) - 1", "(31536000) + 1", "(31536000) * 10"):
        mutant = _mutant(base, "market.imo", "const SECONDS_PER_YEAR: uint256 = 31536000",
                         f"const SECONDS_PER_YEAR: uint256 = {new}")
        assert _theorem(mutant, "mdcep.a_year_is_365_days") is Refuted, new


# Session 15 (engineer gapsm): the merchant-side survivors of the lead's whole run
# (`imospec mutate --spec --seed 0 --examples 8`, first pass `replay,conform,ensures`).


def test_the_boost_share_rounded_up_is_refuted_by_boost_share_rounds_down() -> None:
    """``farm.emission``'s boost share ``mul_div_down`` made ``mul_div_up``
    (``farm.imo:180:46`` before the share became the fn ``boost_share``): one
    unit more whenever ``reward_per_second * boosted * boost_extra_bps`` is not
    a multiple of BPS, which the bundled farm's parameters never are. Theorem
    ``farm.boost_share_rounds_down`` (the share is the exact one rounded down)
    is refuted in the first prove round."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _theorem(base, "farm.boost_share_rounds_down") is Proved
    mutant = _mutant(base, "farm.imo", "return mul_div_down(base, extra_bps, BPS)",
                     "return mul_div_up(base, extra_bps, BPS)")
    assert _theorem(mutant, "farm.boost_share_rounds_down") is Refuted


def _first_bad_at(p: Pipeline, scenario: str) -> int | None:
    """The index (in :func:`_scenario`'s reports, prelude first) of the first
    step of ``scenario`` where ``p``'s model and the contracts differ."""
    return next((i for i, r in enumerate(_scenario(p, scenario)) if not r.ok), None)


def test_pool_edges_refusals_and_the_112_bit_reserve_are_seen_by_conform() -> None:
    """The binding's scenario ``pool_edges``, run on pyrevm against the model
    of each mutant; the spec's model and the contracts agree on every step.
    Before the launch: a withdrawal of 0 LP (INSUFFICIENT_LIQUIDITY_BURNED; with
    ``liquidity > 0`` made ``>= 0``, ``pool.imo:257``, the model divides by the
    zero supply instead), a sale of 0 MT (INSUFFICIENT_INPUT_AMOUNT; dropped,
    ``:294``, INSUFFICIENT_LIQUIDITY) and of 1 MT (INSUFFICIENT_LIQUIDITY;
    dropped, ``:295``, INSUFFICIENT_OUTPUT_AMOUNT on a quote of 0). In Bronze, a
    contributor's exit (WRONG_PHASE; with ``exit``'s gate ``[Iron, Bronze]``,
    ``reserve.imo:208``, it succeeds), and a deposit asking for more DCEP than
    the pool's ratio takes (INSUFFICIENT_DCEP_AMOUNT; dropped, ``pool.imo:233``,
    it succeeds: ``add_liquidity``'s new second ``ensures`` states the minimums,
    but the prover answers ``unknown`` on that mutant, not refuted). Last, a swap that fills the DCEP reserve
    to exactly 2**112 - 1 (``_update``'s ``new_dcep <= MAX_UINT112`` made ``<``,
    ``pool.imo:359:39``, reverts OVERFLOW). Each mutant is first seen at its step."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "pool_edges")
    assert all(r.ok for r in reports)
    refused = [(i, r.step.action, r.model.reason) for i, r in enumerate(reports)
               if r.model is not None and not r.model.ok]
    assert [(a, why) for _, a, why in refused[:3]] == [("remove_liquidity", "INSUFFICIENT_LIQUIDITY_BURNED"),
                                                       ("swap_mt_for_dcep", "INSUFFICIENT_INPUT_AMOUNT"),
                                                       ("swap_mt_for_dcep", "INSUFFICIENT_LIQUIDITY")]
    exit_at = next(i for i, a, why in refused if a == "exit" and why == "WRONG_PHASE")
    short_at = next(i for i, a, why in refused if a == "add_liquidity" and why == "INSUFFICIENT_DCEP_AMOUNT")
    last = len(reports) - 1
    assert reports[last].step.action == "swap_dcep_for_mt" and reports[last].model is not None
    assert reports[last].model.ok
    cases = [
        ("pool.imo", 'require liquidity > 0, "INSUFFICIENT_LIQUIDITY_BURNED"',
         'require liquidity >= 0, "INSUFFICIENT_LIQUIDITY_BURNED"', refused[0][0]),
        ("pool.imo", '    require mt_in > 0, "INSUFFICIENT_INPUT_AMOUNT"\n', "", refused[1][0]),
        ("pool.imo", '    require reserve_mt > 0 and reserve_dcep > 0, "INSUFFICIENT_LIQUIDITY"\n    let dcep_out',
         "    let dcep_out", refused[2][0]),
        ("reserve.imo", "action exit(amount: uint256) -> uint256\n    when Phase(pool.twap()) in [Iron]",
         "action exit(amount: uint256) -> uint256\n    when Phase(pool.twap()) in [Iron, Bronze]", exit_at),
        ("pool.imo", '    require dcep_amount >= dcep_min, "INSUFFICIENT_DCEP_AMOUNT"\n    require liquidity > 0',
         "    require liquidity > 0", short_at),
        ("pool.imo", "require new_mt <= MAX_UINT112 and new_dcep <= MAX_UINT112",
         "require new_mt <= MAX_UINT112 and new_dcep < MAX_UINT112", last),
    ]
    for file, old, new, at in cases:
        assert _first_bad_at(_mutant(base, file, old, new), "pool_edges") == at, old


def test_iron_dust_ends_with_a_redemption_above_the_capacity() -> None:
    """``redeem`` without ``require mt_amount <= capacity`` (``reserve.imo:188``):
    the capacity's subtraction underflows, a bare revert. The binding's
    scenario ``iron_dust`` ends, in Iron, with a redemption of the capacity
    plus one MT (INSUFFICIENT_CAPACITY on the spec and the contracts)."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "iron_dust")
    assert all(r.ok for r in reports)
    last = reports[-1]
    assert last.step.action == "redeem" and last.model is not None and last.model.reason == "INSUFFICIENT_CAPACITY"
    check = '    require mt_amount <= capacity, "INSUFFICIENT_CAPACITY"\n    let dcep_amount'
    mutant = _mutant(base, "reserve.imo", check, "    let dcep_amount")
    assert _first_bad_at(mutant, "iron_dust") == len(reports) - 1


def test_the_whole_capacity_and_the_112_bit_reserve_are_covers_the_narrowed_checks_lose() -> None:
    """Issue 17's "redeeming exactly the remaining capacity succeeds in Iron":
    cover ``reserve.redeems_the_whole_capacity``, met by the deployment
    ``mt_beyond_capacity`` of scenarios.json (its last step redeems the 500 MT
    left); ``redeem``'s ``mt_amount <= capacity`` made ``<`` loses it. Cover
    ``pool.fills_the_dcep_reserve_to_112_bits``, met by the binding's scenario
    ``pool_edges``; ``_update``'s ``new_dcep <= MAX_UINT112`` made ``<`` loses
    it (the covers stage of ``mutate --spec``). The same for the MT reserve."""
    whole, full = "reserve.redeems_the_whole_capacity", "pool.fills_the_dcep_reserve_to_112_bits"
    mt_full = "pool.fills_the_mt_reserve_to_112_bits"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_met(base, whole, full, mt_full) == {whole, full, mt_full}
    narrowed = _mutant(base, "reserve.imo", 'require mt_amount <= capacity, "INSUFFICIENT_CAPACITY"\n    let dcep',
                       'require mt_amount < capacity, "INSUFFICIENT_CAPACITY"\n    let dcep')
    assert not _starts_meet(narrowed, whole)
    strict = _mutant(base, "pool.imo", "require new_mt <= MAX_UINT112 and new_dcep <= MAX_UINT112",
                     "require new_mt <= MAX_UINT112 and new_dcep < MAX_UINT112")
    assert not _starts_meet(strict, full)
    # and the MT side (``new_mt <= MAX_UINT112`` made ``<``, ``pool.imo:367:13`` of this branch): the state
    # cover ``pool.fills_the_mt_reserve_to_112_bits``, met by the deployment ``mt_reserve_at_112_bits``
    # (2**112 - 1 MT, all of it seeding the pool); the mutant's launch reverts OVERFLOW there
    strict = _mutant(base, "pool.imo", "require new_mt <= MAX_UINT112 and new_dcep <= MAX_UINT112",
                     "require new_mt < MAX_UINT112 and new_dcep <= MAX_UINT112")
    assert not _starts_meet(strict, mt_full)


# ---------------------------------------------------------------- session 16


def test_decay_edges_sees_tier_thresholds_a_few_wei_low() -> None:
    """``farm.WAD`` made ``10 ** 18 - 1`` (``farm.imo:44``: read only by the
    tier thresholds, which drop by 100, 1,000 and 10,000 wei). The binding's
    scenario ``decay_edges`` cuts stakes of exactly 10,000 and 1,000 LP to
    one wei under: the contract's tiers 3 and 2 start to decay, the mutant's
    stakes still back them. The views compare the tier at later moments too
    (``staking_tier_at``), so the mutant is seen in the clock stop at 6 days,
    when the rotation meets the staker of 10,000 LP less a wei (tier 3 on the
    mutant, 2 on the contract once its decay is over). The spec's model and
    the contracts agree on every step."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "decay_edges")
    assert all(r.ok for r in reports)
    mutant = _mutant(base, "farm.imo", "const WAD: uint256 = 10 ** 18", "const WAD: uint256 = (10 ** 18) - 1")
    bad = _first_bad(mutant, "decay_edges")
    assert bad is not None and bad.step.kind == "time"
    assert any(d.where.startswith("farm.staking_tier_at(actor:2") and (d.model, d.evm) == (3, 2)
               for d in bad.differences), bad.differences


def test_buyback_edges_ends_with_an_expired_zero_buyback() -> None:
    """``buyback.execute`` without ``require now <= deadline, "EXPIRED"``
    (``buyback.imo:174``): the pool's swap checks the deadline too, so an
    expired buyback of a positive amount still reverts EXPIRED; but one of 0
    DCEP now reverts ZERO_AMOUNT. The binding's scenario ``buyback_edges``
    ends its buybacks with that one (deadline 0), and conform sees the reason
    change at that step. The spec's model and the contracts agree on every
    step."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "buyback_edges")
    assert all(r.ok for r in reports)
    expired = [i for i, r in enumerate(reports)
               if r.step.action == "execute" and r.model is not None and r.model.reason == "EXPIRED"]
    assert len(expired) == 1 and reports[expired[0]].step.args[:1] == (0,)
    mutant = _mutant(base, "buyback.imo", '    require now <= deadline, "EXPIRED"\n', "")
    assert _first_bad_at(mutant, "buyback_edges") == expired[0]


def test_a_buyback_at_its_deadline_is_a_written_cover_the_strict_check_loses() -> None:
    """``buyback.execute``'s ``now <= deadline`` made ``<`` (``buyback.imo:174``):
    scenario ``silver_buyback`` of scenarios.json buys back with the deadline
    ``now``, which meets the cover ``buyback.executes_at_the_deadline`` on the
    spec at every seed (a written step); on the mutant it reverts EXPIRED and
    the cover is lost (E050 in the covers stage of ``mutate --spec``)."""
    _cover_lost("buyback.executes_at_the_deadline", "buyback.imo",
                'require now <= deadline, "EXPIRED"',
                'require now < deadline, "EXPIRED"')


def test_the_solidity_bindings_pool_edges_catch_pool_spec_mutants_on_vyper_too() -> None:
    """Session 16: the Solidity binding's pool edge scenarios, written for
    contract mutants of Pool.sol, now run on the Vyper contracts too
    (``pool_overflow``, ``pool_burns``, ``pool_dust``, and its
    ``pool_edges`` as ``pool_bounds``). Each catches spec mutants the
    whole-spec run's first pass left: the spec's model and the contracts
    agree on every step, and each mutant's model departs from them in the
    scenario named."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    for scenario in ("pool_overflow", "pool_burns", "pool_dust", "pool_bounds"):
        assert all(r.ok for r in _scenario(base, scenario)), scenario
    cases = [
        # the K check with `- fee_part` made `+`: a product just below 2**256 overflows on the mutant
        ("pool_overflow", "(in_after * FEE_DENOMINATOR - fee_part)", "(in_after * FEE_DENOMINATOR + fee_part)"),
        # a deposit of exactly the optimal DCEP takes the other branch on the mutant
        ("pool_bounds", "if dcep_optimal <= dcep_desired", "if dcep_optimal < dcep_desired"),
        # a burn that pays MT and no DCEP: INSUFFICIENT_LIQUIDITY_BURNED, which the mutants let through
        ("pool_burns", '    require mt_amount > 0 and dcep_amount > 0, "INSUFFICIENT_LIQUIDITY_BURNED"\n', ""),
        ("pool_burns", "require mt_amount > 0 and dcep_amount > 0,", "require mt_amount > 0 and dcep_amount >= 0,"),
        # a sale that pays nothing: INSUFFICIENT_OUTPUT_AMOUNT
        ("pool_dust", '    require dcep_out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"\n', ""),
        ("pool_dust", 'require dcep_out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"',
         'require dcep_out >= 0, "INSUFFICIENT_OUTPUT_AMOUNT"'),
    ]
    for scenario, old, new in cases:
        assert _first_bad(_mutant(base, "pool.imo", old, new), scenario) is not None, (scenario, old)


# remove_liquidity's two minimum checks (add_liquidity has the same lines, followed by something else)
MT_MIN = '"INSUFFICIENT_LIQUIDITY_BURNED"\n    require mt_amount >= mt_min, "INSUFFICIENT_MT_AMOUNT"'
DCEP_MIN = 'require dcep_amount >= dcep_min, "INSUFFICIENT_DCEP_AMOUNT"\n    mt.transfer'


def test_exact_minimums_are_written_covers_the_strict_checks_lose() -> None:
    """Session 16: the pool's minimum-output checks made strict
    (``pool.imo:271``, ``:272`` in ``remove_liquidity``, ``:306`` in
    ``swap_mt_for_dcep``, ``:338`` in ``swap_dcep_for_mt``: ``>=`` made
    ``>``). Scenario ``exact_minimums`` of scenarios.json sets each minimum
    to exactly what the call pays, which meets the covers
    ``pool.sells_at_exactly_the_minimum``, ``buys_at_exactly_the_minimum``
    and ``withdraws_exactly_the_minimums`` on the spec at every seed (written
    steps); on each mutant the call reverts and its cover is lost (E050 in
    the covers stage of ``mutate --spec``)."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    cases = [
        ("pool.sells_at_exactly_the_minimum", 'require dcep_out >= min_dcep_out, "INSUFFICIENT_OUTPUT_AMOUNT"',
         'require dcep_out > min_dcep_out, "INSUFFICIENT_OUTPUT_AMOUNT"'),
        ("pool.buys_at_exactly_the_minimum", 'require mt_out >= min_mt_out, "INSUFFICIENT_OUTPUT_AMOUNT"',
         'require mt_out > min_mt_out, "INSUFFICIENT_OUTPUT_AMOUNT"'),
        ("pool.withdraws_exactly_the_minimums", MT_MIN, MT_MIN.replace("mt_amount >= mt_min", "mt_amount > mt_min")),
        ("pool.withdraws_exactly_the_minimums", DCEP_MIN,
         DCEP_MIN.replace("dcep_amount >= dcep_min", "dcep_amount > dcep_min")),
    ]
    keys = {k for k, _, _ in cases}
    assert _starts_met(base, *keys) == keys
    for key, old, new in cases:
        assert not _starts_meet(_mutant(base, "pool.imo", old, new), key), new


def test_a_contribution_at_the_opening_second_is_a_written_cover_the_strict_check_loses() -> None:
    """Session 16: ``contribute``'s ``now >= start`` made ``>``
    (``offering.imo:267``): the window would open a second late. Deployment
    ``opens_later`` of scenarios.json starts the window 100 seconds after the
    deployment and contributes at ``now == start``, which meets the cover
    ``offering.contributes_at_the_opening_second`` on the spec at every seed
    (a written step); on the mutant the contribution reverts OUTSIDE_WINDOW
    and the cover is lost (E050 in the covers stage of ``mutate --spec``)."""
    _cover_lost("offering.contributes_at_the_opening_second", "offering.imo",
                "require now >= start and now < end_time()",
                "require now > start and now < end_time()")


def test_a_sale_to_exactly_the_cash_out_cap_is_a_written_cover_the_strict_check_loses() -> None:
    """Session 16: ``merchant_sell``'s ``cashed_out * BPS <= cashout_cap_bps
    * raised`` made ``<`` (``offering.imo:369``). Deployment
    ``cashout_at_the_cap`` of scenarios.json caps cash-outs at 5% and sells
    exactly the MT the pool pays 5% of the raise for, which meets the cover
    ``offering.sells_up_to_the_cap`` on the spec at every seed (a written
    step); on the mutant the sale reverts CASHOUT_CAP and the cover is lost
    (E050 in the covers stage of ``mutate --spec``)."""
    _cover_lost("offering.sells_up_to_the_cap", "offering.imo",
                'require cashed_out * BPS <= cashout_cap_bps * raised, "CASHOUT_CAP"',
                'require cashed_out * BPS < cashout_cap_bps * raised, "CASHOUT_CAP"')


def test_an_exit_at_an_odd_floor_rounds_its_burn_up_and_the_replay_sees_the_mutant() -> None:
    """Session 16: ``exit``'s ``mul_div_up(amount, WAD, phases.floor)`` made
    ``mul_div_down`` (``reserve.imo:216``). At the bundled floor, 0.5 DCEP,
    the two agree on every amount (WAD / floor is 2), and the prover leaves
    the ``ensures`` that states the rounding unknown on the mutant. Deployment
    ``exit_at_an_odd_floor`` of scenarios.json (binding-odd.json's floor of
    1/3 DCEP) ends with an exit of 1 wei in Iron, which meets cover
    ``reserve.exits_with_a_rounded_up_burn`` on the spec (a written step); on
    the mutant the same step burns 3 wei of MT, not 4, and breaks ``exit``'s
    ``ensures`` (the replay stage of ``mutate --spec``)."""
    from conformance.witness import CoverReport, _Search, goals_of, observed

    key = "reserve.exits_with_a_rounded_up_burn"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    mutant = _mutant(base, "reserve.imo", "let mt_amount = mul_div_up(amount, WAD, phases.floor)",
                     "let mt_amount = mul_div_down(amount, WAD, phases.floor)")

    def run(p: Pipeline) -> tuple[bool, list[str]]:
        """Whether the starting states meet the cover (as :func:`_starts_meet`), and the rules their steps break
        on ``exit`` (the same run, checking the rules after each step)."""
        goals = [g for g in goals_of(p.spec) if g.key == key]
        report = CoverReport(goals)
        search = _Search(p.spec, p._cover_binding(), p.scenarios, {key: goals[0]}, report, [])
        search.check_rules = True
        with observed(search.model) as obs:
            search.obs = obs
            search.starts()
        return key in report.met, [v for v in report.violations if "reserve.exit" in v]

    assert run(base) == (True, [])
    assert run(mutant)[1], "the mutant's exit breaks no ensures"
