"""Build the proof queries of a spec and solve them under a budget.

Query shapes (``I`` the rule, ``L`` the lemmas, ``P`` what deployment
guarantees about parameters, ``R`` the side facts that hold of every state):

- init:    ``R and deploy-ok and not I(s0)``                  (unsat: proved)
- step:    ``R and P and L(s) and I(s) and not reverted and not I(s')``
           (``I(s)`` is left out for a transition invariant, which reads
           ``old``; ``L(s)`` is tracked so that the unsat core says which
           lemmas the proof used)
- ensures: ``R and P and L(s) and not reverted and not E(s, s')``
- theorem: ``R and P and not T``
- vacuity: ``R and P and not reverted`` (unsat: the requirements of the
           action contradict each other, in every state), ``R and P and not
           I(s)`` (unsat: the rule is true of every state, so trivial).

Every query runs with a timeout and a Z3 ``rlimit``; its verdict is cached on
disk under a hash of the query text, the Z3 version and the budget.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3

from spec import ir
from verification.analysis import Analysis, walk_stmts
from verification.domain import ADDRESS_MAX, UINT_MAX, make_domain
from verification.encode import (
    CHECKED,
    GHOST_BITS,
    GHOST_MAX,
    Base,
    Encoder,
    EncodingError,
    Env,
    Frame,
    MapVal,
    Mode,
    Rep,
    StateKey,
    SymState,
    conj,
    implies,
    negate,
    select_at,
    tree_map,
    walk_expr,
)
from verification.outcome import Job, Outcome, Proved, Refuted, Unknown, outcome_from_json, outcome_to_json

CACHE_DIR = Path(".imospec-cache") / "proofs"


@dataclass(frozen=True)
class Budget:
    """Per-query limits: wall-clock seconds and Z3 resource units."""

    timeout: float = 10.0
    rlimit: int = 20_000_000

    def key(self) -> str:
        return f"t={self.timeout};r={self.rlimit}"

    def share(self, fraction: float) -> Budget:
        """A fraction of this budget (for one stage of a query)."""
        if fraction >= 1.0:
            return self
        return Budget(self.timeout * fraction, max(1, int(self.rlimit * fraction)))


# ------------------------------------------------------------------ bases


class FreeBase(Base):
    """An arbitrary state: every entry is a fresh variable (with range facts).

    Parameters are shared by every free state of a query (they never change
    after deployment). Governed parameters lie within their declared bounds,
    which ``govern`` enforces and the checker proves of the defaults.
    """

    def __init__(self, enc: Encoder, prefix: str) -> None:
        super().__init__()
        self.enc = enc
        self.prefix = prefix

    def make(self, key: StateKey) -> Rep:
        enc = self.enc
        kind, module, name = key
        if kind == "p":
            return param(enc, module, name)
        if kind == "sum":
            return fresh_ghost(enc, f"{self.prefix}.sum.{module}.{name}")
        if kind == "g":
            v = enc.fresh(ir.UINT, f"{self.prefix}.{module}.{name}")
            g = enc.spec.modules[module].governed[name]
            lo, _ = enc.ev(g.low, SymState(self), Frame(module, {}, None), CHECKED)
            hi, _ = enc.ev(g.high, SymState(self), Frame(module, {}, None), CHECKED)
            enc.facts.append(z3.And(enc.dom.le(lo, v), enc.dom.le(v, hi)))
            return v
        return enc.fresh(enc.state_type(key), f"{self.prefix}.{module}.{name}")


class InitBase(Base):
    """The state before any ``init`` runs: zeros, declared initial values,
    governed defaults; parameters are the deployment's (free) arguments."""

    def __init__(self, enc: Encoder) -> None:
        super().__init__()
        self.enc = enc

    def make(self, key: StateKey) -> Rep:
        enc = self.enc
        kind, module, name = key
        m = enc.spec.modules[module]
        if kind == "p":
            return param(enc, module, name)
        if kind == "sum":
            return zero_ghost(enc)
        if kind == "g":
            v, _ = enc.ev(m.governed[name].default, SymState(self), Frame(module, {}, None), CHECKED)
            return v
        var = m.state[name]
        if var.init is not None:
            v, _ = enc.ev(var.init, SymState(self), Frame(module, {}, None), CHECKED)
            return v
        return enc.zero(var.type)


