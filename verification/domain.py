"""Arithmetic domains: how uint256 values become Z3 terms.

Two encodings exist, and both are *exact*: neither abstracts anything, so the
choice between them changes only the solver's speed and completeness, never a
verdict.

``IntDomain`` (the default)
    Every uint256 value is a mathematical integer (Z3 ``Int``). The bounds
    ``0 <= x <= 2**256 - 1`` are stated explicitly as side facts on every value
    that enters the query from outside (pre-state variables, map reads,
    arguments, environment). Checked operations compute the exact result and
    the encoder asserts the revert condition ``result > MAX`` (or ``b > a`` for
    a subtraction, ``b == 0`` for a division) itself. Because the exact integer
    result equals the uint256 result whenever no revert happens, and because a
    reverting step is excluded from invariant queries, the encoding is exact.
    Linear queries stay in linear integer arithmetic, which Z3 decides;
    nonlinear ones may come back ``unknown`` (incomplete theory).

``BVDomain`` (the fallback)
    Every uint256 value is a 257-bit two's-complement bit-vector whose sign bit
    is zero, i.e. a number in ``[0, 2**256)``. Exact operations widen their
    operands first (``+``/``-`` by one bit, ``*`` to the sum of the widths), so
    they never wrap; a checked operation then tests the exact result against
    ``2**256 - 1`` and narrows it back to 257 bits, which is lossless whenever
    the test passes. Rules, whose arithmetic is exact, keep widening. Division
    is floor division: unsigned when both sides are known non-negative, else
    signed division corrected towards minus infinity. Bit-vector arithmetic is
    decidable, so the fallback never answers "incomplete", at the price of
    large bit-blasted multipliers.

Addresses, ``bytes32`` values, signatures and phase bands are ``Int`` in both
domains: they take part in no arithmetic.
"""

from __future__ import annotations

from typing import Protocol

import z3

from verification.capi import int_between

UINT_MAX = 2**256 - 1
ADDRESS_MAX = 2**160 - 1
BV_WIDTH = 257


