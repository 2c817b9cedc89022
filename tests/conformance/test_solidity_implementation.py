"""The second implementation: the merchant side (sections 1-6: dcep, mt,
pool, phases, reserve, offering, farm, member, buyback) written in Solidity
from the spec (evm_backend/contracts/solidity/). It conforms on both EVMs,
also when imported as a Foundry-shaped build, and a wrong Solidity contract
is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step
from conformance.runner import read_fixture, replay, run_campaign, save_fixture
from evm_backend.solc import compile_standard
from imospec_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "evm_backend" / "contracts"
SOLIDITY = CONTRACTS / "solidity"
BINDING = SOLIDITY / "binding.json"


def _campaign(binding_path: Path, backend: str, tmp_path: Path, examples: int, seed: int = 4):
    binding, spec = load_implementation(binding_path)
    return run_campaign(spec, binding, backend=backend, examples=examples, steps=20, seed=seed,
                        fixture_dir=tmp_path / "fixtures")


def _copy(tmp_path: Path) -> Path:
    """A copy of the Solidity implementation whose binding points at the repository's spec and Vyper sources."""
    impl = tmp_path / "solidity"
    shutil.copytree(SOLIDITY, impl)
    data = json.loads(BINDING.read_text())
    data["spec"] = str((SOLIDITY / data["spec"]).resolve())
    for b in data["modules"].values():
        if "vyper" in b:
            b["vyper"] = str((SOLIDITY / b["vyper"]).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    return impl / "binding.json"


def test_solidity_modules_are_solidity() -> None:
    binding, spec = load_implementation(BINDING)
    solidity = {m for m, b in binding.modules.items() if b.solidity is not None}
    assert solidity == set(binding.modules) == {"dcep", "mt", "pool", "phases", "reserve", "buyback", "member", "farm",
                                             "offering"}
    h = Harness(spec, binding, "py-evm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    assert h._getter_vars == []  # solc's layout places every variable (packed tiers and cards included)


def test_solidity_implementation_conforms_on_pyrevm(tmp_path: Path) -> None:
    result = _campaign(BINDING, "pyrevm", tmp_path, examples=30)
    assert result.ok, result.divergence
    succeeded = {action.split(".")[0] for action, counts in result.stats.outcomes.items() if counts.ok > 0}
    assert len(succeeded) >= 6, succeeded


def test_every_scenario_conforms_on_pyevm() -> None:
    """py-evm is slow: here every step of the prelude and of each scenario
    (each compared in full), the campaigns at the default budget are `slow`."""
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, "py-evm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    for scenario in binding.scenarios:
        reports = h.start_from(scenario)
        assert reports and all(r.ok for r in reports), (scenario, [r.differences for r in reports if not r.ok])
        assert not h.compare_state(None)


@pytest.mark.parametrize(("file", "old", "new"), [
    pytest.param("Reserve.sol", "emit TopUp(msg.sender, amount, added);", "emit TopUp(msg.sender, added, amount);",
                 marks=pytest.mark.slow),
    ("Pool.sol", "uint256 inWithFee = amountIn * 997;", "uint256 inWithFee = amountIn * 996;"),  # a higher fee
    pytest.param("MT.sol", "if (src == dst || value == 0) return;", "if (src == dst) return;",
                 marks=pytest.mark.slow),  # checkpoints for nothing moved
    pytest.param("Farm.sol", "        rewardDebt[msg.sender] = 0;\n", "",
                 marks=pytest.mark.slow),  # an emergency withdrawal keeps its debt
])
def test_a_wrong_solidity_contract_is_caught(tmp_path: Path, file: str, old: str, new: str) -> None:
    binding_path = _copy(tmp_path)
    source = binding_path.parent / file
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))
    assert not _campaign(binding_path, "pyrevm", tmp_path, examples=100, seed=1).ok


def test_foundry_build_of_the_solidity_contracts_is_checked(tmp_path: Path) -> None:
    """The bind path: the contracts built into a Foundry-shaped out/ by solc-js
    standard JSON (not forge), then checked from it, nothing compiled by imospec."""
    units = {f"src/{p.name}": p.read_text() for p in sorted(SOLIDITY.glob("*.sol"))}
    output = compile_standard(units, SOLIDITY, cache_dir=tmp_path / "cache" / "vyper")
    for unit, contracts in output["contracts"].items():
        for name, c in contracts.items():
            target = tmp_path / "out" / Path(unit).name / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({
                "abi": c["abi"], "bytecode": {"object": "0x" + c["evm"]["bytecode"]["object"]},
                "deployedBytecode": {"object": "0x" + c["evm"]["deployedBytecode"]["object"]},
                "methodIdentifiers": c["evm"]["methodIdentifiers"], "storageLayout": c["storageLayout"],
            }))
    data = json.loads(_copy(tmp_path).read_text())
    data["build"] = str(tmp_path / "out")
    for b in data["modules"].values():
        if "solidity" in b:
            b["contract"] = Path(b.pop("solidity")).stem
    binding_path = tmp_path / "foundry-binding.json"
    binding_path.write_text(json.dumps(data))
    binding, _ = load_implementation(binding_path)
    assert all(b.solidity is None for b in binding.modules.values())
    assert _campaign(binding_path, "pyrevm", tmp_path, examples=20).ok


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_solidity_implementation_conforms_at_the_default_budget(backend: str, tmp_path: Path) -> None:
    result = _campaign(BINDING, backend, tmp_path, examples=40, seed=0)
    assert result.ok, result.divergence


def test_a_sequence_saved_from_the_vyper_build_replays_on_the_solidity_build(tmp_path: Path) -> None:
    vyper_binding, spec = load_implementation(CONTRACTS / "binding.json")
    h = Harness(spec, vyper_binding, "pyrevm")
    h.start_from("iron")
    alice, bob = h.actors[1], h.actors[2]
    far = h.backend.timestamp + 10**6
    steps = [
        Step("action", "reserve", "top_up", bob, (10**21,)),
        Step("action", "reserve", "redeem", alice, (3 * 10**20, far)),
        Step("action", "reserve", "exit", bob, (10**20,)),
        Step("action", "pool", "swap_mt_for_dcep", alice, (10**20, 0, alice, far)),
        Step("action", "farm", "withdraw", alice, (10**21,)),
        Step("time", seconds=8 * 86400, blocks=3),
        Step("action", "member", "mint", alice, ()),
    ]
    reports = [h.run(s) for s in steps]
    assert all(r.ok for r in reports)
    assert sum(1 for r in reports if r.evm is not None and r.evm.success) >= 4
    fixture = tmp_path / "vyper-trace.json"
    save_fixture(fixture, vyper_binding, "pyrevm", 0, reports, scenario="iron")

    saved = read_fixture(fixture)
    solidity_binding, solidity_spec = load_implementation(BINDING)
    result = replay(saved, solidity_binding, solidity_spec)
    assert result.harness.binding.name == "imo-solidity"
    assert result.ok, [r.differences for r in result.reports if not r.ok]
    assert main(["replay", str(fixture), "--impl", str(BINDING)]) == 0  # the command line's --impl
    # a wrong Solidity build fails the same replay
    wrong = _copy(tmp_path)
    source = wrong.parent / "Reserve.sol"
    source.write_text(source.read_text().replace("emit Redeem(msg.sender, mtAmount, paid);",
                                                 "emit Redeem(msg.sender, paid, mtAmount);"))
    wrong_binding, wrong_spec = load_implementation(wrong)
    assert not replay(saved, wrong_binding, wrong_spec).ok
