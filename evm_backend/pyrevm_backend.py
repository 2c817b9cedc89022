"""The pyrevm backend: the only module of the project that imports ``pyrevm``.

pyrevm 0.3.7 wraps revm 8.0.0.  It keeps one open revm journal for the whole
session: a snapshot is a journal checkpoint, and nothing is ever finalized.
Three consequences shape this module:

* revm resolves spec names case-sensitively and silently maps unknown names
  to ``LATEST``; :data:`_SPEC_IDS` spells the exact names it knows.
* ``EVM.set_balance`` writes past the journal, so a snapshot revert would not
  undo it.  Balances are therefore changed by real (journaled) value
  transfers: credits come from an internal faucet through a tiny contract that
  ``SELFDESTRUCT``-s the value to the target (so no target code runs), and
  debits are plain transfers from the account back to the faucet.
* Transient storage is not cleared between transactions by revm here, so the
  backend clears it after each one.
* Reading an account or a slot loads it into the journal, which makes it warm
  (EIP-2929) for later transactions.  Reads therefore run inside a checkpoint
  that is reverted at once, so observing state never changes gas costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, cast

import pyrevm
from eth_utils import keccak

from evm_backend.abi import checksum_address
from evm_backend.batch import BATCH_INIT, encode_batch, split_batch_fields
from evm_backend.errors import (
    EvmBackendError,
    OutOfRange,
    TransactionRejected,
    UnsupportedForkError,
)
from evm_backend.fork import BLOCK_GAS_LIMIT, DEFAULT_CHAIN_ID, EVM_VERSION
from evm_backend.interface import Backend
from evm_backend.records import ZERO_ADDRESS, AccountLike, RawExecution, RawLog, to_address

#: revm spec names for our EVM versions.  revm 8's "Prague" predates the final
#: Prague rules (see :mod:`evm_backend.fork`), so it is deliberately absent.
_SPEC_IDS: Final[dict[str, str]] = {"cancun": "Cancun"}

_ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
_EMPTY_CODE_HASH: Final = keccak(b"")

#: Internal account that funds and absorbs balance changes.
_FAUCET: Final = checksum_address(keccak(text="imospec.evm_backend.pyrevm.faucet")[12:])
_FAUCET_BALANCE: Final = 2**255

#: Runtime of the credit helper: ``SELFDESTRUCT(calldataload(0))``.
_BANK_RUNTIME: Final = bytes.fromhex("5f35ff")
#: Init code returning ``_BANK_RUNTIME``.
_BANK_INIT: Final = bytes.fromhex("60038060095f395ff3") + _BANK_RUNTIME

#: The most calls :meth:`PyRevmBackend.call_views` puts in one execution.
_BATCH_CALLS: Final = 128

_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")

_T = TypeVar("_T")


class PyRevmBackend(Backend):
    """A :class:`~evm_backend.interface.Backend` running on pyrevm (revm)."""

    name = "pyrevm"
    batches_views = True

    def __init__(
        self,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        timestamp: int | None = None,
        block_number: int | None = None,
    ) -> None:
        """Build an empty revm instance for :data:`evm_backend.fork.EVM_VERSION`.

        Raises:
            UnsupportedForkError: pyrevm cannot run the configured fork faithfully.
            ValueError: a block field is out of range.
        """
        kwargs: dict[str, int] = {"chain_id": chain_id}
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        if block_number is not None:
            kwargs["block_number"] = block_number
        super().__init__(**kwargs)
        try:
            spec_id = _SPEC_IDS[EVM_VERSION]
        except KeyError:
            raise UnsupportedForkError(
                f"pyrevm {getattr(pyrevm, '__version__', '0.3.7')} has no faithful {EVM_VERSION!r}"
            ) from None
        env = pyrevm.Env(
            cfg=pyrevm.CfgEnv(chain_id=chain_id),
            block=self._block_env(self._timestamp, self._block_number),
        )
        self._evm = pyrevm.EVM(env=env, gas_limit=BLOCK_GAS_LIMIT, spec_id=spec_id)
        # The faucet is funded outside the journal once, before any snapshot.
        self._evm.set_balance(_FAUCET, _FAUCET_BALANCE)
        self._bank = checksum_address(self._evm.deploy(_FAUCET, _BANK_INIT, gas=100_000))
        # (the batch contract of call_views: there before any snapshot, so no revert undoes it)
        self._batch = checksum_address(self._evm.deploy(_FAUCET, BATCH_INIT, gas=200_000))
        self._evm.reset_transient_storage()

    # -- helpers ---------------------------------------------------------

    @staticmethod
    def _block_env(timestamp: int, block_number: int) -> Any:
        return pyrevm.BlockEnv(
            number=block_number,
            coinbase=_ZERO_ADDRESS,
            timestamp=timestamp,
            difficulty=0,
            prevrandao=b"\x00" * 32,
            basefee=0,
            gas_limit=BLOCK_GAS_LIMIT,
            excess_blob_gas=0,
        )

    def _peek(self, read: Callable[[], _T]) -> _T:
        """Run ``read`` and undo its side effects on the journal (warm accounts/slots)."""
        checkpoint = self._evm.snapshot()
        try:
            return read()
        finally:
            self._evm.revert(checkpoint)

    def _failure(self, exc: RuntimeError) -> RawExecution:
        """Turn pyrevm's exception for a failed execution into a result."""
        result = self._evm.result
        if result is None:
            # Rejected during validation: nothing ran, no result was recorded.
            raise TransactionRejected(f"pyrevm rejected the transaction: {exc}") from None
        if result.is_halt:
            return RawExecution(success=False, output=b"", halted=True, gas_used=result.gas_used)
        match = _REVERT_OUTPUT.search(str(exc))
        output = bytes.fromhex(match.group(1)) if match else b""
        return RawExecution(success=False, output=output, halted=False, gas_used=result.gas_used)

    # -- Backend primitives ------------------------------------------------

    def _execute(
        self, sender: str, to: str | None, data: bytes, value: int, gas: int, *, persist: bool
    ) -> RawExecution:
        evm = self._evm
        checkpoint = None if persist else evm.snapshot()
        try:
            created: str | None = None
            try:
                if to is None:
                    created = checksum_address(evm.deploy(sender, data, value=value, gas=gas))
                    output = b""
                else:
                    output = bytes(evm.message_call(sender, to, data, value=value, gas=gas))
            except RuntimeError as exc:
                return self._failure(exc)
            result = evm.result
            if result is None:  # pragma: no cover - pyrevm always records a success
                raise EvmBackendError("pyrevm returned no execution result")
            logs = tuple(
                RawLog(
                    address=checksum_address(log.address),
                    topics=tuple(bytes.fromhex(t[2:]) for t in log.topics),
                    data=bytes(log.data[1]),
                )
                for log in result.logs
            )
            return RawExecution(
                success=True,
                output=output,
                halted=False,
                gas_used=result.gas_used,
                logs=logs,
                created_address=created,
            )
        finally:
            if checkpoint is not None:
                evm.revert(checkpoint)
            else:
                evm.reset_transient_storage()

    def call_views(self, calls: Sequence[tuple[str, bytes]]) -> list[RawExecution]:
        """The answers :meth:`Backend.call_views` promises, from one execution
        of the batch contract (:mod:`evm_backend.batch`) a :data:`_BATCH_CALLS`
        calls, from the zero address with the block's gas, its changes (the
        accounts and slots it warmed) undone: one call into revm instead of
        one a view. An answer the batch cannot vouch for (a call that took
        half the gas it was given, or halted) is asked again on its own, and
        the calls after it in a new batch.

        Raises:
            TransactionRejected: see :meth:`Backend.execute`.
            EvmBackendError: the batch contract answered malformed data.
        """
        answers: list[RawExecution] = []
        made: dict[tuple[bool, bytes, int], RawExecution] = {}
        rest = list(calls)
        while rest:
            chunk = rest[:_BATCH_CALLS]
            raw = self._execute(ZERO_ADDRESS, self._batch, encode_batch(chunk), 0, BLOCK_GAS_LIMIT, persist=False)
            if not raw.success:  # (the batch itself ran out of gas: every call on its own)
                return answers + [self._execute_view(ZERO_ADDRESS, a, d, BLOCK_GAS_LIMIT) for a, d in rest]
            done = 0
            for (address, data), (success, output, used, exact) in zip(
                    chunk, split_batch_fields(raw.output, len(chunk)), strict=True):
                done += 1
                if not exact:
                    answers.append(self._execute_view(ZERO_ADDRESS, address, data, BLOCK_GAS_LIMIT))
                    break
                # (answers with the same fields are one record: it is immutable)
                key = (success, output, used)
                answer = made.get(key)
                if answer is None:
                    answer = made[key] = RawExecution(success=success, output=output, halted=False, gas_used=used)
                answers.append(answer)
            rest = rest[done:]
        return answers

    def _snapshot_state(self) -> object:
        return self._evm.snapshot()

    def _revert_state(self, handle: object) -> None:
        self._evm.revert(cast(pyrevm.JournalCheckpoint, handle))

    def _set_block_env(self, timestamp: int, block_number: int) -> None:
        self._evm.set_block_env(self._block_env(timestamp, block_number))

    def get_storage(self, address: AccountLike, slot: int) -> int:
        """Return storage word ``slot`` of ``address``.

        Raises:
            ValueError: malformed address or slot out of range.
        """
        if not 0 <= slot < 2**256:
            raise OutOfRange(f"storage slot must be a uint256, got {slot}")
        checksummed = to_address(address)
        return int(self._peek(lambda: self._evm.storage(checksummed, slot)))

    def read_storage(self, addresses: Sequence[str], slots: Sequence[int]) -> list[int]:
        """Return the storage words at ``(addresses[i], slots[i])``, in order,
        in one journal checkpoint (a few hundred nanoseconds a word).

        Raises:
            ValueError: malformed address or slot out of range, or the two
                sequences differ in length.
        """
        if len(addresses) != len(slots):
            raise OutOfRange(f"{len(addresses)} addresses for {len(slots)} slots")
        if slots and not (min(slots) >= 0 and max(slots) < 2**256):
            raise OutOfRange("storage slots must be uint256 values")
        storage = self._evm.storage
        return self._peek(lambda: list(map(storage, addresses, slots)))

    def set_storage(self, address: AccountLike, slot: int, value: int) -> None:
        """Write storage word ``slot`` of ``address``.

        Raises:
            ValueError: malformed address, or ``slot`` or ``value`` outside uint256.
        """
        if not (0 <= slot < 2**256 and 0 <= value < 2**256):
            raise OutOfRange(f"storage slot and value must be uint256 values, got {slot} and {value}")
        self._evm.insert_account_storage(to_address(address), slot, value)

    def get_balance(self, address: AccountLike) -> int:
        """Return the balance of ``address`` in wei.

        Raises:
            ValueError: malformed address.
        """
        checksummed = to_address(address)
        return int(self._peek(lambda: self._evm.get_balance(checksummed)))

    def set_balance(self, address: AccountLike, wei: int) -> None:
        """Set the balance of ``address``; undone by reverting an earlier snapshot.

        Raises:
            ValueError: malformed address, or ``wei`` outside uint256.
            EvmBackendError: lowering the balance of an account that has code
                (revm only lets an account without code send value), or the
                internal faucet ran dry.
        """
        if not 0 <= wei < 2**256:
            raise OutOfRange(f"balance must be a uint256, got {wei}")
        target = to_address(address)
        current = self.get_balance(target)
        evm = self._evm
        try:
            if wei > current:
                evm.message_call(
                    _FAUCET,
                    self._bank,
                    bytes(12) + bytes.fromhex(target[2:]),
                    value=wei - current,
                    gas=100_000,
                )
            elif wei < current:
                if self.get_code(target):
                    raise EvmBackendError(f"pyrevm backend cannot lower the balance of contract {target}")
                evm.message_call(target, _FAUCET, value=current - wei, gas=21_000)
        except RuntimeError as exc:
            raise EvmBackendError(f"cannot set the balance of {target}: {exc}") from None
        finally:
            evm.reset_transient_storage()

    def get_nonce(self, address: AccountLike) -> int:
        """Return the nonce of ``address``.

        Raises:
            ValueError: malformed address.
        """
        checksummed = to_address(address)
        return int(self._peek(lambda: self._evm.basic(checksummed).nonce))

    def get_code(self, address: AccountLike) -> bytes:
        """Return the runtime code at ``address``.

        Raises:
            ValueError: malformed address.
        """
        checksummed = to_address(address)
        raw, expected = self._peek(lambda: (self._evm.get_code(checksummed), self._evm.basic(checksummed).code_hash))
        if not raw:
            return b""
        # revm pads analysed legacy code with zero bytes; cut back to the
        # length whose hash is the account's code hash.
        code = bytes(raw)
        for _ in range(34):
            if keccak(code) == expected or not code or code[-1] != 0:
                break
            code = code[:-1]
        return code
