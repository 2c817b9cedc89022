"""``encode_values`` encodes calls of one-word types (uint<N>, bool,
address, bytes32) itself, a word a value: the same bytes as eth-abi, and the
same refusals (what it does not vouch for goes to eth-abi)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode as eth_abi_encode

from evm_backend.abi import checksum_address, encode_values
from evm_backend.errors import AbiError

_TYPES = ["uint256", "uint112", "uint8", "bool", "address", "bytes32"]


def _values(rng: random.Random, t: str) -> list[Any]:
    address = rng.getrandbits(160).to_bytes(20, "big")
    checksummed = checksum_address(address)
    wrong_case = checksummed[:2] + checksummed[2:].swapcase()
    common: list[Any] = [None, "0x", 1.0, b"", [1]]
    if t.startswith("uint"):
        top = 1 << int(t[4:])
        return [*common, 0, 1, top - 1, top, -1, True, False, rng.randrange(top), str(5), checksummed]
    if t == "bool":
        return [*common, True, False, 0, 1, 2]
    if t == "address":
        return [*common, checksummed, checksummed.lower(), checksummed.upper().replace("0X", "0x"),
                wrong_case if wrong_case != checksummed else checksummed, address, checksummed + "0",
                "0x" + "_" * 40, "0x_" + checksummed[3:], "0x" + "g" * 40, int.from_bytes(address, "big"),
                "0x" + "0" * 40]
    return [*common, bytes(32), bytes(range(32)), bytes(31), bytes(33), bytearray(32), "0x" + "00" * 32, 0]


def _eth_abi(types: list[str], values: list[Any]) -> bytes | None:
    try:
        return bytes(eth_abi_encode(types, values))
    except Exception:  # (any refusal: encode_values must refuse too)
        return None


@pytest.mark.parametrize("t", _TYPES)
def test_one_word_values_encode_as_eth_abi_encodes_them(t: str) -> None:
    rng = random.Random(t)
    for _ in range(20):
        for value in _values(rng, t):
            other = rng.choice(_TYPES)
            extra = _values(rng, other)[-4]
            types, values = [other, t], [extra, value]
            expected = _eth_abi(types, values)
            if expected is None:
                with pytest.raises(AbiError):
                    encode_values(types, values)
            else:
                assert encode_values(types, values) == expected, (types, values)
