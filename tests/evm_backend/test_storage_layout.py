"""The storage-layout abstraction against real compiler output.

Each compiler's rules are checked by reading, through :meth:`StorageLayout.locate`,
the slots a contract it compiled actually wrote, and comparing with the
contract's own getters: Solidity's mapping order, packing, structs, nested
mappings and dynamic arrays; Vyper's order on the same abstraction.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import keccak

from evm_backend import Backend, CompiledContract, CompileError, TestAccount
from evm_backend.layout import VyperRules
from evm_backend.solc import compile_solidity
from evm_backend.solidity_layout import SolidityRules
from evm_backend.storage import LayoutError, Slice, StorageLayout

CONTRACTS = Path(__file__).parent / "contracts"


@pytest.fixture(scope="session")
def layouts_artifact(vyper_cache: Path) -> CompiledContract:
    return compile_solidity(CONTRACTS / "Layouts.sol", cache_dir=vyper_cache)["Layouts"]


def _read(backend: Backend, address: str, slices: tuple[Slice, ...]) -> list[int]:
    return [s.extract(backend.get_storage(address, s.slot)) for s in slices]


@pytest.fixture
def deployed(backend: Backend, accounts: list[TestAccount], layouts_artifact: CompiledContract) -> tuple[str, str]:
    address = backend.deploy(layouts_artifact.bytecode, layouts_artifact.abi, [], sender=accounts[0].address)
    receipt = backend.transact(address, "set", [], sender=accounts[1].address)
    assert receipt.success
    return address, accounts[1].address


def test_solidity_layout_is_read_with_solidity_rules(layouts_artifact: CompiledContract) -> None:
    layout = layouts_artifact.storage
    assert isinstance(layout, StorageLayout) and isinstance(layout.rules, SolidityRules)
    # r0, r1 (uint112) and ts (uint32) share slot 0 at byte offsets 0, 14, 28
    assert [layout.locate(n) for n in ("r0", "r1", "ts")] == [
        (Slice(0, 0, 14),), (Slice(0, 14, 14),), (Slice(0, 28, 4),)]


def test_packed_values_read_from_one_slot(backend: Backend, deployed: tuple[str, str],
                                          layouts_artifact: CompiledContract) -> None:
    address, _ = deployed
    layout = layouts_artifact.storage
    assert layout is not None
    for name in ("r0", "r1", "ts"):
        assert _read(backend, address, layout.locate(name)) == [backend.call(address, name)]
    assert _read(backend, address, layout.locate("r0") + layout.locate("r1") + layout.locate("ts")) == [5, 7, 9]


def test_mapping_key_comes_before_the_slot(backend: Backend, deployed: tuple[str, str],
                                           layouts_artifact: CompiledContract) -> None:
    address, who = deployed
    layout = layouts_artifact.storage
    assert layout is not None
    (where,) = layout.locate("bal", [who])
    base = layout.variables["bal"].slot
    expected = keccak(bytes(12) + bytes.fromhex(who[2:]) + base.to_bytes(32, "big"))
    assert where.slot == int.from_bytes(expected, "big")
    assert _read(backend, address, (where,)) == [11] == [backend.call(address, "bal", [who])]


def test_nested_mapping_to_a_packed_struct(backend: Backend, deployed: tuple[str, str],
                                           layouts_artifact: CompiledContract) -> None:
    address, who = deployed
    layout = layouts_artifact.storage
    assert layout is not None
    slices = layout.locate("nested", [who, 3], width=4)
    # a (uint128), b (address) don't fit one slot together; c (bool) packs with b; d has its own
    assert [(s.offset, s.size) for s in slices] == [(0, 16), (0, 20), (20, 1), (0, 32)]
    values = _read(backend, address, slices)
    assert values == [13, int(who, 16), 1, 17]
    getter = backend.call(address, "nested", [who, 3])
    assert values == [getter[0], int(getter[1], 16), int(getter[2]), getter[3]]
    with pytest.raises(LayoutError, match="struct of 4 values, not 3"):
        layout.locate("nested", [who, 3], width=3)


def test_dynamic_arrays_start_at_the_hash_of_their_slot(backend: Backend, deployed: tuple[str, str],
                                                        layouts_artifact: CompiledContract) -> None:
    address, _ = deployed
    layout = layouts_artifact.storage
    assert layout is not None
    base = int.from_bytes(keccak(layout.variables["small"].slot.to_bytes(32, "big")), "big")
    # four uint64 share a slot: the fifth starts the next one
    assert layout.locate("small", [4]) == (Slice(base + 1, 0, 8),)
    assert [_read(backend, address, layout.locate("small", [i]))[0] for i in range(5)] == [1, 2, 3, 4, 5]
    assert [backend.call(address, "small", [i]) for i in range(5)] == [1, 2, 3, 4, 5]
    assert _read(backend, address, layout.locate("structs", [0], width=4)) == [1, int(address, 16), 0, 2]


def test_bytes4_keys_are_left_aligned(backend: Backend, deployed: tuple[str, str],
                                      layouts_artifact: CompiledContract) -> None:
    address, _ = deployed
    layout = layouts_artifact.storage
    assert layout is not None
    assert _read(backend, address, layout.locate("sel", [bytes.fromhex("deadbeef")])) == [42]


def test_vyper_layout_on_the_same_abstraction(backend: Backend, accounts: list[TestAccount],
                                              counter_artifact: CompiledContract) -> None:
    layout = counter_artifact.storage
    assert layout is not None and isinstance(layout.rules, VyperRules)
    counter = backend.deploy(counter_artifact.bytecode, counter_artifact.abi, [5], sender=accounts[0].address)
    assert backend.transact(counter, "bump", [6], sender=accounts[1].address).success
    assert _read(backend, counter, layout.locate("counter")) == [11]
    assert _read(backend, counter, layout.locate("credits", [accounts[1].address])) == [6]
    with pytest.raises(LayoutError, match="no storage variable"):
        layout.locate("nope")


def test_solidity_compile_error_has_file_line_column(vyper_cache: Path) -> None:
    with pytest.raises(CompileError) as caught:
        compile_solidity(CONTRACTS / "Broken.sol", cache_dir=vyper_cache)
    err = caught.value
    assert (Path(err.file).name, err.line, err.column) == ("Broken.sol", 8, 13)
    assert "Undeclared identifier" in err.message and err.kind == "DeclarationError"
    assert str(err).startswith(f"{err.file}:8:13: DeclarationError")
    # rendered as for Vyper: the line, and a caret under the undeclared name (solc's extent: one character)
    assert err.render().splitlines()[1:] == ["    8 |         x = y + 1;", "                    ^"]


def test_solidity_compile_error_caret_spans_the_offending_expression(tmp_path: Path, vyper_cache: Path) -> None:
    source = tmp_path / "Typed.sol"
    source.write_text('pragma solidity 0.8.28;\ncontract Typed {\n    function f() external pure returns (uint256) {\n'
                      '        return "text";\n    }\n}\n')
    with pytest.raises(CompileError) as caught:
        compile_solidity(source, cache_dir=vyper_cache)
    err = caught.value
    assert (err.line, err.column, err.kind) == (4, 16, "TypeError")
    assert err.render().splitlines()[1:] == ['    4 |         return "text";', "                       ^^^^^^"]
