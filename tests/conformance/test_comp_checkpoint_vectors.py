"""compound-finance/compound-protocol tests/Governance/CompTest.js,
`numCheckpoints`, on the DMG contract (dmg.vy) on both EVMs, beside the model
(which runs the same cases in tests/reference/test_vectors.py).

Every step is compared in full with the model (success or revert and reason,
events, the whole state, the checkpoints included); the published
checkpoints are then read from the contract's own getters and from the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.harness import normal, to_checksum
from tests.conformance.test_governance import BACKENDS, Governance, _dmg_alone


def _checkpoints(g: Governance, who: int) -> list[tuple[int, int]]:
    """The checkpoints of ``who`` as (from block, votes), from the contract's
    getters, after checking the model holds the same."""
    h = g.h
    dmg = to_checksum(h.addresses["dmg"])
    n = normal(h.backend.call(dmg, "num_checkpoints", [to_checksum(who)]))
    evm: list[tuple[int, int]] = []
    for i in range(n):
        cp: Any = normal(h.backend.call(dmg, "checkpoints", [to_checksum(who), i]))
        evm.append((int(cp[0]), int(cp[1])))
    v = h.model.state("dmg")
    model = [(v.checkpoints[who][i].from_block, v.checkpoints[who][i].votes) for i in range(v.num_checkpoints[who])]
    assert evm == model
    return evm


def _setup(backend: str, tmp_path: Path) -> tuple[Governance, int, int, int, int]:
    h = _dmg_alone(tmp_path / "impl", backend)
    treasury, guy, a1, a2 = h.actors[:4]
    g = Governance(h)
    g.ok("dmg", "transfer", treasury, guy, 100)
    return g, treasury, guy, a1, a2


@pytest.mark.parametrize("backend", BACKENDS)
def test_comp_num_checkpoints_on_the_contract(backend: str, tmp_path: Path) -> None:
    """'returns the number of checkpoints for a delegate': guy gets 100,
    delegates to a1 (t1), sends 10 to a2 twice (t2, t3), gets 20 from root
    (t4): checkpoints (t1, 100), (t2, 90), (t3, 80), (t4, 100)."""
    g, root, guy, a1, a2 = _setup(backend, tmp_path)
    assert _checkpoints(g, a1) == []
    blocks = []
    for caller, action, *args in ((guy, "delegate", a1), (guy, "transfer", a2, 10), (guy, "transfer", a2, 10),
                                  (root, "transfer", guy, 20)):
        g.wait(12, 1)
        g.ok("dmg", action, caller, *args)
        blocks.append(g.block)
        assert len(_checkpoints(g, a1)) == len(blocks)
    t1, t2, t3, t4 = blocks
    assert _checkpoints(g, a1) == [(t1, 100), (t2, 90), (t3, 80), (t4, 100)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_comp_one_checkpoint_per_block_on_the_contract(backend: str, tmp_path: Path) -> None:
    """'does not add more than one checkpoint in a block': the delegation and
    two transfers of 10 in one block leave one checkpoint (t1, 80); the next
    block's transfer of 20 adds (t4, 100)."""
    g, root, guy, a1, a2 = _setup(backend, tmp_path)
    g.wait(12, 1)
    g.ok("dmg", "delegate", guy, a1)
    g.ok("dmg", "transfer", guy, a2, 10)
    g.ok("dmg", "transfer", guy, a2, 10)
    t1 = g.block
    assert _checkpoints(g, a1) == [(t1, 80)]
    g.wait(12, 1)
    g.ok("dmg", "transfer", root, guy, 20)
    assert _checkpoints(g, a1) == [(t1, 80), (t1 + 1, 100)]