def param(enc: Encoder, module: str, name: str) -> Rep:
    cache: dict[tuple[str, str], Rep] = enc.__dict__.setdefault("param_vals", {})
    if (module, name) not in cache:
        cache[(module, name)] = enc.fresh(enc.spec.modules[module].params[name].type, f"param.{module}.{name}")
    return cache[(module, name)]


def fresh_ghost(enc: Encoder, name: str) -> Any:
    if enc.dom.name == "bv":
        g = z3.BitVec(name, GHOST_BITS)
        enc.facts.append(z3.And(g >= 0, g <= GHOST_MAX))
    else:
        g = z3.Int(name)
        enc.facts.append(z3.And(g >= 0, g <= GHOST_MAX))
    return g


def zero_ghost(enc: Encoder) -> Any:
    return z3.BitVecVal(0, GHOST_BITS) if enc.dom.name == "bv" else z3.IntVal(0)


def make_env(enc: Encoder, prefix: str) -> Env:
    """Fresh environment inputs; the caller is an external account, never the
    zero address (nobody holds its key, so no transaction comes from it)."""
    caller = z3.Int(f"{prefix}.caller")
    enc.facts.append(z3.And(caller >= 1, caller <= ADDRESS_MAX))
    enc.eoas.append(caller)
    now = enc.fresh(ir.UINT, f"{prefix}.now")
    block = enc.fresh(ir.UINT, f"{prefix}.block_number")
    chain = enc.fresh(ir.UINT, f"{prefix}.chain_id")
    return Env(caller, now, block, chain)


def finalize_facts(enc: Encoder, pre: FreeBase | None = None) -> list[Any]:
    """Facts about the query's symbols as a whole: module addresses are
    distinct non-zero addresses, external callers are no module, and two
    entries of a summed map together never exceed the map's sum."""
    out: list[Any] = []
    addrs = list(enc.addr.values())
    for a in addrs:
        out.append(z3.And(a >= 1, a <= ADDRESS_MAX))
    if len(addrs) > 1:
        out.append(z3.Distinct(*addrs))
    for c in enc.eoas:
        for a in addrs:
            out.append(c != a)
    apps = [a for a in enc.hash_apps]
    for i, (v1, args1, t1) in enumerate(apps):
        for v2, args2, t2 in apps[i + 1:]:
            if t1 != t2 or z3.eq(v1, v2):
                continue
            same_args = conj([a == b if not z3.is_bv(a) else enc.dom.eq(a, b)
                              for a, b in zip(args1, args2, strict=True)])
            out.append(implies(v1 == v2, same_args))
    if pre is not None:
        # the entries a counterexample shows are real uint256 values too
        for key, rep in list(pre.created.items()):
            if not isinstance(rep, MapVal):
                continue
            for path in enc.touched.get(key, []):
                cur: Rep = rep
                for k in path:
                    if not isinstance(cur, MapVal):
                        break
                    leaves = tree_map(select_at(k), cur.arrays)
                    vt = cur.value
                    cur = enc.wrap(vt, leaves)
                    if not isinstance(vt, ir.MapT):
                        out.extend(_leaf_ranges(enc, vt, cur))
        for key, keys in enc.sum_keys.items():
            if key not in pre.created:
                continue
            _, module, name = key
            arr_key: StateKey = ("s", module, name)
            if arr_key not in pre.created:
                continue
            total = pre.created[key]
            arrays = pre.created[arr_key].arrays
            uniq: list[Any] = []
            for k in keys:
                if not any(z3.eq(k, u) for u in uniq):
                    uniq.append(k)
            uniq = uniq[:8]
            d = enc.dom
            for k in uniq:
                out.append(d.le(z3.Select(arrays, k), total))
            for i, k1 in enumerate(uniq):
                for k2 in uniq[i + 1:]:
                    out.append(implies(k1 != k2, d.le(d.add(z3.Select(arrays, k1), z3.Select(arrays, k2)), total)))
    return out


def _leaf_ranges(enc: Encoder, t: ir.Type, v: Rep) -> list[Any]:
    if isinstance(t, ir.RecordT):
        assert isinstance(v, dict)
        return [f for n, ft in enc.record_fields(t) for f in _leaf_ranges(enc, ft, v[n])]
    if isinstance(t, ir.MapT):
        return []
    return [enc.range_fact(t, v)]


