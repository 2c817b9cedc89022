"""Pick an EVM implementation by name.

The implementation modules are imported lazily, so using one backend never
imports the other EVM library.
"""

from __future__ import annotations

from typing import Final, Literal

from evm_backend.errors import UnknownBackendError
from evm_backend.interface import Backend

BackendName = Literal["py-evm", "pyrevm"]

#: Names accepted by :func:`get_backend`, the reference implementation first.
BACKEND_NAMES: Final[tuple[BackendName, ...]] = ("py-evm", "pyrevm")


def get_backend(name: str = "py-evm", **options: int) -> Backend:
    """Return a fresh backend: ``"py-evm"`` or ``"pyrevm"``.

    ``options`` are passed to the backend (``chain_id``, ``timestamp``,
    ``block_number``).

    Raises:
        UnknownBackendError: ``name`` is not one of :data:`BACKEND_NAMES`.
        UnsupportedForkError: the backend cannot run the configured fork.
        ValueError: an option is out of range.
    """
    if name == "py-evm":
        from evm_backend.pyevm_backend import PyEvmBackend

        return PyEvmBackend(**options)
    if name == "pyrevm":
        from evm_backend.pyrevm_backend import PyRevmBackend

        return PyRevmBackend(**options)
    raise UnknownBackendError(f"unknown EVM backend {name!r}; choose one of {BACKEND_NAMES}")
