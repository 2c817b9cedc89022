"""Issue 13's governance holes on the reference model, every rule checked after
every step (``Protocol`` runs with ``check_rules=True``).

Each hole is shown twice: the bundled spec refuses the attack, and the spec
with exactly that fix reverted lets it through and then breaks the rule that
states the fix (a ``SpecViolation`` naming it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from imo_protocol import ALICE, BOB, CAROL, FUNDER, TREASURY, WAD, Protocol

from reference.codegen import _folded_governed
from reference.model import default_address
from reference.runtime import MAX_UINT256, Revert, SpecViolation, key_of
from spec import ir
from spec.driver import BUNDLED_PROTOCOL, load_spec

DAY = 86_400
QUEUE_PERIOD = 100_800
E18 = WAD


def _variant(tmp_path: Path, file: str, old: str, new: str) -> ir.Spec:
    """The bundled spec with ``old`` replaced by ``new`` in ``file`` (once)."""
    out = tmp_path / "protocol"
    out.mkdir()
    for src in Path(BUNDLED_PROTOCOL).glob("*.imo"):
        text = src.read_text()
        if src.name == file:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        (out / src.name).write_text(text)
    res = load_spec([out])
    assert res.ok and res.spec is not None, [d.message for d in res.diagnostics]
    return res.spec


# --------------------------------------------------------- deployment bounds


def _governed(spec: ir.Spec) -> Iterator[tuple[str, int, int]]:
    for m in spec.modules.values():
        for g in m.governed.values():
            yield g.key, int(_folded_governed(spec, g.low)), int(_folded_governed(spec, g.high))


def test_every_governed_parameter_is_checked_at_deployment(protocol_spec: ir.Spec) -> None:
    """Each governed parameter deploys at its two bounds and is refused just
    outside them (e.g. timelock.delay = 3600, mdcep.min_mint_amount = 0)."""
    checked = 0
    for key, low, high in _governed(protocol_spec):
        for value in (low, high):
            Protocol(protocol_spec, {key: value})
        for value in (low - 1, high + 1):
            if 0 <= value < 2**256:
                with pytest.raises(Revert) as err:
                    Protocol(protocol_spec, {key: value})
                assert err.value.reason == "OUT_OF_BOUNDS", key
                checked += 1
    assert checked >= 14  # 14 governed parameters; those with low == 0 have one side
    for key, value in (("timelock.delay", 3600), ("mdcep.min_mint_amount", 0)):
        with pytest.raises(Revert):
            Protocol(protocol_spec, {key: value})


# ------------------------------------------------------------- the governor


def _with_votes(spec: ir.Spec) -> Protocol:
    """The governor as the timelock's admin; Alice (3M DMG, above the 2.5M
    threshold) and Bob (11M, above the 10M quorum) delegated to themselves."""
    governor = default_address(list(spec.modules).index("governor"))
    p = Protocol(spec, {"timelock.admin": governor})
    p.at(p.now + 12, 10)
    p.ok("dmg", "transfer", TREASURY, ALICE, 3_000_000 * E18)
    p.ok("dmg", "transfer", TREASURY, BOB, 11_000_000 * E18)
    p.ok("dmg", "delegate", ALICE, ALICE)
    p.ok("dmg", "delegate", BOB, BOB)
    p.at(p.now + 12, 11)
    return p


def _passed(p: Protocol, proposer: int, module: str, name: str, value: int) -> int:
    """A proposal by ``proposer``, voted for by Bob, with its vote over."""
    pid = int(p.ok("governor", "propose", proposer, p.addr(module), key_of(name), value))
    start = p.st("governor").proposals[pid].start_block
    p.at(p.now + 12, max(p.block + 1, start + 1))
    p.ok("governor", "cast_vote", BOB, pid, True)
    return pid


def _state(p: Protocol, pid: int) -> int:
    return int(p.fn("governor", "state_of", pid, p.block, p.now))


def test_a_passed_proposal_expires_unqueued(protocol_spec: ir.Spec) -> None:
    """SUCCEEDED lasts QUEUE_PERIOD blocks after the vote, then EXPIRED: a
    decision nobody queued cannot be queued later."""
    p = _with_votes(protocol_spec)
    pid = _passed(p, ALICE, "oracle", "oracle.max_staleness", 7200)
    end = p.st("governor").proposals[pid].end_block
    p.at(p.now + 12, end + QUEUE_PERIOD)
    assert _state(p, pid) == 4  # SUCCEEDED, the last block of the window
    p.at(p.now + 12, end + QUEUE_PERIOD + 1)
    assert _state(p, pid) == 6  # EXPIRED
    p.reverts("NOT_SUCCEEDED", "governor", "queue", CAROL, pid)
    # Alice may propose again: an expired proposal is not in flight
    p.ok("governor", "propose", ALICE, p.addr("oracle"), key_of("oracle.max_staleness"), 7300)


def test_a_passed_proposal_is_queued_inside_its_window(protocol_spec: ir.Spec) -> None:
    p = _with_votes(protocol_spec)
    pid = _passed(p, ALICE, "oracle", "oracle.max_staleness", 7200)
    end = p.st("governor").proposals[pid].end_block
    p.at(p.now + 12, end + QUEUE_PERIOD)
    p.ok("governor", "queue", CAROL, pid)
    assert p.st("governor").proposals[pid].queued_block == end + QUEUE_PERIOD


def test_without_a_queue_window_a_stale_proposal_breaks_the_rule(tmp_path: Path) -> None:
    spec = _variant(tmp_path, "governor_base.imo",
                    "return if block > p.end_block + QUEUE_PERIOD then EXPIRED else SUCCEEDED", "return SUCCEEDED")
    p = _with_votes(spec)
    pid = _passed(p, ALICE, "oracle", "oracle.max_staleness", 7200)
    end = p.st("governor").proposals[pid].end_block
    p.at(p.now + 365 * DAY, end + 2_628_000)  # a year later
    with pytest.raises(SpecViolation, match=r"governor\.queued_inside_window"):
        p.ok("governor", "queue", CAROL, pid)


def _threshold_raised_while_queued(p: Protocol) -> int:
    """Bob's proposal raises the threshold to 5M DMG and executes in the block
    of the eta of Alice's queued proposal (made when the threshold was 2.5M;
    she still holds 3M). Returns Alice's proposal."""
    raise_it = _passed(p, BOB, "governor", "governor.proposal_threshold", 5_000_000 * E18)
    hers = int(p.ok("governor", "propose", ALICE, p.addr("oracle"), key_of("oracle.max_staleness"), 7200))
    start = p.st("governor").proposals[hers].start_block
    p.at(p.now + 12, start + 1)
    p.ok("governor", "cast_vote", BOB, hers, True)
    end = p.st("governor").proposals[hers].end_block
    p.at(p.now + 12, end + 1)
    p.ok("governor", "queue", CAROL, raise_it)
    p.ok("governor", "queue", CAROL, hers)
    p.at(p.st("governor").proposals[hers].eta)
    p.ok("governor", "execute", CAROL, raise_it)
    assert p.st("governor").proposal_threshold == 5_000_000 * E18
    return hers


