"""Solidity builds, compiled by imospec with solc-js or imported from a
Foundry ``out/`` or a Hardhat ``artifacts/`` directory, checked against the
tiny spec. The artifact directories are made here from solc-js's standard
JSON output, in each tool's file shapes (no network, no forge, no hardhat)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import BindingError, load_implementation
from conformance.deployment import check_deployments
from conformance.harness import Harness
from conformance.runner import run_campaign
from evm_backend.solc import PINNED_SOLC_VERSION, compile_standard, standard_input

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"
SOL = TINY / "sol"
SOURCES = ("Cash.sol", "Vault.sol")


def _output(cache: Path, sources: dict[str, str] | None = None) -> dict:
    units = sources or {f"src/{name}": (SOL / name).read_text() for name in SOURCES}
    return compile_standard(units, SOL, cache_dir=cache / "vyper")


def _foundry(out: Path, output: dict, *, layout: bool = True) -> None:
    """``forge build`` 's files: out/<Source>.sol/<Contract>.json."""
    for unit, contracts in output["contracts"].items():
        for name, c in contracts.items():
            art = {
                "abi": c["abi"],
                "bytecode": {"object": "0x" + c["evm"]["bytecode"]["object"], "sourceMap": "", "linkReferences": {}},
                "deployedBytecode": {"object": "0x" + c["evm"]["deployedBytecode"]["object"], "sourceMap": "",
                                     "linkReferences": {}},
                "methodIdentifiers": c["evm"]["methodIdentifiers"],
                "rawMetadata": "{}",
                "id": 0,
            }
            if layout:
                art["storageLayout"] = c["storageLayout"]
            target = out / Path(unit).name / f"{name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(art))


def _hardhat(artifacts: Path, output: dict) -> None:
    """``npx hardhat compile`` 's files: the artifact, its .dbg.json, and the build info holding the layout."""
    build_info = artifacts / "build-info" / "0123abcd.json"
    build_info.parent.mkdir(parents=True)
    sources = {unit: (SOL / Path(unit).name).read_text() for unit in output["contracts"]}
    build_info.write_text(json.dumps({"_format": "hh-sol-build-info-1", "solcVersion": PINNED_SOLC_VERSION,
                                      "input": standard_input(sources), "output": output}))
    for unit, contracts in output["contracts"].items():
        for name, c in contracts.items():
            folder = artifacts / unit
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.json").write_text(json.dumps({
                "_format": "hh-sol-artifact-1", "contractName": name, "sourceName": unit, "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                "linkReferences": {}, "deployedLinkReferences": {},
            }))
            (folder / f"{name}.dbg.json").write_text(json.dumps(
                {"_format": "hh-sol-dbg-1", "buildInfo": "../../build-info/0123abcd.json"}))


def _build_binding(tmp_path: Path, build: str) -> Path:
    data = json.loads((SOL / "binding.json").read_text())
    data["spec"] = str((TINY / "spec").resolve())
    data["build"] = build
    for module, contract in (("cash", "Cash"), ("vault", "Vault")):
        del data["modules"][module]["solidity"]
        data["modules"][module]["contract"] = contract
    path = tmp_path / "binding.json"
    path.write_text(json.dumps(data))
    return path


def _campaign(binding_path: Path, backend: str, tmp_path: Path, examples: int = 20):
    binding, spec = load_implementation(binding_path)
    return run_campaign(spec, binding, backend=backend, examples=examples, steps=20, seed=3,
                        fixture_dir=tmp_path / "fixtures")


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_solidity_compiled_by_imospec_conforms(backend: str, tmp_path: Path) -> None:
    result = _campaign(SOL / "binding.json", backend, tmp_path)
    assert result.ok, result.divergence
    assert result.stats.outcomes["vault.top_up"].ok > 0 and result.stats.outcomes["vault.deposit"].ok > 0


def test_solidity_state_is_read_from_solc_layout() -> None:
    binding, spec = load_implementation(SOL / "binding.json")
    h = Harness(spec, binding, "py-evm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    assert h._getter_vars == []  # every variable, maps included, from storage
    # the packed tier: two entries share one slot, and both are indexed under it
    packed = [entries for entries in h._index.values() if len(entries) > 1]
    assert packed and all({name for _, name, _ in e} == {"tier_since", "tier_top"} for e in packed)


def test_foundry_out_directory_is_checked_without_compiling(tmp_path: Path) -> None:
    _foundry(tmp_path / "out", _output(tmp_path))
    binding_path = _build_binding(tmp_path, "out")
    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, "pyrevm")
    assert h._getter_vars == []
    assert _campaign(binding_path, "pyrevm", tmp_path).ok


