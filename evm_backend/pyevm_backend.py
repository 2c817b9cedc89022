"""The py-evm backend: the only module of the project that imports ``eth``.

It builds one py-evm state object for the configured fork and drives it
through the message API: every execution builds a ``Message`` and a
transaction context and hands them to the fork's computation class.  It never
builds blocks or signed transactions, which is what makes it fast.

Snapshots are py-evm journal checkpoints (``state.snapshot()`` /
``state.revert()``).  Because nothing is ever persisted between
transactions, warm-access (EIP-2929) and original-value (EIP-2200) bookkeeping
spans the whole session rather than one transaction: ``gas_used`` can be lower
than on a real chain.  pyrevm behaves the same way, so the two backends report
the same gas.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any, Final

from eth._utils.address import generate_contract_address
from eth.constants import BLANK_ROOT_HASH, CREATE_CONTRACT_ADDRESS
from eth.db.atomic import AtomicDB
from eth.exceptions import Revert
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import keccak, to_canonical_address

from evm_backend.abi import checksum_address
from evm_backend.errors import EvmBackendError, OutOfRange, TransactionRejected, UnsupportedForkError
from evm_backend.fork import BLOCK_GAS_LIMIT, DEFAULT_CHAIN_ID, EVM_VERSION
from evm_backend.interface import Backend
from evm_backend.records import (
    AccountLike,
    RawExecution,
    RawLog,
    Reads,
    initcode_word_gas,
    intrinsic_gas,
    to_address,
)

_VM_CLASSES: Final[dict[str, Any]] = {"cancun": CancunVM, "prague": PragueVM}
_ZERO_HASH: Final = Hash32(b"\x00" * 32)
_EMPTY_CODE_HASH: Final = keccak(b"")
_ZERO_ADDRESS_BYTES: Final = Address(b"\x00" * 20)


@functools.lru_cache(maxsize=1024)
def _checksum(raw: bytes) -> str:
    return checksum_address(raw)


def _checksummed(writes: set[tuple[bytes, int]]) -> frozenset[tuple[str, int]]:
    return frozenset((_checksum(bytes(a)), slot) for a, slot in writes)


def _block_hashes(block_number: int) -> Any:
    """Hashes of the 256 blocks before ``block_number``, newest first.

    There is no real chain, so block ``n`` has hash ``keccak(str(n))``: the
    value revm's in-memory database gives, so BLOCKHASH agrees across backends.
    """
    oldest = max(block_number - 256, 0)
    return (Hash32(keccak(str(n).encode())) for n in range(block_number - 1, oldest - 1, -1))


class _ReadLog:
    """What the execution under way read (see :class:`evm_backend.records.Reads`)."""

    __slots__ = ("accounts", "clock", "storage")

    def __init__(self) -> None:
        self.clock = False
        self.storage: set[tuple[bytes, int]] = set()
        self.accounts: set[bytes] = set()

    def reads(self) -> Reads:
        return Reads(self.clock, _checksummed(self.storage), frozenset(_checksum(bytes(a)) for a in self.accounts))


def _recording(state_class: Any) -> Any:
    """A subclass of py-evm's state class that notes what an execution
    writes and reads, so a receipt can say which slots it may have changed
    without reading the whole storage, and what its answer depends on.

    Every opcode that reads or writes the world goes through the state:
    ``SSTORE`` through ``set_storage``, ``SLOAD`` through ``get_storage``,
    ``TIMESTAMP`` and ``NUMBER`` through the ``timestamp`` and
    ``block_number`` properties, ``BLOCKHASH`` through ``get_ancestor_hash``,
    ``BALANCE``, ``SELFBALANCE`` and ``EXTCODE*`` (and loading the code of a
    called account) through ``get_balance``, ``get_code`` and
    ``get_code_hash``; value transfers, nonces, creations and
    self-destructs through the account setters. Reads are noted only while
    an execution runs (``read_log`` is set), not when the backend itself
    looks at the state."""

    class RecordingState(state_class):
        storage_writes: set[tuple[bytes, int]]
        account_writes: set[bytes]
        read_log: _ReadLog | None = None

        def set_storage(self, address: Address, slot: int, value: int) -> None:
            self.storage_writes.add((address, slot))
            super().set_storage(address, slot, value)

        def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
            if self.read_log is not None:
                self.read_log.storage.add((address, slot))
            return super().get_storage(address, slot, from_journal)

        @property
        def timestamp(self) -> int:
            if self.read_log is not None:
                self.read_log.clock = True
            return super().timestamp

        @property
        def block_number(self) -> BlockNumber:
            if self.read_log is not None:
                self.read_log.clock = True
            return super().block_number

        def get_ancestor_hash(self, block_number: int) -> Hash32:
            if self.read_log is not None:
                self.read_log.clock = True
            return super().get_ancestor_hash(block_number)

        def get_balance(self, address: Address) -> int:
            if self.read_log is not None:
                self.read_log.accounts.add(address)
            return super().get_balance(address)

        def get_code(self, address: Address) -> bytes:
            if self.read_log is not None:
                self.read_log.accounts.add(address)
            return super().get_code(address)

        def get_code_hash(self, address: Address) -> Hash32:
            if self.read_log is not None:
                self.read_log.accounts.add(address)
            return super().get_code_hash(address)

        def set_balance(self, address: Address, balance: int) -> None:
            self.account_writes.add(address)
            super().set_balance(address, balance)

        def set_nonce(self, address: Address, nonce: int) -> None:
            self.account_writes.add(address)
            super().set_nonce(address, nonce)

        def increment_nonce(self, address: Address) -> None:
            self.account_writes.add(address)
            super().increment_nonce(address)

        def set_code(self, address: Address, code: bytes) -> None:
            self.account_writes.add(address)
            super().set_code(address, code)

        def delete_code(self, address: Address) -> None:
            self.account_writes.add(address)
            super().delete_code(address)

        def delete_storage(self, address: Address) -> None:
            self.account_writes.add(address)
            super().delete_storage(address)

        def delete_account(self, address: Address) -> None:
            self.account_writes.add(address)
            super().delete_account(address)

    RecordingState.__name__ = RecordingState.__qualname__ = f"Recording{state_class.__name__}"
    return RecordingState


class PyEvmBackend(Backend):
    """A :class:`~evm_backend.interface.Backend` running on py-evm."""

    name = "py-evm"
    records_storage_writes = True
    records_reads = True

    def __init__(
        self,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        timestamp: int | None = None,
        block_number: int | None = None,
    ) -> None:
        """Build an empty state for :data:`evm_backend.fork.EVM_VERSION`.

        Raises:
            UnsupportedForkError: py-evm has no VM for the configured fork.
            ValueError: a block field is out of range.
        """
        kwargs: dict[str, int] = {"chain_id": chain_id}
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        if block_number is not None:
            kwargs["block_number"] = block_number
        super().__init__(**kwargs)
        try:
            vm_class = _VM_CLASSES[EVM_VERSION]
        except KeyError:
            raise UnsupportedForkError(f"py-evm backend has no VM for {EVM_VERSION!r}") from None
        state_class = _recording(vm_class.get_state_class())
        context = self._make_context(self._timestamp, self._block_number)
        self._state = state_class(AtomicDB(), context, BLANK_ROOT_HASH)
        self._state.storage_writes = set()
        self._state.account_writes = set()
        self._computation_class = state_class.computation_class
        self._context_class = state_class.get_transaction_context_class()
        self._executor = self._state.get_transaction_executor()
        self._canonical: dict[str, Address] = {}

    # -- helpers ---------------------------------------------------------

    def _make_context(self, timestamp: int, block_number: int) -> ExecutionContext:
        return ExecutionContext(
            coinbase=_ZERO_ADDRESS_BYTES,
            timestamp=timestamp,
            block_number=BlockNumber(block_number),
            difficulty=0,
            mix_hash=_ZERO_HASH,
            gas_limit=BLOCK_GAS_LIMIT,
            prev_hashes=_block_hashes(block_number),
            chain_id=self._chain_id,
            base_fee_per_gas=0,
            excess_blob_gas=0,
        )

    def _raw_address(self, address: AccountLike) -> Address:
        key = address.address if not isinstance(address, str) else address
        raw = self._canonical.get(key)
        if raw is None:
            raw = Address(bytes(to_canonical_address(to_address(address))))
            self._canonical[key] = raw
        return raw

    # -- Backend primitives ------------------------------------------------

    def _execute(
        self, sender: str, to: str | None, data: bytes, value: int, gas: int, *, persist: bool
    ) -> RawExecution:
        state = self._state
        sender_raw = self._raw_address(sender)
        if state.get_code_hash(sender_raw) != _EMPTY_CODE_HASH:
            # EIP-3607: an account with code cannot originate a transaction.
            raise TransactionRejected(f"sender {sender} has code (EIP-3607)")
        snapshot = None if persist else state.snapshot()
        try:
            return self._run_message(sender_raw, to, data, value, gas, persist=persist)
        finally:
            if snapshot is not None:
                state.revert(snapshot)

    def _execute_view(self, sender: str, to: str, data: bytes, gas: int) -> RawExecution:
        """A call of a read-only function (see :meth:`Backend.call_raw`) as a
        static message: nothing in it can write, so the state needs no
        snapshot to undo it; only the accounts and slots it warmed (EIP-2929)
        are put back, from py-evm's journal of accessed state, so that later
        transactions pay the gas they would have. It runs the computation
        without ``apply_message``'s own snapshot and account touch, which a
        call that cannot write does not need either (a failed child call
        still reverts its own).

        Raises:
            TransactionRejected: ``sender`` has code (EIP-3607).
            EvmBackendError: the call wrote (a function its compiler made
                read-only cannot).
        """
        state = self._state
        sender_raw = self._raw_address(sender)
        if state.get_code_hash(sender_raw) != _EMPTY_CODE_HASH:
            raise TransactionRejected(f"sender {sender} has code (EIP-3607)")
        accessed = state._account_db._journal_accessed_state
        checkpoint = accessed.record()
        writes: set[tuple[bytes, int]] = set()
        accounts: set[bytes] = set()
        log = _ReadLog()
        state.storage_writes, state.account_writes, state.read_log = writes, accounts, log
        try:
            context = self._context_class(gas_price=0, origin=sender_raw)
            state.mark_address_warm(sender_raw)
            target = self._raw_address(to)
            state.mark_address_warm(target)
            code, delegation = self._executor.get_code_at_address(target)
            message = Message(gas=gas - intrinsic_gas(data, False), to=target, sender=sender_raw, value=0,
                              data=data, code=code, is_static=True, is_delegation=delegation is not None)
            computation = self._computation_class.apply_computation(state, message, context)
        finally:
            state.read_log = None
            accessed.discard(checkpoint)
        if writes or accounts:  # pragma: no cover - a static message cannot write
            raise EvmBackendError(f"a static call to {to} wrote {sorted(writes)} {sorted(accounts)}")
        gas_used = gas - computation.get_gas_remaining()
        gas_used -= self._executor.calculate_gas_refund(computation, gas_used)
        if computation.is_success:
            return RawExecution(success=True, output=bytes(computation.output), halted=False, gas_used=gas_used,
                                storage_writes=frozenset(), account_writes=frozenset(), reads=log.reads())
        halted = not isinstance(computation.error, Revert)
        return RawExecution(success=False, output=b"" if halted else bytes(computation.output), halted=halted,
                            gas_used=gas_used, storage_writes=frozenset(), account_writes=frozenset(),
                            reads=log.reads())

    def _run_message(
        self, sender: Address, to: str | None, data: bytes, value: int, gas: int, *, persist: bool
    ) -> RawExecution:
        state = self._state
        writes: set[tuple[bytes, int]] = set()
        accounts: set[bytes] = set()
        log = _ReadLog()
        state.storage_writes, state.account_writes, state.read_log = writes, accounts, log
        try:
            raw = self._apply(sender, to, data, value, gas, persist=persist)
        finally:
            state.read_log = None
        return replace(raw, storage_writes=_checksummed(writes),
                       account_writes=frozenset(_checksum(bytes(a)) for a in accounts), reads=log.reads())

    def _apply(
        self, sender: Address, to: str | None, data: bytes, value: int, gas: int, *, persist: bool
    ) -> RawExecution:
        state = self._state
        message_gas = gas - intrinsic_gas(data, to is None)
        if to is None:
            # py-evm charges the EIP-3860 init code cost inside the computation.
            message_gas += initcode_word_gas(data)
        context = self._context_class(gas_price=0, origin=sender)
        state.mark_address_warm(sender)
        if to is None:
            # Only creations bump the sender's nonce: pyrevm leaves it alone on calls,
            # and the two backends must agree.
            nonce = state.get_nonce(sender)
            state.increment_nonce(sender)
            created = generate_contract_address(sender, nonce)
            state.mark_address_warm(created)
            if state.has_code_or_nonce(created):
                return RawExecution(success=False, output=b"", halted=True, gas_used=gas)
            message = Message(
                gas=message_gas,
                to=CREATE_CONTRACT_ADDRESS,
                sender=sender,
                value=value,
                data=b"",
                code=data,
                create_address=created,
            )
            computation = self._computation_class.apply_create_message(state, message, context)
        else:
            target = self._raw_address(to)
            state.mark_address_warm(target)
            code, delegation = self._executor.get_code_at_address(target)
            message = Message(
                gas=message_gas,
                to=target,
                sender=sender,
                value=value,
                data=data,
                code=code,
                is_delegation=delegation is not None,
            )
            computation = self._computation_class.apply_message(state, message, context)

        gas_used = gas - computation.get_gas_remaining()
        gas_used -= self._executor.calculate_gas_refund(computation, gas_used)

        if persist:
            for account in computation.get_accounts_for_deletion():
                state.delete_account(account)
            for account in collect_touched_accounts(computation):
                if state.account_exists(account) and state.account_is_empty(account):
                    state.delete_account(account)
            state.clear_transient_storage()

        if computation.is_success:
            logs = tuple(
                RawLog(
                    address=checksum_address(address),
                    topics=tuple(t.to_bytes(32, "big") for t in topics),
                    data=bytes(log_data),
                )
                for address, topics, log_data in computation.get_log_entries()
            )
            return RawExecution(
                success=True,
                output=bytes(computation.output) if to is not None else b"",
                halted=False,
                gas_used=gas_used,
                logs=logs,
                created_address=(None if to is not None else checksum_address(message.storage_address)),
            )
        halted = not isinstance(computation.error, Revert)
        return RawExecution(
            success=False,
            output=b"" if halted else bytes(computation.output),
            halted=halted,
            gas_used=gas_used,
        )

    def _snapshot_state(self) -> object:
        return self._state.snapshot()

    def _revert_state(self, handle: object) -> None:
        self._state.revert(handle)

    def _set_block_env(self, timestamp: int, block_number: int) -> None:
        self._state.execution_context = self._make_context(timestamp, block_number)

    def get_storage(self, address: AccountLike, slot: int) -> int:
        """Return storage word ``slot`` of ``address``.

        Raises:
            ValueError: malformed address or slot out of range.
        """
        if not 0 <= slot < 2**256:
            raise OutOfRange(f"storage slot must be a uint256, got {slot}")
        return int(self._state.get_storage(self._raw_address(address), slot))

    def get_balance(self, address: AccountLike) -> int:
        """Return the balance of ``address`` in wei.

        Raises:
            ValueError: malformed address.
        """
        return int(self._state.get_balance(self._raw_address(address)))

    def set_storage(self, address: AccountLike, slot: int, value: int) -> None:
        """Write storage word ``slot`` of ``address``; undone by reverting an earlier snapshot.

        Raises:
            ValueError: malformed address, or ``slot`` or ``value`` outside uint256.
        """
        if not (0 <= slot < 2**256 and 0 <= value < 2**256):
            raise OutOfRange(f"storage slot and value must be uint256 values, got {slot} and {value}")
        self._state.set_storage(self._raw_address(address), slot, value)

    def set_balance(self, address: AccountLike, wei: int) -> None:
        """Set the balance of ``address``; undone by reverting an earlier snapshot.

        Raises:
            ValueError: malformed address, or ``wei`` outside uint256.
        """
        if not 0 <= wei < 2**256:
            raise OutOfRange(f"balance must be a uint256, got {wei}")
        raw = self._raw_address(address)
        if self._state.get_balance(raw) == wei:
            return
        self._state.set_balance(raw, wei)
        # pyrevm moves the value with a real transfer, which warms the account
        # (EIP-2929); do the same so both backends charge the same gas.
        self._state.mark_address_warm(raw)

    def get_nonce(self, address: AccountLike) -> int:
        """Return the nonce of ``address``.

        Raises:
            ValueError: malformed address.
        """
        return int(self._state.get_nonce(self._raw_address(address)))

    def get_code(self, address: AccountLike) -> bytes:
        """Return the runtime code at ``address``.

        Raises:
            ValueError: malformed address.
        """
        return bytes(self._state.get_code(self._raw_address(address)))
