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


@pytest.fixture(scope="module")
def foundry_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contracts built into a Foundry-shaped out/ by solc-js standard JSON (not forge)."""
    root = tmp_path_factory.mktemp("foundry")
    units = {f"src/{p.name}": p.read_text() for p in sorted(SOLIDITY.glob("*.sol"))}
    output = compile_standard(units, SOLIDITY, cache_dir=root / "cache" / "vyper")
    for unit, contracts in output["contracts"].items():
        for name, c in contracts.items():
            target = root / "out" / Path(unit).name / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({
                "abi": c["abi"], "bytecode": {"object": "0x" + c["evm"]["bytecode"]["object"]},
                "deployedBytecode": {"object": "0x" + c["evm"]["deployedBytecode"]["object"]},
                "methodIdentifiers": c["evm"]["methodIdentifiers"], "storageLayout": c["storageLayout"],
            }))
    return root / "out"


def _foundry_binding(tmp_path: Path, out: Path) -> Path:
    """The Solidity binding with each module's contract taken from the build ``out``."""
    data = json.loads(_copy(tmp_path).read_text())
    data["build"] = str(out)
    for b in data["modules"].values():
        if "solidity" in b:
            b["contract"] = Path(b.pop("solidity")).stem
    binding_path = tmp_path / "foundry-binding.json"
    binding_path.write_text(json.dumps(data))
    return binding_path


def test_foundry_build_of_the_solidity_contracts_is_checked(tmp_path: Path, foundry_out: Path) -> None:
    """The bind path: the Foundry-shaped build checked from its artifacts, nothing compiled by imospec."""
    binding_path = _foundry_binding(tmp_path, foundry_out)
    binding, _ = load_implementation(binding_path)
    assert all(b.solidity is None for b in binding.modules.values())
    assert _campaign(binding_path, "pyrevm", tmp_path, examples=20).ok


