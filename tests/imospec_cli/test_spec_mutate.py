"""``imospec mutate --spec``'s driver: which stages run, and a stopped run's log resumed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imospec_cli.pipeline import Pipeline
from imospec_cli.spec_mutate import STAGES, MutantFate, _fate_json, _fingerprint, _logged, _stages
from spec.mutate import spec_mutants

VAULT = """\
module vault

const CAP: uint256 = 100

state held: uint256 = 0

action put(n: uint256) {
    require held + n <= CAP, "FULL"
    held += n
}
"""


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"stages": None, "no_conform": False, "no_prove": False, "quick_prove": False}
    return argparse.Namespace(**{**base, **kw})


def test_stages_run_in_their_order_and_the_old_switches_leave_theirs_out() -> None:
    assert _stages(_args()) == STAGES
    assert _stages(_args(stages="conform,replay")) == ("replay", "conform")
    assert _stages(_args(quick_prove=True)) == ("replay", "conform", "witnesses", "ensures", "covers")
    assert _stages(_args(no_prove=True, no_conform=True)) == ("replay", "covers")  # (no EVM: no witnesses either)
    assert _stages(_args(stages="witnesses,replay")) == ("replay", "witnesses")
    assert _stages(_args(stages="replay,conform,witnesses,ensures", no_conform=True)) == ("replay", "ensures")
    assert _stages(_args(stages="replay,proof")) is None


def test_a_log_is_resumed_with_the_fates_that_stand(tmp_path: Path) -> None:
    """A catch stands whatever stages found it; a survival only for a run
    with no more stages than the one that logged it; a fate logged on
    another text of the file matches nothing."""
    texts = {"vault.imo": VAULT}
    caught, survivor, *_ = spec_mutants(texts)
    log = tmp_path / "log.jsonl"
    lines = [{**_fate_json(MutantFate(caught, "covers", "E050 x")), "fingerprint": _fingerprint(caught, texts),
              "stages": ["replay"]},
             {**_fate_json(MutantFate(survivor, None)), "fingerprint": _fingerprint(survivor, texts),
              "stages": ["replay", "ensures"]}]
    log.write_text("\n".join(json.dumps(e) for e in lines) + "\n{\"cut short", encoding="utf-8")
    assert set(_logged(log, ("replay", "ensures"))) == {_fingerprint(caught, texts), _fingerprint(survivor, texts)}
    assert set(_logged(log, STAGES)) == {_fingerprint(caught, texts)}
    other = {"vault.imo": VAULT.replace("100", "1000")}
    assert _fingerprint(caught, other) != _fingerprint(caught, texts)
    assert _logged(tmp_path / "none.jsonl", STAGES) == {}


def _starts_meet(p: object, key: str) -> bool:
    """Whether the starting states of the covers' search (deployment, the
    binding's scenarios and those of scenarios.json) meet the goal ``key``."""
    from conformance.witness import CoverReport, _Search, goals_of, observed

    spec = p.spec  # type: ignore[attr-defined]
    goals = [g for g in goals_of(spec) if g.key == key]
    report = CoverReport(goals)
    search = _Search(spec, p._cover_binding(), p.scenarios, {g.key: g for g in goals}, report, [])  # type: ignore[attr-defined]
    with observed(search.model) as obs:
        search.obs = obs
        search.starts()
    return key in report.met


def test_the_merchants_last_mt_into_the_farm_is_a_cover_the_narrowed_check_loses() -> None:
    """Session 11's survivor `offering.imo` `amount <= merchant_mt` made `<`
    in `fund_farm`: the appended start `farm_funded_whole` (the merchant
    sells 70% of the MT it kept, then funds the farm with the rest, exactly
    the cap) meets cover `funds_the_farm_with_its_last_mt`; on the mutant no
    run can (the amount must then be below the balance)."""
    from dataclasses import replace

    from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline

    key = "offering.funds_the_farm_with_its_last_mt"
    base = Pipeline.for_binding(DEFAULT_BINDING)
    assert _starts_meet(base, key)
    name = next(n for n in base.sources.texts if n.endswith("offering.imo"))
    old = 'require amount <= merchant_mt, "EXCEEDS_MERCHANT_MT"\n    farm_funded'
    texts = dict(base.sources.texts)
    assert old in (texts[name] or "")
    texts[name] = (texts[name] or "").replace(old, old.replace("<=", "<"))
    mutant = Pipeline.for_binding(DEFAULT_BINDING)
    mutant.__dict__["sources"] = replace(base.sources, texts=texts)
    assert not _starts_meet(mutant, key)


def test_workers_give_the_fates_of_one_process_in_the_same_order() -> None:
    """``--workers 2`` forks processes that each run whole mutants: the fates
    (here of ``check`` alone, the stage every mutant runs) are those of one
    process, in the mutants' order."""
    from conformance.witness import CoverSettings
    from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
    from imospec_cli.spec_mutate import Baseline, _run_all

    base = Pipeline.for_binding(DEFAULT_BINDING)
    mutants = [m for m in spec_mutants(base.sources.readable) if m.file.endswith(("dmg.imo", "controller.imo"))][:10]
    covers = CoverSettings(seed=0, check_rules=True)
    args = argparse.Namespace(impl=DEFAULT_BINDING, workers=1)
    one = [(f.mutant, f.caught_by, f.detail) for f in _run_all(base, mutants, covers, Baseline(None), args, ())]
    args.workers = 2
    two = [(f.mutant, f.caught_by, f.detail) for f in _run_all(base, mutants, covers, Baseline(None), args, ())]
    assert one == two
    assert [m for m, _, _ in one] == mutants
    assert {c for _, c, _ in one} == {None, "check"}  # some stillborn, some not


def test_a_pipeline_reads_scenarios_json_once(tmp_path: Path) -> None:
    """``scenarios.json`` is read once per pipeline (and ``mutate --spec``
    hands the baseline's to every mutant): a file edited on disk during a run
    does not mix into it. A new pipeline reads the new file."""
    f = tmp_path / "scenarios.json"
    f.write_text(json.dumps({"params": {"vault.cap": "10"}}), encoding="utf-8")
    p = Pipeline([tmp_path])
    assert p.scenarios.params == {"vault.cap": "10"}
    f.write_text(json.dumps({"params": {"vault.cap": "11"}}), encoding="utf-8")
    assert p.scenarios.params == {"vault.cap": "10"}
    assert Pipeline([tmp_path]).scenarios.params == {"vault.cap": "11"}