class Domain(Protocol):
    """The operations the encoder needs on integer values."""

    name: str

    def usort(self) -> z3.SortRef:
        """The Z3 sort of a uint256 value."""
    def lit(self, n: int) -> z3.ExprRef:
        """The literal ``n`` as a value of this domain."""
    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a + b``, exact (overflow is checked by the encoder, not here)."""
    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a - b``, exact (underflow is checked by the encoder, not here)."""
    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a * b``, exact (overflow is checked by the encoder, not here)."""
    def floordiv(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """``a / b`` rounded down; ``nonneg`` says both are known to be non-negative. The divisor is checked non-
        zero by the encoder.
        """
    def mod(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """``a % b``; ``nonneg`` says both are known to be non-negative. The divisor is checked non-zero by the
        encoder.
        """
    def lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a < b``."""
    def le(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a <= b``."""
    def eq(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a == b``."""
    def ite(self, c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a`` when ``c`` holds, else ``b``."""
    def narrow(self, a: z3.ExprRef) -> z3.ExprRef:
        """``a`` brought back to a uint256 value of this domain (after exact arithmetic)."""
    def in_uint(self, a: z3.ExprRef) -> z3.BoolRef:
        """The fact that ``a`` lies in [0, 2**256)."""
    def stored_fact(self, a: z3.ExprRef) -> z3.BoolRef:
        """What holds of every value stored in state (its range)."""
    def to_int(self, v: z3.ExprRef) -> int:
        """The Python integer of a value in a model."""
    def is_int_value(self, e: z3.ExprRef) -> bool:
        """Whether ``e`` is a literal of this domain."""


class UnknownEncoding(ValueError):
    """An encoding name other than ``int`` and ``bv``."""


class IntDomain:
    """uint256 as mathematical integers with explicit range facts."""

    name = "int"

    def usort(self) -> z3.SortRef:
        """The Z3 sort of a uint256 value (as a mathematical integer)."""
        return z3.IntSort()

    def lit(self, n: int) -> z3.ExprRef:
        """The literal ``n`` as a value of this domain (as a mathematical integer)."""
        return z3.IntVal(n)

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a + b``, exact (overflow is checked by the encoder, not here) (as a mathematical integer)."""
        return a + b

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a - b``, exact (underflow is checked by the encoder, not here) (as a mathematical integer)."""
        return a - b

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a * b``, exact (overflow is checked by the encoder, not here) (as a mathematical integer)."""
        return a * b

    def floordiv(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """Floor division for ``b != 0`` (Z3's ``div`` is floor for ``b > 0``)."""
        if nonneg:
            return a / b
        return z3.If(b > 0, a / b, (-a) / (-b))

    def mod(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """Python's ``a % b`` for ``b != 0`` (the sign of the divisor)."""
        if nonneg:
            return a % b
        return a - b * self.floordiv(a, b, False)

    def lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a < b`` (as a mathematical integer)."""
        return a < b

    def le(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a <= b`` (as a mathematical integer)."""
        return a <= b

    def eq(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a == b`` (as a mathematical integer)."""
        return a == b

    def ite(self, c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a`` when ``c`` holds, else ``b`` (as a mathematical integer)."""
        return z3.If(c, a, b)

    def narrow(self, a: z3.ExprRef) -> z3.ExprRef:
        """``a`` brought back to a uint256 value of this domain (after exact arithmetic) (as a mathematical integer)."""
        return a

    def in_uint(self, a: z3.ExprRef) -> z3.BoolRef:
        """The fact that ``a`` lies in [0, 2**256) (as a mathematical integer)."""
        return int_between(a, 0, UINT_MAX)

    def stored_fact(self, a: z3.ExprRef) -> z3.BoolRef:
        """What holds of every value stored in state (its range) (as a mathematical integer)."""
        return self.in_uint(a)

    def to_int(self, v: z3.ExprRef) -> int:
        """The Python integer of a value in a model (as a mathematical integer)."""
        return int(v.as_long())

    def is_int_value(self, e: z3.ExprRef) -> bool:
        """Whether ``e`` is a literal of this domain (as a mathematical integer)."""
        return z3.is_int_value(e)


class BVDomain:
    """uint256 as 257-bit signed bit-vectors; exact operations widen."""

    name = "bv"

    def usort(self) -> z3.SortRef:
        """The Z3 sort of a uint256 value (as a 256-bit vector)."""
        return z3.BitVecSort(BV_WIDTH)

    def lit(self, n: int) -> z3.ExprRef:
        """The literal ``n`` as a value of this domain (as a 256-bit vector)."""
        width = max(BV_WIDTH, abs(n).bit_length() + 1)
        return z3.BitVecVal(n, width)

    @staticmethod
    def _ext(a: z3.ExprRef, width: int) -> z3.ExprRef:
        size = a.size()
        return a if size == width else z3.SignExt(width - size, a)

    def _align(self, a: z3.ExprRef, b: z3.ExprRef, extra: int = 0) -> tuple[z3.ExprRef, z3.ExprRef]:
        width = max(a.size(), b.size()) + extra
        return self._ext(a, width), self._ext(b, width)

    def add(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a + b``, exact (overflow is checked by the encoder, not here) (as a 256-bit vector)."""
        x, y = self._align(a, b, 1)
        return x + y

    def sub(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a - b``, exact (underflow is checked by the encoder, not here) (as a 256-bit vector)."""
        x, y = self._align(a, b, 1)
        return x - y

    def mul(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a * b``, exact (overflow is checked by the encoder, not here) (as a 256-bit vector)."""
        width = a.size() + b.size()
        return self._ext(a, width) * self._ext(b, width)

    def floordiv(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """``a / b`` rounded down; ``nonneg`` says both are known to be non-negative. The divisor is checked non-
        zero by the encoder (as a 256-bit vector).
        """
        if nonneg:
            x, y = self._align(a, b)
            return z3.UDiv(x, y)
        x, y = self._align(a, b, 1)
        q = x / y  # bvsdiv truncates towards zero
        r = z3.SRem(x, y)
        adjust = z3.And(r != 0, (r < 0) != (y < 0))
        return z3.If(adjust, q - 1, q)

    def mod(self, a: z3.ExprRef, b: z3.ExprRef, nonneg: bool) -> z3.ExprRef:
        """``a % b``; ``nonneg`` says both are known to be non-negative. The divisor is checked non-zero by the
        encoder (as a 256-bit vector).
        """
        if nonneg:
            x, y = self._align(a, b)
            return z3.URem(x, y)
        x, y = self._align(a, b, 1)
        r = z3.SRem(x, y)
        adjust = z3.And(r != 0, (r < 0) != (y < 0))
        return z3.If(adjust, r + y, r)

    def lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a < b`` (as a 256-bit vector)."""
        x, y = self._align(a, b)
        return x < y

    def le(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a <= b`` (as a 256-bit vector)."""
        x, y = self._align(a, b)
        return x <= y

    def eq(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        """``a == b`` (as a 256-bit vector)."""
        x, y = self._align(a, b)
        return x == y

    def ite(self, c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
        """``a`` when ``c`` holds, else ``b`` (as a 256-bit vector)."""
        x, y = self._align(a, b)
        return z3.If(c, x, y)

    def narrow(self, a: z3.ExprRef) -> z3.ExprRef:
        """``a`` brought back to a uint256 value of this domain (after exact arithmetic) (as a 256-bit vector)."""
        size = a.size()
        if size == BV_WIDTH:
            return a
        if size > BV_WIDTH:
            return z3.Extract(BV_WIDTH - 1, 0, a)
        return z3.SignExt(BV_WIDTH - size, a)

    def in_uint(self, a: z3.ExprRef) -> z3.BoolRef:
        """The fact that ``a`` lies in [0, 2**256) (as a 256-bit vector)."""
        return z3.And(self.le(self.lit(0), a), self.le(a, self.lit(UINT_MAX)))

    def stored_fact(self, a: z3.ExprRef) -> z3.BoolRef:
        """What holds of every value stored in state (its range) (as a 256-bit vector)."""
        return self.le(self.lit(0), a)

    def to_int(self, v: z3.ExprRef) -> int:
        """The Python integer of a value in a model (as a 256-bit vector)."""
        return int(v.as_signed_long())

    def is_int_value(self, e: z3.ExprRef) -> bool:
        """Whether ``e`` is a literal of this domain (as a 256-bit vector)."""
        return z3.is_bv_value(e)


def make_domain(name: str) -> Domain:
    """The domain called ``name`` ("int" or "bv").

    Raises:
        UnknownEncoding: for any other name.
    """
    if name == "int":
        return IntDomain()
    if name == "bv":
        return BVDomain()
    raise UnknownEncoding(f"unknown encoding {name!r}: use 'int' or 'bv'")
