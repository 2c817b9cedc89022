"""Build the proof queries of a spec: the Z3 assertions of each job.

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

Solving them is :mod:`verification.solve`; the cache :mod:`verification.cache`;
reading a small counterexample :mod:`verification.shrink`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import z3

from spec import ir
from spec.analysis import Analysis
from verification.domain import ADDRESS_MAX, make_domain
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
)
from verification.outcome import Job


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
        """A fresh, unconstrained value for a state entry (with its range facts)."""
        enc = self.enc
        kind, module, name = key
        if kind == "p":
            return param(enc, module, name)
        if kind == "sum":
            return fresh_ghost(enc, f"{self.prefix}.sum.{module}.{name}")
        if kind == "g":
            g = enc.spec.modules[module].governed[name]
            v = enc.fresh(g.type, f"{self.prefix}.{module}.{name}")
            lo, _ = enc.ev(g.low, SymState(self), Frame(module, {}, None), CHECKED)
            hi, _ = enc.ev(g.high, SymState(self), Frame(module, {}, None), CHECKED)
            u = enc.to_uint(g.type, v)
            enc.facts.append(z3.And(enc.dom.le(lo, u), enc.dom.le(u, hi)))
            return v
        return enc.fresh(enc.state_type(key), f"{self.prefix}.{module}.{name}")


class InitBase(Base):
    """The state before any ``init`` runs: zeros and declared initial values;
    parameters and governed parameters are the deployment's (free) arguments."""

    def __init__(self, enc: Encoder) -> None:
        super().__init__()
        self.enc = enc

    def make(self, key: StateKey) -> Rep:
        """The value of a state entry before deployment: zero, or the parameter it is given."""
        enc = self.enc
        kind, module, name = key
        m = enc.spec.modules[module]
        if kind == "p":
            return param(enc, module, name)
        if kind == "sum":
            return zero_ghost(enc)
        if kind == "g":
            # a deployment argument like a parameter: `deploy` checks its bounds
            return governed_at_deploy(enc, module, name)
        var = m.state[name]
        if var.init is not None:
            v, _ = enc.ev(var.init, SymState(self), Frame(module, {}, None), CHECKED)
            return v
        return enc.zero(var.type)


# The rule each module with governed parameters gets from their declarations:
# every governed parameter lies inside its bounds. Its init query is the base
# case of what every step query assumes of its pre-state (``FreeBase``);
# `govern` keeps it across steps.
GOVERNED_BOUNDS = "governed_in_bounds"


def governed_bounds_rule(spec: ir.Spec, module: str) -> ir.Rule | None:
    """``low <= p and p <= high`` for every governed ``p`` of ``module`` (None
    when it has none), as an invariant stated at the first declaration."""
    gs = list(spec.modules[module].governed.values())
    if not gs:
        return None
    expr: ir.Expr | None = None
    for g in gs:
        ref = ir.Ref(g.type, g.span, "governed", module, g.name)
        both: ir.Expr
        if g.type == ir.ADDRESS:  # bounds [1, 2**160 - 1]: the type gives the upper one
            both = ir.Bin(ir.BOOL, g.span, "!=", ref, ir.Lit(ir.ADDRESS, g.span, 0))
        else:
            both = ir.Bin(ir.BOOL, g.span, "and", ir.Bin(ir.BOOL, g.span, "<=", g.low, ref),
                          ir.Bin(ir.BOOL, g.span, "<=", ref, g.high))
        expr = both if expr is None else ir.Bin(ir.BOOL, g.span, "and", expr, both)
    assert expr is not None
    reads = frozenset((module, g.name) for g in gs)
    return ir.Rule(GOVERNED_BOUNDS, "invariant", expr, False, reads, gs[0].span,
                   "Every governed parameter lies inside its declared bounds.")


def governed_at_deploy(enc: Encoder, module: str, name: str) -> Rep:
    """The symbolic value a deployment gives a governed parameter (its default
    is only the bundled deployment's choice)."""
    cache: dict[tuple[str, str], Rep] = enc.__dict__.setdefault("param_vals", {})
    if (module, name) not in cache:
        cache[(module, name)] = enc.fresh(enc.spec.modules[module].governed[name].type, f"param.{module}.{name}")
    return cache[(module, name)]


