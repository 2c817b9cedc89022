"""What the harness passes around: steps, differences, step reports, and the
conversions between model values, ABI values and EVM words."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from eth_utils import keccak, to_checksum_address

from evm_backend.interface import Backend
from evm_backend.records import Receipt
from evm_backend.storage import Slice, StorageLayout
from reference.model import Outcome
from reference.runtime import Map
from spec import ir

MAX_TIME_STEP = 400 * 86400


# Views that take numbers are evaluated at one actor (in turn, by block
# number), at the latest VIEW_STATE_BLOCKS block numbers (no older than
# MAX_VIEW_BLOCK_AGE blocks) and VIEW_STATE_MOMENTS timestamps the state holds,
# and at most MAX_VIEW_CALLS argument sets per view: every call costs, and
# py-evm is slow.
VIEW_STATE_BLOCKS = 3


VIEW_STATE_MOMENTS = 1


MAX_VIEW_BLOCK_AGE = 256


MAX_VIEW_CALLS = 12


# An observable's path ("vault.stake[0x...]"), built only when it is shown.
PathFn = Callable[[], str]


@dataclass(frozen=True)
class Step:
    """One step of a trace: an action, or the clock moving forward."""

    kind: Literal["action", "time"]
    module: str = ""
    action: str = ""
    caller: int = 0
    args: tuple[Any, ...] = ()
    seconds: int = 0
    blocks: int = 0

    def describe(self) -> str:
        if self.kind == "time":
            return f"advance time by {self.seconds} s and {self.blocks} block(s)"
        shown = ", ".join(_show(a) for a in self.args)
        return f"{self.module}.{self.action}({shown}) from {_show_addr(self.caller)}"


@dataclass(frozen=True)
class Difference:
    """One observable that differs: where, and both sides' values."""

    where: str
    model: Any
    evm: Any

    def __str__(self) -> str:
        return f"{self.where}: model {_show(self.model)} != evm {_show(self.evm)}"


@dataclass
class StepReport:
    """What a step did on both sides, and how they differ."""

    step: Step
    model: Outcome | None
    evm: Receipt | None
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


#: The names a trace gives addresses (``actor:1``, a module's name, a role
#: such as ``merchant``), set by the harness when it deploys (see
#: :meth:`conformance.harness.deploy.DeployLayer.label_addresses`).
ADDRESS_LABELS: dict[int, str] = {}


def _show_addr(v: int) -> str:
    return ADDRESS_LABELS.get(v) or f"0x{v:040x}"[:10] + "…"


