"""The primitives an EVM implementation supplies, and nothing else: run one
message, snapshot and revert raw state, set the block environment, read and
write accounts. :class:`evm_backend.interface.Backend` builds everything
else on them."""

from __future__ import annotations

from abc import ABC, abstractmethod

from evm_backend.records import AccountLike, RawExecution


class EVM(ABC):
    """The small interface an EVM implementation fills in (py-evm, pyrevm)."""

    @abstractmethod
    def _execute(
        self, sender: str, to: str | None, data: bytes, value: int, gas: int, *, persist: bool
    ) -> RawExecution:
        """Run one message as a transaction (``to=None`` creates a contract).

        The caller has already checked the value against the balance and the
        gas against the intrinsic cost and the block limit.  With
        ``persist=False`` every state change, the nonce included, is undone.
        """

    def _execute_view(self, sender: str, to: str, data: bytes, gas: int) -> RawExecution:
        """Run a call of a function its compiler made read-only (``view`` or
        ``pure`` in the ABI it wrote: the compiler rejects any write in it,
        and its calls to other contracts are static), leaving the state as it
        was. An implementation may run it as a static call and skip undoing
        what only a write could change; the answer is the same. By default,
        :meth:`_execute` without persisting."""
        return self._execute(sender, to, data, 0, gas, persist=False)

    @abstractmethod
    def _snapshot_state(self) -> object:
        """Return a handle that :meth:`_revert_state` can roll back to."""

    @abstractmethod
    def _revert_state(self, handle: object) -> None:
        """Roll state back to ``handle``; handles are reverted newest first."""

    @abstractmethod
    def _set_block_env(self, timestamp: int, block_number: int) -> None:
        """Make later executions see this ``block.timestamp`` and ``block.number``."""

    @abstractmethod
    def get_storage(self, address: AccountLike, slot: int) -> int:
        """Return storage word ``slot`` of ``address`` (0 when never written).

        Raises:
            ValueError: malformed address or slot out of range.
        """

    @abstractmethod
    def get_balance(self, address: AccountLike) -> int:
        """Return the balance of ``address`` in wei.

        Raises:
            ValueError: malformed address.
        """

    @abstractmethod
    def set_storage(self, address: AccountLike, slot: int, value: int) -> None:
        """Write storage word ``slot`` of ``address`` directly, as no
        transaction could (a test's way to a state that takes too many
        transactions to reach, such as 2**32 vote checkpoints).

        Raises:
            ValueError: malformed address, or ``slot`` or ``value`` outside uint256.
        """

    @abstractmethod
    def set_balance(self, address: AccountLike, wei: int) -> None:
        """Set the balance of ``address`` to ``wei``.

        Raises:
            ValueError: malformed address, or ``wei`` outside uint256.
        """

    @abstractmethod
    def get_nonce(self, address: AccountLike) -> int:
        """Return the nonce of ``address``.

        Raises:
            ValueError: malformed address.
        """

    @abstractmethod
    def get_code(self, address: AccountLike) -> bytes:
        """Return the runtime code at ``address`` (empty for an account without code).

        Raises:
            ValueError: malformed address.
        """
