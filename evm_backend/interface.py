"""The one small interface through which the project talks to an EVM.

:class:`Backend` holds every behaviour both EVM implementations share: ABI
encoding and decoding, receipts, revert reasons, log decoding, pre-execution
checks, snapshot bookkeeping and test accounts.  An implementation supplies
only the primitives marked abstract (run one message, snapshot and revert raw
state, set the block environment, read and write accounts).  Only
``pyevm_backend`` imports py-evm and only ``pyrevm_backend`` imports pyrevm.

Conventions:
    * Addresses are checksummed ``str``; inputs may use any case.
    * Every execution behaves like a transaction of its own with gas price 0:
      it increments the sender's nonce (even when it reverts), and moves value
      but charges no fees.
    * Snapshots capture accounts, storage, nonces, code, ``block.timestamp``
      and ``block.number``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from evm_backend.abi import (
    AbiFunction,
    AbiJson,
    ContractAbi,
    decode_revert_reason,
)
from evm_backend.accounts import DEFAULT_SEED, TestAccount, derive_accounts
from evm_backend.errors import (
    CallReverted,
    DeploymentFailed,
    OutOfRange,
    TransactionRejected,
    UnknownAddressAbiError,
    UnknownSnapshotError,
)
from evm_backend.fork import (
    BLOCK_GAS_LIMIT,
    DEFAULT_CHAIN_ID,
    EVM_VERSION,
    GENESIS_BLOCK_NUMBER,
    GENESIS_TIMESTAMP,
)
from evm_backend.primitives import EVM
from evm_backend.records import (
    _UINT256_LIMIT,
    DEFAULT_ACCOUNT_BALANCE,
    ZERO_ADDRESS,
    AccountLike,
    Log,
    RawExecution,
    RawLog,
    Receipt,
    _check_uint64,
    _Snapshot,
    intrinsic_gas,
    to_address,
)

if TYPE_CHECKING:
    from evm_backend.compiler import CompiledContract
    from evm_backend.contract import Contract


class Backend(EVM):
    """An EVM with deploy, call, transact, snapshot/revert, time and storage access."""

    #: The name accepted by :func:`evm_backend.get_backend`.
    name: ClassVar[str]

    #: Whether receipts list the storage slots each execution wrote
    #: (``Receipt.storage_writes``); when not, :meth:`read_storage` is the
    #: fast way to find what changed.
    records_storage_writes: ClassVar[bool] = False

    #: Whether receipts say what each execution read and which accounts it
    #: changed (``Receipt.reads``, ``Receipt.account_writes``).
    records_reads: ClassVar[bool] = False

    #: Whether :meth:`call_views` runs its calls as one EVM execution
    #: through the batch contract (:mod:`evm_backend.batch`); when not, one
    #: after another, each as :meth:`call_raw` runs it.
    batches_views: ClassVar[bool] = False

    def __init__(
        self,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        timestamp: int = GENESIS_TIMESTAMP,
        block_number: int = GENESIS_BLOCK_NUMBER,
    ) -> None:
        """Set up the shared bookkeeping; implementations build their EVM after this.

        Raises:
            ValueError: a block field is out of range.
        """
        _check_uint64("chain id", chain_id)
        _check_uint64("timestamp", timestamp)
        _check_uint64("block number", block_number)
        self._chain_id = chain_id
        self._timestamp = timestamp
        self._block_number = block_number
        self._abis: dict[str, ContractAbi] = {}
        self._snapshots: list[_Snapshot] = []
        self._next_snapshot_id = 1

    def read_storage(self, addresses: Sequence[str], slots: Sequence[int]) -> list[int]:
        """Return the storage words at ``(addresses[i], slots[i])``, in order.

        The addresses must be checksummed. An implementation may override this
        with a faster bulk read; the result is the same as calling
        :meth:`get_storage` for each location.

        Raises:
            ValueError: malformed address or slot out of range, or the two
                sequences differ in length.
        """
        return [self.get_storage(a, s) for a, s in zip(addresses, slots, strict=True)]

    @property
    def evm_version(self) -> str:
        """The hard fork this backend runs (see :mod:`evm_backend.fork`)."""
        return EVM_VERSION

    @property
    def chain_id(self) -> int:
        """Value of the CHAINID opcode."""
        return self._chain_id

    @property
    def timestamp(self) -> int:
        """Current ``block.timestamp``."""
        return self._timestamp

    @property
    def block_number(self) -> int:
        """Current ``block.number``."""
        return self._block_number

    def set_timestamp(self, timestamp: int) -> None:
        """Set ``block.timestamp`` for later executions (it may go backwards).

        Raises:
            ValueError: ``timestamp`` is negative or at least 2**64.
        """
        _check_uint64("timestamp", timestamp)
        self._set_block_env(timestamp, self._block_number)
        self._timestamp = timestamp

    def set_block_number(self, block_number: int) -> None:
        """Set ``block.number`` for later executions.

        Raises:
            ValueError: ``block_number`` is negative or at least 2**64.
        """
        _check_uint64("block number", block_number)
        self._set_block_env(self._timestamp, block_number)
        self._block_number = block_number

    def snapshot(self) -> int:
        """Record the current state and block environment; return its id."""
        handle = self._snapshot_state()
        snapshot_id = self._next_snapshot_id
        self._next_snapshot_id += 1
        self._snapshots.append(_Snapshot(snapshot_id, handle, self._timestamp, self._block_number))
        return snapshot_id

    def revert(self, snapshot_id: int) -> None:
        """Restore the state recorded by :meth:`snapshot`.

        The snapshot is used up, and so is every snapshot taken after it.

        Raises:
            UnknownSnapshotError: ``snapshot_id`` is unknown or already used up.
        """
        if all(s.snapshot_id != snapshot_id for s in self._snapshots):
            raise UnknownSnapshotError(f"no live snapshot with id {snapshot_id}")
        while True:
            top = self._snapshots.pop()
            self._revert_state(top.handle)
            if top.snapshot_id == snapshot_id:
                break
        self._set_block_env(top.timestamp, top.block_number)
        self._timestamp = top.timestamp
        self._block_number = top.block_number

    @contextmanager
    def anchor(self) -> Iterator[None]:
        """Run the ``with`` block, then revert everything it did."""
        snapshot_id = self.snapshot()
        try:
            yield
        finally:
            self.revert(snapshot_id)

    def create_accounts(
        self, count: int, balance: int = DEFAULT_ACCOUNT_BALANCE, seed: str = DEFAULT_SEED
    ) -> list[TestAccount]:
        """Derive ``count`` deterministic accounts from ``seed`` and fund each with ``balance``.

        Raises:
            ValueError: ``count`` is negative or ``balance`` outside uint256.
        """
        accounts = derive_accounts(count, seed)
        for account in accounts:
            self.set_balance(account.address, balance)
        return accounts

    def register_abi(self, address: AccountLike, abi: AbiJson | ContractAbi) -> ContractAbi:
        """Use ``abi`` for calls to, and logs from, ``address``; return the index.

        Raises:
            ValueError: malformed address.
            AbiError: malformed ABI.
        """
        index = abi if isinstance(abi, ContractAbi) else ContractAbi(abi)
        self._abis[to_address(address)] = index
        return index

    def abi_of(self, address: AccountLike) -> ContractAbi | None:
        """Return the ABI registered for ``address``, if any.

        Raises:
            ValueError: malformed address.
        """
        return self._abis.get(to_address(address))

    def execute(
        self,
        sender: AccountLike,
        to: AccountLike | None,
        data: bytes,
        *,
        value: int = 0,
        gas: int | None = None,
        persist: bool = True,
    ) -> Receipt:
        """Run raw calldata (or init code when ``to`` is ``None``); return the receipt.

        Logs are decoded with registered ABIs; the return value is left raw.
        With ``persist=False`` the state is left exactly as it was.

        Raises:
            TransactionRejected: value above the sender's balance, or gas
                below the intrinsic cost or above the block gas limit.
            ValueError: malformed address, or value outside uint256.
        """
        sender_address = to_address(sender)
        to_addr = None if to is None else to_address(to)
        gas_limit = BLOCK_GAS_LIMIT if gas is None else gas
        self._check_transaction(sender_address, to_addr, data, value, gas_limit)
        raw = self._execute(sender_address, to_addr, bytes(data), value, gas_limit, persist=persist)
        return self._receipt(raw, None)

    def deploy(
        self,
        bytecode: bytes,
        abi: AbiJson | ContractAbi,
        ctor_args: Sequence[Any] = (),
        *,
        sender: AccountLike,
        value: int = 0,
        gas: int | None = None,
    ) -> str:
        """Deploy ``bytecode`` with constructor arguments; return the new address.

        The ABI is registered for the new address.

        Raises:
            DeploymentFailed: the constructor reverted or halted.
            TransactionRejected: see :meth:`execute`.
            AbiError: the arguments do not fit the constructor.
            ValueError: malformed sender, or value outside uint256.
        """
        index = abi if isinstance(abi, ContractAbi) else ContractAbi(abi)
        init_code = bytes(bytecode) + index.encode_constructor(ctor_args)
        receipt = self.execute(sender, None, init_code, value=value, gas=gas)
        if not receipt.success or receipt.contract_address is None:
            raise DeploymentFailed("deployment", receipt)
        self._abis[receipt.contract_address] = index
        return receipt.contract_address

    def call(
        self,
        address: AccountLike,
        fn: str | bytes,
        args: Sequence[Any] = (),
        *,
        sender: AccountLike = ZERO_ADDRESS,
        value: int = 0,
        gas: int | None = None,
    ) -> Any:
        """Run a function without changing any state and return its result.

        ``fn`` is a function name or signature (encoded with the ABI registered
        for ``address``, result decoded) or raw calldata (raw bytes returned).

        Raises:
            CallReverted: the call reverted or halted.
            UnknownAddressAbiError: ``fn`` is a name but no ABI is registered.
            AbiError: unknown function, arguments do not fit, or the return
                data does not decode as the function's outputs.
            TransactionRejected: see :meth:`execute`.
            ValueError: malformed address, or value outside uint256.
        """
        receipt = self._run(address, fn, args, sender, value, gas, persist=False)
        if not receipt.success:
            raise CallReverted(f"call to {fn!r}" if isinstance(fn, str) else "call", receipt)
        return receipt.return_data if isinstance(fn, bytes) else receipt.return_value

    def call_raw(self, address: str, calldata: bytes, *, read_only: bool = False) -> RawExecution:
        """Run ``calldata`` at ``address`` (checksummed) as a read-only call
        from the zero address with the block's gas, and return what ran, a
        revert or a halt included (never raised; nothing decoded: see
        :meth:`receipt_of`). The fast path for calls made again and again, a
        harness's view calls: with :attr:`records_reads`, it says what the
        call read (``RawExecution.reads``). ``read_only=True`` says that the
        function called is one its compiler made read-only (``view`` or
        ``pure`` in the ABI it wrote), which lets a backend run it as a
        static call (:meth:`_execute_view`).

        Raises:
            TransactionRejected: see :meth:`execute`.
        """
        if read_only:
            return self._execute_view(ZERO_ADDRESS, address, calldata, BLOCK_GAS_LIMIT)
        return self._execute(ZERO_ADDRESS, address, calldata, 0, BLOCK_GAS_LIMIT, persist=False)

    def call_views(self, calls: Sequence[tuple[str, bytes]]) -> list[RawExecution]:
        """Run each ``(address, calldata)`` of ``calls`` (addresses
        checksummed) as ``call_raw(address, calldata, read_only=True)`` does,
        all on the same state, and return their answers in order: the same
        success, revert data and halt as those calls (``gas_used`` and
        ``reads`` apart: a backend may run them as one execution, see
        :attr:`batches_views`). Every function called must be one its
        compiler made read-only, and must not read ``msg.sender`` or compute
        with ``gasleft()``, which a batched call sees differently (see
        :mod:`evm_backend.batch`). By default, one call after another.

        Raises:
            TransactionRejected: see :meth:`execute`.
        """
        return [self._execute_view(ZERO_ADDRESS, address, data, BLOCK_GAS_LIMIT) for address, data in calls]

    def receipt_of(self, raw: RawExecution) -> Receipt:
        """The receipt of a raw execution (its logs and revert reason decoded; no return value)."""
        return self._receipt(raw, None)

    def transact(
        self,
        address: AccountLike,
        fn: str | bytes,
        args: Sequence[Any] = (),
        *,
        sender: AccountLike,
        value: int = 0,
        gas: int | None = None,
    ) -> Receipt:
        """Run a function as a state-changing transaction; never raises on revert.

        ``fn`` is a function name or signature, or raw calldata.

        Raises:
            UnknownAddressAbiError: ``fn`` is a name but no ABI is registered.
            AbiError: unknown function, or arguments do not fit; or the call
                succeeded but its return data does not decode as the
                function's outputs (e.g. no code at ``address``).  In that
                last case the transaction has been applied.
            TransactionRejected: see :meth:`execute`.
            ValueError: malformed address, or value outside uint256.
        """
        return self._run(address, fn, args, sender, value, gas, persist=True)

    def contract(self, address: AccountLike, abi: AbiJson | ContractAbi | None = None) -> Contract:
        """Return a :class:`~evm_backend.contract.Contract` for ``address``.

        Without ``abi`` the ABI registered for ``address`` is used; with it,
        ``abi`` is registered.

        Raises:
            UnknownAddressAbiError: no ``abi`` given and none registered.
            ValueError: malformed address.
        """
        from evm_backend.contract import Contract

        checksummed = to_address(address)
        index = self.register_abi(checksummed, abi) if abi is not None else self.abi_of(checksummed)
        if index is None:
            raise UnknownAddressAbiError(f"no ABI registered for {checksummed}")
        return Contract(self, checksummed, index)

    def deploy_contract(
        self,
        artifact: CompiledContract,
        *ctor_args: Any,
        sender: AccountLike,
        value: int = 0,
        gas: int | None = None,
    ) -> Contract:
        """Deploy a compiled contract and return a wrapper for it.

        Raises:
            DeploymentFailed: the constructor reverted or halted.
            TransactionRejected: see :meth:`execute`.
            AbiError: the arguments do not fit the constructor.
        """
        from evm_backend.contract import Contract

        index = ContractAbi(artifact.abi)
        address = self.deploy(artifact.bytecode, index, ctor_args, sender=sender, value=value, gas=gas)
        return Contract(self, address, index, artifact)

    def _run(
        self,
        address: AccountLike,
        fn: str | bytes,
        args: Sequence[Any],
        sender: AccountLike,
        value: int,
        gas: int | None,
        *,
        persist: bool,
    ) -> Receipt:
        to = to_address(address)
        function: AbiFunction | None = None
        if isinstance(fn, bytes | bytearray):
            if args:
                raise TypeError("args must be empty when fn is raw calldata")
            data = bytes(fn)
        else:
            index = self._abis.get(to)
            if index is None:
                raise UnknownAddressAbiError(f"no ABI registered for {to}; cannot encode {fn!r}")
            function = index.function(fn, len(args))
            data = function.encode_call(args)
        sender_address = to_address(sender)
        gas_limit = BLOCK_GAS_LIMIT if gas is None else gas
        self._check_transaction(sender_address, to, data, value, gas_limit)
        raw = self._execute(sender_address, to, data, value, gas_limit, persist=persist)
        return self._receipt(raw, function)

    def _check_transaction(self, sender: str, to: str | None, data: bytes, value: int, gas: int) -> None:
        if not 0 <= value < _UINT256_LIMIT:
            raise OutOfRange(f"value must be a uint256, got {value}")
        if gas > BLOCK_GAS_LIMIT:
            raise TransactionRejected(f"gas {gas} is above the block gas limit {BLOCK_GAS_LIMIT}")
        needed = intrinsic_gas(data, to is None)
        if gas < needed:
            raise TransactionRejected(f"gas {gas} is below the intrinsic cost {needed}")
        if value:
            balance = self.get_balance(sender)
            if balance < value:
                raise TransactionRejected(f"{sender} has {balance} wei and cannot send {value} wei")

    def _receipt(self, raw: RawExecution, function: AbiFunction | None) -> Receipt:
        if raw.success:
            return Receipt(
                success=True,
                return_value=None if function is None else function.decode_output(raw.output),
                return_data=raw.output,
                revert_reason=None,
                revert_data=b"",
                halted=False,
                logs=tuple(self._decode_log(log) for log in raw.logs),
                gas_used=raw.gas_used,
                contract_address=raw.created_address,
                storage_writes=raw.storage_writes,
                account_writes=raw.account_writes,
                reads=raw.reads,
            )
        return Receipt(
            success=False,
            return_value=None,
            return_data=b"",
            revert_reason=None if raw.halted else decode_revert_reason(raw.output),
            revert_data=b"" if raw.halted else raw.output,
            halted=raw.halted,
            logs=(),
            gas_used=raw.gas_used,
            storage_writes=raw.storage_writes,
            account_writes=raw.account_writes,
            reads=raw.reads,
        )

    def _decode_log(self, log: RawLog) -> Log:
        own = self._abis.get(log.address)
        candidates = [own] if own is not None else []
        # A contract created by another contract has no ABI registered; try
        # the others, whose events are identified by their topic hash.
        candidates.extend(abi for abi in {id(a): a for a in self._abis.values()}.values() if abi is not own)
        for abi in candidates:
            decoded = abi.decode_log(log.topics, log.data)
            if decoded is not None:
                return Log(log.address, decoded[0], decoded[1], log.topics, log.data)
        return Log(log.address, None, {}, log.topics, log.data)
