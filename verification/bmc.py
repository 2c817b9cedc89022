"""Bounded model checking: is a refuted step reachable from deployment?

Starting from the symbolic deployment (every ``init``, with free parameters,
addresses and deployment environment), the search unrolls up to ``depth``
transactions. Each transaction is a free choice among the public actions in
the rule's cone of influence (actions that cannot change what the rule reads,
directly or through the state guarding such actions, cannot matter), with free
arguments and environment; time and block numbers never go backwards and the
chain id stays fixed. Only non-reverting transactions are taken: a reverted
one changes nothing. At each depth the search asks for a violation of the
rule; the first model is a concrete action sequence, which is then replayed
through the reference model (``reference.model.Model``), which must show the
same violation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3

from spec import ir
from spec.analysis import Analysis
from verification.build import Builder, finalize_facts, goal_clauses, make_env, own_context
from verification.encode import Encoder, EncodingError, Env, Frame, Rep, SymState, conj, deploy_arg_type, disj, negate
from verification.outcome import BoundedSearch, Budget, Job
from verification.report import concrete, raw_int
from verification.solve import classify_unknown


@dataclass
class StepVars:
    """The symbols of one unrolled transaction."""

    env: Env
    selector: Any
    actions: list[tuple[str, str]]
    args: list[dict[str, Rep]]
    posts: list[SymState]


def bounded_check(spec: ir.Spec, analysis: Analysis, job: Job, depth: int, budget: Budget,
                  domain: str = "int", replay_model: bool = True,
                  chosen: Sequence[tuple[str, str]] | None = None) -> BoundedSearch:
    """Search for a reachable violation of ``job``'s rule (or ensures clause)
    within ``depth`` steps of deployment, and replay a violation found through
    the reference model (unless ``replay_model`` is false). ``chosen``, when
    given, narrows the cone's actions (``unreachable`` then covers only them).

    Raises:
        nothing: an encoding problem is an ``unknown`` search.
    """
    t0 = time.perf_counter()
    try:
        # in a Z3 context of its own, like the step queries: what the worker
        # built before must not change the search's path, nor so its verdict
        with own_context():
            found = _search(spec, analysis, job, depth, budget, domain, chosen)
        result = BoundedSearch.from_json(found)
    except EncodingError as exc:
        return BoundedSearch("unknown", depth, detail=f"unsupported: {exc}", seconds=time.perf_counter() - t0)
    if result.status == "reachable" and replay_model:
        from verification.replay import replay

        result.replay = replay(spec, job, result)
    result.seconds = time.perf_counter() - t0
    return result


def _target(spec: ir.Spec, analysis: Analysis, job: Job) -> tuple[ir.Expr, bool, frozenset[Any]]:
    if job.kind == "ensures":
        assert job.action is not None
        act = spec.modules[job.action[0]].actions[job.action[1]]
        e = act.ensures[job.clause]
        reads = analysis.expr_reads(e) | analysis.action_reads(*job.action) | analysis.action_writes(*job.action)
        return e, True, reads
    rule = next(r for r in spec.modules[job.module].rules if r.name == job.rule)
    return rule.expr, rule.transition, analysis.rule_reads(rule)


def _search(spec: ir.Spec, analysis: Analysis, job: Job, depth: int, budget: Budget,
            domain: str, chosen: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
    expr, transition, reads = _target(spec, analysis, job)
    actions = [a for a in analysis.cone_of_influence(reads) if chosen is None or a in chosen]
    if job.kind == "ensures" and job.action is not None and job.action not in actions:
        actions.append(job.action)
    builder = Builder(spec, analysis, domain)
    enc = Encoder(spec, builder.encoder().dom)
    st, env0 = builder.deploy(enc)
    solver = z3.Solver()
    solver.set("timeout", max(1, int(budget.timeout * 1000)))
    solver.set("rlimit", int(budget.rlimit))
    solver.add(negate(disj(enc.reverts)))
    added = 0
    steps: list[StepVars] = []
    states = [st]
    prev_env = env0
    if not actions:
        return {"status": "unreachable", "depth": depth, "actions": [],
                "detail": "no public action can change what the rule reads"}
    for i in range(1, depth + 1):
        sv, merged = unroll_step(spec, enc, solver, actions, states[-1], prev_env, env0, i)
        posts, all_args, env, sel = sv.posts, sv.args, sv.env, sv.selector
        steps.append(sv)
        states.append(merged)
        prev_env = env
        # the goal at this depth
        enc.skolem = {}
        if job.kind == "ensures":
            assert job.action is not None
            j = actions.index(job.action)
            clauses = goal_clauses(enc, expr, posts[j], Frame(job.action[0], dict(all_args[j]), env),
                                   states[-2], f"w{i}")
            goal = z3.And(sel == j, negate(conj([c.holds for c in clauses])))
        else:
            clauses = goal_clauses(enc, expr, merged, Frame(job.module, {}, None),
                                   states[-2] if transition else None, f"w{i}")
            goal = negate(conj([c.holds for c in clauses]))
        new_facts = enc.facts[added:]
        added = len(enc.facts)
        for f in new_facts:
            solver.add(f)
        solver.push()
        for f in [*enc.axioms, *finalize_facts(enc)]:
            solver.add(f)
        solver.add(goal)
        t0 = time.perf_counter()
        r = solver.check()
        dt = time.perf_counter() - t0
        if r == z3.sat:
            first = solver.model()
            small, timed_out = _small(solver, enc, env0, steps[:i], budget)
            model = small if small is not None else first
            trace = _trace(enc, model, env0, steps[:i])
            trace["counterexample"] = _last_step(enc, analysis, model, job, steps[i - 1], states[-2],
                                                 states[-1] if job.kind != "ensures" else None, clauses)
            solver.pop()
            return {"status": "reachable", "depth": i, "actions": [f"{m}.{a}" for m, a in actions], **trace,
                    **({"wall_clock": True} if timed_out else {})}
        if r == z3.unknown:
            u = classify_unknown(solver.reason_unknown(), dt, budget)
            solver.pop()
            return {"status": "unknown", "depth": i, "detail": f"{u.reason}: {u.detail}",
                    "actions": [f"{m}.{a}" for m, a in actions],
                    **({"wall_clock": True} if u.reason == "timeout" else {})}
        solver.pop()
    return {"status": "unreachable", "depth": depth, "actions": [f"{m}.{a}" for m, a in actions]}


def unroll_step(spec: ir.Spec, enc: Encoder, solver: Any, actions: list[tuple[str, str]], pre: SymState,
                prev_env: Env, env0: Env, i: int, reverts: list[Any] | None = None) -> tuple[StepVars, SymState]:
    """Transaction ``i``: a free choice among ``actions`` from ``pre``, with
    free arguments and environment (time and block numbers never go
    backwards, the chain id stays ``env0``'s); only a non-reverting one is
    taken (with ``reverts``, its revert terms are put there instead, for the
    caller to assert). Returns its symbols and the merged post-state."""
    env = make_env(enc, f"s{i}")
    d = enc.dom
    solver.add(d.le(prev_env.now, env.now), d.le(prev_env.block_number, env.block_number),
               d.eq(env.chain_id, env0.chain_id))
    sel = z3.Int(f"s{i}.action")
    solver.add(sel >= 0, sel < len(actions))
    posts: list[SymState] = []
    all_args: list[dict[str, Rep]] = []
    for j, (m, a) in enumerate(actions):
        act = spec.modules[m].actions[a]
        args = {n: enc.fresh(t, f"s{i}.{m}.{a}.{n}") for n, t in act.params}
        enc.tag = f"s{i}:{j}"
        sink = enc.push_revert_sink()
        try:
            post, _, _ = enc.exec_seq(act.body, pre.copy(), dict(args), Frame(m, dict(args), env), sel == j)
        finally:
            enc.pop_revert_sink()
        if reverts is None:
            solver.add(negate(disj(sink)))
        else:
            reverts.extend(sink)
        posts.append(post)
        all_args.append(args)
    merged = posts[-1]
    for j in range(len(posts) - 2, -1, -1):
        merged = enc.merge_states(sel == j, posts[j], merged)
    return StepVars(env, sel, actions, all_args, posts), merged


def _last_step(enc: Encoder, analysis: Analysis, model: Any, job: Job, sv: StepVars, pre: SymState,
               post: SymState | None, clauses: list[Any]) -> dict[str, Any]:
    """The violating last transaction of a trace, shown like an induction
    counterexample (state before and after, arguments, environment)."""
    from verification.report import explain_parts

    j = raw_int(model, sv.selector)
    assert isinstance(j, int)
    m, a = sv.actions[j]
    act = enc.spec.modules[m].actions[a]
    if post is None:
        post = sv.posts[j]
    keys: list[Any] = list(analysis.action_writes(m, a))
    rule = None
    if job.kind != "ensures":
        rule = next(r for r in enc.spec.modules[job.module].rules if r.name == job.rule)
        keys = [*analysis.rule_reads(rule), *keys]
    keys = sorted(dict.fromkeys(keys))
    keys += [k for k in post.vals if k[0] == "sum" and k not in keys]
    try:
        out = explain_parts(enc, model, sv.env, sv.args[j], dict(act.params), pre, post, keys, clauses, rule)
    except (z3.Z3Exception, KeyError, ValueError, AttributeError) as exc:
        out = {"error": f"could not read the model: {exc}"}
    out["action"] = f"{m}.{a}"
    return out


def _small(solver: Any, enc: Encoder, env0: Env, steps: list[StepVars], budget: Budget) -> tuple[Any, bool]:
    """A model of the same trace with small inputs, when one is easy to find
    (or None), and whether the wall-clock safety net cut the search short."""
    from verification.build import uint_terms
    from verification.shrink import bounded_model

    terms: list[Any] = [env0.now, env0.block_number, env0.chain_id]
    for (m, n), v in enc.__dict__.get("param_vals", {}).items():
        terms.extend(uint_terms(enc, deploy_arg_type(enc.spec, m, n), v))
    for sv in steps:
        terms.extend([sv.env.now, sv.env.block_number, sv.env.chain_id])
        for (m, a), args in zip(sv.actions, sv.args, strict=True):
            for n, t in enc.spec.modules[m].actions[a].params:
                terms.extend(uint_terms(enc, t, args[n]))
    return bounded_model(solver, enc.dom, terms, budget)


def _trace(enc: Encoder, model: Any, env0: Env, steps: list[StepVars]) -> dict[str, Any]:
    params = enc.__dict__.get("param_vals", {})
    spec = enc.spec
    deployment = {
        "deployer": raw_int(model, env0.caller),
        "now": raw_int(model, env0.now),
        "block_number": raw_int(model, env0.block_number),
        "chain_id": raw_int(model, env0.chain_id),
        "addresses": {m: raw_int(model, a) for m, a in enc.addr.items()},
        "params": {f"{m}.{n}": raw_int(model, v) if not isinstance(v, dict) else concrete(model, enc, v, t)
                   for (m, n), v in params.items()
                   for t in [deploy_arg_type(spec, m, n)]},
    }
    raw_params: dict[str, Any] = deployment["params"]  # type: ignore[assignment]
    deployment["shown_params"] = {
        k: _shown(enc, deploy_arg_type(spec, k.split(".")[0], k.split(".", 1)[1]), v)
        for k, v in raw_params.items()}
    hashes = _hash_substitution(enc, model)
    out_steps = []
    for i, sv in enumerate(steps, 1):
        j = raw_int(model, sv.selector)
        assert isinstance(j, int)
        m, a = sv.actions[j]
        act = spec.modules[m].actions[a]
        args = {n: _raw_value(model, enc, sv.args[j][n], t, hashes) for n, t in act.params}
        signed = {}
        for use in enc.signed_uses:
            if use.tag == f"s{i}:{j}":
                signed[use.arg] = {
                    "owner": raw_int(model, use.owner),
                    "request_type": use.request_type,
                    "module": use.module,
                    "chain_id": raw_int(model, use.chain_id),
                    "contract": raw_int(model, use.contract),
                }
        out_steps.append({
            "action": f"{m}.{a}",
            "args": args,
            "shown": {n: _shown(enc, t, args[n]) for n, t in act.params},
            "env": {
                "caller": raw_int(model, sv.env.caller),
                "now": raw_int(model, sv.env.now),
                "block_number": raw_int(model, sv.env.block_number),
                "chain_id": raw_int(model, sv.env.chain_id),
            },
            "signatures": signed,
        })
    return {"deployment": deployment, "steps": out_steps}


def _raw_value(model: Any, enc: Encoder, rep: Rep, t: ir.Type, hashes: dict[int, int]) -> Any:
    if isinstance(t, ir.RecordT):
        assert isinstance(rep, dict)
        return {n: _raw_value(model, enc, rep[n], ft, hashes) for n, ft in enc.record_fields(t)}
    v = raw_int(model, rep)
    if t == ir.BYTES32 and isinstance(v, int) and v in hashes:
        return hashes[v]
    return v


def _hash_substitution(enc: Encoder, model: Any) -> dict[int, int]:
    """Map the solver's values of ``hash(...)`` to the real keccak256 values,
    so that ids passed as arguments match what the reference model computes."""
    out: dict[int, int] = {}
    if not enc.hash_apps:
        return out
    from eth_hash.auto import keccak

    for term, args, _types in enc.hash_apps:
        v = raw_int(model, term)
        words = [raw_int(model, x) for x in args]
        if not isinstance(v, int) or not all(isinstance(w, int) and 0 <= w < 2 ** 256 for w in words):
            # A hash met on a path that overflowed before it (and so reverted)
            # may have arguments outside a word: no transaction computes it.
            continue
        data = b"".join(int(w).to_bytes(32, "big") for w in words)
        out[v] = int.from_bytes(keccak(data), "big")
    return out


def _shown(enc: Encoder, t: ir.Type, v: Any) -> Any:
    from verification.report import fmt_value

    if isinstance(t, ir.RecordT) and isinstance(v, dict):
        return {n: _shown(enc, ft, v[n]) for n, ft in enc.record_fields(t)}
    return fmt_value(v, t, enc)
