"""uint256 semantics of the reference runtime: each helper reverts exactly
where the EVM would, and rounds the way the spec says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import runtime as rt

U = st.integers(min_value=0, max_value=rt.UINT256_MAX)


@given(U, U)
def test_add_matches_checked_sum(a: int, b: int) -> None:
    if a + b > rt.UINT256_MAX:
        with pytest.raises(rt.Overflow):
            rt.add(a, b)
    else:
        assert rt.add(a, b) == a + b


@given(U, U)
def test_sub_underflows_below_zero(a: int, b: int) -> None:
    if b > a:
        with pytest.raises(rt.Underflow):
            rt.sub(a, b)
    else:
        assert rt.sub(a, b) == a - b


@given(U, U, U)
def test_mul_div_rounding(a: int, b: int, c: int) -> None:
    # the product is checked first, as a contract computing a * b // c does
    if a * b > rt.UINT256_MAX:
        with pytest.raises(rt.Overflow):
            rt.mul_div_up(a, b, c)
        with pytest.raises(rt.Overflow):
            rt.mul_div_down(a, b, c)
        return
    if c == 0:
        with pytest.raises(rt.DivisionByZero):
            rt.mul_div_down(a, b, c)
        return
    down, up = rt.mul_div_down(a, b, c), rt.mul_div_up(a, b, c)
    assert down * c <= a * b < (down + 1) * c
    assert up == down + (1 if (a * b) % c else 0)


def test_arithmetic_reverts_are_bare() -> None:
    for exc in (rt.Overflow, rt.Underflow, rt.DivisionByZero, rt.IndexOutOfRange):
        assert issubclass(exc, rt.ArithmeticRevert)
        assert exc.reason is None


def test_pow_and_div_edges() -> None:
    assert rt.pow_(2, 255) == 2**255
    with pytest.raises(rt.Overflow):
        rt.pow_(2, 256)
    assert rt.pow_(0, 10**9) == 0 and rt.pow_(1, 10**9) == 1
    assert rt.div(7, 2) == 3 and rt.div_up(7, 2) == 4 and rt.div_up(6, 2) == 3
    with pytest.raises(rt.DivisionByZero):
        rt.mod(1, 0)


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_isqrt_is_floor_root(x: int) -> None:
    r = rt.isqrt(x)
    assert r * r <= x < (r + 1) * (r + 1)


def test_decay_steps_down_one_level_per_period() -> None:
    periods = (10, 20, 30)
    # from level 3: 30 s at level 3, then 20 s at level 2, then 10 s at level 1
    seen = [rt.decay_at(periods, 3, 0, 100, 100 + t) for t in (0, 29, 30, 49, 50, 59, 60, 10**6)]
    assert seen == [3, 3, 2, 2, 1, 1, 0, 0]
    assert rt.decay_at(periods, 3, 2, 0, 10**6) == 2  # never below the backed level
    assert rt.decay_at(periods, 1, 2, 0, 0) == 2
    assert rt.decay_at(periods, 3, 0, 100, 50) == 3  # time before `since` counts as none


@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 10**4), st.integers(0, 10**4))
def test_decay_never_rises_with_time(level: int, backed: int, t1: int, dt: int) -> None:
    periods = (10, 20, 30)
    assert rt.decay_at(periods, level, backed, 0, t1 + dt) <= rt.decay_at(periods, level, backed, 0, t1)


def test_map_reads_do_not_insert_scalars() -> None:
    m = rt.Map(lambda: 0)
    assert m[5] == 0 and 5 not in m
    nested = rt.Map(rt.map_of(lambda: 0))
    nested[1][2] = 3
    assert nested[1][2] == 3


def test_hash_is_keccak_of_abi_words() -> None:
    # keccak256(abi.encode(uint256(1))) — a published constant
    assert rt.hash_(1) == 0xB10E2D527612073B26EECDFD717E6A320CF44B4AFAC2B0732D9FCBE2B7FA0CF6
