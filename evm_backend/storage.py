"""Where a contract keeps each variable, whichever compiler built it.

A :class:`StorageLayout` is read from a compiler's own layout output (Vyper's
``-f layout``, solc's ``storageLayout``) by the compiler's module
(:mod:`evm_backend.layout` for Vyper, :mod:`evm_backend.solidity_layout` for
Solidity), which also supplies the few rules that differ between compilers
(:class:`Rules`: how a mapping key and a dynamic array's base give a slot).
Everything else is shared: a caller asks :meth:`StorageLayout.locate` where
``reserve_dcep`` or ``stakes[alice]`` lives and gets :class:`Slice` objects
(slot, byte offset, byte size), one per value, without knowing the compiler.

Types are described by :data:`StorageType`: a value of some bytes, a struct
whose members sit at slot and byte offsets, a mapping, an array, or (for a
compiler whose layout does not describe a struct's members) a run of
consecutive whole-word slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from evm_backend.errors import EvmBackendError

_UINT256_LIMIT = 2**256

#: A mapping or array key: a number, an address as hex, or raw bytes.
Key = int | str | bytes


class LayoutError(EvmBackendError):
    """A layout does not describe the variable, or a key does not fit where it is used."""


@dataclass(frozen=True)
class Slice:
    """Where one value lives: a slot and the bytes of its word it takes.

    ``offset`` counts bytes from the low-order end of the word (solc's
    convention); ``size`` is the value's width in bytes.
    """

    slot: int
    offset: int = 0
    size: int = 32

    def extract(self, word: int) -> int:
        """The value this slice holds in the storage ``word`` of its slot."""
        if self.offset == 0 and self.size == 32:
            return word
        return (word >> (8 * self.offset)) & ((1 << (8 * self.size)) - 1)


@dataclass(frozen=True)
class Value:
    """A value type of ``size`` bytes (an integer, address, bool, fixed bytes)."""

    size: int = 32
    label: str = ""


@dataclass(frozen=True)
class Member:
    """A struct member: its slot and byte offset from the struct's start."""

    name: str
    slot: int
    offset: int
    type: StorageType


@dataclass(frozen=True)
class Struct:
    """A struct whose members the layout describes."""

    members: tuple[Member, ...]
    label: str = ""


@dataclass(frozen=True)
class Words:
    """A value the layout does not break down: ``count`` whole words, or as
    many as the caller asks for when ``count`` is None (Vyper gives each
    struct member a slot of its own, in order)."""

    count: int | None = None
    label: str = ""


@dataclass(frozen=True)
class MappingType:
    """A mapping from ``key`` (the key's type label) to ``value``."""

    key: str
    value: StorageType
    label: str = ""


@dataclass(frozen=True)
class ArrayType:
    """An array of ``element``: fixed (``length``) in place, or dynamic
    (``length`` None) with its length at the variable's slot."""

    element: StorageType
    length: int | None = None
    label: str = ""


StorageType = Value | Struct | Words | MappingType | ArrayType


@dataclass(frozen=True)
class Variable:
    """A storage variable: its first slot, byte offset in it, and type."""

    name: str
    slot: int
    offset: int
    type: StorageType


class Rules(Protocol):
    """What a compiler decides for itself."""

    #: The compiler's name, for messages.
    compiler: str

    def mapping_slot(self, base: int, key: Key, key_type: str) -> int:
        """The slot of entry ``key`` of a mapping whose slot is ``base``."""
        ...

    def array_data(self, slot: int) -> int:
        """The first slot of the elements of a dynamic array whose slot is ``slot``."""
        ...