def test_imospec_bind_checks_the_binding_against_the_foundry_build(
        tmp_path: Path, foundry_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binding_path = _foundry_binding(tmp_path, foundry_out)
    assert main(["bind", str(foundry_out), "--binding", str(binding_path), "--write", str(tmp_path / "w.json")]) == 0
    out = capsys.readouterr().out
    assert "UNMAPPED" not in out and "every action, variable, event and field of the bound modules is mapped" in out
    lines, module = {}, ""
    for line in out.splitlines():
        if not line.startswith(" "):
            module = line.split()[0]
        else:
            lines[(module, *line.split()[:2])] = line
    # where solc's layout put each variable: the pool's reserves packed in one slot
    assert lines[("pool", "variable", "reserve_mt")].endswith("storage `reserveMt`: slot 3")
    assert lines[("pool", "variable", "reserve_dcep")].endswith("storage `reserveDcep`: slot 3, offset 14")
    assert lines[("reserve", "variable", "reserve_dcep")].endswith("storage `reserveDcep`: slot 0")
    assert lines[("farm", "variable", "tier_level")].endswith("slot 9, bytes 8..9 (binding)")
    assert lines[("pool", "action", "swap_dcep_for_mt")].endswith("swap_dcep_for_mt(uint256,uint256,address,uint256)")
    assert lines[("pool", "event", "Swap")].endswith("Swap(address,uint256,uint256,uint256,uint256,address)")
    # the written binding (paths relative to it) runs as it is
    assert _campaign(tmp_path / "w.json", "pyrevm", tmp_path, examples=10).ok

    # a build that lacks a function: the action is reported unmapped, exit 1
    broken = tmp_path / "broken-out"
    shutil.copytree(foundry_out, broken)
    artifact = broken / "Reserve.sol" / "Reserve.json"
    art = json.loads(artifact.read_text())
    art["abi"] = [e for e in art["abi"] if e.get("name") != "redeem"]
    artifact.write_text(json.dumps(art))
    assert main(["bind", str(broken), "--binding", str(binding_path)]) == 1
    out = capsys.readouterr().out
    assert [line.split() for line in out.splitlines() if "UNMAPPED" in line] == [["action", "redeem", "UNMAPPED"]]
    assert "reserve -> Reserve   (INCOMPLETE)" in out


def test_imospec_bind_drafts_a_binding_for_a_foundry_build(tmp_path: Path, foundry_out: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.json"
    code = main(["bind", str(foundry_out), "--write", str(draft)])
    out = capsys.readouterr().out
    data = json.loads(draft.read_text())
    assert (tmp_path / data["build"]).resolve() == foundry_out.resolve()
    assert (tmp_path / data["spec"]).resolve() == (ROOT / "spec" / "protocol").resolve()
    # each merchant module found by its name; ERC20 (abstract, no bytecode) is not a contract of the build
    assert {m: b["contract"] for m, b in data["modules"].items()} == {
        "dcep": "DCEP", "mt": "MT", "pool": "Pool", "phases": "Phases", "reserve": "Reserve",
        "offering": "Offering", "farm": "Farm", "member": "Member", "buyback": "Buyback"}
    # every camelCase rename the draft found is the hand-written binding's, or
    # one it reads from storage instead (a card's holder, packed with its tier)
    written = json.loads(BINDING.read_text())["modules"]
    drafted = {(m, k): v for m, b in data["modules"].items() for k, v in b.get("names", {}).items()}
    assert all(written[m].get("names", {}).get(k) == v or k in written[m].get("state", {})
               for (m, k), v in drafted.items())
    assert sum(1 for m, k in drafted if k in written[m].get("names", {})) >= 60
    assert ("pool", "reserve_dcep") in drafted and ("farm", "acc_per_share") in drafted
    # what a name cannot give: the packed tier (a struct the binding reads by offsets), renamed votes
    unmapped = {tuple(line.split()[:2]) for line in out.splitlines() if line.endswith("UNMAPPED")}
    assert ("variable", "tier_level") in unmapped and ("variable", "tier_since") in unmapped
    assert code == 1
    # the draft is a binding: `bind --binding` reads it back and reports the same
    assert main(["bind", str(foundry_out), "--binding", str(draft)]) == 1
    assert {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()
            if line.endswith("UNMAPPED")} == unmapped


def test_imospec_bind_without_a_build_is_a_setup_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from imospec_cli import exits

    setup_error = getattr(exits, "EXIT_USAGE", exits.EXIT_FAIL)  # issue 18 gives setup errors their own code
    assert main(["bind", str(tmp_path / "out")]) == setup_error
    assert "does not exist (run `forge build` or `npx hardhat compile`)" in capsys.readouterr().err


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


@pytest.mark.parametrize(("old", "new"), [
    ("if (amount >= 10_000e18) level++;", "if (amount >= 10001e18) level++;"),  # tier 3 a little higher
    pytest.param("return level == 1 ? 7 days :", "return level == 0 ? 7 days :",  # tier 1 decays in 30 days
                 marks=pytest.mark.slow),
    pytest.param("if (block.timestamp >= freshSince[msg.sender] + TIER_HOLD) freshStake",  # held a second later
                 "if (block.timestamp > freshSince[msg.sender] + TIER_HOLD) freshStake", marks=pytest.mark.slow),
])
def test_the_tiers_scenario_catches_wrong_tier_edges(tmp_path: Path, old: str, new: str) -> None:
    """Mutants that campaigns let through (stakes of exactly a threshold,
    decay from tier 1, a top-up exactly TIER_HOLD on): the 'tiers' scenario
    puts each edge in its own steps, so the scenario alone tells them apart."""
    binding_path = _copy(tmp_path)
    farm = binding_path.parent / "Farm.sol"
    text = farm.read_text()
    assert old in text
    farm.write_text(text.replace(old, new, 1))
    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, "pyrevm")
    assert all(r.ok for r in h.prelude_reports)
    assert not all(r.ok for r in h.start_from("tiers"))


def test_the_solidity_build_at_the_second_parameter_set() -> None:
    """binding-odd.json: the Solidity contracts at the non-round parameters of
    ../binding-odd.json; every scenario conforms, and 'iron' ends with an exit
    whose MT the floor of 1/3 DCEP rounds up (a round-up by 2 diverges there)."""
    binding, spec = load_implementation(SOLIDITY / "binding-odd.json")
    h = Harness(spec, binding, "pyrevm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    for scenario in binding.scenarios:
        reports = h.start_from(scenario)
        assert reports and all(r.ok for r in reports), (scenario, [r.differences for r in reports if not r.ok])
    exit_step = h.start_from("iron")[-1]
    assert exit_step.step.action == "exit" and exit_step.evm is not None and exit_step.evm.success
    floor = 333333333333333333
    amount = 10**18 + 1
    assert exit_step.evm.return_value == -(-amount * 10**18 // floor) != amount * 10**18 // floor
