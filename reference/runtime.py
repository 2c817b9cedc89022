"""The runtime every generated reference model uses.

It is small on purpose: uint256 arithmetic that reverts like the EVM, maps
with default values, the revert exception hierarchy, environment inputs,
events, the abstract signature, and the world that holds every module's
state and undoes a reverted action as a whole.

Values: ``uint256``, ``address`` and ``bytes32`` are Python ``int`` (an address
is its 160-bit number), ``bool`` is ``bool``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from eth_hash.auto import keccak

UINT256_MAX = 2**256 - 1
MAX_UINT256 = UINT256_MAX
MAX_UINT112 = 2**112 - 1
ZERO_ADDRESS = 0


# ------------------------------------------------------------------ reverts


class Revert(Exception):
    """An action reverted. ``reason`` is the revert string, or None for a bare
    revert (arithmetic faults)."""

    reason: ClassVar[str | None] = None

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or (self.reason or type(self).__name__))


class ArithmeticRevert(Revert):
    """A bare revert from checked arithmetic (no reason string)."""


class Overflow(ArithmeticRevert):
    """A result above 2**256 - 1."""


class Underflow(ArithmeticRevert):
    """A subtraction below zero."""


class DivisionByZero(ArithmeticRevert):
    """A division or modulo by zero."""


class IndexOutOfRange(ArithmeticRevert):
    """A list index past its end."""


class SpecViolation(AssertionError):
    """The model broke one of the spec's own rules (an invariant or an
    `ensures`). This is a bug in the spec, never a revert."""


def require(condition: bool, error: type[Revert]) -> None:
    """Revert with ``error`` unless ``condition`` holds.

    Raises:
        Revert: the given subclass, when the condition is false.
    """
    if not condition:
        raise error()


# --------------------------------------------------------------- arithmetic


def add(a: int, b: int) -> int:
    """a + b. Raises Overflow above 2**256 - 1."""
    r = a + b
    if r > UINT256_MAX:
        raise Overflow(f"{a} + {b}")
    return r


def sub(a: int, b: int) -> int:
    """a - b. Raises Underflow below zero."""
    if b > a:
        raise Underflow(f"{a} - {b}")
    return a - b


def mul(a: int, b: int) -> int:
    """a * b. Raises Overflow above 2**256 - 1."""
    r = a * b
    if r > UINT256_MAX:
        raise Overflow(f"{a} * {b}")
    return r


def div(a: int, b: int) -> int:
    """a / b rounded down. Raises DivisionByZero."""
    if b == 0:
        raise DivisionByZero(f"{a} / 0")
    return a // b


def mod(a: int, b: int) -> int:
    """a % b. Raises DivisionByZero."""
    if b == 0:
        raise DivisionByZero(f"{a} % 0")
    return a % b


def pow_(a: int, b: int) -> int:
    """a ** b. Raises Overflow above 2**256 - 1."""
    if a > 1 and b > 256:
        raise Overflow(f"{a} ** {b}")
    r = a**b
    if r > UINT256_MAX:
        raise Overflow(f"{a} ** {b}")
    return r


# Rules (invariants, lemmas, ensures) state mathematical facts, so their
# arithmetic is exact: no overflow, and a negative difference stays negative.
# Division by zero in a rule gives 0, as in SMT-LIB's integer division.


def exact_add(a: int, b: int) -> int:
    return a + b


def exact_sub(a: int, b: int) -> int:
    return a - b


def exact_mul(a: int, b: int) -> int:
    return a * b


def exact_div(a: int, b: int) -> int:
    return a // b if b else 0


def exact_mod(a: int, b: int) -> int:
    return a % b if b else a


def exact_pow(a: int, b: int) -> int:
    return int(a**b)


def mul_div_down(a: int, b: int, c: int) -> int:
    """a * b / c rounded down; the product is checked.

    Raises:
        Overflow: a * b above 2**256 - 1.
        DivisionByZero: c is zero.
    """
    return div(mul(a, b), c)


def mul_div_up(a: int, b: int, c: int) -> int:
    """a * b / c rounded up; the product is checked.

    Raises:
        Overflow: a * b above 2**256 - 1.
        DivisionByZero: c is zero.
    """
    p = mul(a, b)
    return div(p, c) + (1 if mod(p, c) != 0 else 0)


def div_up(a: int, b: int) -> int:
    """a / b rounded up. Raises DivisionByZero."""
    return div(a, b) + (1 if mod(a, b) != 0 else 0)


def isqrt(a: int) -> int:
    """The floor of the square root of a."""
    return math.isqrt(a)


def hash_(*words: int | bool) -> int:
    """keccak256 of the ABI encoding of static words (uint256, address,
    bytes32, bool), as a bytes32 integer."""
    data = b"".join(int(w).to_bytes(32, "big") for w in words)
    return int.from_bytes(keccak(data), "big")


def key_of(name: str) -> int:
    """The bytes32 key of a governed parameter: keccak256 of "module.name"."""
    return int.from_bytes(keccak(name.encode()), "big")


def at(items: tuple[int, ...], index: int) -> int:
    """items[index]. Raises IndexOutOfRange."""
    if index >= len(items):
        raise IndexOutOfRange(f"index {index} of {len(items)}")
    return items[index]


# ------------------------------------------------------------- decay, tiers


def level_of(levels: tuple[int, ...], amount: int) -> int:
    """How many ascending thresholds ``amount`` reaches (0 = below the first)."""
    return sum(1 for t in levels if amount >= t)


def decay_at(periods: tuple[int, ...], level: int, backed: int, since: int, now: int) -> int:
    """The effective level at ``now`` of a member at ``level`` since ``since``.

    It falls one level every ``periods[current level - 1]`` seconds and never
    below ``backed``. A ``now`` before ``since`` counts as no time passed;
    ``level`` at or below ``backed`` gives ``backed``.
    """
    if level <= backed:
        return backed
    elapsed = now - since if now > since else 0
    current = min(level, len(periods))
    while current > backed:
        period = periods[current - 1]
        if elapsed < period:
            break
        elapsed -= period
        current -= 1
    return current


# -------------------------------------------------------------------- maps


class Map(dict):
    """A map whose missing keys read as the default value.

    Reading a missing scalar does not insert it; reading a missing nested map
    or record inserts a fresh one, so that ``m[a][b] = v`` works.
    """

    __slots__ = ("default",)

    def __init__(self, default: Callable[[], Any]) -> None:
        super().__init__()
        self.default = default

    def __missing__(self, key: Any) -> Any:
        value = self.default()
        if isinstance(value, Map) or hasattr(value, "__dataclass_fields__"):
            if Journal.entries is not None:
                Journal.entries.append((self, key, _ABSENT))
            self[key] = value
        return value

    def __deepcopy__(self, memo: dict[int, Any]) -> Map:
        return clone(self)


def clone(value: Any) -> Any:
    """A deep copy of a piece of model state: ints and bools as they are, maps,
    records, module states and dicts of them copied all the way down.

    It does what ``copy.deepcopy`` does for these values, several times
    faster: the model copies the modules an action may write before every
    action, to put them back if it reverts.
    """
    t = type(value)
    if t in _IMMUTABLE:
        return value
    if t is Map or isinstance(value, Map):
        out = Map(value.default)
        if value:
            if type(next(iter(value.values()))) in _IMMUTABLE:
                # a map's values share one type: scalars are copied in one go
                dict.update(out, value)
            else:
                for k, v in value.items():
                    dict.__setitem__(out, k, clone(v))
        return out
    if t is dict:
        return {k: clone(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        copied = object.__new__(t)
        fields = value.__dict__
        into = copied.__dict__
        into.update(fields)
        for k, v in fields.items():
            if type(v) not in _IMMUTABLE:
                into[k] = clone(v)
        return copied
    return value


# the types of model values that are never changed in place (shared by a copy)
_IMMUTABLE = frozenset({int, bool, bytes, str, type(None)})


def map_of(default: Callable[[], Any]) -> Callable[[], Map]:
    """A dataclass default factory for a map with the given value default."""
    return lambda: Map(default)


def total(m: Map) -> int:
    """The sum of a map's values (``sum`` in rules)."""
    return sum(m.values())


