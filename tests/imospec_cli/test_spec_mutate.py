"""``imospec mutate --spec``'s driver: which stages run, and a stopped run's log resumed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
    assert _stages(_args(quick_prove=True)) == ("replay", "ensures", "conform", "covers")
    assert _stages(_args(no_prove=True, no_conform=True)) == ("replay", "covers")
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
