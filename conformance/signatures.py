"""Signed requests in conformance: real EIP-712 signatures by real keys.

An action with a ``signed`` clause takes a request (a record) and a
signature. The model keeps the signature abstract (``reference.runtime.
Signature``: who signed which request of which type, for which chain and
verifying contract, and whether the encoding is the canonical low-s one);
the contract takes 65 bytes ``r || s || v`` and recovers the signer from the
EIP-712 digest it computes itself. The generator draws a :class:`SigDraw`
placeholder; :func:`sign_requests` turns it, once the request's numbers are
resolved, into a :class:`SignedValue` that carries both: the bytes that
eth-account signs over the typed data (the digest is computed here, from the
binding's domain and the spec's field names and types, independently of the
contract's own hashing), and the abstract signature that says exactly what
was signed.

Besides valid signatures by the request's owner (with the owner's next nonce
and a live expiry), it draws, by :data:`KINDS`: a wrong signer (another
actor, or a key no actor holds), the wrong chain, the wrong verifying
contract, the wrong request type (the same fields signed as another type of
the module: a mint signed, a redeem submitted), a request changed after it
was signed, an expired request, a used (replayed) or future nonce, a
malleated high-s twin of a valid signature, a signature that recovers to
the zero address, and the drawn request signed as it is.

The domain of a module comes from its binding (``"eip712": {"name": ...,
"version": ...}``; the module's name and ``"1"`` by default); the type
string uses the binding's names for the request's fields, in spec order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak

from evm_backend.accounts import derive_private_key
from reference.runtime import Map
from spec import ir

# The order of the secp256k1 group.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# Valid draws weigh as much as all the wrong ones together: a signed action
# must succeed often for the states after it to be reached.
KINDS = (
    "valid", "valid", "valid", "valid", "valid", "valid", "valid", "valid", "valid", "valid",
    "wrong_signer", "stranger", "wrong_chain", "wrong_contract", "wrong_type", "tampered",
    "expired", "replayed", "high_s", "zero", "as_drawn",
)

# Expiries of a live request: now, a little later, much later.
LIVE_EXPIRY = (0, 1, 60, 3600, 86400, 10**9)

# The account index of a key that no actor holds (a stranger's signature).
STRANGER_INDEX = 1000


class SigDraw:
    """A placeholder drawn instead of a signature: what kind of signature to
    make, and picks for the signer and the variations. Resolved by
    :func:`sign_requests` once the request is known."""

    def __init__(self, kind: str, pick: int) -> None:
        self.kind = kind
        self.pick = pick

    def __repr__(self) -> str:
        return f"SigDraw({self.kind!r}, {self.pick})"


@dataclass(frozen=True)
class SignedValue:
    """A signature both sides can take: the abstract one for the model (who
    signed which ``request`` of type ``request_type`` of ``module``, for
    ``chain_id`` and ``contract``; ``canonical`` is false for a high-s
    encoding; ``signer`` is 0 when the bytes recover to nobody) and the 65
    bytes ``r || s || v`` for the contract. ``kind`` says how it was drawn."""

    kind: str
    module: str
    request_type: str
    request: tuple[Any, ...]
    signer: int
    chain_id: int
    contract: int
    canonical: bool
    evm: bytes

    def __repr__(self) -> str:
        return f"sig<{self.kind} {self.request_type} by 0x{self.signer:040x}>"

    def to_json(self) -> dict[str, Any]:
        """A JSON object that :meth:`from_json` reads back."""
        return {"kind": self.kind, "module": self.module, "request_type": self.request_type,
                "request": list(self.request), "signer": self.signer, "chain_id": self.chain_id,
                "contract": self.contract, "canonical": self.canonical, "evm": "0x" + self.evm.hex()}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> SignedValue:
        return cls(str(d["kind"]), str(d["module"]), str(d["request_type"]), tuple(d["request"]),
                   int(d["signer"]), int(d["chain_id"]), int(d["contract"]), bool(d["canonical"]),
                   bytes.fromhex(str(d["evm"]).removeprefix("0x")))


@dataclass(frozen=True)
class Domain:
    """A module's EIP-712 domain name and version, and the names its type
    strings use for the spec's record fields."""

    name: str
    version: str
    field_names: Mapping[str, str]


@dataclass(frozen=True)
class SigningContext:
    """What signing needs: the actors' keys (by address), the chain, the
    modules' addresses and domains."""

    keys: Mapping[int, bytes]
    chain_id: int
    addresses: Mapping[str, int]
    domains: Mapping[str, Domain]

    @property
    def stranger_key(self) -> bytes:
        return derive_private_key("imospec-stranger", STRANGER_INDEX)


_SOL_TYPES = {"uint256": "uint256", "address": "address", "bool": "bool", "bytes32": "bytes32"}


