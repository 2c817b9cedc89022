"""What an EVM reports and what the interface returns: raw executions and logs,
decoded logs and receipts; address and intrinsic-gas helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from evm_backend.abi import (
    checksum_address,
)
from evm_backend.accounts import TestAccount
from evm_backend.errors import OutOfRange

#: The zero address, the default sender of read-only calls.
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


#: Balance given to accounts made by :meth:`Backend.create_accounts` (10**6 ether).
DEFAULT_ACCOUNT_BALANCE: Final = 10**24


_UINT256_LIMIT: Final = 2**256


_UINT64_LIMIT: Final = 2**64


#: Something that names an account: an address string or a test account.
AccountLike = str | TestAccount


def to_address(account: AccountLike) -> str:
    """Return the checksummed address of ``account``.

    Raises:
        ValueError: ``account`` is not a 20-byte hex address.
    """
    if isinstance(account, TestAccount):
        return account.address
    return checksum_address(account)


def intrinsic_gas(data: bytes, is_create: bool) -> int:
    """Gas charged before any code runs (Cancun rules).

    21000 per transaction, 4 per zero and 16 per non-zero calldata byte, plus
    32000 and 2 per 32-byte word of init code for a contract creation
    (EIP-2028, EIP-3860).
    """
    zeros = data.count(0)
    gas = 21_000 + 4 * zeros + 16 * (len(data) - zeros)
    if is_create:
        gas += 32_000 + initcode_word_gas(data)
    return gas


def initcode_word_gas(init_code: bytes) -> int:
    """EIP-3860 cost of init code: 2 gas per (started) 32-byte word."""
    return 2 * ((len(init_code) + 31) // 32)


@dataclass(frozen=True)
class RawLog:
    """A log as the EVM emitted it."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Reads:
    """What one execution read of the world that a later transaction or a
    move of the clock can change: its answer is a function of these, of its
    calldata, sender and value, and of the code it ran.

    Attributes:
        clock: it read ``block.timestamp`` or ``block.number``, or a block
            hash (which the block number selects).
        storage: every storage slot it loaded, as (checksummed address, slot).
        accounts: every account whose balance or code it read (``BALANCE``,
            ``SELFBALANCE``, ``EXTCODE*``, the code of every account it
            called), checksummed.

    Transient storage is left out: it is empty when a transaction starts.
    """

    clock: bool
    storage: frozenset[tuple[str, int]]
    accounts: frozenset[str]


@dataclass(frozen=True)
class RawExecution:
    """What an implementation reports after running one message.

    Attributes:
        success: the message returned normally.
        output: return data on success, revert data on revert, else empty.
        halted: it failed by an exceptional halt (out of gas, invalid opcode,
            stack error...) rather than by ``REVERT``.
        gas_used: gas of the whole transaction after refunds.
        logs: logs of a successful execution, in order.
        created_address: the new contract of a successful creation.
        storage_writes: every storage slot the execution wrote, as
            (checksummed address, slot), including writes that a revert later
            undid; ``None`` when the implementation cannot tell.
        account_writes: every account whose balance, nonce or code the
            execution changed, or that it deleted (with its storage),
            checksummed; ``None`` when the implementation cannot tell.
        reads: what the execution read (see :class:`Reads`); ``None`` when
            the implementation cannot tell.
    """

    success: bool
    output: bytes
    halted: bool
    gas_used: int
    logs: tuple[RawLog, ...] = ()
    created_address: str | None = None
    storage_writes: frozenset[tuple[str, int]] | None = None
    account_writes: frozenset[str] | None = None
    reads: Reads | None = None


@dataclass(frozen=True)
class Log:
    """A log decoded with the ABI of the contract that emitted it.

    ``event`` is ``None`` (and ``args`` empty) when no registered ABI knows it.
    """

    address: str
    event: str | None
    args: dict[str, Any]
    topics: tuple[bytes, ...] = field(repr=False)
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Receipt:
    """The outcome of one execution.

    Attributes:
        success: the call returned normally.
        return_value: decoded return value (``None`` with no outputs, on
            failure, or when the call was made with raw calldata).
        return_data: raw return data on success.
        revert_reason: the string of an ``Error(string)`` revert; ``None``
            for success, a bare revert, a panic or a halt.
        revert_data: raw revert data (empty for a bare revert or a halt).
        halted: failed by exceptional halt (e.g. out of gas), not ``REVERT``.
        logs: decoded logs; empty on failure.
        gas_used: gas of the whole transaction after refunds.
        contract_address: the created contract, for a successful deployment.
        storage_writes: the storage slots the execution wrote, as
            (checksummed address, slot): a superset of the slots whose value
            changed. ``None`` when the backend cannot tell (see
            :meth:`Backend.read_storage` for the fast way to look instead).
        account_writes: the accounts whose balance, nonce or code the
            execution changed, or that it deleted; ``None`` when the backend
            cannot tell.
        reads: what the execution read of the state and the clock (see
            :class:`Reads`); ``None`` when the backend cannot tell.
    """

    success: bool
    return_value: Any
    return_data: bytes
    revert_reason: str | None
    revert_data: bytes
    halted: bool
    logs: tuple[Log, ...]
    gas_used: int
    contract_address: str | None = None
    storage_writes: frozenset[tuple[str, int]] | None = None
    account_writes: frozenset[str] | None = None
    reads: Reads | None = None

    def events(self, name: str) -> list[Log]:
        """Return the logs whose decoded event is ``name``."""
        return [log for log in self.logs if log.event == name]


@dataclass(frozen=True)
class _Snapshot:
    snapshot_id: int
    handle: object
    timestamp: int
    block_number: int


def _check_uint64(what: str, value: int) -> None:
    if not 0 <= value < _UINT64_LIMIT:
        raise OutOfRange(f"{what} must be in [0, 2**64), got {value}")
