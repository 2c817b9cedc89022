"""Issue 13: governance wired into the bundled deployment (binding.json):
DMG, the timelock, the governor and vesting next to the merchant side and the
money market, on both EVMs.

The timelock is the one caller of every governed setter of the deployment;
each governed parameter of the spec (every module that has one) goes through
a whole proposal (propose, vote, wait through the vote, queue, wait through
the timelock's delay, execute) at a value inside its bounds, which takes
effect, and at one outside, whose execution reverts; every step is compared
with the model. Nobody else can call a setter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, to_checksum
from reference.codegen import governed_bounds
from reference.runtime import key_of
from tests.conformance.conftest import ComparedSteps

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "evm_backend" / "contracts" / "binding.json"
BACKENDS = ["py-evm", "pyrevm"]


def _governed(h: Harness) -> list[tuple[str, str, int, int]]:
    """(module, name, low, high) of every governed parameter of the deployment."""
    return [(m.name, g.name, *governed_bounds(h.spec, m.name, g.name))
            for m in h.spec.modules.values() for g in m.governed.values()]


class Flow(ComparedSteps):
    """Whole proposals through the bundled governor, every step compared."""

    def __init__(self, h: Harness) -> None:
        super().__init__(h)
        self.proposer = h.actors[0]  # DMG's treasury: above the threshold and the quorum on its own
        self.anyone = h.actors[3]

    def enact(self, module: str, name: str, value: int) -> Any:
        """Propose, vote, queue and execute "set ``module.name`` to
        ``value``"; returns the execution's report."""
        gov = self.h.model.state("governor")
        target = self.h.addresses[module]
        pid = self.ok("governor", "propose", self.proposer, target, key_of(f"{module}.{name}"), value)
        self.wait(12 * (gov.voting_delay + 1), gov.voting_delay + 1)
        self.ok("governor", "cast_vote", self.proposer, pid, True)
        self.wait(12 * (gov.voting_period + 1), gov.voting_period + 1)
        self.ok("governor", "queue", self.anyone, pid)
        delay = self.h.model.state("timelock").delay
        self.wait(delay, delay // 12)
        return self.step("governor", "execute", self.anyone, pid)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_governed_parameter_changes_through_the_timelock_and_only_in_bounds(backend: str) -> None:
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, backend)
    governed = _governed(h)
    assert {m for m, *_ in governed} == {"controller", "interest", "oracle", "mdcep", "musdc", "timelock", "governor"}
    f = Flow(h)
    f.wait(12, 1)
    for module, name, low, high in governed:
        outside = high + 1 if name != "market_enabled" else 2
        report = f.enact(module, name, outside)
        assert not report.model.ok and report.model.reason == "OUT_OF_BOUNDS", (module, name)
        current = getattr(h.model.state(module), name)
        inside = high if current != high else low
        report = f.enact(module, name, inside)
        assert report.model.ok, (module, name, report.model.reason)
        assert getattr(h.model.state(module), name) == inside
        evm = h.backend.call(to_checksum(h.addresses[module]), h.binding.modules[module].name(name), [])
        if isinstance(evm, str):  # an address parameter (the oracle's reporter) reads back checksummed
            evm = int(evm, 16)
        assert evm == inside, (module, name, evm)
    assert h.compare_state(None) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_nobody_but_the_timelock_calls_a_governed_setter(backend: str) -> None:
    """An actor (the guardian, the governor's proposer) calling
    ``set_parameter`` directly with a key and a value in bounds is refused
    (UNAUTHORIZED) by every contract with governed parameters, and nothing
    changes."""
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, backend)
    for module, name, low, _high in _governed(h):
        if module == "timelock":
            continue  # the timelock sets its own delay inside `execute` (admin only, tested elsewhere)
        receipt = h.backend.transact(to_checksum(h.addresses[module]), "set_parameter",
                                     [key_of(f"{module}.{name}").to_bytes(32, "big"), low],
                                     sender=to_checksum(h.actors[0]))
        assert not receipt.success and receipt.revert_reason == "UNAUTHORIZED", (module, name)
    assert h.compare_state(None) == []