@dataclass(frozen=True, eq=False)
class StorageLayout:
    """Every storage variable of one contract, and its compiler's rules."""

    variables: Mapping[str, Variable]
    rules: Rules

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def locate(self, name: str, keys: Sequence[Key] = (), *, width: int = 1) -> tuple[Slice, ...]:
        """Where ``name[k1][k2]...`` lives: one slice per value it holds (a
        struct's members in order). ``width`` is how many values the caller
        expects, for a type the layout leaves undescribed (:class:`Words`).

        Raises:
            LayoutError: no such variable, a key too many, or a struct whose
                member count is not ``width``.
        """
        var = self.variables.get(name)
        if var is None:
            raise LayoutError(f"the layout has no storage variable {name!r}")
        slot, offset, t = var.slot, var.offset, var.type
        for key in keys:
            if isinstance(t, MappingType):
                slot, offset, t = self.rules.mapping_slot(slot, key, t.key), 0, t.value
            elif isinstance(t, ArrayType):
                slot, offset, t = self._element(slot, t, key)
            else:
                raise LayoutError(f"{name} is not indexed that deep ({len(keys)} keys)")
        return _slices(name, slot, offset, t, width)

    def _element(self, slot: int, t: ArrayType, key: Key) -> tuple[int, int, StorageType]:
        if not isinstance(key, int) or isinstance(key, bool) or key < 0:
            raise LayoutError(f"an array index is a non-negative number, not {key!r}")
        base = slot if t.length is not None else self.rules.array_data(slot)
        size = _bytes(t.element)
        if size <= 16:  # small elements share a slot, lowest index in the low-order bytes
            per = 32 // size
            return base + key // per, (key % per) * size, t.element
        return base + key * ((size + 31) // 32), 0, t.element


def _bytes(t: StorageType) -> int:
    """How many bytes a value of ``t`` takes (a whole number of slots past 32)."""
    if isinstance(t, Value):
        return t.size
    if isinstance(t, Words):
        return 32 * (t.count or 1)
    if isinstance(t, Struct):
        return 32 * (1 + max((m.slot for m in t.members), default=0))
    if isinstance(t, ArrayType) and t.length is not None:
        size = _bytes(t.element)
        if size <= 16:
            return 32 * -(-t.length // (32 // size))
        return 32 * t.length * ((size + 31) // 32)
    return 32


def _slices(name: str, slot: int, offset: int, t: StorageType, width: int) -> tuple[Slice, ...]:
    if isinstance(t, Value):
        return (Slice(slot, offset, t.size),)
    if isinstance(t, Words):
        count = t.count if t.count is not None else width
        return tuple(Slice(slot + i) for i in range(count))
    if isinstance(t, Struct):
        out: list[Slice] = []
        for m in t.members:
            if isinstance(m.type, MappingType) or (isinstance(m.type, ArrayType) and m.type.length is None):
                continue  # a struct's mapping or dynamic array holds no value in place
            out.extend(_slices(name, slot + m.slot, m.offset, m.type, 1))
        if len(out) != width:
            raise LayoutError(f"{name} is a struct of {len(out)} values, not {width}")
        return tuple(out)
    raise LayoutError(f"{name} is a {type(t).__name__}: index it down to a value")


def word_key(key: Key) -> bytes:
    """``key`` as the 32-byte word both compilers hash for a value-type key.

    ``int``: two's complement (so signed keys work); ``str``: a hex address;
    ``bytes`` of 32: as is.

    Raises:
        LayoutError: an ``int`` outside int256/uint256, a ``str`` that is not
            an address, or bytes of another length.
    """
    from eth_utils import is_hex_address, to_canonical_address

    if isinstance(key, bool):
        return int(key).to_bytes(32, "big")
    if isinstance(key, int):
        if not -(2**255) <= key < _UINT256_LIMIT:
            raise LayoutError(f"mapping key {key} does not fit in 256 bits")
        return (key % _UINT256_LIMIT).to_bytes(32, "big")
    if isinstance(key, str):
        if not is_hex_address(key):
            raise LayoutError(f"mapping key {key!r} is not an address")
        return bytes(12) + bytes(to_canonical_address(key))
    if len(key) == 32:
        return bytes(key)
    raise LayoutError(f"a {len(key)}-byte key is not a value type")


def check_slot(slot: int) -> int:
    """``slot`` if it is a uint256.

    Raises:
        LayoutError: it is not.
    """
    if not 0 <= slot < _UINT256_LIMIT:
        raise LayoutError(f"slot {slot} is not a uint256")
    return slot


def rules_for(compiler: str) -> Rules:
    """The storage rules of ``compiler`` (``"solidity"`` or ``"vyper"``).

    Raises:
        LayoutError: another compiler.
    """
    from evm_backend.layout import VyperRules
    from evm_backend.solidity_layout import SolidityRules

    known: dict[str, Rules] = {"solidity": SolidityRules(), "vyper": VyperRules()}
    if compiler not in known:
        raise LayoutError(f"no storage rules for {compiler!r} (known: {', '.join(known)})")
    return known[compiler]


def placed(name: str, slot: int, *, offset: int = 0, size: int = 32, depth: int = 0,
           rules: Rules) -> StorageLayout:
    """A layout of one variable put by hand at ``slot`` (``offset`` and
    ``size`` in bytes): a value, or with ``depth`` keys a mapping of mappings
    of it; a value wider than ``size`` (a struct) takes whole words from its slot.

    Raises:
        LayoutError: the slot, offset or size is out of range.
    """
    check_slot(slot)
    if not (0 < size <= 32 and offset >= 0 and offset + size <= 32):
        raise LayoutError(f"{name}: {size} bytes at offset {offset} do not fit a word")
    t: StorageType = Value(size) if (offset, size) != (0, 32) else Words(None)
    if depth == 0:
        return StorageLayout({name: Variable(name, slot, offset, t)}, rules)
    if offset:  # an entry's value at an offset of its slot: a member of a struct
        t = Struct((Member(name, 0, offset, t),))
    for _ in range(depth):
        t = MappingType("t_uint256", t)
    return StorageLayout({name: Variable(name, slot, 0, t)}, rules)