def typed_data(ctx: SigningContext, spec: ir.Spec, module: str, request_type: str, values: tuple[Any, ...],
               chain_id: int, contract: int) -> dict[str, Any]:
    """The EIP-712 typed data of one request, ready for ``encode_typed_data``."""
    rec = spec.modules[module].records[request_type]
    dom = ctx.domains[module]
    fields = []
    message: dict[str, Any] = {}
    for (name, t), v in zip(rec.fields, values, strict=True):
        if not isinstance(t, ir.Prim) or t.name not in _SOL_TYPES:
            raise TypeError(f"a signed request field of type {t} has no EIP-712 type here")
        key = dom.field_names.get(name, name)
        fields.append({"name": key, "type": _SOL_TYPES[t.name]})
        if t == ir.ADDRESS:
            message[key] = f"0x{int(v):040x}"
        elif t == ir.BYTES32:
            message[key] = int(v).to_bytes(32, "big")
        else:
            message[key] = v
    return {
        "types": {
            "EIP712Domain": list(_DOMAIN_FIELDS),
            request_type: fields,
        },
        "primaryType": request_type,
        "domain": {"name": dom.name, "version": dom.version, "chainId": chain_id,
                   "verifyingContract": f"0x{contract:040x}"},
        "message": message,
    }


def sign(key: bytes, data: dict[str, Any]) -> tuple[int, int, int]:
    """``(v, r, s)`` of ``key``'s signature over the typed ``data`` (low s):
    the EIP-191 digest (``0x19``, version 1, the domain separator and the
    struct hash, :func:`typed_digest`) signed as eth-account signs it,
    deterministically (RFC 6979), by a key object made once per key."""
    signature = _signer(key).sign_msg_hash(typed_digest(data))
    return signature.v + 27, signature.r, signature.s


_DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                  {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]

# the EIP-712 atomic types a request's fields have here, and how each value is one 32-byte word
_WORDS: dict[str, Callable[[Any], bytes]] = {
    "uint256": lambda v: int(v).to_bytes(32, "big"),
    "address": lambda v: int(v, 16).to_bytes(32, "big") if isinstance(v, str) else int(v).to_bytes(32, "big"),
    "bool": lambda v: (1 if v else 0).to_bytes(32, "big"),
    "bytes32": lambda v: bytes(v).rjust(32, b"\0") if isinstance(v, bytes) else int(v).to_bytes(32, "big"),
}


def typed_digest(data: dict[str, Any]) -> bytes:
    """The EIP-191 digest that an EIP-712 signature over ``data`` (as
    :func:`typed_data` makes it) signs: ``keccak256(0x19 0x01 ++
    domainSeparator ++ hashStruct(message))``, the type hash and the
    domain separator made once each. A request whose fields are not all
    atomic (uint256, address, bool, bytes32) is encoded by eth-account."""
    primary = data["primaryType"]
    fields = tuple((f["name"], f["type"]) for f in data["types"][primary])
    if any(t not in _WORDS for _, t in fields) or set(data["types"]) != {"EIP712Domain", primary} \
            or data["types"]["EIP712Domain"] != _DOMAIN_FIELDS:
        signable = encode_typed_data(full_message=data)
        return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))
    d = data["domain"]
    message = data["message"]
    struct = _type_hash(primary, fields) + b"".join(_WORDS[t](message[n]) for n, t in fields)
    return bytes(keccak(b"\x19\x01" + _domain_separator(d["name"], d["version"], int(d["chainId"]),
                                                         int(d["verifyingContract"], 16)) + keccak(struct)))


@functools.lru_cache(maxsize=256)
def _type_hash(primary: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    return bytes(keccak(f"{primary}({','.join(f'{t} {n}' for n, t in fields)})".encode()))


@functools.lru_cache(maxsize=256)
def _domain_separator(name: str, version: str, chain_id: int, contract: int) -> bytes:
    return bytes(keccak(
        keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
        + keccak(name.encode()) + keccak(version.encode())
        + chain_id.to_bytes(32, "big") + contract.to_bytes(32, "big")))


@functools.lru_cache(maxsize=256)
def _signer(key: bytes) -> Any:
    """The key object of ``key``, made once: making one derives the public
    key, a scalar multiplication (milliseconds without coincurve)."""
    return keys.PrivateKey(key)


@functools.lru_cache(maxsize=256)
def signer_address(key: bytes) -> int:
    """The address of ``key``."""
    return int(_signer(key).public_key.to_canonical_address().hex(), 16)


def _bytes(v: int, r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v % 256])


def _owner_field(action: ir.Action) -> str:
    """The request field that names the signer in the action's ``signed`` clause."""
    for stmt in ir.walk(action.body):
        if isinstance(stmt, ir.Require) and isinstance(stmt.cond, ir.SignedBy):
            owner = stmt.cond.owner
            if isinstance(owner, ir.Field):
                return owner.name
    raise TypeError(f"action {action.name}: the signer is not a field of the request")


def _numbers_to_int(v: Any) -> int:
    return int(v) if isinstance(v, int) else 0


