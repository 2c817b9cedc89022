"""``imospec mutate --spec``'s ``witnesses`` stage: the unmutated spec's
witness runs (its covers' traces) run on the EVM against a mutant's model
(:mod:`conformance.witness_conform`).

Slow: the unmutated spec's covers (about 45 s of CPU) and its witness runs
on pyrevm (about 7 s) are computed once for the module."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from conformance.witness import CoverSettings
from conformance.witness_conform import conform_witnesses
from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
from imospec_cli.spec_mutate import STAGES, Baseline, _baseline, reaching_steps, run_one
from spec.mutate import spec_mutants

pytestmark = pytest.mark.slow

FIRST_PASS = ("replay", "conform", "ensures")  # session 14's first pass, without the new stage


@pytest.fixture(scope="module")
def setup() -> tuple[Pipeline, CoverSettings, Baseline, argparse.Namespace]:
    base = Pipeline.for_binding(DEFAULT_BINDING)
    covers = CoverSettings(seed=0, check_rules=True)
    args = argparse.Namespace(impl=DEFAULT_BINDING, examples=8, steps=25, seed=0, no_cache=True)
    return base, covers, _baseline(base, covers, args, STAGES), args


def _mutant(base: Pipeline, file: str, line: int, operator: str) -> Any:
    found = [m for m in spec_mutants(base.sources.readable)
             if m.file.endswith(file) and m.line == line and m.operator == operator]
    assert len(found) == 1, found
    return found[0]


def test_every_witness_run_of_the_unmutated_spec_conforms(setup: Any) -> None:
    """The stage's premise, computed as a mutation run computes it: every
    witness run of the bundled spec, from each deployment they start
    from, conforms on pyrevm step by step."""
    _, _, baseline, _ = setup
    assert baseline.witnesses is None, baseline.witnesses
    assert baseline.witness_steps > 1000  # (the runs did run: 1,470 steps at seed 0)
    assert len(baseline.covers.met) > 500


def test_a_dropped_require_whose_swap_still_reverts_is_caught_by_the_witnesses(setup: Any) -> None:
    """`pool.imo:294` (`require mt_in > 0, "INSUFFICIENT_INPUT_AMOUNT"`
    dropped in `swap_mt_for_dcep`): swapping nothing still reverts on the
    mutant, with INSUFFICIENT_LIQUIDITY before the pool is seeded. The first
    pass (replay, conform, ensures) lets it survive; the `fails` witness of
    that require, run on the EVM, shows the contract's reason."""
    base, covers, baseline, args = setup
    m = _mutant(base, "pool.imo", 294, "drop-require")
    before = run_one(base, m, covers, baseline, args, FIRST_PASS)
    assert before.error is None and before.caught_by is None, before.detail
    after = run_one(base, m, covers, baseline, args, ("replay", "conform", "witnesses", "ensures"))
    assert after.caught_by == "witnesses", after.detail
    assert after.detail.startswith("pool.swap_mt_for_dcep:require INSUFFICIENT_INPUT_AMOUNT:fails"), after.detail
    assert "'INSUFFICIENT_INPUT_AMOUNT'" in after.detail  # (the contract's reason, which the mutant lost)


def test_a_mutant_no_witness_tells_apart_is_not_caught(setup: Any) -> None:
    """`pool.imo:207`'s dropped require in `add_liquidity` is a recorded
    equivalent (a later check refuses the same calls with the same reason):
    the witness runs that call `add_liquidity` run, and every one conforms."""
    base, covers, baseline, args = setup
    m = _mutant(base, "pool.imo", 207, "drop-require")
    fate = run_one(base, m, covers, baseline, args, ("witnesses",))
    assert fate.error is None and fate.caught_by is None, fate.detail
    reach = reaching_steps(base.spec, m)
    assert reach is not None and ("pool", "add_liquidity") in reach
    from dataclasses import replace

    p = Pipeline.for_binding(DEFAULT_BINDING)
    texts = dict(base.sources.texts)
    texts[m.file] = m.apply(texts[m.file] or "")
    p.__dict__["sources"] = replace(base.sources, texts=texts)
    runs = conform_witnesses(p.spec, p.binding, baseline.covers.met, scenarios=base.scenarios, reaching=reach)
    assert runs.ok and runs.runs > 0 and runs.steps > 100


def test_only_the_runs_that_call_the_mutated_action_run() -> None:
    """An action's mutant runs the witnesses whose steps call it or an
    action that calls it; a constant's (any step or view may read it) and an
    init's (every deployment may differ) run every witness."""
    base = Pipeline.for_binding(DEFAULT_BINDING)
    mutants = spec_mutants(base.sources.readable)
    swap = next(m for m in mutants if m.where == "pool.swap_mt_for_dcep")
    # (the merchant's sale swaps in the pool)
    assert reaching_steps(base.spec, swap) == {("pool", "swap_mt_for_dcep"), ("offering", "merchant_sell")}
    # erc20's transfer_from runs in every module that extends the template, and in the actions that call them
    tf = next(m for m in mutants if m.where == "erc20.transfer_from")
    reach = reaching_steps(base.spec, tf)
    assert reach is not None and {("dcep", "transfer_from"), ("mt", "transfer_from"),
                                  ("pool", "swap_mt_for_dcep")} <= reach
    assert reaching_steps(base.spec, next(m for m in mutants if m.operator == "const")) is None
    assert reaching_steps(base.spec, next(m for m in mutants if m.where.endswith(".init"))) is None
