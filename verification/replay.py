"""Replay a bounded-model-checking trace through the reference model.

The prover and the reference model are two readings of the same spec. A trace
the prover calls a violation must, when executed step by step on
``reference.model.Model``, succeed at every step and then break the same rule
(or ``ensures`` clause). Anything else is a mismatch between the two, which
the report shows as an error.

The reference package is imported lazily: it is a separate stage and the
prover works without it (the replay is then reported as ``unavailable``).
"""

from __future__ import annotations

from typing import Any

from spec import ir
from verification.outcome import BoundedSearch, Job, ModelReplay


def replay(spec: ir.Spec, job: Job, search: BoundedSearch) -> ModelReplay:
    """Run a reachable search's trace (from :func:`verification.bmc.bounded_check`)
    on the reference model: does the model break the rule too?

    Raises:
        nothing: every problem is a ``mismatch`` or ``unavailable`` replay.
    """
    trace: dict[str, Any] = {"deployment": search.deployment, "steps": search.steps}
    try:
        from reference.model import Deployment, Model
        from reference.runtime import Env, Revert, Signature, World
    except Exception as exc:  # the reference stage may be absent or broken
        return ModelReplay("unavailable", f"reference model not importable: {exc}")
    dep = trace.get("deployment", {})
    addresses = dict(dep.get("addresses", {}))
    used = set(addresses.values())
    nxt = 0x1000
    for name in spec.modules:
        if name not in addresses:
            while nxt in used:
                nxt += 1
            addresses[name] = nxt
            used.add(nxt)
    params: dict[str, Any] = {}
    for key, value in dep.get("params", {}).items():
        module, _, pname = key.partition(".")
        ptype = spec.modules[module].params[pname].type if pname in spec.modules[module].params else ir.UINT
        params[key] = bool(value) if ptype == ir.BOOL else value
    try:
        model = Model.deploy(spec, Deployment(
            addresses=addresses, params=params, deployer=dep.get("deployer", 0xD0), now=dep.get("now", 0),
            block_number=dep.get("block_number", 0), chain_id=dep.get("chain_id", 1)))
    except Revert as exc:
        return ModelReplay("mismatch", f"deployment reverts in the reference model: {exc!r}")
    except Exception as exc:
        return ModelReplay("mismatch", f"the reference model fails to deploy: {type(exc).__name__}: {exc}")
    steps = trace.get("steps", [])
    before: Any = None
    last_args: list[Any] = []
    last_env: Any = None
    for i, step in enumerate(steps, 1):
        module, _, action = step["action"].partition(".")
        decl = spec.modules[module].actions[action]
        e = step["env"]
        env = Env(e["caller"], e["now"], e["block_number"], e["chain_id"])
        try:
            args = [_arg(model, spec, decl, n, t, step, Signature) for n, t in decl.params]
        except Exception as exc:
            return ModelReplay("mismatch", f"step {i}: cannot build the arguments: {exc}")
        before = model.world.snapshot()
        try:
            out = model.execute(module, action, env, *args)
        except Exception as exc:
            return ModelReplay("mismatch", f"step {i} ({step['action']}) raises in the reference "
                                           f"model: {type(exc).__name__}: {exc}")
        if not out.ok:
            return ModelReplay("mismatch", f"step {i} ({step['action']}) reverts in the reference model "
                                           f"({out.reason or out.error}) but succeeds in the prover's trace")
        last_args, last_env = args, env
    old = World(before, model.world.address, model.package) if before is not None else None
    try:
        holds = _holds(model, spec, job, old, last_env, last_args, Revert)
    except Exception as exc:
        return ModelReplay("mismatch", f"evaluating the rule fails: {type(exc).__name__}: {exc}")
    if holds:
        what = job.rule_label
        return ModelReplay("mismatch", f"{what} still holds in the reference model after the trace")
    return ModelReplay("confirmed", f"{job.rule_label} fails after step {len(steps)}")


def _holds(model: Any, spec: ir.Spec, job: Job, old: Any, env: Any, args: list[Any],
           revert: type[Exception]) -> bool:
    pkg = getattr(model.package, job.module if job.kind != "ensures" else (job.action or ("", ""))[0])
    try:
        if job.kind == "ensures":
            assert job.action is not None
            preds = getattr(pkg, "ENSURES", {}).get(job.action[1], ())
            return bool(preds[job.clause](model.world, old, env, *args))
        pred, transition = pkg.RULES[job.rule]
        return bool(pred(model.world, old if transition else None))
    except revert:
        return False  # the rule cannot be evaluated: it does not hold


def _arg(model: Any, spec: ir.Spec, decl: ir.Action, name: str, t: ir.Type, step: dict[str, Any],
         signature: Any) -> Any:
    value = step["args"][name]
    if t == ir.SIGNATURE:
        info = step.get("signatures", {}).get(name)
        if info is None:
            return signature(0, "", None, 0, 0, False)
        req_name = next(n for n, pt in decl.params if isinstance(pt, ir.RecordT) and pt.name == info["request_type"])
        request = _arg(model, spec, decl, req_name, next(pt for n, pt in decl.params if n == req_name), step, signature)
        return signature(info["owner"], info["request_type"], request, info["chain_id"], info["contract"])
    return _value(model, spec, t, value)


def _value(model: Any, spec: ir.Spec, t: ir.Type, value: Any) -> Any:
    if isinstance(t, ir.RecordT):
        fields = spec.modules[t.module].records[t.name].fields
        return model.record(t.module, t.name, *[_value(model, spec, ft, value[n]) for n, ft in fields])
    if t == ir.BOOL:
        return bool(value)
    if isinstance(t, ir.EnumT):
        return value
    return int(value)