def check_governed_bounds(enc: Encoder, st: SymState, module: str) -> None:
    """Deployment reverts unless every governed parameter of ``module`` lies
    inside its bounds (what ``govern`` keeps afterwards, and what every step
    query assumes of its pre-state)."""
    for g in enc.spec.modules[module].governed.values():
        fr = Frame(module, {}, None)
        lo, ok1 = enc.ev(g.low, st, fr, CHECKED)
        hi, ok2 = enc.ev(g.high, st, fr, CHECKED)
        v = enc.to_uint(g.type, st.get(("g", module, g.name)))
        enc.revert_if_not(conj([ok1, ok2, enc.dom.le(lo, v), enc.dom.le(v, hi)]))


def param(enc: Encoder, module: str, name: str) -> Rep:
    """The symbolic value of a module's parameter."""
    cache: dict[tuple[str, str], Rep] = enc.__dict__.setdefault("param_vals", {})
    if (module, name) not in cache:
        cache[(module, name)] = enc.fresh(enc.spec.modules[module].params[name].type, f"param.{module}.{name}")
    return cache[(module, name)]


def fresh_ghost(enc: Encoder, name: str) -> Any:
    """A fresh ghost sum (an exact integer, not a uint256)."""
    if enc.dom.name == "bv":
        g = z3.BitVec(name, GHOST_BITS)
        enc.facts.append(z3.And(g >= 0, g <= GHOST_MAX))
    else:
        g = z3.Int(name)
        enc.facts.append(z3.And(g >= 0, g <= GHOST_MAX))
    return g


def zero_ghost(enc: Encoder) -> Any:
    """The ghost sum of an empty map."""
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


def param_assumptions(enc: Encoder, st: SymState, modules: Sequence[str] | None = None, *,
                      connected_only: bool = True) -> list[Any]:
    """What successful deployment guarantees about parameters: each top-level
    ``require`` of an ``init`` (of ``modules``, default all) that reads only
    parameters and constants, and that no earlier statement of that ``init``
    could have changed.

    Only the requires connected to the query are taken: those that read a
    parameter the query already reads, or one that such a require reads, and
    so on. The others constrain parameters nothing else in the query
    mentions, which a deployable spec can always satisfy on their own: they
    cannot change the query's answer, only the solver's path to it (a
    parameter of a module that the import closure merely passes through).
    With ``connected_only`` false, every one of them (for a query whose
    parameters are not all read yet when it is asked)."""
    requires: list[tuple[str, ir.Require, set[tuple[str, str]]]] = []
    for m in enc.spec.modules.values():
        if modules is not None and m.name not in modules:
            continue
        assigned: set[tuple[str, str]] = set()
        for s in m.init:
            if isinstance(s, ir.Require) and _params_only(s.cond, assigned):
                reads = {(x.module, x.name) for x in ir.walk_expr(s.cond)
                         if isinstance(x, ir.Ref) and x.kind == "param"}
                requires.append((m.name, s, reads))
            for sub in ir.walk((s,)):
                if isinstance(sub, ir.Assign):
                    root = sub.target
                    while isinstance(root, ir.Index | ir.Field):
                        root = root.base
                    if isinstance(root, ir.Ref) and root.kind == "param":
                        assigned.add((root.module, root.name))
    known = set(enc.__dict__.get("param_vals", {}))
    taken = [not connected_only or not reads for _, _, reads in requires]
    grew = True
    while grew:
        grew = False
        for i, (_, _, reads) in enumerate(requires):
            if not taken[i] and reads & known:
                taken[i] = grew = True
                known |= reads
    out: list[Any] = []
    for (module, s, _), take in zip(requires, taken, strict=True):
        if take:
            v, ok = enc.ev(s.cond, st, Frame(module, {}, None), CHECKED)
            out.append(conj([ok, v]))
    return out


