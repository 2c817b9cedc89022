"""Vyper's storage rules, and its ``-f layout`` output read as a :class:`StorageLayout`.

Vyper stores ``m[k]`` of a ``HashMap`` at ``keccak256(slot(m) ++ word(k))``:
the map's slot first, then the key as one 32-byte word (the reverse of
Solidity's order).  ``String``/``Bytes`` keys are hashed to a word first.
Nothing is packed: every value, and every member of a struct, takes whole
slots of its own, in order.  A ``DynArray`` keeps its length at its slot and
its elements from the next slot on.
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
    StorageLayout,
    StorageType,
    Value,
    Variable,
    Words,
    check_slot,
    word_key,
)


def key_word(key: Key) -> bytes:
    """Return the 32-byte word Vyper hashes for HashMap key ``key``.

    ``int``: two's complement (so signed keys work); ``str``: a hex address;
    ``bytes``: a 32-byte value (``bytes32``) as is, any other length is the
    content of a ``Bytes``/``String`` key and is hashed.

    Raises:
        LayoutError: an ``int`` outside int256/uint256, or a ``str`` that is
            not an address.
    """
    if isinstance(key, bytes) and len(key) != 32:
        return bytes(keccak(key))
    return word_key(key)


def hashmap_slot(base_slot: int, *keys: Key) -> int:
    """Return the slot of ``m[k1][k2]...`` for a HashMap whose layout slot is ``base_slot``.

    Raises:
        LayoutError: ``base_slot`` is outside uint256, or a key is invalid
            (see :func:`key_word`).
    """
    slot = check_slot(base_slot)
    for key in keys:
        slot = int.from_bytes(keccak(slot.to_bytes(32, "big") + key_word(key)), "big")
    return slot


class VyperRules:
    """Vyper's choices: ``keccak(slot ++ key)``, array data right after the length."""

    compiler = "vyper"

    def mapping_slot(self, base: int, key: Key, key_type: str) -> int:
        return hashmap_slot(base, key)

    def array_data(self, slot: int) -> int:
        return slot + 1


_VALUE_TYPES = ("uint", "int", "address", "bool", "bytes32", "decimal", "flag")


def parse_type(text: str) -> StorageType:
    """A Vyper type as written in the layout (``HashMap[address, HashMap[address, uint256]]``).

    A struct or any other type whose parts the layout does not give is
    :class:`Words`: whole slots, as many as its values.
    """
    text = text.strip()
    for head, build in (("HashMap[", _hashmap), ("DynArray[", _dynarray)):
        if text.startswith(head) and text.endswith("]"):
            return build(_split(text[len(head):-1]), text)
    if text.endswith("]") and "[" in text:
        inner, _, length = text[:-1].rpartition("[")
        if length.strip().isdigit():
            return ArrayType(parse_type(inner), int(length), text)
    if text.startswith(_VALUE_TYPES):
        return Value(32, text)
    return Words(None, text)


def _hashmap(parts: list[str], text: str) -> StorageType:
    return MappingType(parts[0], parse_type(parts[1]), text)


def _dynarray(parts: list[str], text: str) -> StorageType:
    return ArrayType(parse_type(parts[0]), None, text)


def _split(args: str) -> list[str]:
    """Split ``A, B[C, D]`` at its top-level comma."""
    depth = 0
    for i, ch in enumerate(args):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            return [args[:i], args[i + 1:]]
    raise LayoutError(f"cannot read the Vyper type arguments {args!r}")


def vyper_layout(layout: Mapping[str, Any]) -> StorageLayout:
    """The storage part of Vyper's ``layout`` output; a variable of an
    imported module is named ``"module.variable"``.

    Raises:
        LayoutError: an entry has no slot or an unreadable type.
    """
    variables: dict[str, Variable] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for name, entry in node.items():
            if not isinstance(entry, Mapping):
                continue
            if "slot" in entry and "type" in entry:
                full = prefix + name
                variables[full] = Variable(full, int(entry["slot"]), 0, parse_type(str(entry["type"])))
            else:
                walk(entry, f"{prefix}{name}.")

    walk(layout.get("storage_layout", {}), "")
    return StorageLayout(variables, VyperRules())
