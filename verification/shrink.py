"""Models worth reading: a candidate pinned into the quantified query, and
counterexamples with small numbers.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import z3

from spec import ir
from verification.build import (
    Built,
    key_type_of,
    uint_terms,
)
from verification.encode import (
    Encoder,
    MapVal,
    Rep,
    deploy_arg_type,
    select_at,
    tree_map,
)
from verification.outcome import Budget


def pinned_candidate(built: Built, model: Any) -> list[Any]:
    """Equations fixing the pre-state, arguments and environment of a query to
    a candidate model, with every map entry the query did not touch reset to
    zero (as in a freshly deployed state): asking the quantified query under
    these equations checks the candidate against the full assumptions."""
    enc = built.enc
    out: list[Any] = []
    if built.pre is None:
        return out
    for key, rep in built.pre.base.created.items():
        t = key_type_of(enc, key)
        if isinstance(rep, MapVal):
            assert isinstance(t, ir.MapT)
            entries = []
            for keys in enc.touched.get(key, []):
                entries.append(tuple(model.eval(k, model_completion=True) for k in keys))
            out.extend(_pin_map(enc, rep, t, entries, model))
        else:
            out.extend(x == model.eval(x, model_completion=True) for x in _leaf_list(rep))
    for v in built.args.values():
        out.extend(x == model.eval(x, model_completion=True) for x in _leaf_list(v))
    if built.env is not None:
        for x in (built.env.caller, built.env.now, built.env.block_number, built.env.chain_id):
            out.append(x == model.eval(x, model_completion=True))
    for a in enc.addr.values():
        out.append(a == model.eval(a, model_completion=True))
    return out


def _leaf_list(v: Rep) -> list[Any]:
    if isinstance(v, dict):
        return [x for item in v.values() for x in _leaf_list(item)]
    if isinstance(v, MapVal):
        return []
    return [v]


def _pin_map(enc: Encoder, rep: MapVal, t: ir.MapT, entries: list[tuple[Any, ...]], model: Any) -> list[Any]:
    from verification.encode import tree_leaves, tree_zip

    zero = enc.unwrap(t, enc.zero(t))
    value = zero
    for keys in entries:
        cur: Any = rep
        for k in keys:
            if not isinstance(cur, MapVal):
                break
            cur = enc.wrap(cur.value, tree_map(select_at(k), cur.arrays))
        if isinstance(cur, MapVal):
            continue
        leaf_vals = tree_map(lambda x: model.eval(x, model_completion=True), enc.unwrap(_value_type(t, len(keys)), cur))
        value = tree_zip(functools.partial(_store_at, keys), value, leaf_vals)
    return [a == b for a, b in zip(tree_leaves(rep.arrays), tree_leaves(value), strict=True)]


def _value_type(t: ir.Type, depth: int) -> ir.Type:
    for _ in range(depth):
        assert isinstance(t, ir.MapT)
        t = t.value
    return t


def _store_at(keys: tuple[Any, ...], arr: Any, v: Any) -> Any:
    return _store_path(arr, keys, v)


def _store_path(arr: Any, keys: tuple[Any, ...], v: Any) -> Any:
    if len(keys) == 1:
        return z3.Store(arr, keys[0], v)
    return z3.Store(arr, keys[0], _store_path(z3.Select(arr, keys[0]), keys[1:], v))


SMALL_BOUNDS = (2**20, 2**100)


def small_model_terms(built: Built) -> list[Any]:
    """The inputs of a counterexample worth keeping small: arguments,
    environment, parameters and pre-state scalars."""
    enc = built.enc
    terms: list[Any] = []
    for n, v in built.args.items():
        terms.extend(uint_terms(enc, built.arg_types[n], v))
    if built.env is not None:
        terms.extend([built.env.now, built.env.block_number, built.env.chain_id])
    for (m, n), v in enc.__dict__.get("param_vals", {}).items():
        terms.extend(uint_terms(enc, deploy_arg_type(enc.spec, m, n), v))
    if built.pre is not None:
        for key in built.pre_keys:
            if key[0] in ("s", "g"):
                terms.extend(uint_terms(enc, enc.state_type(key), built.pre.get(key)))
    for n, c in enc.skolem.items():
        if enc.skolem_types.get(n) == ir.UINT:
            terms.append(c)
    return terms


def smaller_model(solver: Any, built: Built, budget: Budget, model: Any) -> tuple[Any, bool]:
    """Look for a counterexample whose inputs are small numbers (easier to
    read); keep the first model when there is none within a small budget.

    Returns the model and whether the wall-clock safety net cut the search
    short (then which model comes back depends on the machine's load).
    """
    terms = small_model_terms(built)
    if not terms:
        return model, False
    small, timed_out = bounded_model(solver, built.enc.dom, terms, budget)
    return (small if small is not None else model), timed_out


def bounded_model(solver: Any, d: Any, terms: list[Any], budget: Budget) -> tuple[Any, bool]:
    """A model of ``solver`` with every term at most one of SMALL_BOUNDS (the
    smallest that works), within a tenth of the rlimit; None if none is found.

    Returns the model (or None) and whether the wall-clock safety net fired.
    """
    for bound in SMALL_BOUNDS:
        solver.push()
        try:
            solver.set("timeout", max(1, int(budget.timeout * 1000)))
            solver.set("rlimit", max(1, budget.rlimit // 10))
            for t in terms:
                solver.add(d.le(t, d.lit(bound)))
            t0 = time.perf_counter()
            answer = solver.check()
            if answer == z3.sat:
                return solver.model(), False
            if answer == z3.unknown and wall_clock_bound(solver.reason_unknown(), time.perf_counter() - t0, budget):
                return None, True
        finally:
            solver.pop()
    return None, False


def wall_clock_bound(reason: str, seconds: float, budget: Budget) -> bool:
    """Whether Z3's "unknown" came from the wall-clock timeout (not the rlimit)."""
    return "timeout" in reason.lower() or seconds >= budget.timeout * 0.98
