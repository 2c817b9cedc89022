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
- vacuity: ``R and P and L(s) and not reverted`` (unsat: the action never
           succeeds), ``R and P and not I(s)`` (unsat: the rule is trivial).

Every query runs with a timeout and a Z3 ``rlimit``; its verdict is cached on
disk under a hash of the query text, the Z3 version and the budget.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
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
    EncodingError,
    Encoder,
    Env,
    Frame,
    Mode,
    Rep,
    StateKey,
    SymState,
    conj,
    implies,
    negate,
    walk_expr,
)
from verification.outcome import Job, Outcome, Proved, Refuted, Unknown, outcome_from_json, outcome_to_json

CACHE_DIR = Path(".imospec-cache") / "proofs"


@dataclass(frozen=True)
class Budget:
    """Per-query limits: wall-clock seconds and Z3 resource units."""

    timeout: float = 30.0
    rlimit: int = 60_000_000

    def key(self) -> str:
        return f"t={self.timeout};r={self.rlimit}"


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
    """Fresh environment inputs; the caller is an external account."""
    caller = z3.Int(f"{prefix}.caller")
    enc.facts.append(z3.And(caller >= 0, caller <= ADDRESS_MAX))
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
    if pre is not None:
        for key, keys in enc.sum_keys.items():
            if key not in pre.created:
                continue
            _, module, name = key
            arr_key: StateKey = ("s", module, name)
            if arr_key not in pre.created:
                continue
            total = pre.created[key]
            arrays = pre.created[arr_key].arrays  # type: ignore[union-attr]
            uniq: list[Any] = []
            for k in keys:
                if not any(z3.eq(k, u) for u in uniq):
                    uniq.append(k)
            uniq = uniq[:6]
            d = enc.dom
            for k in uniq:
                out.append(d.le(z3.Select(arrays, k), total))
            for i, k1 in enumerate(uniq):
                for k2 in uniq[i + 1:]:
                    out.append(implies(k1 != k2, d.le(d.add(z3.Select(arrays, k1), z3.Select(arrays, k2)), total)))
    return out


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
    pre: SymState | None = None
    post: SymState | None = None
    pre_keys: list[StateKey] = field(default_factory=list)
    args: dict[str, Rep] = field(default_factory=dict)
    arg_types: dict[str, ir.Type] = field(default_factory=dict)
    env: Env | None = None
    rule: ir.Rule | None = None
    reverted: Any = None


def param_assumptions(enc: Encoder, st: SymState) -> list[Any]:
    """What successful deployment guarantees about parameters: each top-level
    ``require`` of an ``init`` that reads only parameters and constants, and
    that no earlier statement of that ``init`` could have changed."""
    out: list[Any] = []
    for m in enc.spec.modules.values():
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
        return Built(job, enc, assertions, {}, clauses, None, st, [], {}, {}, env0, rule, None)

    def build_step(self, job: Job) -> Built:
        assert job.action is not None
        enc = self.encoder()
        amod, aname = job.action
        action = self.spec.modules[amod].actions[aname]
        base = FreeBase(enc, "pre")
        pre = SymState(base)
        env = make_env(enc, "env")
        args = {n: enc.fresh(t, f"arg.{n}") for n, t in action.params}
        enc.tag = "step"
        post, _, _ = enc.exec_seq(action.body, pre.copy(), dict(args), Frame(amod, dict(args), env), z3.BoolVal(True))
        reverted = _disj(enc.reverts)
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
        lemma_mods = [job.module, amod]
        tracked: dict[str, Any] = {}
        for lm, lemma in self.analysis.lemmas_for(*lemma_mods):
            if lemma.transition or (lm == job.module and rule is not None and lemma.name == rule.name):
                continue
            tracked[f"{lm}.{lemma.name}"] = rule_holds(enc, lemma.expr, pre, Frame(lm, {}, None), None)
        assumptions.extend(param_assumptions(enc, pre))
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc, base), *assumptions, negate(reverted)]
        if clauses:
            assertions.append(negate(conj([c.holds for c in clauses])))
        if job.kind == "vacuity-action":
            assertions.extend(tracked.values())
            tracked = {}
        return Built(job, enc, assertions, tracked, clauses, pre, post, pre_keys, args,
                     dict(action.params), env, rule, reverted)

    def build_theorem(self, job: Job) -> Built:
        enc = self.encoder()
        rule = self.rule(job.module, job.rule or "")
        base = FreeBase(enc, "state")
        st = SymState(base)
        clauses = goal_clauses(enc, rule.expr, st, Frame(job.module, {}, None), None, "witness")
        goal = conj([c.holds for c in clauses])
        assumptions = param_assumptions(enc, st)
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc), *assumptions, negate(goal)]
        return Built(job, enc, assertions, {}, clauses, None, None, [], {}, {}, None, rule, None)

    def build_trivial(self, job: Job) -> Built:
        enc = self.encoder()
        rule = self.rule(job.module, job.rule or "")
        pre_base = FreeBase(enc, "pre")
        pre = SymState(pre_base)
        post = SymState(FreeBase(enc, "post")) if rule.transition else pre
        clauses = goal_clauses(enc, rule.expr, post, Frame(job.module, {}, None),
                               pre if rule.transition else None, "witness")
        goal = conj([c.holds for c in clauses])
        assumptions = param_assumptions(enc, pre)
        assertions = [*enc.facts, *enc.axioms, *finalize_facts(enc), *assumptions, negate(goal)]
        return Built(job, enc, assertions, {}, clauses, None, None, [], {}, {}, None, rule, None)


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


