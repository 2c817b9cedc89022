"""A spec action run as a short sequence of calls (a binding's ``actions``).

Real protocols rarely take a spec action in one call: a Uniswap v2 pair
expects the input tokens to arrive (a ``transfer`` to the pair) before
``swap(amount0Out, amount1Out, to, data)``. :func:`run_calls` runs such a
sequence from the step's caller, atomically (when one call reverts, every
call is undone and the step reverts with that call's reason), and folds the
receipts into one, as a router contract's single transaction would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conformance.binding import ActionBinding, BindingError
from evm_backend.errors import AbiError
from evm_backend.interface import Backend, Receipt


def call_arguments(backend: Backend, target: str, fn: str, tokens: tuple[Any, ...],
                   value_of: Callable[[Any], Any]) -> list[Any]:
    """The ABI arguments of one call: each token's value (``value_of``),
    an address-typed number as a checksummed address.

    Raises:
        BindingError: the target has no such function with that many arguments.
    """
    abi = backend.abi_of(target)
    try:
        types = abi.function(fn, len(tokens)).input_types if abi is not None else ()
    except AbiError as exc:
        raise BindingError(f"the binding calls {fn} with {len(tokens)} arguments: {exc}") from None
    out = []
    for token, t in zip(tokens, types, strict=True):
        v = value_of(token)
        if t == "address" and isinstance(v, int):
            v = f"0x{v:040x}"
        out.append(v)
    return out


def run_calls(backend: Backend, bound: ActionBinding, *, sender: str, self_address: str,
              args: Mapping[str, Any], resolve: Callable[[Any], Any]) -> Receipt:
    """Run ``bound``'s calls from ``sender``; one receipt for the whole sequence.

    ``args`` are the spec action's arguments by name (ABI values);
    ``resolve`` turns any other token (``@module``, ``actor:N``, a number) into a value.

    Raises:
        BindingError: a call names an unknown argument or function.
    """

    def value_of(token: Any) -> Any:
        if isinstance(token, str):
            if token.startswith("$"):
                if token[1:] not in args:
                    raise BindingError(f"the binding passes {token}, which the spec action does not take")
                return args[token[1:]]
            if token == "caller":
                return sender
            if token == "self":
                return self_address
            if token.startswith("bytes:"):
                return bytes.fromhex(token[6:].removeprefix("0x"))
        return resolve(token)

    snapshot = backend.snapshot()
    receipts: list[Receipt] = []
    for target, fn, tokens in bound.calls:
        address = self_address if target == "self" else value_of(target)
        if isinstance(address, int):
            address = f"0x{address:040x}"
        receipt = backend.transact(address, fn, call_arguments(backend, address, fn, tokens, value_of),
                                   sender=sender)
        receipts.append(receipt)
        if not receipt.success:
            backend.revert(snapshot)
            return receipt
    chosen = receipts[bound.returns]
    writes: frozenset[tuple[str, int]] | None = frozenset()
    accounts: frozenset[str] | None = frozenset()
    for r in receipts:
        writes = None if writes is None or r.storage_writes is None else writes | r.storage_writes
        accounts = None if accounts is None or r.account_writes is None else accounts | r.account_writes
    return Receipt(
        success=True,
        return_value=chosen.return_value,
        return_data=chosen.return_data,
        revert_reason=None,
        revert_data=b"",
        halted=False,
        logs=tuple(log for r in receipts for log in r.logs),
        gas_used=sum(r.gas_used for r in receipts),
        storage_writes=writes,
        account_writes=accounts,
    )