def uint_terms(enc: Encoder, t: ir.Type, v: Rep) -> list[Any]:
    """The uint256 scalars inside a value (for small-model search)."""
    if isinstance(t, ir.RecordT):
        assert isinstance(v, dict)
        return [x for n, ft in enc.record_fields(t) for x in uint_terms(enc, ft, v[n])]
    if t == ir.UINT and not isinstance(v, MapVal | dict):
        return [v]
    return []


# ------------------------------------------------------------ rule clauses


@dataclass
class Clause:
    """One conjunct of a goal: where it is written, and when it holds."""

    expr: ir.Expr
    holds: Any


def rule_holds(enc: Encoder, expr: ir.Expr, st: SymState, fr: Frame, old: SymState | None) -> Any:
    """The rule holds (evaluates without fault and is true), quantifiers kept."""
    enc.pc = z3.BoolVal(True)
    v, ok = enc.ev(expr, st, fr, Mode(exact=True, old=old))
    return conj([ok, v])


def goal_clauses(enc: Encoder, expr: ir.Expr, st: SymState, fr: Frame, old: SymState | None,
                 prefix: str) -> list[Clause]:
    """Split a goal into clauses; its outermost ``forall``s become named
    witnesses (skolem constants) so that a counterexample shows them."""
    enc.pc = z3.BoolVal(True)
    e = expr
    while isinstance(e, ir.Forall):
        for n, t in e.vars:
            c = z3.Const(f"{prefix}.{n}", enc.sort(t))
            enc.facts.append(enc.range_fact(t, c))
            enc.skolem[n] = c
            enc.skolem_types[n] = t
        e = e.body
    mode = Mode(exact=True, old=old)
    return _split(enc, e, st, fr, mode)


def _split(enc: Encoder, e: ir.Expr, st: SymState, fr: Frame, mode: Mode) -> list[Clause]:
    if isinstance(e, ir.Bin) and e.op == "and":
        return _split(enc, e.left, st, fr, mode) + _split(enc, e.right, st, fr, mode)
    if isinstance(e, ir.Bin) and e.op == "==>":
        p, okp = enc.ev(e.left, st, fr, mode)
        inner = _split(enc, e.right, st, fr, mode)
        return [Clause(c.expr, conj([okp, implies(p, c.holds)])) for c in inner]
    v, ok = enc.ev(e, st, fr, mode)
    return [Clause(e, conj([ok, v]))]


# ---------------------------------------------------------------- building


@dataclass
class Built:
    """An encoded query, with what a report needs to explain a model."""

    job: Job
    enc: Encoder
    assertions: list[Any]
    tracked: dict[str, Any]
    clauses: list[Clause]
    assumed: list[Any] = field(default_factory=list)
    pre: SymState | None = None
    post: SymState | None = None
    pre_keys: list[StateKey] = field(default_factory=list)
    args: dict[str, Rep] = field(default_factory=dict)
    arg_types: dict[str, ir.Type] = field(default_factory=dict)
    env: Env | None = None
    rule: ir.Rule | None = None
    reverted: Any = None
    shown_params: list[tuple[str, str]] | None = None


def param_assumptions(enc: Encoder, st: SymState, modules: Sequence[str] | None = None) -> list[Any]:
    """What successful deployment guarantees about parameters: each top-level
    ``require`` of an ``init`` (of ``modules``, default all) that reads only
    parameters and constants, and that no earlier statement of that ``init``
    could have changed."""
    out: list[Any] = []
    for m in enc.spec.modules.values():
        if modules is not None and m.name not in modules:
            continue
        assigned: set[tuple[str, str]] = set()
        for s in m.init:
            if isinstance(s, ir.Require) and _params_only(s.cond, assigned):
                v, ok = enc.ev(s.cond, st, Frame(m.name, {}, None), CHECKED)
                out.append(conj([ok, v]))
            for sub in walk_stmts((s,)):
                if isinstance(sub, ir.Assign):
                    root = sub.target
                    while isinstance(root, ir.Index | ir.Field):
                        root = root.base
                    if isinstance(root, ir.Ref) and root.kind == "param":
                        assigned.add((root.module, root.name))
    return out


def _params_only(e: ir.Expr, assigned: set[tuple[str, str]]) -> bool:
    for x in walk_expr(e):
        if isinstance(x, ir.Ref):
            if x.kind == "param" and (x.module, x.name) in assigned:
                return False
            if x.kind not in ("param", "const", "enum", "module"):
                return False
        elif isinstance(x, ir.FnCall | ir.ActionCall | ir.SignedBy | ir.Old | ir.Sum):
            return False
    return True