def test_raising_the_threshold_cannot_cancel_a_queued_proposal(protocol_spec: ir.Spec) -> None:
    """Cancel judges the proposer by the threshold the proposal was made with:
    Alice's 3M still clear her proposal's 2.5M, so nobody but the guardian may
    cancel it, and it executes."""
    p = _with_votes(protocol_spec)
    hers = _threshold_raised_while_queued(p)
    p.reverts("PROPOSER_ABOVE_THRESHOLD", "governor", "cancel", CAROL, hers)
    p.ok("governor", "execute", CAROL, hers)
    assert p.st("oracle").max_staleness == 7200
    # a new proposal by Alice now needs more than 5M: the new threshold applies to it
    p.at(p.now + 12)
    p.reverts("BELOW_PROPOSAL_THRESHOLD", "governor", "propose", ALICE, p.addr("oracle"),
              key_of("oracle.max_staleness"), 7300)


def test_cancel_by_the_current_threshold_breaks_the_rule(tmp_path: Path) -> None:
    spec = _variant(tmp_path, "governor_base.imo",
                    'require caller == guardian or weight <= p.threshold, "PROPOSER_ABOVE_THRESHOLD"',
                    'require caller == guardian or weight <= proposal_threshold, "PROPOSER_ABOVE_THRESHOLD"')
    p = _with_votes(spec)
    hers = _threshold_raised_while_queued(p)
    with pytest.raises(SpecViolation, match=r"governor\.cancelled_only_below_own_threshold"):
        p.ok("governor", "cancel", CAROL, hers)


def test_a_proposer_below_its_threshold_is_cancelled_by_anyone(protocol_spec: ir.Spec) -> None:
    """As in Compound: once Alice's votes fall to her proposal's threshold or
    below, anyone may cancel it; the record says who and with which votes."""
    p = _with_votes(protocol_spec)
    pid = int(p.ok("governor", "propose", ALICE, p.addr("oracle"), key_of("oracle.max_staleness"), 7200))
    p.reverts("PROPOSER_ABOVE_THRESHOLD", "governor", "cancel", CAROL, pid)
    p.ok("dmg", "transfer", ALICE, CAROL, 500_000 * E18)  # 2.5M left: not strictly above
    p.at(p.now + 12)
    p.ok("governor", "cancel", CAROL, pid)
    rec = p.st("governor").proposals[pid]
    assert rec.cancelled and rec.cancelled_by == CAROL and rec.sponsor_votes == 2_500_000 * E18


# --------------------------------------------------------------- vesting


def _funded(spec: ir.Spec) -> Protocol:
    p = Protocol(spec)
    p.ok("dmg", "transfer", TREASURY, FUNDER, 1_000 * E18)
    p.ok("dmg", "approve", FUNDER, p.addr("vesting"), MAX_UINT256)
    return p


@pytest.mark.parametrize("module", ["timelock", "governor", "dmg", "vesting"])
def test_a_grant_to_a_module_is_refused(protocol_spec: ir.Spec, module: str) -> None:
    p = _funded(protocol_spec)
    p.reverts("GRANT_TO_MODULE", "vesting", "add_grant", FUNDER, p.addr(module), 100 * E18,
              p.now, p.now, p.now + DAY)
    p.ok("vesting", "add_grant", FUNDER, ALICE, 100 * E18, p.now, p.now, p.now + DAY)


def test_a_grant_to_the_timelock_breaks_the_rule_without_the_check(tmp_path: Path) -> None:
    check = '    require not is_governance_module(beneficiary), "GRANT_TO_MODULE"\n'
    spec = _variant(tmp_path, "vesting.imo", check, "")
    p = _funded(spec)
    with pytest.raises(SpecViolation, match=r"vesting\.no_grant_to_module"):
        p.ok("vesting", "add_grant", FUNDER, p.addr("timelock"), 100 * E18, p.now, p.now, p.now + DAY)