def sign_requests(args: tuple[Any, ...], module: str, action: ir.Action, spec: ir.Spec, ctx: SigningContext,
                  nonces: Map | None, now: int, caller: int | None = None,
                  numbers_of: Callable[[int], list[int]] | None = None) -> tuple[Any, ...]:
    """Replace the :class:`SigDraw` of a signed action by a :class:`SignedValue`,
    adjusting the request (its owner, nonce and expiry) as the kind says.

    Half of the picks sign as the ``caller`` when it is an actor: a holder
    submitting its own signed request, whose amounts were drawn near its own
    balances. Half of the valid requests take their amounts (every
    number but the nonce and the expiry) from ``numbers_of(owner)``, the
    numbers the module's state holds for the owner, exactly or one off, or 0
    (a whole balance; a fee of nothing: every amount after the first is 0
    three times in four). A request's numbers left as
    placeholders (a ``Quoted`` inside a record) become 0."""
    if action.signed_request is None or not any(isinstance(a, SigDraw) for a in args):
        return args
    rtype = action.signed_request
    r_index = next(i for i, (_, t) in enumerate(action.params) if isinstance(t, ir.RecordT) and t.name == rtype)
    s_index = next(i for i, (_, t) in enumerate(action.params) if t == ir.SIGNATURE)
    draw = args[s_index]
    assert isinstance(draw, SigDraw)
    rec = spec.modules[module].records[rtype]
    names = [n for n, _ in rec.fields]
    req = dict(zip(names, (_numbers_to_int(v) for v in args[r_index]), strict=True))
    owner_field = _owner_field(action)
    actors = sorted(ctx.keys)
    pick = draw.pick
    signer = caller if caller is not None and caller in ctx.keys and pick % 2 == 0 else actors[pick % len(actors)]
    kind = draw.kind
    if kind != "as_drawn":
        req[owner_field] = signer
        current = nonces[signer] if nonces is not None else 0
        if kind == "replayed":
            req["nonce"] = current - 1 if current > 0 else current + 1 + pick % 2
        else:
            req["nonce"] = current
        if kind == "expired":
            req["expiry"] = (0, max(now - 1, 0), max(now - 86400, 0))[pick // 7 % 3]
        else:
            req["expiry"] = now + LIVE_EXPIRY[pick // 7 % len(LIVE_EXPIRY)]
        if kind == "valid" and numbers_of is not None and pick // 2 % 2 == 0:
            own = sorted({0, *(x + d for x in numbers_of(signer) for d in (-1, 0, 1) if 0 <= x + d < 2**256)})
            amounts = [n for n, t in rec.fields if t == ir.UINT and n not in ("nonce", "expiry")]
            for j, n in enumerate(amounts):
                # the first amount near the owner's own; the others (a fee) 3 times in 4 nothing
                nothing = j > 0 and pick // 16 % 4 != 0
                req[n] = 0 if nothing else own[(pick // 8 + 5 * j) % len(own)]
    key = ctx.keys.get(signer) if kind != "as_drawn" else ctx.keys.get(req[owner_field])
    if key is None:  # the drawn owner is no actor: an actor signs in its name
        key = ctx.keys[signer]
    if kind == "wrong_signer":
        others = [a for a in actors if a != signer]
        key = ctx.keys[others[pick // 3 % len(others)]] if others else ctx.stranger_key
    elif kind == "stranger":
        key = ctx.stranger_key
    chain_id = ctx.chain_id + 1 if kind == "wrong_chain" else ctx.chain_id
    contract = ctx.addresses[module]
    if kind == "wrong_contract":
        others_m = sorted(a for m, a in ctx.addresses.items() if m != module)
        contract = others_m[pick % len(others_m)] if others_m else contract + 1
    signed_type = rtype
    if kind == "wrong_type":
        twins = [n for n, r in spec.modules[module].records.items()
                 if n != rtype and [t for _, t in r.fields] == [t for _, t in rec.fields]]
        signed_type = twins[pick % len(twins)] if twins else rtype
    values = tuple(req[n] for n in names)
    if signed_type != rtype:
        data = typed_data(ctx, spec, module, signed_type, values, chain_id, contract)
    else:
        data = typed_data(ctx, spec, module, rtype, values, chain_id, contract)
    v, r, s = sign(key, data)
    canonical = True
    recovered = signer_address(key)
    if kind == "high_s":
        s, v, canonical = SECP256K1_N - s, 55 - v, False
    elif kind == "zero":
        # recovers to nobody: v outside {27, 28}, or r = 0
        if pick % 2:
            v = 0
        else:
            r = 0
        recovered = 0
    signed_values = values
    if kind == "tampered":
        # a field changed after signing: the last numeric field plus one; in a
        # request without amounts (a delegation) the last address but the owner's, plus one
        amount_ix = [i for i, (_, t) in enumerate(rec.fields) if t == ir.UINT and names[i] not in ("nonce", "expiry")]
        party_ix = [i for i, (_, t) in enumerate(rec.fields) if t == ir.ADDRESS and names[i] != owner_field]
        j = max(amount_ix or party_ix)
        changed = list(values)
        changed[j] = (changed[j] + 1) % (2**256 if amount_ix else 2**160)
        values = tuple(changed)
    sv = SignedValue(kind, module, signed_type, signed_values, recovered, chain_id, contract, canonical,
                     _bytes(v, r, s))
    out = list(args)
    out[r_index] = values
    out[s_index] = sv
    return tuple(out)