class Builder:
    """Encodes the queries of one spec in one domain."""

    def __init__(self, spec: ir.Spec, analysis: Analysis, domain: str) -> None:
        self.spec = spec
        self.analysis = analysis
        self.domain = domain

    def encoder(self) -> Encoder:
        return Encoder(self.spec, make_domain(self.domain))

    def rule(self, module: str, name: str) -> ir.Rule:
        for r in self.spec.modules[module].rules:
            if r.name == name:
                return r
        raise KeyError(f"{module}.{name}")

    def relevant_lemmas(self, job: Job, rule: ir.Rule | None) -> list[tuple[str, ir.Rule]]:
        """The lemmas a step query assumes: those of the rule's module, the
        action's module and what they import, that share state with the rule
        or with what the action reads or writes (others cannot help)."""
        assert job.action is not None
        an = self.analysis
        touched = an.action_reads(*job.action) | an.action_writes(*job.action)
        if rule is not None:
            touched |= an.rule_reads(rule)
        elif job.kind == "ensures":
            act = self.spec.modules[job.action[0]].actions[job.action[1]]
            touched |= an.expr_reads(act.ensures[job.clause])
        out = []
        for lm, lemma in an.lemmas_for(job.module, job.action[0]):
            if lemma.transition or (rule is not None and lm == job.module and lemma.name == rule.name):
                continue
            if an.rule_reads(lemma) & touched:
                out.append((lm, lemma))
        return out

    def build(self, job: Job) -> Built:
        """Encode one job.

        Raises:
            EncodingError: when the spec uses something the encoder cannot express.
        """
        if job.kind == "init":
            return self.build_init(job)
        if job.kind in ("step", "ensures", "vacuity-action"):
            return self.build_step(job)
        if job.kind == "theorem":
            return self.build_theorem(job)
        if job.kind == "vacuity-rule":
            return self.build_trivial(job)
        raise EncodingError(f"unknown job kind {job.kind}")

    def deploy(self, enc: Encoder) -> tuple[SymState, Env]:
        """Run every module's ``init`` in order from the initial state."""
        env0 = make_env(enc, "deploy")
        st = SymState(InitBase(enc))
        for m in self.spec.modules.values():
            enc.tag = f"init:{m.name}"
            st, _, _ = enc.exec_seq(m.init, st, {}, Frame(m.name, {}, env0), z3.BoolVal(True))
        return st, env0

    def build_init(self, job: Job) -> Built:
        enc = self.encoder()
        rule = self.rule(job.module, job.rule or "")
        st, env0 = self.deploy(enc)
        deploy_ok = negate(_disj(enc.reverts))
        clauses = goal_clauses(enc, rule.expr, st, Frame(job.module, {}, None), None, "witness")
        goal = conj([c.holds for c in clauses])
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc), deploy_ok, negate(goal)]
        return Built(job, enc, assertions, {}, clauses, post=st, env=env0, rule=rule)

    def step_core(self, action_key: tuple[str, str]) -> tuple[Encoder, FreeBase, SymState, SymState, Env,
                                                            dict[str, Rep], Any]:
        """The encoding of one action step from a free pre-state, made once per
        action and handed out as independent clones."""
        cache: dict[tuple[str, str], Any] = self.__dict__.setdefault("_cores", {})
        if action_key not in cache:
            enc = self.encoder()
            amod, aname = action_key
            action = self.spec.modules[amod].actions[aname]
            base = FreeBase(enc, "pre")
            pre = SymState(base)
            env = make_env(enc, "env")
            args = {n: enc.fresh(t, f"arg.{n}") for n, t in action.params}
            enc.tag = "step"
            post, _, _ = enc.exec_seq(action.body, pre.copy(), dict(args), Frame(amod, dict(args), env),
                                      z3.BoolVal(True))
            cache[action_key] = (enc, base, pre, post, env, args, _disj(enc.reverts))
        enc0, base0, pre0, post0, env, args, reverted = cache[action_key]
        enc = enc0.clone()
        base = FreeBase(enc, "pre")
        base.created = dict(base0.created)
        return enc, base, SymState(base, pre0.vals), SymState(base, post0.vals), env, dict(args), reverted

    def build_step(self, job: Job) -> Built:
        assert job.action is not None
        amod, aname = job.action
        action = self.spec.modules[amod].actions[aname]
        enc, base, pre, post, env, args, reverted = self.step_core(job.action)
        rule: ir.Rule | None = None
        clauses: list[Clause] = []
        assumptions: list[Any] = []
        if job.kind == "step":
            rule = self.rule(job.module, job.rule or "")
            if not rule.transition:
                assumptions.append(rule_holds(enc, rule.expr, pre, Frame(job.module, {}, None), None))
            clauses = goal_clauses(enc, rule.expr, post, Frame(job.module, {}, None), pre, "witness")
        elif job.kind == "ensures":
            e = action.ensures[job.clause]
            clauses = goal_clauses(enc, e, post, Frame(amod, dict(args), env), pre, "witness")
        pre_keys = list(base.created)
        shown = [(m, n) for k, m, n in pre_keys if k == "p"]
        tracked: dict[str, Any] = {}
        if job.kind != "vacuity-action":
            for lm, lemma in self.relevant_lemmas(job, rule):
                tracked[f"{lm}.{lemma.name}"] = rule_holds(enc, lemma.expr, pre, Frame(lm, {}, None), None)
        ground = param_assumptions(enc, pre, scope_modules(self.spec, self.analysis, job))
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc, base), *ground, negate(reverted)]
        if clauses:
            assertions.append(negate(conj([c.holds for c in clauses])))
        return Built(job, enc, assertions, tracked, clauses, assumptions, pre, post, pre_keys, args,
                     dict(action.params), env, rule, reverted, shown)

    def build_theorem(self, job: Job) -> Built:
        enc = self.encoder()
        rule = self.rule(job.module, job.rule or "")
        base = FreeBase(enc, "state")
        st = SymState(base)
        clauses = goal_clauses(enc, rule.expr, st, Frame(job.module, {}, None), None, "witness")
        shown = list(enc.__dict__.get("param_vals", {}))
        goal = conj([c.holds for c in clauses])
        assumptions = param_assumptions(enc, st, scope_modules(self.spec, self.analysis, job))
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc), *assumptions, negate(goal)]
        return Built(job, enc, assertions, {}, clauses, rule=rule, shown_params=shown)

    def build_trivial(self, job: Job) -> Built:
        enc = self.encoder()
        rule = self.rule(job.module, job.rule or "")
        pre_base = FreeBase(enc, "pre")
        pre = SymState(pre_base)
        post = SymState(FreeBase(enc, "post")) if rule.transition else pre
        clauses = goal_clauses(enc, rule.expr, post, Frame(job.module, {}, None),
                               pre if rule.transition else None, "witness")
        goal = conj([c.holds for c in clauses])
        assumptions = param_assumptions(enc, pre, scope_modules(self.spec, self.analysis, job))
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc), *assumptions, negate(goal)]
        return Built(job, enc, assertions, {}, clauses, rule=rule)


