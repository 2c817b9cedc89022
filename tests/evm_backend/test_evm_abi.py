"""Backend-neutral ABI helpers, storage slots, accounts and package boundaries."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from evm_backend import (
    AbiError,
    ContractAbi,
    UnknownBackendError,
    decode_revert_reason,
    derive_accounts,
    get_backend,
    hashmap_slot,
)
from evm_backend.abi import decode_panic_code, decode_values

ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "f", "inputs": [], "outputs": [], "stateMutability": "view"},
    {
        "type": "function",
        "name": "f",
        "inputs": [{"name": "x", "type": "uint256"}],
        "outputs": [
            {"name": "", "type": "address"},
            {
                "name": "",
                "type": "tuple",
                "components": [{"name": "a", "type": "bool"}, {"name": "b", "type": "address[]"}],
            },
        ],
        "stateMutability": "view",
    },
    {"type": "constructor", "inputs": [{"name": "n", "type": "uint8"}]},
]

ADDRESS = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"


def test_overloads_resolve_by_arity_or_signature() -> None:
    abi = ContractAbi(ABI)
    assert abi.function("f", 0).signature == "f()"
    assert abi.function("f", 1).signature == "f(uint256)"
    assert abi.function("f(uint256)").selector == keccak(text="f(uint256)")[:4]
    with pytest.raises(AbiError, match="overloaded"):
        abi.function("f")
    with pytest.raises(AbiError):
        abi.function("g")


def test_outputs_are_checksummed_and_tupled() -> None:
    fn = ContractAbi(ABI).function("f", 1)
    data = encode(["address", "(bool,address[])"], [ADDRESS.lower(), (True, [ADDRESS.lower()])])
    assert fn.decode_output(data) == (ADDRESS, (True, (ADDRESS,)))


def test_fast_static_decoding_matches_eth_abi_rules() -> None:
    words = [
        (255).to_bytes(32, "big"),
        (2**256 - 1).to_bytes(32, "big"),
        (1).to_bytes(32, "big"),
        b"\xab\xcd" + bytes(30),
    ]
    decoded = decode_values(["uint8", "int8", "bool", "bytes2"], b"".join(words))
    assert decoded == (255, -1, True, b"\xab\xcd")
    with pytest.raises(AbiError):
        decode_values(["uint8"], (256).to_bytes(32, "big"))
    with pytest.raises(AbiError):
        decode_values(["bool"], (2).to_bytes(32, "big"))
    with pytest.raises(AbiError):
        decode_values(["address"], b"\x01" + bytes(31))
    with pytest.raises(AbiError):
        decode_values(["uint256"], b"\x01")


def test_constructor_encoding_checks_ranges() -> None:
    abi = ContractAbi(ABI)
    assert abi.encode_constructor([7]) == (7).to_bytes(32, "big")
    with pytest.raises(AbiError):
        abi.encode_constructor([300])
    with pytest.raises(AbiError):
        abi.encode_constructor([])


def test_revert_payloads() -> None:
    error = bytes.fromhex("08c379a0") + encode(["string"], ["REASON"])
    assert decode_revert_reason(error) == "REASON"
    assert decode_revert_reason(b"") is None
    panic = bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")
    assert decode_revert_reason(panic) is None
    assert decode_panic_code(panic) == 0x11
    assert decode_revert_reason(bytes.fromhex("08c379a0") + b"junk") is None


def test_hashmap_slot_is_vyper_order() -> None:
    expected = keccak((2).to_bytes(32, "big") + bytes(12) + bytes.fromhex(ADDRESS[2:]))
    assert hashmap_slot(2, ADDRESS) == int.from_bytes(expected, "big")
    inner = hashmap_slot(2, 5)
    assert hashmap_slot(2, 5, -1) == hashmap_slot(inner, 2**256 - 1)


def test_accounts_are_stable_across_runs() -> None:
    first, second = derive_accounts(2, seed="fixed")
    assert first.address != second.address
    assert derive_accounts(2, seed="fixed") == [first, second]
    assert derive_accounts(1, seed="other")[0].address != first.address


def test_unknown_backend_name() -> None:
    with pytest.raises(UnknownBackendError):
        get_backend("geth")


def test_each_evm_library_is_imported_by_one_module_only() -> None:
    probe = (
        "import sys, evm_backend\n"
        "evm_backend.get_backend('pyrevm')\n"
        "assert 'eth' not in sys.modules, 'py-evm imported for pyrevm'\n"
        "evm_backend.get_backend('py-evm')\n"
        "assert 'eth' in sys.modules and 'pyrevm' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_imports_of_evm_libraries_are_confined() -> None:
    import ast
    from pathlib import Path

    import evm_backend

    owners = {"eth": "pyevm_backend.py", "pyrevm": "pyrevm_backend.py"}
    for module in Path(evm_backend.__file__).parent.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots = {node.module.split(".")[0]}
            else:
                continue
            for library, owner in owners.items():
                if library in roots:
                    assert module.name == owner, f"{module.name} imports {library}"
