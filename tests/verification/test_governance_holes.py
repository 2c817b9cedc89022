"""The governance holes of issue 13, each a rule of the bundled spec that the
prover refutes once the fix is taken out again, and proves with it.

The "old" specs are the bundled one with exactly the fix reverted (a text
substitution that must match, so that a renamed line fails the test instead of
silently testing the new spec twice).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spec.driver import BUNDLED_PROTOCOL, load_spec
from tests.verification.conftest import find
from verification import build
from verification.outcome import Proved, Refuted
from verification.runner import Options, Report, prove


def _prove(spec_dir: Path, **kw: object) -> Report:
    opts = Options(jobs=1, cache=False, vacuity=False, depth=0)
    for k, v in kw.items():
        setattr(opts, k, v)
    res = load_spec([spec_dir])
    assert res.ok and res.spec is not None, [d.message for d in res.diagnostics]
    return prove(opts, res.spec)


def _variant(tmp_path: Path, changes: dict[str, list[tuple[str, str]]]) -> Path:
    """A copy of the bundled protocol with ``changes`` (file -> [(old, new)])."""
    out = tmp_path / "protocol"
    out.mkdir()
    for src in Path(BUNDLED_PROTOCOL).glob("*.imo"):
        text = src.read_text()
        for old, new in changes.get(src.name, []):
            assert text.count(old) == 1, (src.name, old)
            text = text.replace(old, new)
        (out / src.name).write_text(text)
    return out


def test_governed_parameters_are_checked_at_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployment checks every governed parameter against its bounds: the
    generated rule `governed_in_bounds` is proved at init, and refuted (with
    the out-of-bounds value in the counterexample) once the check is gone."""
    report = _prove(Path(BUNDLED_PROTOCOL), module="timelock")
    assert isinstance(find(report, "timelock.governed_in_bounds", "init").outcome, Proved)

    monkeypatch.setattr(build, "check_governed_bounds", lambda enc, st, module: None)
    report = _prove(Path(BUNDLED_PROTOCOL), module="timelock")
    outcome = find(report, "timelock.governed_in_bounds", "init").outcome
    assert isinstance(outcome, Refuted)
    delay = outcome.counterexample["params"]["timelock.delay"]
    assert not 2 * 86400 <= delay <= 30 * 86400


# no queue window: a passed proposal stays SUCCEEDED for ever
NO_QUEUE_WINDOW = ("return if block > p.end_block + QUEUE_PERIOD then EXPIRED else SUCCEEDED", "return SUCCEEDED")
# cancel reads the current threshold
CURRENT_THRESHOLD = ('require caller == guardian or weight <= p.threshold, "PROPOSER_ABOVE_THRESHOLD"',
                     'require caller == guardian or weight <= proposal_threshold, "PROPOSER_ABOVE_THRESHOLD"')


def test_governor_holes_are_refuted_on_the_old_rules(tmp_path: Path) -> None:
    """A stale passed proposal queued late (queued_inside_window) is refuted on
    the governor without a queue window; both holes' rules are proved on the
    new governor. (The cancel judged by a raised threshold is refuted on the
    reference model, tests/reference/test_governance_holes_model.py: its
    counterexample needs a model of `prior_votes`' checkpoint search under the
    quantified lemmas of `dmg`, which the default budget does not reach.)"""
    old = _prove(_variant(tmp_path, {"governor_base.imo": [NO_QUEUE_WINDOW]}),
                 invariant="governor.queued_inside_window")
    assert isinstance(find(old, "governor.queued_inside_window", "governor.queue").outcome, Refuted)
    new = _prove(Path(BUNDLED_PROTOCOL), module="governor")
    assert isinstance(find(new, "governor.queued_inside_window", "governor.queue").outcome, Proved)
    assert isinstance(find(new, "governor.cancelled_only_below_own_threshold", "governor.cancel").outcome, Proved)
    assert isinstance(find(new, "governor.rules_are_fixed", "governor.propose").outcome, Proved)
    assert new.exit_code() == 0


def test_grant_to_a_module_is_refuted_on_the_old_vesting(tmp_path: Path) -> None:
    """A grant to the timelock (or any governance module) would be locked for
    ever: no_grant_to_module is proved with the check, and never proved
    without it. (Without it the query's counterexample runs through
    `dmg.transfer_from`'s checkpoint writes under `dmg`'s quantified lemmas,
    and the default budget ends in `unknown`; the reference model refutes the
    old rule concretely, tests/reference/test_governance_holes_model.py.)"""
    drop = ('    require not is_governance_module(beneficiary), "GRANT_TO_MODULE"\n', "")
    old = _prove(_variant(tmp_path, {"vesting.imo": [drop]}), invariant="vesting.no_grant_to_module")
    assert not isinstance(find(old, "vesting.no_grant_to_module", "vesting.add_grant").outcome, Proved)
    new = _prove(Path(BUNDLED_PROTOCOL), invariant="vesting.no_grant_to_module")
    assert isinstance(find(new, "vesting.no_grant_to_module", "vesting.add_grant").outcome, Proved)
    assert new.exit_code() == 0