def _params_only(e: ir.Expr, assigned: set[tuple[str, str]]) -> bool:
    for x in ir.walk_expr(e):
        if isinstance(x, ir.Ref):
            if x.kind == "param" and (x.module, x.name) in assigned:
                return False
            if x.kind not in ("param", "const", "enum", "module"):
                return False
        elif isinstance(x, ir.FnCall | ir.ActionCall | ir.SignedBy | ir.Old | ir.Sum):
            return False
    return True


@contextmanager
def own_context() -> Iterator[Any]:
    """Build terms in a fresh Z3 context of their own (the default context of
    z3py while the block runs); the previous default comes back after it."""
    own = z3.Context()
    outer = z3.z3._main_ctx
    z3.z3._main_ctx = own
    try:
        yield own
    finally:
        z3.z3._main_ctx = outer


class Builder:
    """Encodes the queries of one spec in one domain."""

    def __init__(self, spec: ir.Spec, analysis: Analysis, domain: str) -> None:
        self.spec = spec
        self.analysis = analysis
        self.domain = domain

    def encoder(self) -> Encoder:
        """A fresh encoder of this builder's spec in its domain."""
        return Encoder(self.spec, make_domain(self.domain))

    def rule(self, module: str, name: str) -> ir.Rule:
        """The rule ``module.name``.

        Raises:
            KeyError: no such rule.
        """
        for r in self.spec.modules[module].rules:
            if r.name == name:
                return r
        if name == GOVERNED_BOUNDS:
            bounds = governed_bounds_rule(self.spec, module)
            if bounds is not None:
                return bounds
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
            check_governed_bounds(enc, st, m.name)
            st, _, _ = enc.exec_seq(m.init, st, {}, Frame(m.name, {}, env0), z3.BoolVal(True))
        return st, env0

    def deployed(self) -> tuple[Encoder, SymState, Env]:
        """Every module's ``init`` run from the initial state, encoded once (in
        a Z3 context of its own, like :meth:`step_core`) and copied into the
        current context for each query."""
        cache: list[Any] = self.__dict__.setdefault("_deployed", [])
        if not cache:
            with own_context() as own:
                enc = self.encoder()
                st, env0 = self.deploy(enc)
            cache.append((own, enc, st, env0))
        _, enc0, st0, env00 = cache[0]
        enc, (created, vals, env) = enc0.translated(z3.main_ctx(), (st0.base.created, st0.vals, env00))
        base = InitBase(enc)
        base.created = created
        return enc, SymState(base, vals), env

    def build_init(self, job: Job) -> Built:
        """The query of an invariant after deployment."""
        enc, st, env0 = self.deployed()
        rule = self.rule(job.module, job.rule or "")
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
            # encoded once, in a Z3 context of its own, then copied into the
            # query's (fresh) context: the copy numbers its terms the same way
            # whatever this worker built before (see Encoder.translated)
            with own_context() as own:
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
                reverted = _disj(enc.reverts)
            cache[action_key] = (own, enc, base, pre, post, env, args, reverted)
        _, enc0, base0, pre0, post0, env0, args0, reverted0 = cache[action_key]
        enc, (created, pre_vals, post_vals, env, args, reverted) = enc0.translated(
            z3.main_ctx(), (base0.created, pre0.vals, post0.vals, env0, args0, reverted0))
        base = FreeBase(enc, "pre")
        base.created = created
        return enc, base, SymState(base, pre_vals), SymState(base, post_vals), env, args, reverted

    def build_step(self, job: Job) -> Built:
        """The query of an invariant across one action (or of an ``ensures`` clause)."""
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
        """The query of a theorem: its negation under the parameters' assumptions."""
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
        """The query of a vacuity check: can the action succeed, or does the rule constrain anything?"""
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
    """The type of a state entry."""
    return ir.UINT if key[0] == "sum" else enc.state_type(key)


def _typed_scalars(enc: Encoder, t: ir.Type, v: Rep) -> list[tuple[ir.Type, Any]]:
    if isinstance(t, ir.RecordT) and isinstance(v, dict):
        return [x for n, ft in enc.record_fields(t) for x in _typed_scalars(enc, ft, v[n])]
    if isinstance(t, ir.MapT | ir.ListT) or isinstance(v, dict | MapVal):
        return []
    return [(t, v)]


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
