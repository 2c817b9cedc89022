"""Session 15: money-market and governance survivors of ``imospec mutate
--spec`` closed, each caught the way ``mutate --spec`` catches it (a cover
the mutant cannot meet, a theorem refuted in the first prove round), or
recorded equivalent with an argument checked here on the model. Each test
runs the unmutated spec (it passes) and the mutant (it is caught). The
helpers are session 14's (``test_spec_mutant_gaps``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
from tests.conformance.test_spec_mutant_gaps import (
    _first_bad_at,
    _first_round,
    _mutant,
    _scenario,
    _starts_met,
    _theorem,
)


def test_filling_the_allocation_budget_exactly_is_a_cover_the_narrowed_check_loses() -> None:
    """``allocate_to_rwa``'s ``level + amount <= allocation_cap`` made ``<``
    (``market.imo:497:13``; smut's ``:493`` before session 14's theorem): the
    cap's last unit could never be allocated. The deployment
    ``allocates_the_whole_cap`` of scenarios.json (cap 1,000 units, 400 then
    600 allocated in one second) meets cover ``allocates_up_to_the_cap`` on
    both markets; the mutant refuses the second allocation, and no start
    meets either cover (the covers stage of ``mutate --spec``)."""
    keys = ("mdcep.allocates_up_to_the_cap", "musdc.allocates_up_to_the_cap")
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_met(base, *keys) == set(keys)
    mutant = _mutant(base, "market.imo", "require level + amount <= allocation_cap,",
                     "require level + amount < allocation_cap,")
    assert _starts_met(mutant, *keys) == set()


# ``prior_votes``' binary search (votes.imo). The mutants below change the
# search, not its answer, on every state the spec allows (checkpoints in
# strictly ascending blocks, lemma ``checkpoints_ascending``, at most
# MAX_CHECKPOINTS = 2**SEARCH_STEPS of them): recorded equivalent in
# spec/protocol/equivalent-mutants.json. Checked here on the reference model
# of the spec and of each mutant, scaled down (SEARCH_STEPS = k, every count
# n <= 2**k, every index of the answer, at_block on a checkpoint's block and
# between two), as the contract equivalents of mt.vy's search were.

SEARCH = "const SEARCH_STEPS: uint256 = 32"
SHORTCUT = "if checkpoints[account][n - 1].from_block <= at_block {"
HIT = "                lower = center\n                upper = center\n"
SEARCH_MUTANTS = {
    "votes.imo:119:8 (was :105) <= made <": (SHORTCUT, SHORTCUT.replace("<=", "<")),
    "votes.imo:131:12 (was :117) > made >=": ("if upper > lower {", "if upper >= lower {"),
    "votes.imo:136:17 (was :122) upper = center dropped": (HIT, "                lower = center\n"),
    "votes.imo:137:23 < made <=": ("else if found.from_block < at_block {", "else if found.from_block <= at_block {"),
}


def _answers(p: Pipeline, k: int) -> dict[tuple[int, int], int]:
    """``dmg.prior_votes`` of ``p``'s model with SEARCH_STEPS = k, for every
    count n <= 2**k of checkpoints (blocks 10, 20, ..., 10n, votes 1..n,
    written into the state) and every block from 0 to 10n + 5 in steps of 5
    (on a checkpoint's block, between two, before the first, after the
    last), by (n, block)."""
    from reference.model import Deployment, Model
    from reference.runtime import Env
    from tests.reference.imo_protocol import DEFAULT_PARAMS

    scaled = _mutant(p, "votes.imo", SEARCH, f"const SEARCH_STEPS: uint256 = {k}")
    model = Model.deploy(scaled.spec, Deployment(params=DEFAULT_PARAMS))
    who, st = 0xA11CE, model.state("dmg")
    out: dict[tuple[int, int], int] = {}
    for n in range(1, 2**k + 1):
        st.num_checkpoints[who] = n
        for i in range(n):
            st.checkpoints[who][i] = model.record("dmg", "Checkpoint", 10 * (i + 1), i + 1)
        st.current_votes[who] = n
        env = Env(who, 1_700_000_000, 10 * n + 100)
        for b in range(0, 10 * n + 6, 5):
            out[(n, b)] = model.call_fn("dmg", "prior_votes", env, who, b)
    return out


def test_the_searchs_recorded_equivalents_answer_as_the_spec_does() -> None:
    """Each recorded mutant of the search answers as the spec does, and the
    spec's answer is the last checkpoint at or before the block (so the check
    compares right answers); a mutant that does break the search (``lower =
    center`` dropped where the probe is before the block) is told apart, so
    the comparison can fail."""
    from spec.mutate import EQUIVALENTS_FILE, load_equivalents

    base = Pipeline.for_binding(DEFAULT_BINDING)
    recorded = {(f, line, op) for f, line, op, *_ in load_equivalents(Path(base.binding.spec_dir) / EQUIVALENTS_FILE)}
    assert {("votes.imo", 119, "compare"), ("votes.imo", 131, "compare"),
            ("votes.imo", 136, "drop-assign"), ("votes.imo", 137, "compare"), ("votes.imo", 200, "add-sub")} <= recorded
    for k in (1, 2, 3, 5):
        want = _answers(base, k)
        assert all(v == min(b // 10, n) for (n, b), v in want.items()), k
        for name, (old, new) in SEARCH_MUTANTS.items():
            assert _answers(_mutant(base, "votes.imo", old, new), k) == want, (name, k)
    broken = _mutant(base, "votes.imo", "            } else if found.from_block < at_block {\n"
                     "                lower = center\n", "            } else if found.from_block < at_block {\n")
    assert _answers(broken, 3) != _answers(base, 3)


def test_the_checkpoint_cap_off_by_one_is_refuted_by_the_cap_theorems() -> None:
    """``votes.MAX_CHECKPOINTS`` +-1 or x10 (``votes.imo:30:34``): the cap
    bites only at an account's 2**32-th checkpoint, which no campaign reaches.
    Theorem ``an_account_holds_2_pow_32_checkpoints`` (the protocol's figure,
    docs/protocol.md §8, the contracts' too) is refuted in the first prove
    round of both votes tokens, and ``the_search_reaches_every_checkpoint``
    by a cap the 32-step search cannot serve (+1, x10) or a search too short
    for the cap (SEARCH_STEPS - 1); one more step (an extra round that does
    nothing) is not refuted."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    cap, reach = "an_account_holds_2_pow_32_checkpoints", "the_search_reaches_every_checkpoint"
    for module in ("mt", "dmg"):
        first = _first_round(base, module, cap, reach)
        assert first[f"{module}.{cap}"] is Proved and first[f"{module}.{reach}"] is Proved
    old = "const MAX_CHECKPOINTS: uint256 = 2 ** 32"
    for new, refutes_reach in (("(2 ** 32) + 1", True), ("(2 ** 32) - 1", False), ("(2 ** 32) * 10", True)):
        first = _first_round(_mutant(base, "votes.imo", old, f"const MAX_CHECKPOINTS: uint256 = {new}"), "dmg",
                             cap, reach)
        assert first[f"dmg.{cap}"] is Refuted, new
        assert (first[f"dmg.{reach}"] is Refuted) == refutes_reach, new
    for steps, refuted in (("(32) - 1", True), ("(32) + 1", False)):
        first = _first_round(_mutant(base, "votes.imo", SEARCH, f"const SEARCH_STEPS: uint256 = {steps}"), "dmg",
                             reach)
        assert (first[f"dmg.{reach}"] is Refuted) == refuted, steps


def test_dust_is_never_locked_is_a_theorem_and_a_cover() -> None:
    """``whole_balance_passes_the_minimum`` was an invariant that held in every
    state whatsoever (the prover's vacuity warning: ``redeem_size_ok(b, b, b)``
    is ``b >= min or (b == b and b > 0)``). It is now a theorem of the size
    test, over every balance and every minimum, and the holder leaving is a
    cover met by the deployment ``allocates_the_whole_cap`` (half an mToken
    sent to actor:3, who redeems it all). A size test that drops the
    whole-balance exemption (``amount == balance`` made ``!=``) refutes the
    theorem in the first prove round and loses the cover."""
    from verification.outcome import Proved, Refuted

    base = Pipeline.for_binding(DEFAULT_BINDING)
    keys = ("mdcep.redeems_a_whole_balance_below_the_minimum", "musdc.redeems_a_whole_balance_below_the_minimum")
    assert _theorem(base, "mdcep.whole_balance_passes_the_minimum") is Proved
    assert _starts_met(base, *keys) == set(keys)
    mutant = _mutant(base, "market.imo", "(amount == balance and burned > 0)", "(amount != balance and burned > 0)")
    assert _theorem(mutant, "musdc.whole_balance_passes_the_minimum") is Refuted
    assert _starts_met(mutant, *keys) == set()


BLOCK_IN_PAST = "require n == 0 or checkpoints[delegatee][n - 1].from_block < block_number"


def _checkpoint_run(p: Pipeline) -> list[Any]:
    """A seeded run of DMG delegations and transfers among four holders over
    blocks that rise by 0 to 3 (several changes in one block, and new
    blocks), on ``p``'s model with every rule checked after each step: each
    step's outcome (value or reason, events) and, at the end, every account's
    checkpoints, counts and votes."""
    import random

    from tests.reference.imo_protocol import ALICE, BOB, CAROL, DAVE, TREASURY, Protocol

    proto = Protocol(p.spec)
    holders = [ALICE, BOB, CAROL, DAVE]
    for h in holders:
        proto.ok("dmg", "transfer", TREASURY, h, 10**24)
    rng, seen = random.Random(15), []
    for _ in range(120):
        step = rng.choice((0, 0, 1, 3))
        if step:
            proto.at(proto.now + 12 * step, proto.block + step)
        who = rng.choice(holders)
        if rng.random() < 0.4:
            out = proto.run("dmg", "delegate", who, rng.choice([*holders, 0]))
        else:
            out = proto.run("dmg", "transfer", who, rng.choice(holders), rng.randrange(10**23))
        seen.append((out.ok, out.value, out.reason, out.events))
    st = proto.st("dmg")
    for h in holders:
        seen.append((st.num_checkpoints[h], st.current_votes[h],
                     [(st.checkpoints[h][i].from_block, st.checkpoints[h][i].votes)
                      for i in range(st.num_checkpoints[h])]))
    return seen


def test_the_block_in_past_checks_recorded_equivalent_runs_as_the_spec_does() -> None:
    """``_write_checkpoint``'s BLOCK_IN_PAST check reading checkpoint ``n + 1``
    instead of ``n - 1`` (``votes.imo:200:50``; ``:186`` before the cap
    theorems), recorded equivalent: checkpoint n + 1 is never written, so it
    reads from_block 0, and the check passes on every run, as the spec's does
    (block numbers never fall). A seeded run of delegations and transfers
    gives the same outcomes, events and checkpoints on both models; a check
    that does bite there (``n == 0`` only) is told apart."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    want = _checkpoint_run(base)
    assert sum(1 for s in want[:120] if s[0]) > 60  # most steps succeed, many write checkpoints
    mutant = _mutant(base, "votes.imo", BLOCK_IN_PAST, BLOCK_IN_PAST.replace("[n - 1]", "[n + 1]"))
    assert _checkpoint_run(mutant) == want
    biting = _mutant(base, "votes.imo", BLOCK_IN_PAST, "require n == 0")
    assert _checkpoint_run(biting) != want


def test_buyback_edges_ends_with_fee_and_collateral_edges_conform_sees() -> None:
    """Session 16: three survivors of the whole-spec run, each caught by
    conform at a step of its own that the binding's scenario ``buyback_edges`` now
    ends with (every campaign runs every scenario's steps). The spec's model
    and the contracts agree on every step. (At the end of ``failed`` they
    took a seed-0 success of ``redeem_from_gasless_request`` away from the
    default campaign's sequences from there.)

    - actor:2 relays actor:1's signed mint of 10 DCEP whose fee is every
      mToken it mints: ``mint_for``'s ``fee <= minted`` made ``<``
      (``market.imo:319``) refuses it, FEE_TOO_LARGE.
    - actor:2 relays actor:1's signed redemption of 5 mDCEP whose fee is all
      of it: nothing is redeemed, AMOUNT_TOO_SMALL; ``redeem_for``'s
      ``fee <= amount`` made ``<`` (``:345``) says FEE_TOO_LARGE.
    - actor:1 mints for 100,000 DCEP, which the oracle's 100,000 DCEP of
      off-chain value and the 1,000 DCEP minted by each actor collateralise
      for next year's liabilities; counted from ``now + base_time`` instead
      of ``now - base_time`` (``:322``, about 108 years of interest), the
      mint is UNDERCOLLATERALIZED."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "buyback_edges")
    assert all(r.ok for r in reports)
    tail = [(r.step.action, r.model.ok, r.model.reason, r.model.value) for r in reports[-3:] if r.model is not None]
    assert tail == [("mint_from_gasless_request", True, None, 0),
                    ("redeem_from_gasless_request", False, "AMOUNT_TOO_SMALL", None),
                    ("mint", True, None, tail[2][3])] and tail[2][3] > 0
    last = len(reports) - 1
    cases = [
        ('require fee <= minted, "FEE_TOO_LARGE"', 'require fee < minted, "FEE_TOO_LARGE"', last - 2),
        ('require fee <= amount, "FEE_TOO_LARGE"', 'require fee < amount, "FEE_TOO_LARGE"', last - 1),
        ("accrual_rate, now - base_time)\n    require controller.is_overcollateralized(self, underlying_held + amount",
         "accrual_rate, now + base_time)\n    require controller.is_overcollateralized(self, underlying_held + amount",
         last),
    ]
    for old, new, at in cases:
        assert _first_bad_at(_mutant(base, "market.imo", old, new), "buyback_edges") == at, old


def test_vesting_edges_ends_with_a_release_one_past_the_allocations() -> None:
    """Session 16: ``vesting.ALLOCATIONS`` made ``3 * 10`` or ``3 + 1``
    (``vesting.imo:64``): allocation 3 exists on neither side (nothing was
    ever allocated to it), so releasing it reverts either way, with
    UNKNOWN_ALLOCATION on the spec and the contracts and NOTHING_TO_RELEASE on
    the mutant. The binding's scenario ``vesting_edges`` now ends with that
    release; conform sees the reason change at that step. (``3 - 1`` was
    caught in the run already: a replayed release of allocation 2 breaks
    invariant ``only_three_allocations``.)"""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    reports = _scenario(base, "vesting_edges")
    assert all(r.ok for r in reports)
    last = reports[-1]
    assert last.step.action == "release_allocation" and last.model is not None
    assert last.model.reason == "UNKNOWN_ALLOCATION"
    for new in ("(3) * 10", "(3) + 1"):
        mutant = _mutant(base, "vesting.imo", "const ALLOCATIONS: uint256 = 3", f"const ALLOCATIONS: uint256 = {new}")
        assert _first_bad_at(mutant, "vesting_edges") == len(reports) - 1, new
