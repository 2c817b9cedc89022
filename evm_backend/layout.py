"""Where Vyper keeps things in storage, for reading state straight from slots.

Vyper stores ``m[k]`` of a ``HashMap`` at ``keccak256(slot(m) ++ word(k))``:
the map's slot first, then the key as one 32-byte word (the reverse of
Solidity's order).  ``String``/``Bytes`` keys are hashed to a word first.
"""

from __future__ import annotations

from eth_utils import is_hex_address, keccak, to_canonical_address

from evm_backend.errors import MalformedAddress, OutOfRange

_UINT256_LIMIT = 2**256


def key_word(key: int | str | bytes) -> bytes:
    """Return the 32-byte word Vyper hashes for HashMap key ``key``.

    ``int``: two's complement (so signed keys work); ``str``: a hex address;
    ``bytes``: a 32-byte value (``bytes32``) as is, any other length is the
    content of a ``Bytes``/``String`` key and is hashed.

    Raises:
        ValueError: an ``int`` outside int256/uint256, or a ``str`` that is
            not an address.
    """
    if isinstance(key, bool):
        return int(key).to_bytes(32, "big")
    if isinstance(key, int):
        if not -(2**255) <= key < _UINT256_LIMIT:
            raise OutOfRange(f"HashMap key {key} does not fit in 256 bits")
        return (key % _UINT256_LIMIT).to_bytes(32, "big")
    if isinstance(key, str):
        if not is_hex_address(key):
            raise MalformedAddress(f"HashMap key {key!r} is not an address")
        return bytes(12) + bytes(to_canonical_address(key))
    if len(key) == 32:
        return bytes(key)
    return bytes(keccak(key))


def hashmap_slot(base_slot: int, *keys: int | str | bytes) -> int:
    """Return the slot of ``m[k1][k2]...`` for a HashMap whose layout slot is ``base_slot``.

    Raises:
        ValueError: ``base_slot`` is outside uint256, or a key is invalid
            (see :func:`key_word`).
    """
    if not 0 <= base_slot < _UINT256_LIMIT:
        raise OutOfRange(f"slot {base_slot} is not a uint256")
    slot = base_slot
    for key in keys:
        slot = int.from_bytes(keccak(slot.to_bytes(32, "big") + key_word(key)), "big")
    return slot
