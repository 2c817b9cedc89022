"""Ground instantiation of quantified assumptions.

An assumption ``forall x. P(x)`` (a lemma, or the invariant in the pre-state)
is replaced by the finite conjunction of ``P(t)`` over the ground terms ``t``
of matching sort that the query mentions: the keys the action and the rule
read or write, the witnesses of the goal, the arguments and addresses.
Quantifiers in other positions are dropped (replaced by ``true``).

The result is *weaker* than the original assumption, so a query that is
unsatisfiable with the instances is unsatisfiable with the quantifiers: a
proof found this way is a proof. A model found this way is only a candidate
(the dropped instances may fail in it); the prover then asks the quantified
query, and, failing that, the bounded search from deployment.
"""

from __future__ import annotations

import itertools
from typing import Any

import z3

from verification.capi import APP_KINDS as _APP_KINDS
from verification.capi import ARG as _ARG
from verification.capi import AST_ID as _ID
from verification.capi import KIND as _KIND
from verification.capi import NUM_ARGS as _NUM_ARGS

MAX_INSTANCES = 128


MAX_TERMS_PER_TYPE = 10
MAX_TERM_SIZE = 24


def term_size(t: Any, limit: int = MAX_TERM_SIZE + 1) -> int:
    """The number of nodes of a term (shared subterms counted each time they
    occur), counted up to ``limit``."""
    ctx = t.ctx_ref()
    count = 0
    stack = [t.as_ast()]
    while stack and count < limit:
        x = stack.pop()
        count += 1
        if _KIND(ctx, x) in _APP_KINDS:
            stack.extend(_ARG(ctx, x, i) for i in range(_NUM_ARGS(ctx, x)))
    return count


def ground_terms(typed: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    """Distinct small ground terms grouped by type tag (see ``type_tag``),
    in order of appearance, at most ``MAX_TERMS_PER_TYPE`` of each."""
    out: dict[str, list[Any]] = {}
    for tag, t in typed:
        if not isinstance(t, z3.ExprRef) or z3.is_array(t) or term_size(t) > MAX_TERM_SIZE:
            continue
        lst = out.setdefault(tag, [])
        if len(lst) < MAX_TERMS_PER_TYPE and not any(z3.eq(t, u) for u in lst):
            lst.append(t)
    return out


def has_quantifier(f: Any, memo: dict[int, bool] | None = None) -> bool:
    """Whether a formula contains a quantifier (``memo`` caches by term id:
    it must only hold ids of terms that are still alive)."""
    memo = {} if memo is None else memo
    ctx = f.ctx_ref()
    return _has_quantifier(ctx, f.as_ast(), memo)


def _has_quantifier(ctx: Any, a: Any, memo: dict[int, bool]) -> bool:
    key = _ID(ctx, a)
    found = memo.get(key)
    if found is not None:
        return found
    kind = _KIND(ctx, a)
    if kind == z3.Z3_QUANTIFIER_AST:
        r = True
    elif kind in _APP_KINDS:
        r = any(_has_quantifier(ctx, _ARG(ctx, a, i), memo) for i in range(_NUM_ARGS(ctx, a)))
    else:
        r = False
    memo[key] = r
    return r


def _tag(var_name: str) -> str:
    parts = var_name.split("!")
    return parts[1] if len(parts) >= 3 else ""


def instantiate(f: Any, terms: dict[str, list[Any]], positive: bool = True,
                memo: dict[int, bool] | None = None) -> Any:
    """A quantifier-free formula implied by ``f``."""
    memo = {} if memo is None else memo
    if not has_quantifier(f, memo):
        return f
    if z3.is_and(f):
        return z3.And(*[instantiate(c, terms, positive, memo) for c in f.children()])
    if z3.is_or(f) and positive:
        return z3.Or(*[instantiate(c, terms, positive, memo) for c in f.children()])
    if z3.is_implies(f) and positive:
        a, b = f.children()
        if has_quantifier(a, memo):
            return z3.BoolVal(True)
        return z3.Implies(a, instantiate(b, terms, positive, memo))
    if z3.is_quantifier(f) and f.is_forall() and positive:
        n = f.num_vars()
        pools = [[t for t in terms.get(_tag(f.var_name(i)), []) if t.sort() == f.var_sort(i)] for i in range(n)]
        if any(not p for p in pools):
            return z3.BoolVal(True)
        per_var = max(1, int(MAX_INSTANCES ** (1.0 / n)))
        pools = [p[:per_var] for p in pools]
        body = f.body()
        nested = has_quantifier(body, memo)
        out = []
        for combo in itertools.product(*pools):
            # de Bruijn: Var(0) is the last bound variable
            inst = z3.substitute_vars(body, *reversed(combo))
            out.append(instantiate(inst, terms, positive, {}) if nested else inst)
        return z3.And(*out) if out else z3.BoolVal(True)
    return z3.BoolVal(True)