def test_a_wrong_foundry_build_is_caught(tmp_path: Path) -> None:
    sources = {f"src/{name}": (SOL / name).read_text() for name in SOURCES}
    sources["src/Vault.sol"] = sources["src/Vault.sol"].replace("q * floorPrice / WAD", "q * floorPrice / WAD + 1")
    _foundry(tmp_path / "out", _output(tmp_path, sources))
    result = _campaign(_build_binding(tmp_path, "out"), "pyrevm", tmp_path, examples=200)
    assert not result.ok


def test_foundry_build_without_layout_falls_back_to_getters(tmp_path: Path) -> None:
    _foundry(tmp_path / "out", _output(tmp_path), layout=False)
    binding_path = _build_binding(tmp_path, "out")
    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, "pyrevm")
    assert {name for _, name in h._getter_vars} == {"balance_of", "allowance", "total_supply", "reserve",
                                                    "capacity", "price", "stake"}
    assert _campaign(binding_path, "pyrevm", tmp_path).ok


def test_hardhat_artifacts_with_layout_from_build_info(tmp_path: Path) -> None:
    _hardhat(tmp_path / "artifacts", _output(tmp_path))
    binding_path = _build_binding(tmp_path, "artifacts")
    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, "pyrevm")
    assert h._getter_vars == []
    assert _campaign(binding_path, "pyrevm", tmp_path).ok


def test_missing_contract_in_build_is_a_binding_error(tmp_path: Path) -> None:
    _foundry(tmp_path / "out", _output(tmp_path))
    shutil.rmtree(tmp_path / "out" / "Vault.sol")
    binding, spec = load_implementation(_build_binding(tmp_path, "out"))
    with pytest.raises(BindingError, match="no artifact for contract 'Vault'"):
        Harness(spec, binding, "pyrevm")


