"""Z3's C API on the prover's hot paths.

z3py wraps every node it hands out in a Python object (a reference count
taken and given back, the sort looked up to pick the class) and coerces
every argument. A query makes hundreds of thousands of such calls, and
they cost more CPU than Z3's own solving. The functions here make the same
calls to Z3 that z3py makes, node for node and in the same order, without
that overhead, so the terms of a query, and the numbers Z3 gives them (which
steer its heuristics, so the rlimit a query spends), are unchanged.

Each falls back to z3py for anything outside the one case it handles.
"""

from __future__ import annotations

from typing import Any

import z3
from z3 import z3core
from z3.z3 import _to_expr_ref


def bare_c_function(fn: Any) -> Any:
    """The bare ctypes function behind a ``z3core`` wrapper (the wrapper
    checks Z3's error code after every call, which a read-only walk over
    terms that exist cannot raise), or the wrapper itself when it has none."""
    defaults = getattr(fn, "__defaults__", None)
    return getattr(defaults[0], "f", fn) if defaults else fn


# Read-only walks over terms that exist: no term is created and no wrapper
# per node (``ExprRef.children`` made one for each child).
KIND = bare_c_function(z3core.Z3_get_ast_kind)
NUM_ARGS = bare_c_function(z3core.Z3_get_app_num_args)
ARG = bare_c_function(z3core.Z3_get_app_arg)
AST_ID = bare_c_function(z3core.Z3_get_ast_id)
APP_KINDS = (z3.Z3_NUMERAL_AST, z3.Z3_APP_AST)
SOLVER_ASSERT = bare_c_function(z3core.Z3_solver_assert)

# Constructors keep z3core's checked wrappers: a sort error raises as in z3py.
_Ast2 = z3core.Ast * 2


def _is_int(v: Any) -> bool:
    return isinstance(v, z3.ArithRef) and v.is_int()


def _two_bounds(v: Any, first: Any, low: int, second: Any, high: int) -> Any:
    """``z3.And(first(v, low), second(v, high))`` through the C API: the same
    nodes z3py makes, in the same order (``first`` and ``second`` are
    ``Z3_mk_ge``, ``Z3_mk_le`` or ``Z3_mk_lt``)."""
    ctx = v.ctx
    c = ctx.ref()
    isort = z3core.Z3_get_sort(c, v.as_ast())
    a = v.as_ast()
    lo = first(c, a, z3core.Z3_mk_numeral(c, str(low), isort))
    # z3py holds each comparison in a wrapper (a reference) while the next is made
    z3core.Z3_inc_ref(c, lo)
    hi = second(c, a, z3core.Z3_mk_numeral(c, str(high), isort))
    z3core.Z3_inc_ref(c, hi)
    both = z3.BoolRef(z3core.Z3_mk_and(c, 2, _Ast2(lo, hi)), ctx)
    z3core.Z3_dec_ref(c, lo)
    z3core.Z3_dec_ref(c, hi)
    return both


def int_between(v: Any, low: int, high: int) -> Any:
    """``z3.And(v >= low, v <= high)``, the same nodes made in the same order."""
    if not _is_int(v):
        return z3.And(v >= low, v <= high)
    return _two_bounds(v, z3core.Z3_mk_ge, low, z3core.Z3_mk_le, high)


def int_below(v: Any, n: int) -> Any:
    """``z3.And(v >= 0, v < n)``, the same nodes made in the same order."""
    if not _is_int(v):
        return z3.And(v >= 0, v < n)
    return _two_bounds(v, z3core.Z3_mk_ge, 0, z3core.Z3_mk_lt, n)


def select(arr: Any, k: Any) -> Any:
    """``z3.Select(arr, k)`` for a one-dimensional array and a key term of its
    domain sort (else z3py's own, which coerces or raises)."""
    if not isinstance(arr, z3.ArrayRef) or not isinstance(k, z3.ExprRef) or k.ctx is not arr.ctx:
        return z3.Select(arr, k)
    c = arr.ctx.ref()
    srt = z3core.Z3_get_sort(c, arr.as_ast())
    if z3core.Z3_get_array_arity(c, srt) != 1 or not z3core.Z3_is_eq_sort(
            c, z3core.Z3_get_array_sort_domain(c, srt), z3core.Z3_get_sort(c, k.as_ast())):
        return z3.Select(arr, k)
    return _to_expr_ref(z3core.Z3_mk_select(c, arr.as_ast(), k.as_ast()), arr.ctx)


def assert_all(solver: Any, formulas: Any) -> None:
    """``solver.add(f)`` for each formula in order, without the per-call coercion."""
    ctx, ptr = solver.ctx.ref(), solver.solver
    for f in formulas:
        if isinstance(f, z3.BoolRef) and f.ctx is solver.ctx:
            SOLVER_ASSERT(ctx, ptr, f.as_ast())
        else:
            solver.add(f)

