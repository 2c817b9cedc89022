"""Issue 13: governance wired into the bundled deployment (binding.json):
DMG, the timelock, the governor and vesting next to the merchant side and the
money market, and the MT holders' governor and timelock over the merchant
side, on both EVMs.

A timelock is the one caller of every governed setter it governs;
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
from spec import ir
from tests.conformance.conftest import ComparedSteps
from tests.spec.test_governed_paths import SEED_IMMUTABLE

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "evm_backend" / "contracts" / "binding.json"
BACKENDS = ["py-evm", "pyrevm"]


def _governed(h: Harness) -> list[tuple[str, str, int, int]]:
    """(module, name, low, high) of every governed parameter of the deployment."""
    return [(m.name, g.name, *governed_bounds(h.spec, m.name, g.name))
            for m in h.spec.modules.values() for g in m.governed.values()]


def _governor_of(h: Harness, timelock: str) -> str:
    """The governor module that is ``timelock``'s admin."""
    admin = h.model.state(timelock).admin
    return next(m for m, a in h.addresses.items() if a == admin)


class Flow(ComparedSteps):
    """Whole proposals through a bundled governor, every step compared."""

    def __init__(self, h: Harness) -> None:
        super().__init__(h)
        # actor:0 is DMG's treasury: above the threshold and the quorum on its own
        self.proposer = h.actors[0]
        self.anyone = h.actors[3]

    def buy_mt_votes(self) -> None:
        """From 'launched': the proposer buys MT in the pool with 300,000 DCEP
        (about 150,000 MT, above the MT governor's threshold and quorum), and
        a block ends, so that the votes it delegated to itself count."""
        self.ok("pool", "swap_dcep_for_mt", self.proposer, 300_000 * 10**18, 0, self.proposer, 2**64)
        self.wait(12, 1)

    def enact(self, module: str, name: str, value: int, timelock: str | None = None) -> Any:
        """Propose, vote, queue and execute "set ``module.name`` to
        ``value``" through ``timelock`` (by default the one the parameter
        names, through the governor that is its admin); returns the
        execution's report."""
        if timelock is None:
            timelock = self.h.spec.modules[module].governed[name].via
        governor = _governor_of(self.h, timelock)
        gov = self.h.model.state(governor)
        target = self.h.addresses[module]
        pid = self.ok(governor, "propose", self.proposer, target, key_of(f"{module}.{name}"), value)
        self.wait(12 * (gov.voting_delay + 1), gov.voting_delay + 1)
        self.ok(governor, "cast_vote", self.proposer, pid, True)
        self.wait(12 * (gov.voting_period + 1), gov.voting_period + 1)
        self.ok(governor, "queue", self.anyone, pid)
        delay = self.h.model.state(timelock).delay
        self.wait(delay, delay // 12)
        return self.step(governor, "execute", self.anyone, pid)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_governed_parameter_changes_through_the_timelock_and_only_in_bounds(backend: str) -> None:
    """Each governed parameter, through its own timelock: the DMG governor's
    for the money market and governance, the MT holders' for the merchant
    side (from 'launched', where the merchant holds MT)."""
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, backend)
    h.start_from("launched")
    governed = _governed(h)
    assert {m for m, *_ in governed} == {"controller", "interest", "oracle", "mdcep", "musdc", "timelock", "governor",
                                         "farm", "buyback", "mt_timelock", "mt_governor"}
    f = Flow(h)
    f.buy_mt_votes()
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
def test_the_mt_governor_cannot_change_an_immutable_parameter(backend: str) -> None:
    """Issue 13's attack: MT holders pass, queue and execute a proposal to
    change the cash-out cap, and every other immutable parameter of the
    merchant side (each a `param`: the seed's fixed figures and the farm's
    emission); each execution reverts with the spec's UNKNOWN_PARAMETER on
    both sides and changes nothing. Neither governor reaches the other's
    parameters either: the MT timelock cannot set the money market's
    allocation cap, nor the DMG timelock the farm's longest boost."""
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, backend)
    h.start_from("launched")
    merchant = ("offering", "phases", "pool", "reserve", "farm", "member", "buyback", "mt", "dcep")
    immutables = [(m, p.name, int(getattr(h.model.state(m), p.name)))
                  for m in merchant for p in spec.modules[m].params.values() if p.type == ir.UINT]
    assert set(SEED_IMMUTABLE) <= {(m, name) for m, name, _ in immutables}
    f = Flow(h)
    f.buy_mt_votes()
    attempts = [(m, name, value + 1, "mt_timelock") for m, name, value in immutables]
    attempts += [("mdcep", "allocation_cap", 1, "mt_timelock"), ("farm", "max_boost_duration", 86400, "timelock")]
    for module, name, value, timelock in attempts:
        before = getattr(h.model.state(module), name)
        report = f.enact(module, name, value, timelock)
        assert not report.model.ok and report.model.reason == "UNKNOWN_PARAMETER", (module, name)
        assert report.evm.revert_reason == "UNKNOWN_PARAMETER", (module, name)
        assert getattr(h.model.state(module), name) == before
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
        if spec.modules[module].governed[name].via == module:
            continue  # a timelock sets its own delay inside `execute` (admin only, tested elsewhere)
        receipt = h.backend.transact(to_checksum(h.addresses[module]), "set_parameter",
                                     [key_of(f"{module}.{name}").to_bytes(32, "big"), low],
                                     sender=to_checksum(h.actors[0]))
        assert not receipt.success and receipt.revert_reason == "UNAUTHORIZED", (module, name)
    assert h.compare_state(None) == []
