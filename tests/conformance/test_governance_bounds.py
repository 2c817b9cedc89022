"""Issue 13, deployment bounds, on the bundled deployment (binding.json, both
halves with governance): every governed parameter a governance contract's
constructor takes is checked against its declared bounds, by the model's
``init`` and by the constructor alike, and the seed's vesting dates are
checked too; on both EVMs.

``timelock.delay = 3600`` (an hour, under the two-day minimum) must not
deploy: it would let a later ``queue`` break ``timelock.eta_respects_delay``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.binding import at_deployment, load_implementation
from conformance.deployment import deployment_cases, evm_deploys, model_deploys
from conformance.harness import Harness
from reference.codegen import governed_bounds

ROOT = Path(__file__).resolve().parents[2]
BINDING = ROOT / "evm_backend" / "contracts" / "binding.json"
BACKENDS = ["py-evm", "pyrevm"]
GOVERNANCE = ("timelock", "governor", "dmg", "vesting")


def _harness(backend: str) -> Harness:
    binding, spec = load_implementation(BINDING)
    return Harness(spec, at_deployment(binding), backend, full_compare=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_hour_long_timelock_delay_does_not_deploy(backend: str) -> None:
    h = _harness(backend)
    for moves in ((("delay", 3600),), (("delay", 2 * 86400 - 1),), (("delay", 30 * 86400 + 1),)):
        assert model_deploys(h, "timelock", moves) == (True, "OUT_OF_BOUNDS"), moves
        assert evm_deploys(h, "timelock", moves) == (True, "OUT_OF_BOUNDS"), moves
    for moves in ((("delay", 2 * 86400),), (("delay", 30 * 86400),)):
        assert model_deploys(h, "timelock", moves) == (False, None) == evm_deploys(h, "timelock", moves), moves


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_governed_parameter_of_governance_is_checked_at_deployment(backend: str) -> None:
    """The constructor-edge cases of the governance modules move each governed
    parameter their constructor takes to its bounds and one past each, and the
    vesting dates through theirs; the contracts refuse exactly the deployments
    the model refuses, with the same reason."""
    h = _harness(backend)
    cases = [(module, moves) for module, moves in deployment_cases(h) if module in GOVERNANCE]
    moved = {(module, moves) for module, moves in cases}
    governed = [(module, name) for module in GOVERNANCE for name in h.spec.modules[module].governed
                if name in (h.binding.modules[module].constructor or ())]
    assert {("timelock", "delay"), ("governor", "voting_delay"), ("governor", "voting_period"),
            ("governor", "proposal_threshold"), ("governor", "quorum_votes")} <= set(governed)
    refused = 0
    for module, name in governed:
        low, high = governed_bounds(h.spec, module, name)
        for v in (low - 1, low, high, high + 1):
            if v >= 0 and v != getattr(h.model.state(module), name):
                assert (module, ((name, v),)) in moved, (module, name, v)
                if v in (low - 1, high + 1):
                    assert model_deploys(h, module, ((name, v),)) == (True, "OUT_OF_BOUNDS"), (module, name, v)
                    refused += 1
    assert refused >= 2 * len(governed) - 1  # (a lower bound of 0 has no value below it)
    assert ("vesting", (("unlock_start", 0),)) in moved
    assert model_deploys(h, "vesting", (("unlock_start", 0),)) == (True, "BAD_SCHEDULE")
    differences = []
    for module, moves in cases:
        model, evm = model_deploys(h, module, moves), evm_deploys(h, module, moves)
        if model != evm:
            differences.append((module, moves, model, evm))
    assert differences == []
