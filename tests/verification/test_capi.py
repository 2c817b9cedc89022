"""The C-API fast paths (verification.capi) build the very query z3py builds:
the same terms, numbered the same by Z3, asserted in the same order (so the
rlimit a query spends, and its verdict, cannot move)."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from spec.analysis import Analysis
from spec.driver import BUNDLED_PROTOCOL, load_spec
from verification import capi, domain, encode, instantiate, solve
from verification.build import Builder, quantified
from verification.outcome import Budget
from verification.runner import Options, _fresh_solver_context, plan


def _z3py_between(v: Any, low: int, high: int) -> Any:
    return z3.And(v >= low, v <= high)


def _z3py_below(v: Any, n: int) -> Any:
    return z3.And(v >= 0, v < n)


def _z3py_assert_all(s: Any, formulas: Any) -> None:
    for f in formulas:
        s.add(f)


def _plain_z3py(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every fast path replaced by the z3py calls it stands for."""
    monkeypatch.setattr(encode, "int_between", _z3py_between)
    monkeypatch.setattr(encode, "int_below", _z3py_below)
    monkeypatch.setattr(encode, "select", z3.Select)
    monkeypatch.setattr(domain, "int_between", _z3py_between)
    monkeypatch.setattr(solve, "assert_all", _z3py_assert_all)


def _queries(spec: Any, jobs: list[Any]) -> list[tuple[str, list[int]]]:
    """Each job's query as the instances stage loads it into a solver (or the
    full query when nothing is quantified), built in a fresh context by a
    builder as a worker's: its text and the ids Z3 gave its formulas."""
    out = []
    builder = Builder(spec, Analysis(spec), "int")
    for job in jobs:
        _fresh_solver_context()
        built = builder.build(job)
        stage = "instances" if quantified(built) else "full"
        s, lits = solve.make_solver(built, Budget(10, 1000), stage)
        out.append((s.sexpr() + " ".join(map(str, lits)), [f.get_id() for f in s.assertions()]))
    return out


def test_the_fast_paths_build_the_query_z3py_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec([BUNDLED_PROTOCOL]).spec
    assert spec is not None
    jobs, _ = plan(spec, Analysis(spec), Options(module="member"))
    # steps and ensures (maps, records, addresses, enums, lemmas), an init, vacuity checks
    by_kind: dict[str, list[Any]] = {}
    for j in jobs:
        by_kind.setdefault(j.kind, []).append(j)
    sample = by_kind["step"][:4] + by_kind["ensures"][:2] + [j for k, js in by_kind.items()
                                                             if k not in ("step", "ensures") for j in js[:1]]
    assert {j.kind for j in sample} >= {"step", "ensures", "init"}
    fast = _queries(spec, sample)
    with monkeypatch.context() as m:
        _plain_z3py(m)
        plain = _queries(spec, sample)
    for job, f, p in zip(sample, fast, plain, strict=True):
        assert f[0] == p[0], f"the query text of {job} differs"
        assert f[1] == p[1], f"Z3 numbers the formulas of {job} differently"


def _z3py_term_size(t: Any, limit: int) -> int:
    count, stack = 0, [t]
    while stack and count < limit:
        x = stack.pop()
        count += 1
        if z3.is_app(x):
            stack.extend(x.children())
    return count


def _z3py_has_quantifier(f: Any) -> bool:
    return z3.is_quantifier(f) or (z3.is_app(f) and any(_z3py_has_quantifier(c) for c in f.children()))


def test_the_term_walks_agree_with_z3py() -> None:
    x, y = z3.Ints("x y")
    a = z3.Array("a", z3.IntSort(), z3.IntSort())
    terms = [x, x + 1, z3.Select(a, x + y) * 3, z3.And(x > 0, z3.ForAll([y], a[y] >= x)),
             z3.Not(z3.Exists([y], y > x)), z3.Implies(x > 1, z3.Or(y < 2, z3.ForAll([x], x >= 0))),
             sum(z3.Int(f"v{i}") for i in range(40))]
    for t in terms:
        for limit in (1, 3, 25):
            assert instantiate.term_size(t, limit) == _z3py_term_size(t, limit), (t, limit)
        assert instantiate.has_quantifier(t) == _z3py_has_quantifier(t), t
    assert capi.KIND(x.ctx_ref(), x.as_ast()) == z3.Z3_APP_AST
