"""EVM access for imospec: one small interface, two interchangeable EVMs.

Use :func:`get_backend` for an EVM (``"py-evm"`` or ``"pyrevm"``) and
:func:`compile_file` / :func:`compile_source` for Vyper artifacts.  Only
:mod:`evm_backend.pyevm_backend` imports py-evm and only
:mod:`evm_backend.pyrevm_backend` imports pyrevm; both load on demand.
"""

from evm_backend.abi import AbiEvent, AbiFunction, ContractAbi, decode_revert_reason
from evm_backend.accounts import TestAccount, derive_account, derive_accounts
from evm_backend.compiler import (
    PINNED_VYPER_VERSION,
    CompiledContract,
    CompileSettings,
    compile_file,
    compile_source,
)
from evm_backend.contract import BoundFunction, Contract
from evm_backend.errors import (
    AbiError,
    CallReverted,
    CompileError,
    CompilerVersionError,
    DeploymentFailed,
    EvmBackendError,
    ExecutionFailed,
    TransactionRejected,
    UnknownAddressAbiError,
    UnknownBackendError,
    UnknownSnapshotError,
    UnsupportedForkError,
)
from evm_backend.factory import BACKEND_NAMES, BackendName, get_backend
from evm_backend.fork import EVM_VERSION
from evm_backend.interface import Backend
from evm_backend.layout import hashmap_slot
from evm_backend.records import Log, Receipt

__all__ = [
    "BACKEND_NAMES",
    "EVM_VERSION",
    "PINNED_VYPER_VERSION",
    "AbiError",
    "AbiEvent",
    "AbiFunction",
    "Backend",
    "BackendName",
    "BoundFunction",
    "CallReverted",
    "CompileError",
    "CompileSettings",
    "CompiledContract",
    "CompilerVersionError",
    "Contract",
    "ContractAbi",
    "DeploymentFailed",
    "EvmBackendError",
    "ExecutionFailed",
    "Log",
    "Receipt",
    "TestAccount",
    "TransactionRejected",
    "UnknownAddressAbiError",
    "UnknownBackendError",
    "UnknownSnapshotError",
    "UnsupportedForkError",
    "compile_file",
    "compile_source",
    "decode_revert_reason",
    "derive_account",
    "derive_accounts",
    "get_backend",
    "hashmap_slot",
]
