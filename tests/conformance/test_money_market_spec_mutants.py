"""Spec mutants of the money market and governance that only a starting state
of ``spec/protocol/scenarios.json`` (with a cover) lets ``mutate --spec`` see.

Each test runs the covers' witness walks, with the rules checked, from one
appended start on the unmutated spec and on the mutant: the spec passes, the
mutant is caught (a rule broken on a walk, or a cover no longer met), the way
``imospec mutate --spec`` catches it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from conformance.witness import CoverReport, Scenarios, goals_of, search_witnesses
from imospec_cli.pipeline import Pipeline


def _mutant(base: Pipeline, file: str, old: str, new: str) -> Pipeline:
    name = next(n for n in base.sources.texts if Path(n).name == file)
    texts = dict(base.sources.texts)
    assert (texts[name] or "").count(old) == 1
    texts[name] = (texts[name] or "").replace(old, new)
    p = Pipeline()
    p.__dict__["sources"] = replace(base.sources, texts=texts)
    return p


def _walks_from(p: Pipeline, scenario: str, goal: str, walks: int = 2, steps: int = 5) -> CoverReport:
    """The search for ``goal`` alone from deployment and ``scenario``, rules
    checked on every step (the scenario's own steps too)."""
    found = p.scenarios
    assert scenario in found.scenarios
    only = Scenarios(found.params, found.prelude, {scenario: found.scenarios[scenario]})
    goals = [g for g in goals_of(p.spec) if g.key == goal]
    assert len(goals) == 1
    return search_witnesses(p.spec, goals, scenarios=only, seed=11, walks=walks, steps=steps, check_rules=True)


def test_a_rate_change_that_keeps_the_accrued_rate_seconds_breaks_accrued_is_exact() -> None:
    """``market.accrue`` without ``accrued = 0`` when governance changes the
    rate (session 11's survivor ``market.imo:264``): on the way to
    ``rate_changed`` the governor's execution of the new rate breaks
    ``accrued_is_exact`` (and so does every later touch of either market)."""
    goal = "governor.execute:succeeds"
    base = Pipeline()
    report = _walks_from(base, "rate_changed", goal)
    assert goal in report.met and not report.violations
    mutant = _mutant(base, "market.imo", "        accrued = 0\n", "")
    broken = _walks_from(mutant, "rate_changed", goal).violations
    assert any(k.startswith(("mdcep.accrued_is_exact fails", "musdc.accrued_is_exact fails")) for k in broken), broken


def test_queueing_at_the_last_block_of_the_window_is_covered() -> None:
    """``state_of`` with ``block > end_block + QUEUE_PERIOD`` made ``>=``
    loses the queue window's last block: ``queue_window_end`` meets the cover
    ``queues_at_the_last_block`` on the spec, and nothing meets it on the mutant."""
    goal = "governor.queues_at_the_last_block"
    base = Pipeline()
    assert goal in _walks_from(base, "queue_window_end", goal).met
    mutant = _mutant(base, "governor_base.imo", "block > p.end_block + QUEUE_PERIOD",
                     "block >= p.end_block + QUEUE_PERIOD")
    assert goal not in _walks_from(mutant, "queue_window_end", goal).met


def test_the_governors_unit_off_by_one_is_refuted_by_counts_in_whole_dmg() -> None:
    """``governor_base.WAD`` +-1 or x10 (the threshold's and quorum's defaults
    and bounds in the wrong unit; no campaign reaches the bounds of the DMG
    governor): theorem ``counts_in_whole_dmg`` is refuted in the first prove
    round of ``mutate --spec``, and proved on the spec."""
    from verification.outcome import Proved, Refuted
    from verification.runner import Options, prove

    base = Pipeline()
    options = Options(module="governor", only_ensures=True, vacuity=False, cache=False, jobs=1)

    def outcomes(p: Pipeline) -> dict[str, type]:
        return {r.job.rule_label: type(r.outcome) for r in prove(options, p.spec).proofs}

    assert outcomes(base)["governor.counts_in_whole_dmg"] is Proved
    for new in ("(10 ** 18) + 1", "(10 ** 18) - 1", "(10 ** 18) * 10"):
        mutant = _mutant(base, "governor_base.imo", "const WAD: uint256 = 10 ** 18", f"const WAD: uint256 = {new}")
        assert outcomes(mutant)["governor.counts_in_whole_dmg"] is Refuted, new
