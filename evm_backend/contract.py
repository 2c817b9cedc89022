"""A deployed contract: an address and an ABI bound to a backend.

Callers name functions and pass Python values; the wrapper encodes calldata
and decodes results, so nobody hand-encodes::

    token = backend.deploy_contract(artifact, "MT", 18, sender=alice)
    token.transact("transfer", bob.address, 10, sender=alice)
    token.call("balanceOf", bob.address)          # -> 10
    token["balanceOf"].call(bob.address)          # same, via a bound function
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evm_backend.abi import AbiFunction, ContractAbi
from evm_backend.errors import NoStorageLayout
from evm_backend.interface import Backend
from evm_backend.records import ZERO_ADDRESS, AccountLike, Receipt

if TYPE_CHECKING:
    from evm_backend.compiler import CompiledContract


class Contract:
    """A contract at ``address`` on ``backend``, described by ``abi``."""

    def __init__(
        self,
        backend: Backend,
        address: str,
        abi: ContractAbi,
        artifact: CompiledContract | None = None,
    ) -> None:
        self.backend = backend
        self.address = address
        self.abi = abi
        #: The compiler output this contract was deployed from, when known.
        self.artifact = artifact

    def __repr__(self) -> str:
        name = self.artifact.name if self.artifact is not None else "Contract"
        return f"<{name} at {self.address} on {self.backend.name}>"

    def call(
        self,
        fn: str,
        *args: Any,
        sender: AccountLike = ZERO_ADDRESS,
        value: int = 0,
        gas: int | None = None,
    ) -> Any:
        """Call ``fn`` without changing state and return its decoded result.

        Raises:
            CallReverted: the call reverted or halted.
            AbiError: unknown function, or arguments do not fit.
            TransactionRejected: see :meth:`Backend.execute`.
        """
        return self.backend.call(self.address, fn, args, sender=sender, value=value, gas=gas)

    def transact(self, fn: str, *args: Any, sender: AccountLike, value: int = 0, gas: int | None = None) -> Receipt:
        """Send a transaction calling ``fn``; return its receipt (also on revert).

        Raises:
            AbiError: unknown function, or arguments do not fit.
            TransactionRejected: see :meth:`Backend.execute`.
        """
        return self.backend.transact(self.address, fn, args, sender=sender, value=value, gas=gas)

    def function(self, fn: str, n_args: int | None = None) -> BoundFunction:
        """Return ``fn`` bound to this contract.

        Raises:
            AbiError: unknown or ambiguous function.
        """
        return BoundFunction(self, self.abi.function(fn, n_args))

    def __getitem__(self, fn: str) -> BoundFunction:
        """``contract["name"]`` is ``contract.function("name")``."""
        return self.function(fn)

    def get_storage(self, slot: int) -> int:
        """Return storage word ``slot`` of this contract."""
        return self.backend.get_storage(self.address, slot)

    def storage_var(self, name: str) -> int:
        """Return the first storage word of variable ``name`` (from the storage layout).

        Raises:
            NoStorageLayout: no compiler artifact (hence no layout) is attached.
            KeyError: the layout has no storage variable ``name``.
        """
        if self.artifact is None:
            raise NoStorageLayout(f"{self!r} has no compiler artifact, so no storage layout")
        return self.get_storage(self.artifact.storage_slot(name))


@dataclass(frozen=True)
class BoundFunction:
    """One ABI function of one deployed contract."""

    contract: Contract
    abi: AbiFunction

    def call(self, *args: Any, sender: AccountLike = ZERO_ADDRESS, value: int = 0, gas: int | None = None) -> Any:
        """Call without changing state; see :meth:`Contract.call`.

        Raises:
            CallReverted: the call reverted or halted.
            AbiError: the arguments do not fit.
        """
        return self.contract.call(self.abi.signature, *args, sender=sender, value=value, gas=gas)

    def transact(self, *args: Any, sender: AccountLike, value: int = 0, gas: int | None = None) -> Receipt:
        """Send a transaction; see :meth:`Contract.transact`.

        Raises:
            AbiError: the arguments do not fit.
        """
        return self.contract.transact(self.abi.signature, *args, sender=sender, value=value, gas=gas)