# --------------------------------------------------- environment, events, sigs


@dataclass(frozen=True)
class Env:
    """The inputs of an action that come from the chain, not the caller's args."""

    caller: int
    now: int
    block_number: int = 1
    chain_id: int = 1

    def inner(self, caller: int) -> Env:
        """The environment of a call made by the module at address ``caller``."""
        return Env(caller, self.now, self.block_number, self.chain_id)


@dataclass(frozen=True)
class Event:
    """An emitted event: the emitting module, its name and its fields."""

    module: str
    name: str
    args: tuple[tuple[str, int | bool], ...]


@dataclass(frozen=True)
class Signature:
    """The abstract signature: who signed which request, for which chain and
    verifying contract. ``canonical`` is false for a malleated (high-s)
    signature, which the contracts reject.

    What it covers, field by field, is what an EIP-712 signature covers: the
    domain's chain id and verifying contract (``chain_id``,
    ``verifying_contract``; the domain's name and version are fixed per
    contract), the request's type (``request_type``: each type has its own
    type hash) and every field of the request, nonce and expiry included
    (``request``). ``signer`` is the address the bytes recover to, 0 when
    they recover to nobody (a malformed ``v`` or ``r``)."""

    signer: int
    request_type: str
    request: Any
    chain_id: int
    verifying_contract: int
    canonical: bool = True


def signed_by(sig: Signature, owner: int, request: Any, request_type: str, env: Env, contract: int) -> bool:
    """Whether ``sig`` is ``owner``'s canonical signature over ``request``
    for this chain and this verifying contract. The zero address signs
    nothing: a signature that recovers to nobody is no one's (the contracts
    recover the zero address from malformed bytes)."""
    return (
        owner != 0
        and sig.canonical
        and sig.signer == owner
        and sig.request_type == request_type
        and sig.request == request
        and sig.chain_id == env.chain_id
        and sig.verifying_contract == contract
    )


