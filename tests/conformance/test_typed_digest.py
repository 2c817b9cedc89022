"""conformance.signatures.typed_digest hashes a request as EIP-712 says,
without eth-account's general encoder: for every signed request type of the
bundled protocol, with numbers and addresses of every size, it gives the
digest that eth-account's ``encode_typed_data`` gives."""

from __future__ import annotations

import random
from pathlib import Path

from eth_account.messages import encode_typed_data
from eth_utils import keccak

from conformance.binding import load_implementation
from conformance.harness import Harness
from conformance.signatures import typed_data, typed_digest
from spec import ir

BUNDLED = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


def test_the_digest_is_eth_accounts() -> None:
    binding, spec = load_implementation(BUNDLED)
    h = Harness(spec, binding, "pyrevm")
    rng = random.Random(5)
    checked = 0
    for module, m in h.spec.modules.items():
        for action in m.actions.values():
            if action.signed_request is None:
                continue
            rec = m.records[action.signed_request]
            for _ in range(40):
                values = tuple(rng.choice([0, 1, 2**256 - 1, rng.getrandbits(rng.randrange(1, 257))])
                               if t == ir.UINT else rng.choice([0, *h.actors, 2**160 - 1]) if t == ir.ADDRESS
                               else rng.getrandbits(256) if t == ir.BYTES32 else rng.random() < 0.5
                               for _, t in rec.fields)
                chain_id = rng.choice([h.signing.chain_id, h.signing.chain_id + 1])
                contract = rng.choice([h.addresses[module], *h.addresses.values()])
                data = typed_data(h.signing, h.spec, module, action.signed_request, values, chain_id, contract)
                signable = encode_typed_data(full_message=data)
                assert typed_digest(data) == keccak(b"\x19" + signable.version + signable.header + signable.body)
                checked += 1
    assert checked >= 160