def test_a_solidity_compile_error_is_shown_with_file_line_and_caret(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from imospec_cli import exits
    from imospec_cli.main import main

    setup_error = getattr(exits, "EXIT_USAGE", exits.EXIT_FAIL)  # issue 18 gives setup errors their own code

    impl = tmp_path / "sol"
    shutil.copytree(SOL, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((TINY / "spec").resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    vault = impl / "Vault.sol"
    lines = vault.read_text().splitlines()
    no = next(i for i, line in enumerate(lines) if "q * floorPrice / WAD" in line)
    lines[no] = lines[no].replace("q * floorPrice / WAD", "q * floorPrize / WAD")
    vault.write_text("\n".join(lines) + "\n")
    assert main(["conform", "--impl", str(impl / "binding.json"), "--examples", "1", "--workers", "1"]) == setup_error
    err = capsys.readouterr().err.splitlines()
    column = lines[no].index("floorPrize") + 1
    assert err[0] == f"error: {vault}:{no + 1}:{column}: DeclarationError: Undeclared identifier. " \
                     'Did you mean "floorPrice"?'
    assert err[1] == f"{no + 1:>5} | {lines[no]}"
    assert err[2] == " " * (8 + column - 1) + "^" * len("floorPrize")
    assert "Traceback" not in "\n".join(err)


def _with_custom_errors(tmp_path: Path, errors: dict[str, str] | None) -> Path:
    """The tiny Solidity fixture whose vault reverts with custom errors
    (``ZeroAmount()``, ``NotOwner(address)``) where it had two reasons,
    bound with ``errors`` (none when ``None``)."""
    impl = tmp_path / "sol"
    shutil.copytree(SOL, impl)
    vault = impl / "Vault.sol"
    text = vault.read_text()
    for old, new in (('require(amount > 0, "ZERO_AMOUNT");', "if (amount == 0) revert ZeroAmount();"),
                     ('require(floor_ < bronze_ && bronze_ < issue_, "BAD_PHASE_ORDER");',
                      "if (floor_ >= bronze_ || bronze_ >= issue_) revert BadPhaseOrder(floor_, bronze_, issue_);"),
                     ('require(msg.sender == owner, "UNAUTHORIZED");',
                      "if (msg.sender != owner) revert NotOwner(msg.sender);")):
        assert old in text
        text = text.replace(old, new)
    declared = ("contract Vault {\n    error ZeroAmount();\n    error NotOwner(address who);\n"
                "    error BadPhaseOrder(uint256 floor, uint256 bronze, uint256 issue);")
    text = text.replace("contract Vault {", declared, 1)
    assert "error ZeroAmount" in text
    vault.write_text(text)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((TINY / "spec").resolve())
    if errors is not None:
        data["errors"] = errors
    (impl / "binding.json").write_text(json.dumps(data))
    return impl / "binding.json"


def _revert_reports(binding_path: Path) -> list:
    from conformance.harness import Step

    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, "pyrevm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    intruder = h.actors[2]
    reports = [h.run(Step("action", "vault", "top_up", h.actors[1], (0,))),
               h.run(Step("action", "vault", "set_price", intruder, (1,)))]
    assert all(r.evm is not None and not r.evm.success and r.evm.revert_reason is None for r in reports)
    return reports


def test_custom_errors_mapped_by_the_binding_compare_as_spec_reasons(tmp_path: Path) -> None:
    # by name, and by signature (the selector of NotOwner(address) is keccak's first 4 bytes)
    path = _with_custom_errors(tmp_path, {"ZeroAmount": "ZERO_AMOUNT", "NotOwner(address)": "UNAUTHORIZED",
                                          "BadPhaseOrder": "BAD_PHASE_ORDER"})
    assert all(r.ok for r in _revert_reports(path))
    # the constructor's custom error too, at the edge deployments (a floor moved above the bronze price)
    binding, spec = load_implementation(path)
    assert check_deployments(Harness(spec, binding, "pyrevm")) == []
    assert _campaign(path, "pyrevm", tmp_path).ok


def test_a_custom_error_by_selector(tmp_path: Path) -> None:
    from eth_utils import keccak

    selector = "0x" + keccak(text="NotOwner(address)")[:4].hex()
    path = _with_custom_errors(tmp_path, {"ZeroAmount()": "ZERO_AMOUNT", selector: "UNAUTHORIZED"})
    assert all(r.ok for r in _revert_reports(path))


def test_an_unmapped_or_wrongly_mapped_custom_error_is_a_divergence(tmp_path: Path) -> None:
    path = _with_custom_errors(tmp_path / "none", None)
    zero, owner = _revert_reports(path)
    assert [(d.where, d.model, d.evm) for d in zero.differences] == [
        ("revert reason", "ZERO_AMOUNT", "ZeroAmount() (a custom error the binding's `errors` maps to no spec reason)")]
    assert not owner.ok
    binding, spec = load_implementation(path)
    unmapped = "BadPhaseOrder(uint256,uint256,uint256) (a custom error the binding's `errors` maps to no spec reason)"
    assert {d.evm for d in check_deployments(Harness(spec, binding, "pyrevm"))} == {f"reverted {unmapped!r}"}
    # mapped, but to the wrong reason: the two errors swapped
    zero, owner = _revert_reports(_with_custom_errors(
        tmp_path / "swapped", {"ZeroAmount": "UNAUTHORIZED", "NotOwner": "ZERO_AMOUNT"}))
    assert [(d.model, d.evm) for d in zero.differences] == [("ZERO_AMOUNT", "UNAUTHORIZED")]
    assert [(d.model, d.evm) for d in owner.differences] == [("UNAUTHORIZED", "ZERO_AMOUNT")]


@pytest.mark.parametrize(("errors", "message"), [
    ({"ZeroAmount": "NOT_A_REASON"}, "'NOT_A_REASON', which is no revert reason of the spec"),
    ({"Missing": "ZERO_AMOUNT"}, "maps Missing, which no contract of the implementation declares"),
    ({"0x1234": "ZERO_AMOUNT"}, "0x1234 is not a 4-byte selector"),
])
def test_a_wrong_errors_mapping_is_a_binding_error(tmp_path: Path, errors: dict[str, str], message: str) -> None:
    binding, spec = load_implementation(_with_custom_errors(tmp_path, errors))
    with pytest.raises(BindingError, match=message):
        Harness(spec, binding, "pyrevm")