# ------------------------------------------------------------ the undo log


class _Absent:
    """What an undo-log entry holds for a key or attribute that was not there."""


_ABSENT = _Absent()


class Journal:
    """The undo log of a dry run (:meth:`reference.model.Model.dry_run`):
    while ``entries`` is a list, every write the generated code makes to the
    state (a map's item, a record's or a module state's field, a nested map
    or record a read inserts) first records what it overwrites, and
    :func:`undo` puts it all back, last write first. Outside a dry run
    ``entries`` is None and nothing is recorded."""

    entries: list[tuple[Any, Any, Any]] | None = None


def log_item(container: dict[Any, Any], key: Any) -> None:
    """Record ``container[key]`` (or its absence) before the generated code writes it."""
    entries = Journal.entries
    if entries is not None:
        entries.append((container, key, dict.get(container, key, _ABSENT)))


def log_field(obj: Any, name: str) -> None:
    """Record the field ``name`` of ``obj`` (a record or a module state) before the generated code writes it."""
    entries = Journal.entries
    if entries is not None:
        entries.append((obj, _FIELD, (name, obj.__dict__.get(name, _ABSENT))))


_FIELD = _Absent()  # (the key of a field's entry)


def undo(entries: list[tuple[Any, Any, Any]]) -> None:
    """Put back every write ``entries`` recorded, last first."""
    for target, key, old in reversed(entries):
        if key is _FIELD:
            name, value = old
            if value is _ABSENT:
                target.__dict__.pop(name, None)
            else:
                target.__dict__[name] = value
        elif old is _ABSENT:
            dict.pop(target, key, None)
        else:
            dict.__setitem__(target, key, old)
    entries.clear()


def rewind(entries: list[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, Any]]:
    """Put back every write ``entries`` recorded, last first, as :func:`undo`
    does, keeping ``entries``; returns the log that makes the writes again
    when given to :func:`undo` (each entry holding the value it put back)."""
    again: list[tuple[Any, Any, Any]] = []
    for target, key, old in reversed(entries):
        if key is _FIELD:
            name, value = old
            again.append((target, _FIELD, (name, target.__dict__.get(name, _ABSENT))))
            if value is _ABSENT:
                target.__dict__.pop(name, None)
            else:
                target.__dict__[name] = value
        else:
            again.append((target, key, dict.get(target, key, _ABSENT)))
            if old is _ABSENT:
                dict.pop(target, key, None)
            else:
                dict.__setitem__(target, key, old)
    return again


# -------------------------------------------------------------------- world


@dataclass
class World:
    """Every module's state, their addresses, and the events of the current
    action. ``code`` holds the generated module namespaces by name."""

    state: dict[str, Any]
    address: dict[str, int]
    code: Any
    events: list[Event] = field(default_factory=list)
    # spec coverage (a model generated with probes): the clause sides seen in
    # the current action, and the emits it reached (see spec.clauses)
    seen: set[tuple[str, bool]] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["state"][name]
        except KeyError:
            raise AttributeError(name) from None

    def emit(self, module: str, name: str, **args: int | bool) -> None:
        """Record an event of ``module``."""
        self.events.append(Event(module, name, tuple(args.items())))

    def probe(self, clause: str, value: bool) -> bool:
        """Record that ``clause`` (a require's condition, an if's test) was ``value``; return it."""
        self.__dict__["seen"].add((clause, bool(value)))
        return value

    def probe_emit(self, clause: str) -> None:
        """Record that the emit ``clause`` ran (it counts if the action does not revert)."""
        self.__dict__["emitted"].add(clause)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of every module's state."""
        return clone(self.state)

    def restore(self, snap: dict[str, Any]) -> None:
        """Put back a snapshot taken with :meth:`snapshot`."""
        self.state = snap


def _keys(value: Any, out: set[int]) -> None:
    if isinstance(value, Map):
        for k, v in value.items():
            if isinstance(k, int):
                out.add(k)
            _keys(v, out)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _keys(getattr(value, name), out)


def for_all(w: World, domains: tuple[Any, ...], body: Callable[..., bool]) -> bool:
    """Check ``body`` for every combination of the keys the state mentions.

    A runtime check cannot range over all 2**256 values; it checks every key
    that appears in some map, every module address, and 0 (standing for every
    key no map mentions, whose entries all hold their defaults). The prover
    checks the full quantifier.
    """
    keys: set[int] = {0, *w.address.values()}
    for st in w.state.values():
        _keys(st, keys)
    ordered = sorted(keys)
    combos: list[tuple[int, ...]] = [()]
    for _ in domains:
        combos = [(*c, k) for c in combos for k in ordered]
    return all(body(*c) for c in combos)
