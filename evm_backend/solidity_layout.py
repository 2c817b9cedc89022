"""Solidity's storage rules, and solc's ``storageLayout`` output read as a :class:`StorageLayout`.

solc stores ``m[k]`` of a mapping at ``keccak256(word(k) ++ slot(m))``: the
key first, then the map's slot (the reverse of Vyper's order). A value-type
key is padded to a word (an address or a number on the left, a ``bytesN`` on
the right); a ``string``/``bytes`` key is hashed unpadded. A dynamic array
keeps its length at its slot and its elements from ``keccak256(slot)`` on.
Values of 16 bytes or fewer share a slot, lowest first in the low-order
bytes; solc's layout gives each variable's and each struct member's slot and
byte ``offset``, and every type's ``numberOfBytes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import keccak

from evm_backend.storage import (
    ArrayType,
    Key,
    LayoutError,
    MappingType,
    Member,
    StorageLayout,
    StorageType,
    Struct,
    Value,
    Variable,
    check_slot,
    word_key,
)


def key_bytes(key: Key, key_type: str) -> bytes:
    """What solc hashes (before the slot) for mapping key ``key`` of type ``key_type``.

    ``key_type`` is solc's type id (``t_address``, ``t_bytes4``, ``t_string_memory_ptr``).

    Raises:
        LayoutError: the key does not fit a word.
    """
    if key_type.startswith(("t_string", "t_bytes_")):
        if isinstance(key, str) and not key.startswith("0x"):
            return key.encode("utf-8")
        if isinstance(key, bytes):
            return key
    fixed = key_type.removeprefix("t_bytes")
    if key_type.startswith("t_bytes") and fixed.isdigit() and isinstance(key, bytes):
        return key.ljust(32, b"\0")  # bytesN keys are left-aligned
    return word_key(key)


def mapping_slot(base_slot: int, *keys: Key, key_type: str = "t_uint256") -> int:
    """The slot of ``m[k1][k2]...`` for a mapping at ``base_slot`` (value-type keys).

    Raises:
        LayoutError: the slot is outside uint256 or a key does not fit.
    """
    slot = check_slot(base_slot)
    for key in keys:
        slot = int.from_bytes(keccak(key_bytes(key, key_type) + slot.to_bytes(32, "big")), "big")
    return slot


class SolidityRules:
    """solc's choices: ``keccak(key ++ slot)``, array data at ``keccak(slot)``."""

    compiler = "solidity"

    def mapping_slot(self, base: int, key: Key, key_type: str) -> int:
        return mapping_slot(base, key, key_type=key_type)

    def array_data(self, slot: int) -> int:
        return int.from_bytes(keccak(check_slot(slot).to_bytes(32, "big")), "big")


def parse_type(type_id: str, types: Mapping[str, Any]) -> StorageType:
    """The storage type ``type_id`` of solc's ``types`` table.

    Raises:
        LayoutError: the id is not in the table.
    """
    info = types.get(type_id)
    if not isinstance(info, Mapping):
        raise LayoutError(f"solc's layout has no type {type_id!r}")
    label = str(info.get("label", type_id))
    encoding = info.get("encoding")
    if encoding == "mapping":
        return MappingType(str(info["key"]), parse_type(str(info["value"]), types), label)
    if encoding == "dynamic_array":
        return ArrayType(parse_type(str(info["base"]), types), None, label)
    if "members" in info:
        return Struct(tuple(
            Member(str(m["label"]), int(m["slot"]), int(m["offset"]), parse_type(str(m["type"]), types))
            for m in info["members"]
        ), label)
    if "base" in info:  # a fixed-size array, in place
        base = parse_type(str(info["base"]), types)
        length = label.rpartition("[")[2].rstrip("]")
        if not length.isdigit():
            raise LayoutError(f"cannot read the length of {label!r}")
        return ArrayType(base, int(length), label)
    if encoding == "bytes":  # string/bytes: its length and content are not one value
        return Value(32, label)
    return Value(int(info.get("numberOfBytes", 32)), label)


def solidity_layout(layout: Mapping[str, Any]) -> StorageLayout:
    """solc's ``storageLayout`` (``{"storage": [...], "types": {...}}``) as a layout.

    Raises:
        LayoutError: an entry lacks a field or names an unknown type.
    """
    types = layout.get("types") or {}
    variables: dict[str, Variable] = {}
    try:
        for entry in layout.get("storage", []):
            name = str(entry["label"])
            variables[name] = Variable(name, int(entry["slot"]), int(entry["offset"]),
                                       parse_type(str(entry["type"]), types))
    except (KeyError, TypeError, ValueError) as exc:
        raise LayoutError(f"malformed solc storage layout: {exc!r}") from None
    return StorageLayout(variables, SolidityRules())


def is_solidity_layout(layout: Mapping[str, Any]) -> bool:
    """Whether ``layout`` has solc's shape (a ``storage`` list and a ``types`` table)."""
    return isinstance(layout.get("storage"), list)
