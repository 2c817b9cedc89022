"""Constant folding over the checked IR, with uint256 semantics.

Used by the checker (constants, loop bounds, bounds of governed parameters,
phase-threshold ordering) and by consumers that need the value of a constant
expression.
"""

from __future__ import annotations

from collections.abc import Callable

from spec import ir

UINT256_MAX = 2**256 - 1
UINT112_MAX = 2**112 - 1

BUILTIN_CONSTANTS: dict[str, tuple[ir.Type, int]] = {
    "MAX_UINT256": (ir.UINT, UINT256_MAX),
    "MAX_UINT112": (ir.UINT, UINT112_MAX),
    "ZERO_ADDRESS": (ir.ADDRESS, 0),
}

Value = int | bool | tuple[int, ...]


class NotConstant(Exception):
    """The expression reads something that is not a constant."""


class ConstantFault(Exception):
    """Evaluating the constant overflows, underflows or divides by zero."""


def _checked(v: int) -> int:
    if v < 0:
        raise ConstantFault("underflow")
    if v > UINT256_MAX:
        raise ConstantFault("overflow")
    return v


def fold(expr: ir.Expr, lookup: Callable[[ir.Ref], Value]) -> Value:
    """Evaluate a constant expression.

    ``lookup`` returns the value of a referenced constant, or raises
    :class:`NotConstant`.

    Raises:
        NotConstant: the expression reads state, a parameter, the environment...
        ConstantFault: the arithmetic fails under uint256 rules.
    """
    if isinstance(expr, ir.Lit):
        if isinstance(expr.value, str):
            raise NotConstant("string")
        return expr.value
    if isinstance(expr, ir.Ref):
        return lookup(expr)
    if isinstance(expr, ir.ListLit):
        out = []
        for item in expr.items:
            v = fold(item, lookup)
            if not isinstance(v, int) or isinstance(v, bool):
                raise NotConstant("list of non-integers")
            out.append(v)
        return tuple(out)
    if isinstance(expr, ir.Not):
        return not fold(expr.operand, lookup)
    if isinstance(expr, ir.Cond):
        return fold(expr.then, lookup) if fold(expr.test, lookup) else fold(expr.orelse, lookup)
    if isinstance(expr, ir.Bin):
        a = fold(expr.left, lookup)
        b = fold(expr.right, lookup)
        return binary(expr.op, a, b)
    if isinstance(expr, ir.Builtin):
        args = [fold(a, lookup) for a in expr.args]
        return builtin(expr.name, args)
    if isinstance(expr, ir.Index):
        base = fold(expr.base, lookup)
        key = fold(expr.key, lookup)
        if isinstance(base, tuple) and isinstance(key, int):
            if key >= len(base):
                raise ConstantFault("index out of range")
            return base[key]
    raise NotConstant(type(expr).__name__)


def binary(op: str, a: Value, b: Value) -> Value:
    """Apply a binary operator with uint256 semantics.

    Raises:
        ConstantFault: on overflow, underflow or division by zero.
    """
    if op in ("and", "or", "==>"):
        if op == "and":
            return bool(a) and bool(b)
        if op == "or":
            return bool(a) or bool(b)
        return (not a) or bool(b)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if not isinstance(a, int) or not isinstance(b, int):
        raise NotConstant("operator on non-integers")
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "+":
        return _checked(a + b)
    if op == "-":
        return _checked(a - b)
    if op == "*":
        return _checked(a * b)
    if op in ("/", "%"):
        if b == 0:
            raise ConstantFault("division by zero")
        return a // b if op == "/" else a % b
    if op == "**":
        if a > 1 and b > 256:
            raise ConstantFault("overflow")
        return _checked(a**b)
    raise NotConstant(op)


def builtin(name: str, args: list[Value]) -> Value:
    """Evaluate a pure builtin on constant arguments (see docs/language.md).

    Raises:
        ConstantFault: on overflow or division by zero.
        NotConstant: for builtins with no constant value (``hash``).
    """
    ints = [a for a in args if isinstance(a, int) and not isinstance(a, bool)]
    if name == "len" and len(args) == 1 and isinstance(args[0], tuple):
        return len(args[0])
    if len(ints) != len(args):
        raise NotConstant(name)
    if name == "min":
        return min(ints)
    if name == "max":
        return max(ints)
    if name == "isqrt":
        import math

        return math.isqrt(ints[0])
    if name in ("mul_div_down", "mul_div_up"):
        product = _checked(ints[0] * ints[1])
        if ints[2] == 0:
            raise ConstantFault("division by zero")
        q, r = divmod(product, ints[2])
        return q + (1 if name == "mul_div_up" and r else 0)
    if name == "div_up":
        if ints[1] == 0:
            raise ConstantFault("division by zero")
        q, r = divmod(ints[0], ints[1])
        return q + (1 if r else 0)
    raise NotConstant(name)
