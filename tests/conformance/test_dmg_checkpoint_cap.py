"""DMG's checkpoint cap on both EVMs (issue 13, dmg.vy's mutation survivors).

`_write_checkpoint` refuses a new checkpoint once an account has
MAX_CHECKPOINTS = 2**32 of them ("TOO_MANY_CHECKPOINTS"; spec/protocol/votes.imo).
The spec allows that state: a checkpoint a block, for 2**32 blocks. No
campaign gets there, so the mutants of the cap (the assert dropped or made
`<=`, the cap moved to 2**31, 2**33 or 3**32), and a binary search of
`prior_votes` one halving short (SEARCH_STEPS = 31, enough for 2**31
checkpoints), survive every campaign. Here
the state is written instead, on both sides alike: the account's count and
its newest checkpoint (the only entries a write reads), in the model's state
and in the contract's storage; every step after it runs on both sides and
must agree in full (state, views, events, reverts and reasons).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.harness import normal, to_checksum
from tests.conformance.conftest import ComparedSteps, fill_to_the_checkpoint_cap, give_checkpoints
from tests.conformance.test_governance import BACKENDS, _dmg_alone

E18 = 10**18
MAX_CHECKPOINTS = 2**32


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_checkpoint_cap_on_the_contract(backend: str, tmp_path: Path) -> None:
    h = _dmg_alone(tmp_path / "impl", backend)
    treasury, holder = h.actors[:2]
    g = ComparedSteps(h)
    g.ok("dmg", "transfer", treasury, holder, 1_000 * E18)
    g.wait(12)
    g.ok("dmg", "delegate", holder, holder)
    g.wait(12)
    fill_to_the_checkpoint_cap(h, "dmg", holder, treasury, E18)
    # votes that do not move leave the checkpoints alone: the tokens still move
    assert h.model.state("dmg").current_votes[holder] == 1_000 * E18


def _probes_down(n: int) -> list[int]:
    """The checkpoints `prior_votes`' binary search over [0, n - 1] probes
    when every probed one is after the block asked about (each step then
    moves `upper` below its center)."""
    lower, upper, out = 0, n - 1, []
    while upper > lower:
        center = upper - (upper - lower) // 2
        out.append(center)
        upper = center - 1
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_search_over_two_to_the_32_checkpoints_takes_every_halving(backend: str, tmp_path: Path) -> None:
    """With 2**32 checkpoints, the last checkpoint at or before the block
    asked about is checkpoint 1 (its block), every later one is after it.
    The search starts on [0, 2**32 - 1] and ends on [1, 1] only at its 32nd
    halving; one short, it stops on [0, 1] and answers checkpoint 0's votes.
    (A search that narrows the range by only a third, `(upper - lower) // 3`,
    is far from done after 32 rounds, and differs too.)"""
    h = _dmg_alone(tmp_path / "impl", backend)
    treasury, holder = h.actors[:2]
    g = ComparedSteps(h)
    g.ok("dmg", "transfer", treasury, holder, 1_000 * E18)
    g.wait(12)
    g.ok("dmg", "delegate", holder, holder)  # checkpoint 0: 1,000 DMG
    g.wait(12)
    g.ok("dmg", "transfer", treasury, holder, 500 * E18)  # checkpoint 1: 1,500 DMG
    asked = int(h.backend.block_number)
    probes = [c for c in _probes_down(MAX_CHECKPOINTS) if c > 1]
    assert len(probes) == 31 and probes[0] == 2**31 and MAX_CHECKPOINTS - 1 not in probes
    g.wait(12 * (len(probes) + 2), len(probes) + 2)
    # the probed checkpoints in ascending blocks after `asked`, with votes
    # that no answer of the search may return
    entries = {c: (asked + 1 + rank, 7 + rank) for rank, c in enumerate(sorted(probes))}
    give_checkpoints(h, "dmg", holder, MAX_CHECKPOINTS, entries)

    def prior(at_block: int) -> int:
        model = normal(h.model.call_fn("dmg", "prior_votes", h.env(h.deployer), holder, at_block))
        evm = normal(h.backend.call(to_checksum(h.addresses["dmg"]), "prior_votes",
                                    [to_checksum(holder), at_block]))
        assert evm == model, (at_block, evm, model)
        return int(model)

    assert prior(asked) == 1_500 * E18
    assert prior(asked - 1) == 1_000 * E18
    assert prior(asked + 1) == 7
    g.wait(12)  # and every view the harness compares agrees
