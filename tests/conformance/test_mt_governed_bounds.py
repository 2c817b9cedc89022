"""Issue 13: the merchant side's governed parameters at their bounds, through
the MT holders' governor.

The bundled binding's scenario ``mt_governed_bounds`` executes, through
``mt_governor`` and ``mt_timelock``, a change of every parameter governed
``via mt_timelock`` (the farm's longest boost, the buyback's slippage, the MT
governor's four voting rules, the MT timelock's delay) at each of its bounds
and one past each, an immutable parameter of the farm, the buyback, the
governor and the timelock, the cash-out cap (a module ``mt_timelock`` does not
govern) and a parameter governed through the DMG timelock. Every step is
compared with the model, so each execution's outcome (a success,
OUT_OF_BOUNDS or UNKNOWN_PARAMETER) is checked on the contracts; here the
outcomes are also checked against the spec's bounds alone. On the way, the
scenario steps on the governor's edges: a vote at the start block and one at
the end block, a queueing at the last block of the queue window, a proposer
whose votes equal the threshold (cancelled by anyone, and refused when it
proposes again), and a boost at and over the longest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.harness.values import to_checksum
from reference.codegen import governed_bounds
from tests.conformance.conftest import expected_setting, scenario_compared

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "evm_backend" / "contracts" / "binding.json"
TIMELOCK = "mt_timelock"


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_mt_governed_bounds_scenario_executes_each_bound_and_agrees(backend: str) -> None:
    h, reports = scenario_compared(BUNDLED, "mt_governed_bounds", backend)
    spec = h.spec
    by_address = {a: m for m, a in h.addresses.items()}
    proposals: list[tuple[str, int, int]] = []
    tried: dict[tuple[str, str], set[str]] = {}
    unknown: set[str] = set()
    refused: list[tuple[str, str | None]] = []
    for r in reports:
        if r.step.kind != "action" or r.step.module != "mt_governor":
            continue
        assert r.model is not None
        if not r.model.ok and r.step.action != "execute":
            refused.append((r.step.action, r.model.reason))
        if r.step.action == "propose" and r.model.ok:
            target, key, value = r.step.args
            proposals.append((by_address[target], key, value))
        elif r.step.action == "execute" and r.model.reason == "NOT_QUEUED":
            refused.append((r.step.action, r.model.reason))
        elif r.step.action == "execute":
            module, key, value = proposals[r.step.args[0] - 1]
            ok, reason, name, where = expected_setting(spec, module, key, value, via=TIMELOCK)
            assert (r.model.ok, r.model.reason) == (ok, reason), (module, name, value)
            if name is None:
                unknown.add(module)
            else:
                tried.setdefault((module, name), set()).add(where)
    # an immutable of each module mt_timelock governs, the cash-out cap, and
    # a parameter the DMG timelock governs
    assert unknown == {"farm", "buyback", "mt_governor", "mt_timelock", "offering", "oracle"}
    governed_here = [(m, n) for m, mod in spec.modules.items() for n, g in mod.governed.items() if g.via == TIMELOCK]
    assert len(governed_here) == 7, governed_here
    for module, name in governed_here:
        low, _ = governed_bounds(spec, module, name)
        wanted = {"low", "high", "above"} | ({"below"} if low > 0 else set())
        assert wanted <= tried.get((module, name), set()), (module, name, tried.get((module, name)))
    # a vote at the start block (still PENDING); an execution one second after
    # the grace period and a queueing one block after the queue window (both
    # EXPIRED); actor:1 proposing with its votes equal to the threshold (the
    # cancel of its proposal at that point passes); a defeated proposal queued
    # (and then cancelled by the guardian)
    assert refused == [("cast_vote", "VOTING_CLOSED"), ("queue", "NOT_SUCCEEDED"), ("execute", "NOT_QUEUED"),
                       ("propose", "BELOW_PROPOSAL_THRESHOLD"), ("queue", "NOT_SUCCEEDED")]
    assert [r.model.reason for r in reports if r.step.kind == "action" and r.step.action == "cancel"
            and r.model] == [None, None]
    # the longest boost at one day: a boost one second longer is refused, one of a day passes
    boosts = [(r.step.args, r.model.reason) for r in reports
              if r.step.kind == "action" and r.step.module == "farm" and r.step.action == "boost" and r.model]
    assert boosts == [((86401,), "BOOST_TOO_LONG"), ((86400,), None)]
    # every proposal's state at the end, asked of both sides (the harness's
    # views ask `state_of` only at the numbers the state holds, rarely an id):
    # executed, cancelled, expired (queued, their execution reverted) and the last, in its vote
    governor = h.model.state("mt_governor")
    states = {}
    for i in range(1, governor.proposal_count + 1):
        blk, now = h.backend.block_number, h.backend.timestamp
        model = h.model.call_fn("mt_governor", "state_of", h.env(h.deployer), i, blk, now)
        evm = h.backend.call(to_checksum(h.addresses["mt_governor"]), "state_of", [i, blk, now])
        assert evm == model, (i, evm, model)
        states[model] = states.get(model, 0) + 1
    assert set(states) == {1, 2, 6, 7}, states  # ACTIVE, CANCELED, EXPIRED, EXECUTED
