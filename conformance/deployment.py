"""Constructors against the spec's ``init`` rules, at edge parameters.

The harness deploys one parameter set, so a constructor check that the
deployed values pass (``cashout_cap_bps <= BPS``, ``floor < bronze_price``)
is never tested at its boundary. :func:`check_deployments` deploys each
module again with one numeric parameter moved to an edge, or two of them to
0 or 1, on the EVM (a fresh contract, next to the deployed system) and on
the model (the module's ``init`` over a fresh state of the module), and
compares whether it reverts and why.

The edges of a parameter are 0, 1 and 2, and every value the module's
parameters and constants take, with its neighbours, and the largest uint112;
a governed parameter the constructor takes also moves to its declared bounds
and one past each.
Pairs matter where one check passes only because of another parameter: a
soft cap of 1 launches a pool only when no share of it goes to the reserve.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import combinations, product
from typing import Any

from conformance.harness import Difference, Harness, to_checksum
from evm_backend.errors import DeploymentFailed
from reference.codegen import attr, governed_bounds
from reference.runtime import Env, Revert
from spec import ir

MAX_UINT112 = 2**112 - 1

# The values two parameters are moved to together.
PAIR_VALUES = (0, 1)

# (reverted?, reason): what one deployment did
Verdict = tuple[bool, str | None]
# The parameters a deployment moves away from the deployed values, and where to.
Moves = tuple[tuple[str, int], ...]


def deployment_cases(harness: Harness, modules: Iterable[str] | None = None) -> Iterator[tuple[str, Moves]]:
    """(module, moves): every numeric parameter of every module (of
    ``modules``, when given) at each of its edges, except the value it is
    deployed with; then every two numeric parameters of a module, each at one
    of ``PAIR_VALUES`` other than the value it is deployed with."""
    only = None if modules is None else set(modules)
    for module, m in harness.spec.modules.items():
        if only is not None and module not in only:
            continue
        st = harness.model.state(module)
        base = {0, 1, 2, MAX_UINT112}
        for c in m.consts.values():
            if isinstance(c.folded, int) and not isinstance(c.folded, bool):
                base.add(c.folded)
        numeric = [p.name for p in m.params.values() if p.type == ir.UINT]
        # a governed parameter the constructor takes is checked against its bounds there
        ctor = harness.binding.modules[module].constructor or ()
        for g in m.governed.values():
            if g.name in ctor:
                numeric.append(g.name)
                base.update(governed_bounds(harness.spec, module, g.name))
        deployed = {name: int(getattr(st, attr(name))) for name in numeric}
        base.update(deployed.values())
        values = sorted({v + d for v in base for d in (-1, 0, 1) if 0 <= v + d < 2**256})
        for name in numeric:
            fits = 2**160 if name in m.governed and m.governed[name].type == ir.ADDRESS else 2**256
            for v in values:
                if v != deployed[name] and v < fits:  # (a governed address: any address, zero too)
                    yield module, ((name, v),)
        for first, second in combinations(numeric, 2):
            for a, b in product(PAIR_VALUES, repeat=2):
                if a != deployed[first] and b != deployed[second]:
                    yield module, ((first, a), (second, b))


def model_deploys(harness: Harness, module: str, moves: Moves) -> Verdict:
    """Whether the model's ``init`` of ``module`` reverts (and why) over a
    fresh state of the module with the parameters moved as ``moves`` says;
    the model is left as it was."""
    model = harness.model
    saved = model.world.snapshot()
    current = model.state(module)
    fresh = type(current)()
    m = harness.spec.modules[module]
    for name in (*m.params, *m.governed):
        setattr(fresh, attr(name), getattr(current, attr(name)))
    for param, value in moves:
        setattr(fresh, attr(param), value)
    model.world.state[module] = fresh
    env = Env(harness.deployer, harness.backend.timestamp, harness.backend.block_number, harness.backend.chain_id)
    try:
        getattr(model.package, module).init(model.world, env)
        return (False, None)
    except Revert as exc:
        return (True, exc.reason)
    finally:
        model.world.restore(saved)
        model.world.events.clear()


def evm_deploys(harness: Harness, module: str, moves: Moves) -> Verdict:
    """Whether a fresh contract of ``module``, deployed with the parameters
    moved as ``moves`` says and the other arguments as deployed, reverts (and
    why); the chain is left as it was.

    Raises:
        AbiError: a value does not fit the constructor's parameter type.
    """
    st = harness.model.state(module)
    deployed = {param: getattr(st, attr(param)) for param, _ in moves}
    snapshot = harness.backend.snapshot()
    try:
        for param, value in moves:  # the constructor's arguments come from the model's parameters
            setattr(st, attr(param), value)
        args = harness._constructor_args(module)
    finally:
        for param, value in deployed.items():
            setattr(st, attr(param), value)
    art = harness.artifacts[module]
    try:
        harness.backend.deploy(art.bytecode, harness.abis[module], args, sender=to_checksum(harness.deployer))
        return (False, None)
    except DeploymentFailed as exc:
        return (True, harness.evm_reason(exc.receipt))  # a custom error as the binding maps it
    finally:
        harness.backend.revert(snapshot)


def check_deployments(harness: Harness, modules: Iterable[str] | None = None) -> list[Difference]:
    """Every edge deployment (see :func:`deployment_cases`; of ``modules``
    only, when given) where the model and the EVM disagree on whether the
    constructor reverts, or on its reason.

    Raises:
        AbiError: a binding maps a numeric parameter to a narrower constructor argument.
    """
    diffs = []
    for module, moves in deployment_cases(harness, modules):
        model, evm = model_deploys(harness, module, moves), evm_deploys(harness, module, moves)
        if model != evm:
            where = ", ".join(f"{param} = {value}" for param, value in moves)
            diffs.append(Difference(f"deploy {module} with {where}", _show(model), _show(evm)))
    return diffs


def _show(v: Verdict) -> Any:
    reverted, reason = v
    if not reverted:
        return "deployed"
    return f"reverted {reason!r}" if reason else "reverted (bare)"
