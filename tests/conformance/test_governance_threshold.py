"""Issue 13, the review's second hole, on both EVMs: a cancel after raising
the proposal threshold.

Each proposal copies the threshold in force when it was made, and a cancel by
anyone but the guardian compares the proposer's votes with that copy. Were it
to read the current threshold, a proposal that raises the threshold (in bounds,
passed and executed through the timelock) would let anyone cancel an older
proposal that is queued and due, overriding a decision the holders took.
Every step is compared in full with the model (success or revert and reason,
events, the whole state).
"""

from __future__ import annotations

import pytest

from reference.runtime import key_of
from tests.conformance.test_governance import BACKENDS, DELAY, E18, VOTING_PERIOD, _governance

THRESHOLD_KEY = key_of("governor.proposal_threshold")
QUORUM_KEY = key_of("governor.quorum_votes")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_raised_threshold_does_not_reach_a_queued_proposal(backend: str) -> None:
    g = _governance(backend, "passed")
    first = g.proposal(1)
    g.ok("governor", "queue", g.other, 1)
    eta = g.proposal(1).eta
    # the proposer of the first proposal makes a second: the threshold goes
    # from 2.5M to 12M DMG, above the proposer's own 11M
    g.wait(12)
    pid = g.ok("governor", "propose", first.proposer, g.governor, THRESHOLD_KEY, 12_000_000 * E18)
    g.wait(24, 2)
    g.ok("governor", "cast_vote", first.proposer, pid, True)
    g.wait(12 * VOTING_PERIOD, VOTING_PERIOD)
    g.ok("governor", "queue", g.other, pid)
    g.wait(DELAY)
    g.ok("governor", "execute", g.other, pid)
    assert g.h.model.state("governor").proposal_threshold == 12_000_000 * E18
    assert int(g.h.backend.timestamp) > eta  # the first is due, and not stale
    # the proposer's votes are now at most the current threshold, but above
    # the first proposal's own: nobody but the guardian may cancel it
    g.reverts("PROPOSER_ABOVE_THRESHOLD", "governor", "cancel", g.other, 1)
    assert g.proposal(1).threshold == 2_500_000 * E18
    g.ok("governor", "execute", g.other, 1)
    assert g.h.model.state("governor").quorum_votes == 20_000_000 * E18