def _show(v: Any) -> str:
    from spec.numbers import show_number

    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        if v and v in ADDRESS_LABELS:  # (0 is a number as often as the zero address: shown as 0)
            return ADDRESS_LABELS[v]
        if 2**100 <= v < 2**160 and v not in (2**112 - 1, 2**128 - 1):
            return f"0x{v:040x}"
        return show_number(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    return repr(v)


def create_address(sender: int, nonce: int) -> int:
    """The address of the contract that ``sender`` creates with ``nonce``."""
    import rlp

    raw = rlp.encode([sender.to_bytes(20, "big"), nonce])
    return int.from_bytes(keccak(raw)[12:], "big")


@functools.lru_cache(maxsize=4096)
def to_checksum(v: int) -> str:
    """An address number as a checksummed hex string."""
    return str(to_checksum_address(v.to_bytes(20, "big")))


def to_abi(value: Any, t: ir.Type) -> Any:
    """A model value as the ABI encoder wants it."""
    if t == ir.ADDRESS:
        return to_checksum(int(value))
    if t == ir.BYTES32:
        return int(value).to_bytes(32, "big")
    if t == ir.BOOL:
        return bool(value)
    if isinstance(t, ir.RecordT):
        raise TypeError("records are converted by the harness, which knows their fields")
    return int(value)


def normal(value: Any) -> Any:
    """A comparable plain value: ints for numbers, addresses and bytes32;
    tuples for records and ABI structs."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    if isinstance(value, bytes | bytearray):
        return int.from_bytes(value, "big")
    if hasattr(value, "__dataclass_fields__"):
        return tuple(normal(getattr(value, f)) for f in value.__dataclass_fields__)
    if isinstance(value, list | tuple):
        return tuple(normal(v) for v in value)
    return value


def peek(m: Map, key: Any) -> Any:
    """Read a model map entry without inserting a default."""
    if key in m:
        return m[key]
    return m.default()


@dataclass(frozen=True)
class _Saved:
    """Both sides at one moment: the EVM snapshot, the model's state, the
    clock, whether every change up to then was compared (so that the
    incremental comparison may start from there), and the storage index of
    the entries observable then (so that what a sequence compares depends on
    that sequence alone, never on the sequences that ran before it: the same
    sequence finds the same differences in any process, in any order)."""

    snapshot: int
    model: dict[str, Any]
    clock: tuple[int, int]
    compared: bool
    index: dict[tuple[str, int], frozenset[tuple[str, str, tuple[int, ...]]]]
    # the watched words of the index (storage.py), read the first time both
    # sides go back here: the same every time after (None: not read yet)
    watch: dict[str, tuple[list[str], list[int], list[int]]] | None = None
    # what the views knew then (views.py: ViewComparison.saved_views): the
    # same state gives the same answers, so they stand again after going back
    views: Any = None
    # the slots the watched words are read from, by module (storage.py:
    # watched_slots): the index's, sorted out when it was made (None: sort
    # them out when first read)
    slots: dict[str, tuple[list[str], list[int]]] | None = None


@dataclass(frozen=True)
class Where:
    """Where the EVM keeps one spec variable: a contract, and either the
    layout that places ``name`` or the getter ``name`` (called with ``args``
    before the map keys; ``index`` picks one of several outputs)."""

    address: str
    layout: StorageLayout | None
    name: str
    args: tuple[Any, ...] = ()
    index: int | None = None


@functools.lru_cache(maxsize=1 << 16)
def _locate(layout: StorageLayout, name: str, keys: tuple[int, ...], width: int) -> tuple[Slice, ...]:
    return layout.locate(name, keys, width=width)


def _path(module: str, name: str, keys: tuple[int, ...]) -> str:
    return f"{module}.{name}" + "".join(f"[{_show_key(k)}]" for k in keys)


def _call_path(module: str, name: str, args: tuple[int, ...]) -> str:
    return f"{module}.{name}(" + ", ".join(_show_key(a) for a in args) + ")"


def _show_key(k: int) -> str:
    # an address by its label (actor:1, pool...), as traces show arguments
    label = ADDRESS_LABELS.get(k) if k else None
    return label or (f"0x{k:x}" if k > 10**9 else str(k))


def _key_types(t: ir.Type) -> list[ir.Type]:
    out = []
    while isinstance(t, ir.MapT):
        out.append(t.key)
        t = t.value
    return out


def _variables(m: ir.Module) -> Iterator[tuple[str, ir.Type, str]]:
    for p in m.params.values():
        yield p.name, p.type, "param"
    for g in m.governed.values():
        yield g.name, g.type, "governed"
    for v in m.state.values():
        yield v.name, v.type, "state"


def _attr(name: str) -> str:
    from reference.codegen import attr

    return attr(name)


class StorageRead:
    """The EVM's value of one entry kept in storage: called, it reads its
    slots; :meth:`value` makes it from words already read (several entries'
    slots read at once, see ``StepComparison._compare_entries``)."""

    __slots__ = ("address", "backend", "slices", "spec", "t")

    def __init__(self, backend: Backend, address: str, slices: tuple[Slice, ...], t: ir.Type, spec: ir.Spec) -> None:
        self.backend, self.address, self.slices, self.t, self.spec = backend, address, slices, t, spec

    def __call__(self) -> Any:
        get = self.backend.get_storage
        return self.value({(self.address, s.slot): get(self.address, s.slot) for s in self.slices})

    def value(self, words: dict[tuple[str, int], int]) -> Any:
        """The entry's value, from ``words`` (by address and slot; its own among them)."""
        t, address, slices = self.t, self.address, self.slices
        if isinstance(t, ir.RecordT):
            fields = self.spec.modules[t.module].records[t.name].fields
            return tuple(_scalar(s.extract(words[(address, s.slot)]), ft)
                         for s, (_, ft) in zip(slices, fields, strict=True))
        return _scalar(slices[0].extract(words[(address, slices[0].slot)]), t)


def _storage_reader(backend: Backend, address: str, slices: tuple[Slice, ...], t: ir.Type,
                    spec: ir.Spec) -> StorageRead:
    return StorageRead(backend, address, slices, t, spec)


def _scalar(word: int, t: ir.Type) -> Any:
    if t == ir.BOOL:
        return bool(word)
    return word


def _getter_reader(backend: Backend, address: str, getter: str, args: Sequence[Any], index: int | None) -> Any:
    def read() -> Any:
        value = backend.call(address, getter, list(args))
        return normal(value if index is None else value[index])

    return read


def _arg_product(choices: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Every combination of one value per parameter, in order."""
    out: list[tuple[int, ...]] = [()]
    for values in choices:
        out = [(*a, v) for a in out for v in values]
    return out


def _spread_product(choices: Sequence[Sequence[int]], limit: int) -> list[tuple[int, ...]]:
    """``_spread(_arg_product(choices), limit)``, without making the whole
    product (four parameters of ten numbers each are 10,000 tuples, of which
    a dozen are kept)."""
    sizes = [len(c) for c in choices]
    total = math.prod(sizes)
    if total <= limit:
        return _arg_product(choices)
    step = (total - 1) / (limit - 1)
    out = []
    for i in range(limit):
        index, picked = round(i * step), []
        for values, size in zip(reversed(choices), reversed(sizes), strict=True):  # the last varies fastest
            index, digit = divmod(index, size)
            picked.append(values[digit])
        out.append(tuple(reversed(picked)))
    return out


def _spread(items: list[tuple[int, ...]], limit: int) -> list[tuple[int, ...]]:
    """At most ``limit`` of ``items``, evenly spaced, always with the first and the last."""
    if len(items) <= limit:
        return items
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]