def _disj(items: list[Any]) -> Any:
    from verification.encode import disj

    return disj(items)


# ----------------------------------------------------------------- solving


@dataclass
class Solved:
    """The raw answer of Z3 for a built query."""

    status: str  # sat | unsat | unknown
    model: Any = None
    core: tuple[str, ...] = ()
    reason: str = ""
    seconds: float = 0.0
    key: str = ""


def quantified(built: Built) -> bool:
    """Whether the query assumes quantified formulas (lemmas, the invariant)."""
    from verification.instantiate import has_quantifier

    memo: dict[int, bool] = {}
    return any(has_quantifier(f, memo) for f in [*built.assumed, *built.tracked.values()])


def instance_terms(built: Built) -> list[tuple[ir.Type, Any]]:
    """Ground terms worth instantiating quantified assumptions at, with their
    types: the goal's witnesses first, then the keys the query touched, the
    arguments, the caller and the module addresses."""
    enc = built.enc
    out: list[tuple[ir.Type, Any]] = [(enc.skolem_types[n], c) for n, c in enc.skolem.items()]
    for key, tuples in enc.touched.items():
        t = key_type_of(enc, key)
        for tup in tuples:
            cur = t
            for k in tup:
                if not isinstance(cur, ir.MapT):
                    break
                out.append((cur.key, k))
                cur = cur.value
    for keys in enc.sum_keys.values():
        out.extend((ir.ADDRESS, k) for k in keys)
    for n, v in built.args.items():
        out.extend(_typed_scalars(enc, built.arg_types[n], v))
    if built.env is not None:
        out.append((ir.ADDRESS, built.env.caller))
    out.extend((ir.ADDRESS, a) for a in enc.addr.values())
    return out


