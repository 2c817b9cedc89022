"""How the generated steps aim at the values where implementations go wrong:
deadlines near the clock, repeated addresses, pushes to the boundary of an
outcome, deeper outcomes first, and a seed of its own for every starting state."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from conformance.binding import load_implementation
from conformance.harness import Harness, Step
from conformance.machine import PUSH_EVERY, SHARE_SLACK, RunStats, build_machine, check_depths, within_share
from conformance.runner import start_seed
from conformance.strategies import (
    Alias,
    NearClock,
    boundaries,
    clock_params,
    resolve,
    resolve_aliases,
    value_strategy,
)
from reference.model import Outcome
from spec import ir

# Room above the share for the last rule call of an action: a pushed step
# runs several steps at once (each reverting value at its boundaries, then a
# success). Without shares the worst excess in the campaign below is 11.1.
PUSH_MARGIN = 4
BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


# ------------------------------------------------------------ the clock


def test_clock_arguments_are_found_in_requires_and_in_the_actions_called() -> None:
    _, spec = load_implementation(BINDING)
    pool, offering, dcep = (spec.modules[m].actions for m in ("pool", "offering", "dcep"))
    assert clock_params(pool["swap_mt_for_dcep"], spec) == {3: "now"}
    assert clock_params(pool["remove_liquidity"], spec) == {4: "now"}
    # merchant_sell compares no argument with the clock itself: it hands its
    # deadline to the pool's swap
    assert clock_params(offering["merchant_sell"]) == {}
    assert clock_params(offering["merchant_sell"], spec) == {2: "now"}
    assert clock_params(dcep["transfer"], spec) == {}


def test_clock_arguments_are_drawn_near_the_time_of_the_step() -> None:
    _, spec = load_implementation(BINDING)
    strategy = value_strategy(ir.UINT, spec, [1, 2], [10**30], clock="now")
    late = find(strategy, lambda v: isinstance(v, NearClock) and v.offset < 0)
    assert resolve(late, None, "pool", 1, (1_700_000_000, 12)) == 1_700_000_000 + late.offset  # type: ignore[arg-type]
    assert resolve(NearClock("block_number", 2), None, "pool", 1, (1_700_000_000, 12)) == 14  # type: ignore[arg-type]


# --------------------------------------------------------------- aliases


def test_an_alias_repeats_the_caller_or_an_earlier_address() -> None:
    types = (ir.ADDRESS, ir.UINT, ir.ADDRESS, ir.ADDRESS)
    args = (0xA, 5, Alias(1), Alias(2))
    assert resolve_aliases(args, 0xC, types) == (0xA, 5, 0xA, 0xA)
    assert resolve_aliases((0xA, 5, Alias(0), 0xB), 0xC, types) == (0xA, 5, 0xC, 0xB)


def test_address_arguments_include_aliases() -> None:
    _, spec = load_implementation(BINDING)
    strategy = value_strategy(ir.ADDRESS, spec, [1, 2], [], actors=[3])
    assert isinstance(find(strategy, lambda v: isinstance(v, Alias)), Alias)


# ------------------------------------------------------------ boundaries


def test_every_boundary_is_found_exactly() -> None:
    limit = 123_456_789_012_345_678_901_234  # about 1.2e23
    calls: list[int] = []

    def outcome_of(v: int) -> str:
        calls.append(v)
        return "zero" if v == 0 else ("ok" if v <= limit else "too much")

    # the ranges 0..1 (zero, ok) and 10..max (ok, too much)
    assert boundaries(10, outcome_of) == [(0, 1), (limit, limit + 1)]
    assert len(calls) < 100  # geometric, then halving: not 256 halvings
    assert boundaries(10**30, outcome_of) == [(0, 1), (limit, limit + 1)]
    assert boundaries(10, lambda v: "same") == []


def test_a_pushed_step_runs_on_both_sides_of_its_boundaries(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    harness = Harness(spec, binding, "pyrevm")
    machine: Any = build_machine(harness, RunStats())
    ran: list[Step] = []
    fake = SimpleNamespace(_run=ran.append, outcomes_seen=Counter())
    who = harness.actors[0]
    push = PUSH_EVERY - 1
    # top_up's boundaries: 0 (ZERO_AMOUNT) | 1, and what the caller can pay |
    # one more: both reverts first, then one top-up
    machine.vault__top_up(fake, caller=who, arg_0=5, push_pick=(push, 0))
    zero, too_much, paid = (s.args[0] for s in ran)
    assert zero == 0 and paid == 1
    ran.clear()
    machine.vault__top_up(fake, caller=who, arg_0=5, push_pick=(push, 1))
    assert [s.args[0] for s in ran] == [0, too_much, too_much - 1]
    model = harness.model
    outcome = model.execute("vault", "top_up", harness.env(who), too_much - 1)
    assert outcome.ok
    model.world.state.update(outcome.before)
    assert not model.execute("vault", "top_up", harness.env(who), too_much).ok
    # a caller without cash: the boundary 0 (ZERO_AMOUNT) | 1 (no cash), no success
    ran.clear()
    machine.vault__top_up(fake, caller=0xDEAD, arg_0=5, push_pick=(push, 0))
    assert [s.args[0] for s in ran] == [0, 1]
    # no push: the step as drawn
    ran.clear()
    machine.vault__top_up(fake, caller=who, arg_0=5, push_pick=(push - 1, 0))
    assert [s.args for s in ran] == [(5,)]


# ------------------------------------------------------------------ depth


def test_outcomes_are_ranked_by_the_checks_they_pass() -> None:
    _, spec = load_implementation(BINDING)
    depth = check_depths(spec, spec.modules["offering"].actions["merchant_sell"])

    def revert(reason: str | None) -> int:
        return depth(Outcome(False, None, reason, None, (), {}))

    order = [revert(r) for r in ("UNAUTHORIZED", "NOT_SUCCEEDED", "EXCEEDS_MERCHANT_MT")]
    assert order == sorted(order) and len(set(order)) == 3
    # a revert inside the pool's swap comes after the merchant's own checks and
    # before the cash-out cap, checked once the swap has paid
    assert order[-1] < revert("EXPIRED") < revert("CASHOUT_CAP") < revert(None)
    assert depth(Outcome(True, 1, None, None, (), {})) > revert(None)


# ---------------------------------------------------------------- seeds


def test_every_starting_state_draws_its_own_sequences() -> None:
    seeds = {start_seed(seed, index) for seed in range(5) for index in range(10)}
    assert len(seeds) == 50


# ---------------------------------------------------------- fair shares


def test_an_action_well_above_its_share_of_the_sequence_rests() -> None:
    ran: Counter[str] = Counter()
    for _ in range(100):  # (bounded: a rule that never rests fails, not hangs)
        if not within_share(ran, "vault.top_up", 3):
            break
        ran["vault.top_up"] += 1
    # alone, it runs until it is SHARE_SLACK steps above its share of them
    runs = ran["vault.top_up"]
    assert runs - runs / 3 >= SHARE_SLACK > (runs - 1) - (runs - 1) / 3
    assert within_share(ran, "vault.deposit", 3)
    ran.update({"vault.deposit": 2, "token.mint": 2})
    assert within_share(ran, "vault.top_up", 3)  # the others caught up


def test_no_action_runs_far_above_its_share_of_a_sequence(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    harness = Harness(spec, binding, "pyrevm")
    stats = RunStats()
    per_sequence: dict[int, Counter[str]] = {}

    def count(report: Any) -> None:
        if report.step.kind == "action":
            per_sequence.setdefault(stats.examples, Counter())[f"{report.step.module}.{report.step.action}"] += 1

    machine = build_machine(harness, stats, count)
    config = settings(max_examples=30, stateful_step_count=30, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    run_state_machine_as_test(hypothesis_seed(5)(machine), settings=config)
    actions = sum(1 for m in spec.modules.values() for a in m.actions.values() if not a.internal)
    worst = max(n - sum(ran.values()) / actions for ran in per_sequence.values() for n in ran.values())
    # a rule runs while under its share plus the slack (PUSH_MARGIN: see
    # above); and some action does reach the slack, so actions do not rest
    # for some other reason long before it
    assert SHARE_SLACK - 1 < worst < SHARE_SLACK + PUSH_MARGIN, per_sequence


# ------------------------------------------------------- the extra draws


def test_the_prng_draws_the_same_kinds_of_value_as_hypothesis() -> None:
    # a step's extra draws come from a seeded PRNG (conformance.draws): for
    # each type, every kind of value hypothesis draws comes out of it too
    import random

    from conformance.strategies import Linked, NearState, Quoted, value_draw

    _, spec = load_implementation(BINDING)
    rng = random.Random(7)
    numbers = [value_draw(ir.UINT, spec, [1, 2], [10**30]).sample(rng) for _ in range(2000)]
    kinds = {type(v) for v in numbers}
    assert {NearState, Quoted, int} <= kinds
    assert {0, 1, 2, 10**30} <= set(numbers)  # the smallest amounts, the edges
    assert any(isinstance(v, int) and v > 2**128 for v in numbers)  # and anything
    assert any(isinstance(v, int) and 2**20 < v < 2**64 for v in numbers)  # (small and middling ones too)
    clocked = [value_draw(ir.UINT, spec, [1, 2], [], clock="now").sample(rng) for _ in range(200)]
    assert {v.offset for v in clocked if isinstance(v, NearClock)} >= {0, -1}
    addresses = [value_draw(ir.ADDRESS, spec, [1, 2], [], actors=[3]).sample(rng) for _ in range(500)]
    assert {type(v) for v in addresses} == {int, Linked, Alias}
    assert {v for v in addresses if isinstance(v, int)} == {0, 1, 2, 3}


def test_a_steps_extra_draws_follow_from_one_number() -> None:
    from conformance.draws import Integers, Sampled
    from conformance.machine import MAX_RETRIES, extra_draws

    callers, args = Sampled([0xA, 0xB, 0xC]), [Integers(0, 2**256 - 1), Sampled(["x", "y"])]
    draws = extra_draws(5, callers, args)
    assert len(draws) == MAX_RETRIES and all(who in (0xA, 0xB, 0xC) and len(a) == 2 for who, a in draws)
    assert extra_draws(5, callers, args) == draws  # the same number, the same draws
    assert extra_draws(6, callers, args) != draws
