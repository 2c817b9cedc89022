"""Deterministic test accounts: eth-account keys derived from a seed.

The same seed always gives the same keys on every machine and both backends,
so traces and JSON fixtures that mention addresses replay exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from eth_account import Account
from eth_utils import keccak, to_checksum_address

from evm_backend.errors import OutOfRange

#: Seed used when the caller does not pick one.
DEFAULT_SEED: Final = "imospec"

# Order of the secp256k1 group: a private key must lie in [1, N - 1].
_SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True)
class TestAccount:
    """An externally owned account whose private key is known."""

    __test__ = False  # not a pytest test class, despite the name

    index: int
    address: str
    private_key: bytes

    @property
    def signer(self) -> Any:
        """The ``eth_account`` ``LocalAccount`` for signing (EIP-712 included)."""
        return Account.from_key(self.private_key)


def derive_private_key(seed: str, index: int) -> bytes:
    """Return the private key number ``index`` of ``seed``.

    The key is ``keccak256(seed ":" index)``, re-hashed in the (practically
    impossible) case that it falls outside the secp256k1 range.

    Raises:
        ValueError: ``index`` is negative.
    """
    if index < 0:
        raise OutOfRange(f"account index must be >= 0, got {index}")
    key = keccak(text=f"{seed}:{index}")
    while not 0 < int.from_bytes(key, "big") < _SECP256K1_N:
        key = keccak(key)
    return bytes(key)


def derive_account(seed: str, index: int) -> TestAccount:
    """Return test account number ``index`` of ``seed``.

    Raises:
        ValueError: ``index`` is negative.
    """
    key = derive_private_key(seed, index)
    address = to_checksum_address(Account.from_key(key).address)
    return TestAccount(index=index, address=address, private_key=key)


def derive_accounts(count: int, seed: str = DEFAULT_SEED, start: int = 0) -> list[TestAccount]:
    """Return test accounts ``start`` .. ``start + count - 1`` of ``seed``.

    Raises:
        ValueError: ``count`` or ``start`` is negative.
    """
    if count < 0:
        raise OutOfRange(f"account count must be >= 0, got {count}")
    return [derive_account(seed, start + i) for i in range(count)]