def key_type_of(enc: Encoder, key: StateKey) -> ir.Type:
    return ir.UINT if key[0] == "sum" else enc.state_type(key)


def _typed_scalars(enc: Encoder, t: ir.Type, v: Rep) -> list[tuple[ir.Type, Any]]:
    if isinstance(t, ir.RecordT) and isinstance(v, dict):
        return [x for n, ft in enc.record_fields(t) for x in _typed_scalars(enc, ft, v[n])]
    if isinstance(t, ir.MapT | ir.ListT) or isinstance(v, dict | MapVal):
        return []
    return [(t, v)]


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


def make_solver(built: Built, budget: Budget, stage: str = "full") -> tuple[Any, list[Any]]:
    """A solver loaded with the query. ``stage="instances"`` replaces every
    quantified assumption with its ground instances (a weaker query)."""
    s = z3.Solver()
    s.set("timeout", max(1, int(budget.timeout * 1000)))
    s.set("rlimit", int(budget.rlimit))
    for a in built.assertions:
        s.add(a)
    if stage == "instances":
        from verification.encode import type_tag
        from verification.instantiate import ground_terms, instantiate

        pools = ground_terms([(type_tag(t), x) for t, x in instance_terms(built)])

        def weaken(f: Any) -> Any:
            return instantiate(f, pools)
    else:
        def weaken(f: Any) -> Any:
            return f
    for f in built.assumed:
        s.add(weaken(f))
    lits = []
    for name, f in built.tracked.items():
        lit = z3.Bool(f"lemma:{name}")
        s.add(z3.Implies(lit, weaken(f)))
        lits.append(lit)
    return s, lits


def query_key(solver: Any, lits: list[Any], budget: Budget, domain: str, extra: str = "") -> str:
    """A hash of the query's SMT-LIB text, the Z3 version and the budget
    (exact, but slow for large queries; see :func:`input_key`)."""
    h = hashlib.sha256()
    h.update(z3.get_full_version().encode())
    h.update(budget.key().encode())
    h.update(domain.encode())
    h.update(extra.encode())
    h.update(" ".join(str(lit) for lit in lits).encode())
    h.update(solver.sexpr().encode())
    return h.hexdigest()


_CODE_HASH: list[str] = []
_SCOPE_HASH: dict[tuple[int, tuple[str, ...]], str] = {}


