"""MT's checkpoint cap on both EVMs, for the Vyper and the Solidity build.

MT keeps COMP-style vote checkpoints (spec/protocol/votes.imo, which `mt`
extends): `_write_checkpoint` refuses a new checkpoint once an account has
MAX_CHECKPOINTS = 2**32 of them ("TOO_MANY_CHECKPOINTS"). The spec allows
that state (a checkpoint a block, for 2**32 blocks), but no campaign gets
there, so the mutants of the cap survive every campaign: `mt.vy:250`'s assert
dropped or made `<=`, and `MT.sol:97`'s require dropped, made `<=`, or its cap
moved to 2**31, 2**33 or 3**32. Here the state is written instead, on both
sides alike, where each compiler places it (`Harness.write_entry`): the
account's count and its newest checkpoint, the only entries a write reads.
Every step after it must agree in full (state, views, events, reverts and
reasons). DMG's cap has the same test (test_dmg_checkpoint_cap.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, normal, to_checksum
from tests.conformance.conftest import ComparedSteps, fill_to_the_checkpoint_cap, give_checkpoints
from tests.conformance.test_dmg_checkpoint_cap import _probes_down
from tests.conformance.test_protocol_sections_1_6 import BACKENDS, Script, _launch

ROOT = Path(__file__).resolve().parents[2]
BUILDS = {
    "vyper": ROOT / "evm_backend" / "contracts" / "binding.json",
    "solidity": ROOT / "evm_backend" / "contracts" / "solidity" / "binding.json",
}
MAX_CHECKPOINTS = 2**32
E18 = 10**18


@pytest.fixture(scope="module", params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Launched = Callable[[str, str], tuple[Harness, ComparedSteps]]


@pytest.fixture(scope="module")
def launched() -> Iterator[Launched]:
    """``launched(build, backend)``: :func:`_launched` of that build on that
    backend, made once a module (a full-compare deployment, prelude and
    launch: most of a test's CPU) and put back in the state after the two
    purchases (``Harness.reset``: both sides, the clock, the storage index,
    the views) before each use."""
    made: dict[tuple[str, str], Harness] = {}

    def get(build: str, backend: str) -> tuple[Harness, ComparedSteps]:
        if (build, backend) not in made:
            h, _ = _launched(load_implementation(BUILDS[build]), backend)
            h.rebase()  # (the state reset returns to: after the purchases)
            made[build, backend] = h
        h = made[build, backend]
        h.reset()
        return h, ComparedSteps(h)

    yield get
    made.clear()


def _launched(build: tuple[Any, Any], backend: str) -> tuple[Harness, ComparedSteps]:
    """The bundled protocol with its pool launched, and actor:1 and actor:2
    holding MT bought from it (every actor delegates to itself)."""
    binding, spec = build
    h = Harness(spec, binding, backend, full_compare=True)
    _launch(Script(h))
    g = ComparedSteps(h)
    for buyer in h.actors[1:3]:
        g.ok("pool", "swap_dcep_for_mt", buyer, 10_000 * E18, 0, buyer, 2**256 - 1)
    return h, g


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_checkpoint_cap_of_mt(build: str, backend: str, launched: Launched) -> None:
    h, g = launched(build, backend)
    holder, other, third = h.actors[1], h.actors[2], h.actors[3]
    votes = h.model.state("mt").current_votes
    assert votes[holder] > E18 and votes[other] > E18
    g.wait(12)
    fill_to_the_checkpoint_cap(h, "mt", holder, other, E18)
    g.reverts("TOO_MANY_CHECKPOINTS", "mt", "delegate", holder, third)
    g.reverts("TOO_MANY_CHECKPOINTS", "mt", "burn", holder, E18)
    # the votes at the last ended block are the newest checkpoint's, on both sides
    g.wait(12)
    assert _prior(h, holder, int(h.backend.block_number) - 1) == h.model.state("mt").current_votes[holder]


def _prior(h: Harness, account: int, at_block: int) -> int:
    """`prior_votes` of MT on the model and on the contract: they must agree."""
    model = normal(h.model.call_fn("mt", "prior_votes", h.env(h.deployer), account, at_block))
    evm = normal(h.backend.call(to_checksum(h.addresses["mt"]), h.binding.modules["mt"].name("prior_votes"),
                                [to_checksum(account), at_block]))
    assert evm == model, (at_block, evm, model)
    return int(model)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_search_over_two_to_the_32_mt_checkpoints_takes_every_halving(build: str, backend: str,
                                                                        launched: Launched) -> None:
    """With 2**32 checkpoints of which checkpoint 1 is the last at or before
    the block asked about, MT's search ends on [1, 1] only at its 32nd
    halving. `SEARCH_STEPS = 31` stops on [0, 1] and answers checkpoint 0's
    votes; a search that narrows the range by only a third (`// 3`, mt.vy:140)
    is far from done after 32 rounds (the Solidity build loops until it is)."""
    h, g = launched(build, backend)
    holder, other = h.actors[1], h.actors[2]
    first = h.model.state("mt").current_votes[holder]  # checkpoint 0: its purchase
    g.wait(12)
    g.ok("mt", "transfer", other, holder, 500 * E18)  # checkpoint 1
    asked = int(h.backend.block_number)
    probes = [c for c in _probes_down(MAX_CHECKPOINTS) if c > 1]
    assert len(probes) == 31 and probes[0] == 2**31 and MAX_CHECKPOINTS - 1 not in probes
    g.wait(12 * (len(probes) + 2), len(probes) + 2)
    # the probed checkpoints in ascending blocks after `asked`, with votes no
    # answer of the search may return
    entries = {c: (asked + 1 + rank, 7 + rank) for rank, c in enumerate(sorted(probes))}
    give_checkpoints(h, "mt", holder, MAX_CHECKPOINTS, entries)
    assert _prior(h, holder, asked) == first + 500 * E18
    assert _prior(h, holder, asked - 1) == first
    assert _prior(h, holder, asked + 1) == 7
    g.wait(12)  # and every view the harness compares agrees


def test_a_written_entry_is_read_again_by_the_views(launched: Launched) -> None:
    """py-evm keeps each view answer with what its call read; an entry written
    by `write_entry` is no transaction, so every kept answer is dropped: the
    views asked right after it (same block) answer from the new state on both
    sides, and agree."""
    h, g = launched("vyper", "py-evm")
    g.wait(12)
    while h.view_addresses[h.backend.block_number % len(h.view_addresses)] not in h.actors[1:3]:
        g.wait(12)  # until the views that take numbers are asked of a buyer
    assert h.compare_views() == []
    asked = h.view_addresses[h.backend.block_number % len(h.view_addresses)]
    n = h.model.state("mt").num_checkpoints[asked]
    assert n > 0
    newest = h.model.state("mt").checkpoints[asked][n - 1]
    h.write_entry("mt", "checkpoints", (asked, n - 1), (newest.from_block, newest.votes + 1))
    assert h.compare_views() == []