def make_solver(built: Built, budget: Budget) -> tuple[Any, list[Any]]:
    s = z3.Solver()
    s.set("timeout", max(1, int(budget.timeout * 1000)))
    s.set("rlimit", int(budget.rlimit))
    for a in built.assertions:
        s.add(a)
    lits = []
    for name, f in built.tracked.items():
        lit = z3.Bool(f"lemma:{name}")
        s.add(z3.Implies(lit, f))
        lits.append(lit)
    return s, lits


def query_key(solver: Any, lits: list[Any], budget: Budget, domain: str, extra: str = "") -> str:
    """The cache key: a hash of the query text, the Z3 version and the budget."""
    h = hashlib.sha256()
    h.update(z3.get_full_version().encode())
    h.update(budget.key().encode())
    h.update(domain.encode())
    h.update(extra.encode())
    h.update(" ".join(str(lit) for lit in lits).encode())
    h.update(solver.sexpr().encode())
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
    """A solved job: the outcome and how long it took (or that it was cached)."""

    outcome: Outcome
    seconds: float
    cached: bool
    key: str
    built: Built | None = None
    model: Any = None


def solve_job(builder_for: Callable[[str], Builder], job: Job, budget: Budget, encoding: str,
              cache: Cache, explain: Callable[[Built, Any], dict[str, Any]]) -> Verdict:
    """Encode and solve one job, trying the integer encoding first and the
    bit-vector one when Z3 answers "incomplete" (``encoding="auto"``).

    For ``vacuity-action`` jobs the sense is reversed by the caller: unsat
    means the action can never succeed.

    Raises:
        nothing: encoding problems come back as ``Unknown("unsupported")``.
    """
    order = ["int", "bv"] if encoding == "auto" else [encoding]
    last: Verdict | None = None
    total = 0.0
    for dom in order:
        t0 = time.perf_counter()
        try:
            built = builder_for(dom).build(job)
        except EncodingError as exc:
            return Verdict(Unknown("unsupported", str(exc), dom), time.perf_counter() - t0, False, "")
        solver, lits = make_solver(built, budget)
        key = query_key(solver, lits, budget, dom)
        hit = cache.get(key)
        enc_time = time.perf_counter() - t0
        if hit is not None:
            outcome = outcome_from_json(hit)
            v = Verdict(outcome, enc_time + total, True, key, built)
        else:
            solved = run_solver(solver, lits)
            outcome = _to_outcome(solved, budget, dom, built, explain)
            cache.put(key, outcome_to_json(outcome))
            v = Verdict(outcome, enc_time + solved.seconds + total, False, key, built, solved.model)
        total = v.seconds
        last = v
        if not (isinstance(outcome, Unknown) and outcome.reason == "incomplete"):
            return v
    assert last is not None
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
