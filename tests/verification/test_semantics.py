"""The encoding agrees with the reference runtime on concrete values: checked
uint256 arithmetic (value or revert), rounding builtins, decay schedules,
early returns and loops, and exact arithmetic in rules; in both domains."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference import runtime as rt
from spec import ir
from spec.driver import load_spec
from tests.verification.conftest import SPECS
from verification.build import InitBase
from verification.domain import make_domain
from verification.encode import Encoder, Frame, Mode, SymState

SPEC = load_spec([str(SPECS / "semantics")]).spec
assert SPEC is not None
MAX = 2**256 - 1

uints = st.one_of(st.integers(0, 300), st.integers(0, 2**128), st.integers(2**255, MAX),
                  st.sampled_from([0, 1, 2, 2**128, MAX, MAX - 1]))


def run_fn(domain: str, name: str, args: list[int]) -> int | None:
    """The encoder's value of ``ops.name(args)``, or None when it faults."""
    enc = Encoder(SPEC, make_domain(domain))
    st_ = SymState(InitBase(enc))
    call = ir.FnCall(ir.UINT, None, "ops", name, tuple(ir.Lit(ir.UINT, None, a) for a in args))
    value, ok = enc.ev(call, st_, Frame("ops", {}, None))
    facts = z3.simplify(z3.And(*enc.facts)) if enc.facts else z3.BoolVal(True)
    s = z3.Solver()
    s.add(facts)
    assert s.check() == z3.sat
    m = s.model()
    okv = m.eval(ok, model_completion=True)
    if z3.is_false(okv):
        return None
    assert z3.is_true(okv)
    v = m.eval(value, model_completion=True)
    return int(v.as_signed_long()) if z3.is_bv_value(v) else int(v.as_long())


def reference(f: Callable[..., int], *args: int) -> int | None:
    try:
        return f(*args)
    except rt.Revert:
        return None


FNS2: list[tuple[str, Callable[..., int]]] = [
    ("f_add", rt.add), ("f_sub", rt.sub), ("f_mul", rt.mul), ("f_div", rt.div), ("f_mod", rt.mod),
    ("f_div_up", rt.div_up), ("f_min", min), ("f_max", max),
]

CFG = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("domain", ["int", "bv"])
@pytest.mark.parametrize(("name", "fn"), FNS2, ids=[n for n, _ in FNS2])
@CFG
@given(a=uints, b=uints)
def test_checked_binary(domain: str, name: str, fn: Callable[..., int], a: int, b: int) -> None:
    assert run_fn(domain, name, [a, b]) == reference(fn, a, b)


@pytest.mark.parametrize("domain", ["int", "bv"])
@CFG
@given(a=uints, b=uints, c=uints)
def test_mul_div(domain: str, a: int, b: int, c: int) -> None:
    assert run_fn(domain, "f_mul_div_down", [a, b, c]) == reference(rt.mul_div_down, a, b, c)
    assert run_fn(domain, "f_mul_div_up", [a, b, c]) == reference(rt.mul_div_up, a, b, c)


@pytest.mark.parametrize("domain", ["int", "bv"])
@CFG
@given(a=st.integers(0, 2**40), b=st.integers(0, 300))
def test_pow(domain: str, a: int, b: int) -> None:
    assert run_fn(domain, "f_pow", [a, b]) == reference(rt.pow_, a, b)


@CFG
@given(a=uints)
def test_isqrt(a: int) -> None:
    assert run_fn("int", "f_isqrt", [a]) == math.isqrt(a)


@CFG
@given(level=st.integers(0, 5), backed=st.integers(0, 4), since=st.integers(0, 200), t=st.integers(0, 200),
       amount=st.integers(0, 20000))
def test_decay(level: int, backed: int, since: int, t: int, amount: int) -> None:
    assert run_fn("int", "f_decay", [level, backed, since, t]) == rt.decay_at((10, 20, 30), level, backed, since, t)
    assert run_fn("int", "f_level_of", [amount]) == rt.level_of((100, 1000, 10000), amount)


@pytest.mark.parametrize("domain", ["int", "bv"])
@CFG
@given(a=st.integers(0, 1000), b=st.integers(0, 1000))
def test_early_return_and_loop(domain: str, a: int, b: int) -> None:
    d = b - a
    for _ in range(3):
        if d > 0:
            d //= 2
    expected = a - b if a > b else d
    assert run_fn(domain, "f_early_return", [a, b]) == expected


EXACT: list[tuple[str, Callable[[int, int], int]]] = [
    ("+", rt.exact_add), ("-", rt.exact_sub), ("*", rt.exact_mul), ("/", rt.exact_div), ("%", rt.exact_mod),
]


@pytest.mark.parametrize("domain", ["int", "bv"])
@pytest.mark.parametrize(("op", "fn"), EXACT, ids=[o for o, _ in EXACT])
@CFG
@given(a=uints, b=uints, c=st.integers(0, 50))
def test_exact_rule_arithmetic(domain: str, op: str, fn: Callable[[int, int], int], a: int, b: int, c: int) -> None:
    # (a - c) op b: the left side may be negative in a rule
    enc = Encoder(SPEC, make_domain(domain))
    lit = lambda v: ir.Lit(ir.UINT, None, v)  # noqa: E731
    left = ir.Bin(ir.UINT, None, "-", lit(a), lit(c))
    e = ir.Bin(ir.UINT, None, op, left, lit(b))
    value, ok = enc.ev(e, SymState(InitBase(enc)), Frame("ops", {}, None), Mode(exact=True))
    assert z3.is_true(z3.simplify(ok))
    v: Any = z3.simplify(value)
    got = int(v.as_signed_long()) if z3.is_bv_value(v) else int(v.as_long())
    assert got == fn(a - c, b)