def code_fingerprint() -> str:
    """A hash of this package's source: a change to the encoder changes every key."""
    if not _CODE_HASH:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent
        for p in sorted(root.glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _CODE_HASH.append(h.hexdigest())
    return _CODE_HASH[0]


def scope_modules(spec: ir.Spec, analysis: Analysis, job: Job) -> tuple[str, ...]:
    """The modules whose text can change a job's query: everything for a query
    that deploys (init), else the modules of the rule and of the action and
    everything they import."""
    if job.kind == "init":
        return tuple(spec.modules)
    mods = [job.module] + ([job.action[0]] if job.action else [])
    out: list[str] = []
    for m in mods:
        for x in analysis.import_closure(m):
            if x not in out:
                out.append(x)
    return tuple(m for m in spec.modules if m in out)


def input_key(spec: ir.Spec, analysis: Analysis, job: Job, budget: Budget, domain: str, stage: str) -> str:
    """The cache key of a query, from what determines it: the text of the
    modules in scope (and of the templates they extend), the job, the budget,
    the encoding and stage, this package's code and the Z3 version. The
    encoding is deterministic, so equal inputs give the same query."""
    mods = scope_modules(spec, analysis, job)
    skey = (id(spec), mods)
    if skey not in _SCOPE_HASH:
        h = hashlib.sha256()
        files: list[str] = []
        for m in mods:
            mod = spec.modules[m]
            for name in (m, *mod.extends):
                for f in spec.sources:
                    if Path(f).stem == name and f not in files:
                        files.append(f)
        for f in files:
            h.update(f.encode())
            h.update(spec.sources[f].encode())
        _SCOPE_HASH[skey] = h.hexdigest()
    h = hashlib.sha256()
    for part in (z3.get_full_version(), code_fingerprint(), _SCOPE_HASH[skey], repr(job), budget.key(),
                 domain, stage):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def run_solver(solver: Any, lits: list[Any]) -> Solved:
    t0 = time.perf_counter()
    r = solver.check(*lits)
    dt = time.perf_counter() - t0
    if r == z3.unsat:
        core = tuple(sorted(str(c).removeprefix("lemma:") for c in solver.unsat_core()))
        return Solved("unsat", core=core, seconds=dt)
    if r == z3.sat:
        return Solved("sat", model=solver.model(), seconds=dt)
    return Solved("unknown", reason=solver.reason_unknown(), seconds=dt)


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
        terms.extend(uint_terms(enc, enc.spec.modules[m].params[n].type, v))
    if built.pre is not None:
        for key in built.pre_keys:
            if key[0] in ("s", "g"):
                terms.extend(uint_terms(enc, enc.state_type(key), built.pre.get(key)))
    for n, c in enc.skolem.items():
        if enc.skolem_types.get(n) == ir.UINT:
            terms.append(c)
    return terms


def smaller_model(solver: Any, built: Built, budget: Budget, model: Any) -> Any:
    """Look for a counterexample whose inputs are small numbers (easier to
    read); keep the first model when there is none within a small budget."""
    terms = small_model_terms(built)
    if not terms:
        return model
    return bounded_model(solver, built.enc.dom, terms, budget) or model


def bounded_model(solver: Any, d: Any, terms: list[Any], budget: Budget) -> Any:
    """A model of ``solver`` with every term at most one of SMALL_BOUNDS (the
    smallest that works), within a tenth of the budget; None if none is found."""
    for bound in SMALL_BOUNDS:
        solver.push()
        try:
            solver.set("timeout", max(1, int(min(budget.timeout, 5.0) * 500)))
            solver.set("rlimit", max(1, budget.rlimit // 10))
            for t in terms:
                solver.add(d.le(t, d.lit(bound)))
            if solver.check() == z3.sat:
                return solver.model()
        finally:
            solver.pop()
    return None


def classify_unknown(reason: str, seconds: float, budget: Budget) -> Unknown:
    r = reason.lower()
    if "timeout" in r or seconds >= budget.timeout * 0.98:
        return Unknown("timeout", reason)
    if "canceled" in r or "resource" in r or "rlimit" in r or "max. " in r:
        return Unknown("rlimit", reason)
    return Unknown("incomplete", reason)


class Cache:
    """Verdicts on disk, one JSON file per query hash."""

    def __init__(self, root: Path | None, enabled: bool = True) -> None:
        self.root = root if root is not None else CACHE_DIR
        self.enabled = enabled

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        path = self.root / key[:2] / f"{key}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        if not self.enabled:
            return
        path = self.root / key[:2] / f"{key}.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{time.time_ns()}")
            tmp.write_text(json.dumps(value, sort_keys=True), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass


@dataclass
class Verdict:
    """A solved job: the outcome and how long it took (or that it was cached).

    ``candidate`` is set when the query with instantiated assumptions has a
    model but the quantified query gave no verdict: a possible violation
    that only a bounded search can confirm.
    """

    outcome: Outcome
    seconds: float
    cached: bool
    key: str
    built: Built | None = None
    model: Any = None
    candidate: dict[str, Any] | None = None


def solve_job(builder_for: Callable[[str], Builder], job: Job, budget: Budget, encoding: str,
              cache: Cache, explain: Callable[[Built, Any], dict[str, Any]]) -> Verdict:
    """Encode and solve one job.

    Stages, for each encoding tried (``auto``: integers first, bit-vectors
    when Z3 answers "incomplete"):

    1. when the query assumes quantified formulas, the same query with the
       quantifiers instantiated at its ground terms, on a quarter of the
       budget: unsat proves the job (the instances are implied);
    2. when that query has a model (a candidate), the quantified query with
       the pre-state pinned to the candidate completed with zeros, on an
       eighth: sat refutes with a genuine counterexample;
    3. the quantified query itself (an eighth after a candidate, which
       quantifier instantiation rarely settles, else the whole budget):
       unsat proves, sat refutes.

    For ``vacuity-action`` jobs the sense is reversed by the caller: unsat
    means the action can never succeed.

    Raises:
        nothing: encoding problems come back as ``Unknown("unsupported")``.
    """
    t_start = time.perf_counter()
    b0 = builder_for("int" if encoding == "auto" else encoding)
    final_key = input_key(b0.spec, b0.analysis, job, budget, encoding, "final")
    hit0 = cache.get(final_key)
    if hit0 is not None and "candidate" in hit0:
        return Verdict(outcome_from_json(hit0["outcome"]), time.perf_counter() - t_start, True,
                       hit0.get("key", ""), None, None, hit0["candidate"])
    verdict = _solve_stages(builder_for, job, budget, encoding, cache, explain)
    cache.put(final_key, {"outcome": outcome_to_json(verdict.outcome), "candidate": verdict.candidate,
                          "key": verdict.key})
    return verdict


def _solve_stages(builder_for: Callable[[str], Builder], job: Job, budget: Budget, encoding: str,
                  cache: Cache, explain: Callable[[Built, Any], dict[str, Any]]) -> Verdict:
    order = ["int", "bv"] if encoding == "auto" else [encoding]
    last: Verdict | None = None
    total = 0.0
    all_cached = True
    candidate: dict[str, Any] | None = None
    for dom in order:
        t0 = time.perf_counter()
        try:
            built = builder_for(dom).build(job)
        except EncodingError as exc:
            return Verdict(Unknown("unsupported", str(exc), dom), time.perf_counter() - t0 + total, False, "")
        total += time.perf_counter() - t0
        stages = ["instances", "pinned", "full"] if quantified(built) else ["full"]
        inst_model: Any = None
        candidate = None
        for stage in stages:
            if stage == "pinned" and inst_model is None:
                continue
            stage_budget = budget.share(1 / 4 if stage == "instances" else 1 / 8 if stage == "pinned"
                                        else 1 / 8 if candidate is not None else 1.0)
            t1 = time.perf_counter()
            solver, lits = make_solver(built, stage_budget, "full" if stage == "pinned" else stage)
            if stage == "pinned":
                solver.add(*pinned_candidate(built, inst_model))
            b = builder_for(dom)
            key = input_key(b.spec, b.analysis, job, stage_budget, dom, stage)
            hit = cache.get(key) if stage != "pinned" else None
            if hit is not None:
                outcome = outcome_from_json(hit)
                total += time.perf_counter() - t1
                model = None
            else:
                all_cached = False
                solved = run_solver(solver, lits)
                if solved.status == "sat":
                    solved.model = smaller_model(solver, built, stage_budget, solved.model)
                outcome = _to_outcome(solved, stage_budget, dom, built, explain)
                cache.put(key, outcome_to_json(outcome))
                total += time.perf_counter() - t1
                model = solved.model
            if stage == "pinned":
                if isinstance(outcome, Refuted):
                    # the candidate, completed with zeros, satisfies every assumption
                    cache.put(input_key(b.spec, b.analysis, job, budget, dom, "verdict"), outcome_to_json(outcome))
                    return Verdict(outcome, total, False, key, built, model)
                continue
            if isinstance(outcome, Proved):
                if stage == "instances":
                    outcome = Proved(outcome.lemmas_used, "z3-instances", dom)
                return Verdict(outcome, total, all_cached, key, built, model)
            if stage == "instances":
                if isinstance(outcome, Refuted):
                    candidate = outcome.counterexample
                    inst_model = model
                    if inst_model is None:  # cached: the verdict of the later stages is cached too
                        vhit = cache.get(input_key(b.spec, b.analysis, job, budget, dom, "verdict"))
                        if vhit is not None:
                            return Verdict(outcome_from_json(vhit), total, True, key, built)
                continue
            last = Verdict(outcome, total, all_cached, key, built, model, candidate)
            if isinstance(outcome, Refuted):
                return last
        if not (last is not None and isinstance(last.outcome, Unknown) and last.outcome.reason == "incomplete"):
            break
    assert last is not None
    last.seconds = total
    last.cached = all_cached
    last.candidate = candidate
    return last


def _to_outcome(solved: Solved, budget: Budget, dom: str, built: Built,
                explain: Callable[[Built, Any], dict[str, Any]]) -> Outcome:
    if solved.status == "unsat":
        lemmas = tuple(c for c in solved.core if c in built.tracked)
        return Proved(lemmas, "z3", dom)
    if solved.status == "sat":
        try:
            cex = explain(built, solved.model)
        except (z3.Z3Exception, EncodingError, KeyError, ValueError, AttributeError) as exc:
            cex = {"error": f"could not read the model: {exc}"}
        return Refuted(cex, dom)
    u = classify_unknown(solved.reason, solved.seconds, budget)
    return Unknown(u.reason, u.detail, dom)


UINT256_MAX = UINT_MAX
