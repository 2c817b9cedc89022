"""Backend-neutral Solidity ABI handling on top of eth-abi.

Both EVM backends share this module: it turns a JSON ABI into an index of
functions and events, encodes calls and constructor arguments, and decodes
return data, logs and revert data.  Decoded addresses are always checksummed
strings; dynamic arrays and tuples (Vyper structs) come back as Python tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from eth_abi import decode as _abi_decode
from eth_abi import encode as _abi_encode
from eth_abi.exceptions import DecodingError, EncodingError
from eth_abi.grammar import BasicType, TupleType, parse
from eth_utils import keccak, to_checksum_address

from evm_backend.errors import AbiError

#: A contract ABI as produced by a compiler: a list of JSON objects.
AbiJson = Sequence[Mapping[str, Any]]

#: Selector of ``Error(string)``, the payload of ``assert x, "reason"``.
ERROR_SELECTOR: Final = bytes.fromhex("08c379a0")
#: Selector of Solidity's ``Panic(uint256)``.
PANIC_SELECTOR: Final = bytes.fromhex("4e487b71")


def canonical_type(param: Mapping[str, Any]) -> str:
    """Return the canonical ABI type of a JSON ABI parameter.

    Tuples (structs) are spelled out, e.g. ``(uint256,address)[]``.

    Raises:
        AbiError: the parameter has no ``type``, or a tuple has no components.
    """
    try:
        kind = str(param["type"])
    except KeyError:
        raise AbiError(f"ABI parameter without a type: {dict(param)!r}") from None
    if kind.startswith("tuple"):
        components = param.get("components")
        if components is None:
            raise AbiError(f"tuple ABI parameter without components: {dict(param)!r}")
        inner = ",".join(canonical_type(c) for c in components)
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@lru_cache(maxsize=1024)
def _parsed(type_str: str) -> BasicType | TupleType:
    return parse(type_str)


@lru_cache(maxsize=65536)
def checksum_address(address: str | bytes) -> str:
    """Return the EIP-55 checksummed form of a hex or 20-byte address.

    Raises:
        ValueError: ``address`` is not an address.
    """
    return str(to_checksum_address(address))


def _normalize(node: BasicType | TupleType, value: Any) -> Any:
    """Checksum every address inside a decoded value of type ``node``."""
    if node.is_array:
        item = node.item_type
        return tuple(_normalize(item, v) for v in value)
    if isinstance(node, TupleType):
        return tuple(_normalize(c, v) for c, v in zip(node.components, value, strict=True))
    if node.base == "address":
        return checksum_address(value)
    return value


def _needs_normalizing(node: BasicType | TupleType) -> bool:
    if node.is_array:
        return _needs_normalizing(node.item_type)
    if isinstance(node, TupleType):
        return any(_needs_normalizing(c) for c in node.components)
    return bool(node.base == "address")


_WordDecoder = Callable[[bytes], Any]


def _word_decoder(type_str: str) -> _WordDecoder | None:
    """A decoder of one 32-byte word for a basic static type, else ``None``.

    It enforces the same rules as eth-abi's strict decoder: value in range,
    padding bytes zero, booleans 0 or 1.
    """
    node = _parsed(type_str)
    if node.is_array or isinstance(node, TupleType) or node.is_dynamic:
        return None
    base, sub = node.base, node.sub
    if base == "uint":
        limit = 1 << int(sub)

        def uint(word: bytes) -> int:
            value = int.from_bytes(word, "big")
            if value >= limit:
                raise AbiError(f"{type_str} out of range: {word.hex()}")
            return value

        return uint
    if base == "int":
        bits = int(sub)

        def sint(word: bytes) -> int:
            value = int.from_bytes(word, "big", signed=True)
            if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
                raise AbiError(f"{type_str} out of range: {word.hex()}")
            return value

        return sint
    if base == "address":

        def address(word: bytes) -> str:
            if any(word[:12]):
                raise AbiError(f"address with non-zero padding: {word.hex()}")
            return checksum_address(word[12:])

        return address
    if base == "bool":

        def boolean(word: bytes) -> bool:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise AbiError(f"bool out of range: {word.hex()}")
            return value == 1

        return boolean
    if base == "bytes" and sub:
        size = int(sub)

        def fixed_bytes(word: bytes) -> bytes:
            if any(word[size:]):
                raise AbiError(f"{type_str} with non-zero padding: {word.hex()}")
            return word[:size]

        return fixed_bytes
    return None


@lru_cache(maxsize=1024)
def _static_decoders(types: tuple[str, ...]) -> tuple[_WordDecoder, ...] | None:
    decoders = []
    for type_str in types:
        decoder = _word_decoder(type_str)
        if decoder is None:
            return None
        decoders.append(decoder)
    return tuple(decoders)


def decode_word(type_str: str, word: bytes) -> Any:
    """Decode one 32-byte word (e.g. an indexed event topic) of a basic static type.

    Raises:
        AbiError: the word is not a valid value of ``type_str``.
    """
    decoder = _word_decoder(type_str)
    if decoder is None or len(word) != 32:
        return decode_values([type_str], word)[0]
    return decoder(word)


def decode_values(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """Decode ABI-encoded ``data`` as the tuple ``types``.

    Addresses come back checksummed, arrays and tuples as Python tuples.

    Raises:
        AbiError: ``data`` is not a valid encoding of ``types``.
    """
    key = tuple(types)
    fast = _static_decoders(key)
    if fast is not None and len(data) >= 32 * len(fast):
        return tuple(dec(data[32 * i : 32 * i + 32]) for i, dec in enumerate(fast))
    try:
        values = _abi_decode(list(types), data)
    except (DecodingError, ValueError, TypeError) as exc:
        raise AbiError(f"cannot decode {data.hex()!r} as ({','.join(types)}): {exc}") from None
    out = []
    for type_str, value in zip(types, values, strict=True):
        node = _parsed(type_str)
        out.append(_normalize(node, value) if _needs_normalizing(node) else value)
    return tuple(out)


def encode_values(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """ABI-encode ``values`` as the tuple ``types``.

    Raises:
        AbiError: the number of values differs from the number of types, or a
            value does not fit its type.
    """
    if len(types) != len(values):
        raise AbiError(f"expected {len(types)} values for ({','.join(types)}), got {len(values)}")
    try:
        return bytes(_abi_encode(list(types), list(values)))
    except (EncodingError, ValueError, TypeError, OverflowError) as exc:
        raise AbiError(f"cannot encode {list(values)!r} as ({','.join(types)}): {exc}") from None


@dataclass(frozen=True)
class AbiParam:
    """One input or output of a function or event."""

    name: str
    type: str
    indexed: bool = False


def _params(raw: Iterable[Mapping[str, Any]]) -> tuple[AbiParam, ...]:
    return tuple(
        AbiParam(name=str(p.get("name", "")), type=canonical_type(p), indexed=bool(p.get("indexed"))) for p in raw
    )


@dataclass(frozen=True)
class AbiFunction:
    """An external function of a contract."""

    name: str
    inputs: tuple[AbiParam, ...]
    outputs: tuple[AbiParam, ...]
    state_mutability: str
    signature: str = field(init=False)
    selector: bytes = field(init=False)

    def __post_init__(self) -> None:
        signature = f"{self.name}({','.join(p.type for p in self.inputs)})"
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "selector", keccak(text=signature)[:4])

    @property
    def input_types(self) -> tuple[str, ...]:
        """Canonical types of the inputs."""
        return tuple(p.type for p in self.inputs)

    @property
    def output_types(self) -> tuple[str, ...]:
        """Canonical types of the outputs."""
        return tuple(p.type for p in self.outputs)

    @property
    def is_read_only(self) -> bool:
        """True for ``view`` and ``pure`` functions."""
        return self.state_mutability in ("view", "pure")

    def encode_call(self, args: Sequence[Any]) -> bytes:
        """Return the calldata that calls this function with ``args``.

        Raises:
            AbiError: wrong number of arguments, or an argument does not fit.
        """
        if len(args) != len(self.inputs):
            raise AbiError(f"{self.signature} takes {len(self.inputs)} arguments, got {len(args)}")
        return self.selector + encode_values(self.input_types, args)

    def decode_output(self, data: bytes) -> Any:
        """Decode return data: ``None`` with no outputs, the value with one, else a tuple.

        Raises:
            AbiError: ``data`` does not decode as the function's outputs.
        """
        if not self.outputs:
            return None
        values = decode_values(self.output_types, data)
        return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class AbiCustomError:
    """A custom error a contract declares (``error Name(args)``), and the selector its revert data starts with."""

    name: str
    inputs: tuple[AbiParam, ...]
    signature: str = field(init=False)
    selector: bytes = field(init=False)

    def __post_init__(self) -> None:
        signature = f"{self.name}({','.join(p.type for p in self.inputs)})"
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "selector", keccak(text=signature)[:4])


@dataclass(frozen=True)
class AbiEvent:
    """An event a contract can emit."""

    name: str
    inputs: tuple[AbiParam, ...]
    anonymous: bool
    signature: str = field(init=False)
    topic0: bytes = field(init=False)

    def __post_init__(self) -> None:
        signature = f"{self.name}({','.join(p.type for p in self.inputs)})"
        object.__setattr__(self, "signature", signature)
        object.__setattr__(self, "topic0", keccak(text=signature))

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        """Decode a log's topics and data into ``{argument name: value}``.

        An indexed argument of a dynamic type (string, bytes, array, struct) is
        stored on chain only as its keccak hash; it decodes to those 32 bytes.

        Raises:
            AbiError: the log does not match this event.
        """
        indexed_topics = list(topics if self.anonymous else topics[1:])
        indexed = [p for p in self.inputs if p.indexed]
        if len(indexed_topics) != len(indexed):
            raise AbiError(f"log has {len(indexed_topics)} indexed topics, {self.signature} has {len(indexed)}")
        plain = [p for p in self.inputs if not p.indexed]
        plain_values = iter(decode_values([p.type for p in plain], data))
        topic_values = iter(indexed_topics)
        out: dict[str, Any] = {}
        for param in self.inputs:
            if not param.indexed:
                out[param.name] = next(plain_values)
                continue
            topic = next(topic_values)
            node = _parsed(param.type)
            if node.is_dynamic or node.is_array or isinstance(node, TupleType):
                out[param.name] = bytes(topic)
            else:
                out[param.name] = decode_word(param.type, bytes(topic))
        return out


class ContractAbi:
    """An index over a JSON ABI: functions by name and signature, events by topic."""

    def __init__(self, abi: AbiJson) -> None:
        """Index ``abi``.

        Raises:
            AbiError: an entry is malformed.
        """
        self.json: tuple[Mapping[str, Any], ...] = tuple(abi)
        self._by_name: dict[str, list[AbiFunction]] = {}
        self._by_signature: dict[str, AbiFunction] = {}
        self._events_by_topic: dict[bytes, AbiEvent] = {}
        self._events_by_name: dict[str, AbiEvent] = {}
        self._anonymous_events: list[AbiEvent] = []
        #: The custom errors the contract declares, in ABI order.
        self.custom_errors: tuple[AbiCustomError, ...] = ()
        self.constructor_inputs: tuple[AbiParam, ...] = ()
        for entry in self.json:
            kind = entry.get("type", "function")
            if kind == "function":
                fn = AbiFunction(
                    name=str(entry["name"]),
                    inputs=_params(entry.get("inputs", ())),
                    outputs=_params(entry.get("outputs", ())),
                    state_mutability=str(entry.get("stateMutability", "nonpayable")),
                )
                self._by_name.setdefault(fn.name, []).append(fn)
                self._by_signature[fn.signature] = fn
            elif kind == "event":
                ev = AbiEvent(
                    name=str(entry["name"]),
                    inputs=_params(entry.get("inputs", ())),
                    anonymous=bool(entry.get("anonymous", False)),
                )
                self._events_by_name[ev.name] = ev
                if ev.anonymous:
                    self._anonymous_events.append(ev)
                else:
                    self._events_by_topic[ev.topic0] = ev
            elif kind == "constructor":
                self.constructor_inputs = _params(entry.get("inputs", ()))
            elif kind == "error":
                self.custom_errors += (AbiCustomError(str(entry["name"]), _params(entry.get("inputs", ()))),)

    @property
    def function_names(self) -> tuple[str, ...]:
        """Names of all functions, in ABI order, without repeats."""
        return tuple(self._by_name)

    @property
    def events(self) -> tuple[AbiEvent, ...]:
        """All events."""
        return tuple(self._events_by_name.values())

    def function(self, name: str, n_args: int | None = None) -> AbiFunction:
        """Find a function by name (``"bump"``) or signature (``"bump(uint256)"``).

        When Vyper default arguments produce several overloads of one name,
        ``n_args`` picks the one with that many inputs.

        Raises:
            AbiError: no such function, or the choice is ambiguous.
        """
        if "(" in name:
            try:
                return self._by_signature[name.replace(" ", "")]
            except KeyError:
                raise AbiError(f"no function with signature {name!r}") from None
        candidates = self._by_name.get(name)
        if not candidates:
            raise AbiError(f"no function named {name!r}; known: {', '.join(self.function_names) or 'none'}")
        if len(candidates) == 1:
            return candidates[0]
        if n_args is not None:
            fitting = [f for f in candidates if len(f.inputs) == n_args]
            if len(fitting) == 1:
                return fitting[0]
        sigs = ", ".join(f.signature for f in candidates)
        raise AbiError(f"{name!r} is overloaded ({sigs}); pass the full signature")

    def event(self, name: str) -> AbiEvent:
        """Find an event by name.

        Raises:
            AbiError: no such event.
        """
        try:
            return self._events_by_name[name]
        except KeyError:
            raise AbiError(f"no event named {name!r}") from None

    def encode_constructor(self, args: Sequence[Any]) -> bytes:
        """Encode constructor arguments (to append to the init code).

        Raises:
            AbiError: wrong number of arguments, or an argument does not fit.
        """
        types = [p.type for p in self.constructor_inputs]
        if len(args) != len(types):
            raise AbiError(f"constructor takes {len(types)} arguments, got {len(args)}")
        return encode_values(types, args) if types else b""

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> tuple[str, dict[str, Any]] | None:
        """Decode a log emitted by this contract into ``(event name, args)``.

        Returns ``None`` when no event of this ABI matches the log.
        """
        candidates: list[AbiEvent] = []
        if topics and topics[0] in self._events_by_topic:
            candidates.append(self._events_by_topic[topics[0]])
        candidates.extend(self._anonymous_events)
        for ev in candidates:
            try:
                return ev.name, ev.decode(topics, data)
            except AbiError:
                continue
        return None


def decode_revert_reason(data: bytes) -> str | None:
    """Return the reason of ``Error(string)`` revert data, else ``None``.

    A bare ``revert`` (no data), a ``Panic(uint256)`` and any other payload
    all give ``None``; the raw bytes stay available to the caller.
    """
    if len(data) < 4 or data[:4] != ERROR_SELECTOR:
        return None
    try:
        (reason,) = _abi_decode(["string"], data[4:])
    except (DecodingError, ValueError, TypeError, UnicodeDecodeError):
        return None
    return str(reason)


def decode_panic_code(data: bytes) -> int | None:
    """Return the code of ``Panic(uint256)`` revert data, else ``None``."""
    if len(data) != 36 or data[:4] != PANIC_SELECTOR:
        return None
    return int.from_bytes(data[4:], "big")
