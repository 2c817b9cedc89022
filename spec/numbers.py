"""Numbers as a reader wants them in a counterexample or a trace.

``2**256 - 1`` is not 115792089237316195423570985008687907853269984665640564039457584007913129639935:
the bounds of the integer types are shown by name, round amounts in powers of
ten (``5e18``: five WAD-scaled units), other large numbers with digit groups.
Shared by the prover's counterexamples and the conformance traces.
"""

from __future__ import annotations

__all__ = ["show_number"]

#: The bounds shown by name: the largest value of each unsigned type the protocol uses, and 2**255.
_NAMED = {2**256 - 1: "2**256-1", 2**255: "2**255",
          **{2**b - 1: f"MAX_UINT{b}" for b in (64, 96, 112, 128, 160, 192, 224)}}


def show_number(v: int) -> str:
    """``v`` in the shortest form that stays exact: a bound by name
    (``2**256-1``, ``MAX_UINT112``), a round amount as ``Ne18``, else the
    digits (grouped by ``_`` from a billion on)."""
    if v < 0:
        return "-" + show_number(-v)
    if v in _NAMED:
        return _NAMED[v]
    if v < 10**9:
        return str(v)
    for bits in (256, 224, 192, 160, 128, 112, 96, 64):
        if 2**bits - 2**16 <= v < 2**bits - 1:
            return f"{_NAMED.get(2**bits - 1, f'2**{bits}-1')}-{2**bits - 1 - v}"
    k = 0
    while v % 10 ** (k + 1) == 0:
        k += 1
    if k >= 6:
        return f"{v // 10**k}e{k}"
    return f"{v:_}"
