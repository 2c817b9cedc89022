"""Many read-only calls in one EVM execution: a small multicall contract,
assembled here by hand, and the encoding of its input and output.

The contract (:data:`BATCH_RUNTIME`) reads records from its calldata, each
a 32-byte header ``length << 160 | target`` followed by ``length`` bytes of
calldata, and for each in turn makes a ``STATICCALL`` to ``target`` with
those bytes and all the gas it may pass on (63/64 of what is left). It
returns, for each call, a 32-byte header ``before << 160 | after << 96 |
success << 64 | returndatasize`` followed by the call's return data (a
revert's data too), where ``before`` and ``after`` are the gas the batch had
left just before the call and just after it.

What a call made this way sees differs from a call of its own (a
transaction from the zero address, :meth:`Backend.call_raw`) in three
things only: ``msg.sender`` is the batch contract (``tx.origin`` is still
the zero address); it has less gas (``gasleft()`` differs), and a slot or
account an earlier call of the batch read is warm (EIP-2929: it costs less
gas). Its answer is the same as long as its code does not read
``msg.sender`` or compute with ``gasleft()``, and nothing in it runs out of
gas because it was given less: :func:`split_batch` says which answers cannot
be trusted for that last reason (:attr:`BatchAnswer.exact` false), and the
caller asks those again on their own.

Layout of the assembly (stack top first; ``i`` the offset of the next record
in the calldata, ``o`` the offset of the next answer in memory; a call's
calldata is copied where its answer goes, and its return data over it once
it has returned)::

    PUSH0 PUSH0                 [i=0, o=0]
  loop:
    JUMPDEST
    CALLDATASIZE DUP2 LT ISZERO PUSH1 end JUMPI        (i >= calldatasize: done)
    DUP1 CALLDATALOAD                                   [h, i, o]
    DUP1 PUSH1 0xa0 SHR                                 [len, h, i, o]
    DUP1 DUP4 PUSH1 32 ADD DUP6 PUSH1 32 ADD CALLDATACOPY   (mem[o+32:] = calldata[i+32:i+32+len])
    GAS                                                 [g0, len, h, i, o]
    PUSH0 PUSH0 DUP4 DUP8 PUSH1 32 ADD DUP7 PUSH20 0xff..ff AND GAS STATICCALL
                                                        [ok, g0, len, h, i, o]
    GAS PUSH1 96 SHL SWAP1 PUSH1 64 SHL OR              [g1 << 96 | ok << 64, g0, ...]
    DUP2 PUSH1 160 SHL OR RETURNDATASIZE OR             [header, g0, len, h, i, o]
    DUP6 MSTORE                                         (mem[o] = header)
    RETURNDATASIZE PUSH0 DUP7 PUSH1 32 ADD RETURNDATACOPY   (mem[o+32:] = return data)
    POP SWAP1 POP ADD PUSH1 32 ADD                      [i + 32 + len, o]
    SWAP1 RETURNDATASIZE ADD PUSH1 32 ADD SWAP1         [i', o + 32 + returndatasize]
    PUSH1 loop JUMP
  end:
    JUMPDEST POP PUSH0 RETURN                           (return mem[0:o])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from evm_backend.errors import EvmBackendError


def _assemble() -> bytes:
    """The runtime code of the batch contract (see the module's docstring)."""
    loop = 0x02
    head = (
        "5f"  # PUSH0                      o = 0
        "5f"  # PUSH0                      i = 0
    )
    body = (
        "5b"  # JUMPDEST (loop)
        "36"  # CALLDATASIZE
        "81"  # DUP2
        "10"  # LT                         i < calldatasize
        "15"  # ISZERO
        "60{end:02x}"  # PUSH1 end
        "57"  # JUMPI
        "80"  # DUP1
        "35"  # CALLDATALOAD               h
        "80"  # DUP1
        "60a0"  # PUSH1 0xa0
        "1c"  # SHR                        len = h >> 160
        "80"  # DUP1                       size = len
        "83"  # DUP4
        "6020"  # PUSH1 32
        "01"  # ADD                        offset = i + 32
        "85"  # DUP6
        "6020"  # PUSH1 32
        "01"  # ADD                        dest = o + 32
        "37"  # CALLDATACOPY
        "5a"  # GAS                        g0
        "5f"  # PUSH0                      retSize = 0
        "5f"  # PUSH0                      retOffset = 0
        "83"  # DUP4                       argsSize = len
        "87"  # DUP8
        "6020"  # PUSH1 32
        "01"  # ADD                        argsOffset = o + 32
        "86"  # DUP7                       h
        "73" + "ff" * 20 +  # PUSH20 mask
        "16"  # AND                        target = h & mask
        "5a"  # GAS
        "fa"  # STATICCALL                 ok
        "5a"  # GAS                        g1
        "6060"  # PUSH1 96
        "1b"  # SHL                        g1 << 96
        "90"  # SWAP1
        "6040"  # PUSH1 64
        "1b"  # SHL                        ok << 64
        "17"  # OR
        "81"  # DUP2                       g0
        "60a0"  # PUSH1 160
        "1b"  # SHL                        g0 << 160
        "17"  # OR
        "3d"  # RETURNDATASIZE
        "17"  # OR                         header
        "85"  # DUP6                       o
        "52"  # MSTORE
        "3d"  # RETURNDATASIZE             size
        "5f"  # PUSH0                      offset 0
        "86"  # DUP7
        "6020"  # PUSH1 32
        "01"  # ADD                        dest = o + 32
        "3e"  # RETURNDATACOPY
        "50"  # POP                        g0
        "90"  # SWAP1
        "50"  # POP                        h
        "01"  # ADD                        len + i
        "6020"  # PUSH1 32
        "01"  # ADD                        i' = i + 32 + len
        "90"  # SWAP1
        "3d"  # RETURNDATASIZE
        "01"  # ADD
        "6020"  # PUSH1 32
        "01"  # ADD                        o' = o + 32 + returndatasize
        "90"  # SWAP1
        "60{loop:02x}"  # PUSH1 loop
        "56"  # JUMP
    )
    tail = (
        "5b"  # JUMPDEST (end)
        "50"  # POP                        i
        "5f"  # PUSH0
        "f3"  # RETURN                     mem[0:o]
    )
    end = loop + len(bytes.fromhex(body.format(end=0, loop=0)))
    code = bytes.fromhex(head + body.format(end=end, loop=loop) + tail)
    assert code[loop] == 0x5B and code[end] == 0x5B  # both jump targets are JUMPDESTs
    return code


#: Runtime code of the batch contract.
BATCH_RUNTIME: Final = _assemble()

#: Init code that deploys :data:`BATCH_RUNTIME` (``CODECOPY`` it, ``RETURN`` it).
BATCH_INIT: Final = bytes.fromhex(f"60{len(BATCH_RUNTIME):02x}8060095f395ff3") + BATCH_RUNTIME


@dataclass(frozen=True)
class BatchAnswer:
    """One call's answer within a batch.

    Attributes:
        success: the call returned normally.
        output: its return data, or its revert data.
        gas_used: the gas the call took within the batch (the called code's
            and the call's own cost; no transaction's intrinsic gas).
        exact: the answer is the one a call of its own gives: the call used
            less than half the gas the batch had left for it, so nothing in it
            ran out of gas for having been given less than a call of its own
            has (an exhausted frame, however deep, takes at least 63/64 of
            what its parent had left, and so on up: more than half of what
            the call was given, for any nesting under 44 frames); and for a
            failure, that it is a revert (a halt takes all the gas the call
            was given), whose data the batch returns. When false, ask the
            call again on its own.
    """

    success: bool
    output: bytes
    gas_used: int
    exact: bool


def encode_batch(calls: Sequence[tuple[str, bytes]]) -> bytes:
    """The batch contract's calldata for ``calls``: (checksummed address,
    calldata) pairs.

    Raises:
        ValueError: a calldata is longer than 2**32 bytes.
    """
    parts = []
    targets: dict[str, int] = {}  # (each address parsed once)
    for address, data in calls:
        if len(data) >= 1 << 32:
            raise ValueError(f"calldata of {len(data)} bytes is too long for a batch")
        target = targets.get(address)
        if target is None:
            target = targets[address] = int(address, 16)
        parts.append(((len(data) << 160) | target).to_bytes(32, "big"))
        parts.append(data)
    return b"".join(parts)


def split_batch(output: bytes, count: int) -> list[BatchAnswer]:
    """The ``count`` answers in the batch contract's return data.

    Raises:
        EvmBackendError: the return data does not hold ``count`` answers.
    """
    return [BatchAnswer(*answer) for answer in split_batch_fields(output, count)]


def split_batch_fields(output: bytes, count: int) -> list[tuple[bool, bytes, int, bool]]:
    """:func:`split_batch`'s answers as plain tuples ``(success, output,
    gas_used, exact)``, the fields of :class:`BatchAnswer` in order (for a
    caller that makes its own records of them).

    Raises:
        EvmBackendError: the return data does not hold ``count`` answers.
    """
    answers: list[tuple[bool, bytes, int, bool]] = []
    at = 0
    end = len(output)
    from_bytes = int.from_bytes
    for _ in range(count):
        if at + 32 > end:
            raise EvmBackendError(f"a batch returned {len(answers)} answers of {count}")
        header = from_bytes(output[at:at + 32], "big")
        size = header & 0xFFFFFFFFFFFFFFFF
        before = header >> 160
        used = before - ((header >> 96) & 0xFFFFFFFFFFFFFFFF)
        at += 32
        answers.append((bool((header >> 64) & 1), output[at:at + size], used, 2 * used < before))
        at += size
    if at != end:
        raise EvmBackendError(f"a batch returned {end - at} bytes after its {count} answers")
    return answers
