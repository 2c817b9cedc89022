"""Issue 13: DMG's distribution from seed 003 (spec/protocol/dmg.imo and
vesting.imo; dmg.vy and vesting.vy), on both EVMs.

Of the fixed 250M DMG, `dmg` mints the locked 60% (150M) to `vesting` at
deployment and the unlocked 40% (100M) to its treasury; `vesting` holds the
locked part as the seed's three allocations: the foundation's 100M, linear
from `unlock_start` to `unlock_end`, and the rewards' and the sale's 25M
each, in full at `unlock_start`. The dates are deployment parameters
(binding-governance.json: one day and one year and a day after deployment).
Every step is compared in full with the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.binding import at_deployment, load_implementation
from conformance.deployment import check_deployments, deployment_cases
from conformance.harness import Harness, Step, to_checksum
from tests.conformance.test_governance import Governance

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "evm_backend" / "contracts"
GOVERNANCE = CONTRACTS / "binding-governance.json"
BACKENDS = ["py-evm", "pyrevm"]
E18 = 10**18
T0 = 1_700_000_000  # the harness's clock at deployment
START = 1_700_086_400  # binding-governance.json's vesting.unlock_start
END = 1_731_622_400  # its vesting.unlock_end
SEED = {0: 100_000_000 * E18, 1: 25_000_000 * E18, 2: 25_000_000 * E18}


def _harness(backend: str, binding_path: Path = GOVERNANCE) -> Governance:
    binding, spec = load_implementation(binding_path)
    return Governance(Harness(spec, at_deployment(binding), backend, full_compare=True))


def _mutant(dst: Path, old: str, new: str) -> Path:
    """The governance binding in ``dst`` with vesting.vy's ``old`` replaced by ``new``."""
    dst.mkdir(parents=True, exist_ok=True)
    data = json.loads(GOVERNANCE.read_text())
    for m in data["modules"]:
        source = (CONTRACTS / f"{m}.vy").read_text()
        if m == "vesting":
            assert source.count(old) == 1, old
            source = source.replace(old, new)
        (dst / f"{m}.vy").write_text(source)
    data["spec"] = str(ROOT / "spec" / "protocol")
    (dst / "binding.json").write_text(json.dumps(data))
    return dst / "binding.json"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_seed_split_at_deployment(backend: str) -> None:
    """250M in all: 100M to the treasury, 150M to vesting as the seed's three
    allocations; the contracts hold what the model does."""
    g = _harness(backend)
    h = g.h
    dmg, vesting = to_checksum(h.addresses["dmg"]), to_checksum(h.addresses["vesting"])
    model = h.model.state("dmg")
    assert model.total_supply == 250_000_000 * E18
    assert model.balance_of[g.treasury] == 100_000_000 * E18
    assert model.balance_of[h.addresses["vesting"]] == 150_000_000 * E18
    assert h.backend.call(dmg, "balance_of", [to_checksum(g.treasury)]) == 100_000_000 * E18
    assert h.backend.call(dmg, "balance_of", [vesting]) == 150_000_000 * E18
    assert h.backend.call(vesting, "outstanding", []) == 150_000_000 * E18
    schedules = {0: (START, START, END), 1: (START - 1, START, START), 2: (START - 1, START, START)}
    for i, (start, cliff, end) in schedules.items():
        assert tuple(h.backend.call(vesting, "allocations", [i])) == (SEED[i], start, cliff, end)
    assert tuple(h.backend.call(vesting, "allocations", [3])) == (0, 0, 0, 0)
    assert h.compare_state(None) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_locked_supply_is_not_released_early(backend: str) -> None:
    """Attack: unlocking the locked 60% early. One second before
    `unlock_start` nothing of any allocation is releasable; at it the rewards
    and the sale unlock in full and the foundation's nothing yet; then the
    foundation's follows its line, to the wallet whoever calls; an unknown
    allocation is refused."""
    g = _harness(backend)
    h = g.h
    wallets = {0: h.actors[0], 1: h.actors[3], 2: h.actors[2]}  # binding-governance.json's wallets
    anyone = h.actors[1]
    g.wait(START - 1 - T0)
    for i in range(3):
        g.reverts("NOTHING_TO_RELEASE", "vesting", "release_allocation", anyone, i)
    g.reverts("UNKNOWN_ALLOCATION", "vesting", "release_allocation", anyone, 3)
    g.wait(1)
    g.reverts("NOTHING_TO_RELEASE", "vesting", "release_allocation", anyone, 0)
    for i in (1, 2):
        before = h.model.state("dmg").balance_of.get(wallets[i], 0)
        assert g.ok("vesting", "release_allocation", anyone, i) == SEED[i]
        assert h.model.state("dmg").balance_of[wallets[i]] == before + SEED[i]
        g.reverts("NOTHING_TO_RELEASE", "vesting", "release_allocation", anyone, i)
    quarter = (END - START) // 4
    g.wait(quarter)
    assert g.ok("vesting", "release_allocation", anyone, 0) == SEED[0] * quarter // (END - START)
    g.wait(END - START)
    assert g.ok("vesting", "release_allocation", anyone, 0) == SEED[0] - SEED[0] * quarter // (END - START)
    assert h.model.state("vesting").outstanding == 0
    assert h.model.state("dmg").balance_of.get(anyone, 0) == 0  # the caller got nothing
    assert h.compare_state(None) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_dates_are_deployment_parameters_checked_at_deployment(backend: str) -> None:
    """The constructor-edge cases move the dates through their bounds (0, the
    start at the end, the end past 2**112 - 1): the contract refuses exactly
    the deployments the model refuses, with the same reason."""
    g = _harness(backend)
    moved = {moves for module, moves in deployment_cases(g.h) if module == "vesting"}
    assert (("unlock_start", 0),) in moved and (("unlock_end", START),) in moved
    assert (("unlock_end", 2**112),) in moved
    assert check_deployments(g.h) == []


