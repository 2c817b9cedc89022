"""Exceptions raised by the EVM backend package.

Every exception derives from :class:`EvmBackendError`, one class per rule that
was broken, so callers can catch precisely what they expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evm_backend.records import Receipt


class EvmBackendError(Exception):
    """Base class of every error raised by ``evm_backend``."""


class CompilerVersionError(EvmBackendError):
    """The installed Vyper compiler is not the version the project pins."""


class CompileError(EvmBackendError):
    """A compiler (Vyper, or solc for Solidity) rejected a contract.

    Attributes:
        file: the file the error points into (the contract or one it imports).
        line: 1-based line, or ``None`` when the compiler gave no location.
        column: 1-based column, or ``None`` when the compiler gave no location.
        message: the compiler's message, without source excerpt.
        kind: the Vyper exception class name, e.g. ``"TypeMismatch"``.
        hint: the compiler's hint, if any.
        annotated: the compiler's own rendering with a source excerpt.
        end_column: 1-based column just past the error on its line, when the
            compiler gives the error's extent (solc does).
        source: the text of ``file``, when the compiler had it in memory
            (else :meth:`render` reads the file).
    """

    def __init__(
        self,
        *,
        file: str,
        line: int | None,
        column: int | None,
        message: str,
        kind: str,
        hint: str | None = None,
        annotated: str = "",
        end_column: int | None = None,
        source: str | None = None,
    ) -> None:
        self.file = file
        self.end_column = end_column
        self.source = source
        self.line = line
        self.column = column
        self.message = message
        self.kind = kind
        self.hint = hint
        self.annotated = annotated
        super().__init__(self.location_text() + f": {kind}: {message}")

    def location_text(self) -> str:
        """Return ``file:line:col`` (or less when the location is unknown)."""
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        """The error as :meth:`render` shows it: wherever it is printed, the caret comes with it."""
        return self.render()

    def render(self) -> str:
        """``file:line:col: Kind: message``, then the source line with a caret
        under the error (as wide as its extent on that line, when known) and
        the compiler's hint. Without a location or a readable file, the first line only."""
        out = [self.location_text() + f": {self.kind}: {self.message}"]
        text = self.source
        if text is None and self.line is not None:
            try:
                with open(self.file, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                text = None
        lines = text.split("\n") if text is not None else []
        if self.line is not None and 1 <= self.line <= len(lines):
            raw = lines[self.line - 1].rstrip("\r").expandtabs(4)
            shown = raw if len(raw) <= 160 else raw[:160] + " ..."
            gutter = f"{self.line:>5} | "
            out.append(gutter + shown)
            column = min(max(self.column or 1, 1), len(raw) + 1)
            width = 1
            if self.end_column is not None and self.end_column > column:
                width = min(self.end_column, len(raw) + 1) - column
            out.append(" " * (len(gutter) + column - 1) + "^" * max(width, 1))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class AbiError(EvmBackendError):
    """A function, event or argument list does not fit the contract's ABI."""


class UnknownAddressAbiError(AbiError):
    """No ABI is registered for the address a call was sent to."""


class TransactionRejected(EvmBackendError):
    """The call is invalid before any code runs.

    Examples: the sender cannot pay the value sent, or the gas limit is below
    the intrinsic cost or above the block gas limit.  A real node would refuse
    such a transaction, so it has no receipt and changes no state.
    """


class ExecutionFailed(EvmBackendError):
    """Code ran and reverted or halted where the caller required success.

    Attributes:
        receipt: the full receipt of the failed execution.
    """

    def __init__(self, what: str, receipt: Receipt) -> None:
        self.receipt = receipt
        detail = (
            f"reverted with reason {receipt.revert_reason!r}"
            if receipt.revert_reason is not None
            else ("halted" if receipt.halted else "reverted without reason")
        )
        super().__init__(f"{what} {detail}")

    @property
    def reason(self) -> str | None:
        """The decoded ``Error(string)`` reason, or ``None``."""
        return self.receipt.revert_reason


class CallReverted(ExecutionFailed):
    """A read-only :meth:`Backend.call` reverted or halted."""


class DeploymentFailed(ExecutionFailed):
    """A constructor reverted or halted, so no contract was created."""


class UnknownSnapshotError(EvmBackendError):
    """A snapshot id was never issued, or was already reverted or discarded."""


class UnsupportedForkError(EvmBackendError):
    """The configured EVM version cannot be run faithfully by this backend."""


class UnknownBackendError(EvmBackendError, ValueError):
    """:func:`evm_backend.get_backend` was given a name it does not know."""


class OutOfRange(EvmBackendError, ValueError):
    """A number outside the range its EVM field takes (a uint256 slot, value or
    balance; a uint64 timestamp, block number or chain id; an account index)."""


class MalformedAddress(EvmBackendError, ValueError):
    """Something given as an address is not a 20-byte address."""


class MalformedArtifact(EvmBackendError, ValueError):
    """A cached compiler artifact, or the compiler settings, cannot be used."""


class NoStorageLayout(EvmBackendError, ValueError):
    """A contract has no compiler artifact attached, hence no storage layout."""