@pytest.mark.parametrize(("old", "new"), [
    # the rewards' allocation unlocks a second early
    ("Grant(total=REWARDS_LOCKED, start=_unlock_start - 1, cliff=_unlock_start,",
     "Grant(total=REWARDS_LOCKED, start=_unlock_start - 1, cliff=_unlock_start - 1,"),
    # the foundation's vests from deployment, not from the unlock
    ("Grant(total=FOUNDATION_LOCKED, start=_unlock_start,", "Grant(total=FOUNDATION_LOCKED, start=block.timestamp,"),
    # the release pays the caller
    ("wallet: address = self._wallet_of(id)", "wallet: address = msg.sender"),
])
def test_a_wrong_distribution_is_caught(old: str, new: str, tmp_path: Path) -> None:
    """Each wrong vesting.vy differs from the model in the attack's steps."""
    g = _harness("pyrevm", _mutant(tmp_path / "impl", old, new))
    h = g.h
    caught = h.compare_state(None) != []
    for seconds in (START - 1 - T0, 1, (END - START) // 4):
        if caught:
            break
        g.h.run(Step("time", seconds=seconds, blocks=1))
        for i in range(3):
            report = h.run(Step("action", "vesting", "release_allocation", h.actors[1], (i,)))
            caught = caught or not report.ok
    assert caught, new


def _long_window(dst: Path, vesting_source: str | None = None) -> Path:
    """The governance binding in ``dst`` with the foundation's allocation
    unlocking over 10**26 seconds (within the spec's bound, 2**112 - 1): one
    wei of its 10**26 a second (and ``vesting_source``, when given, as vesting.vy)."""
    dst.mkdir(parents=True, exist_ok=True)
    data = json.loads(GOVERNANCE.read_text())
    for m in data["modules"]:
        source = (CONTRACTS / f"{m}.vy").read_text()
        (dst / f"{m}.vy").write_text(vesting_source if m == "vesting" and vesting_source else source)
    data["spec"] = str(ROOT / "spec" / "protocol")
    data["params"]["vesting.unlock_end"] = str(START + 10**26)
    (dst / "binding.json").write_text(json.dumps(data))
    return dst / "binding.json"


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_allocation_releases_a_single_wei(backend: str, tmp_path: Path) -> None:
    """With a window as long as the spec allows, the foundation's allocation
    vests a wei a second: a second after `unlock_start` exactly one wei is
    releasable, and released (a check of `amount > 1` would refuse it)."""
    g = _harness(backend, _long_window(tmp_path / "impl"))
    anyone = g.h.actors[1]
    g.wait(START - T0)
    g.reverts("NOTHING_TO_RELEASE", "vesting", "release_allocation", anyone, 0)
    g.wait(1)
    assert g.ok("vesting", "release_allocation", anyone, 0) == 1
    g.reverts("NOTHING_TO_RELEASE", "vesting", "release_allocation", anyone, 0)
    g.wait(1)
    assert g.ok("vesting", "release_allocation", anyone, 0) == 1
    assert g.h.model.state("vesting").allocation_released[0] == 2
