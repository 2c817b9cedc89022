"""The binding's deployment, prelude and scenarios on the reference model
alone (no EVM), and a guided random simulation from those concrete states.

:class:`ModelRun` deploys the model exactly as :class:`~conformance.harness.
deploy.DeployedPair` does (the same accounts, contract addresses, clock and
parameters), so that a trace found here replays step for step on the EVM as
a conformance fixture. :func:`simulate` walks from the state after the
prelude and after each scenario, choosing actions (the ``aim`` ones more
often), callers and arguments with a seeded generator, and stops at the
first state where ``goal`` holds::

    found = simulate(spec, binding, goal, aim=[("pool", "swap_mt_for_dcep")], seed=0)
    if found.trace is not None: ...  # the starting scenario and the steps after it

``goal(model, before, env, module, action, args)`` is evaluated after every
successful step (``before`` is the world before it); it is the prover's
business what it means (a rule broken, a predicate reached).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.binding import Binding, BindingError
from conformance.harness.values import Step, create_address
from conformance.names import BindingNames
from reference.model import Deployment, Model
from reference.runtime import Env, World, clone
from spec import ir
from spec.analysis import restrict

__all__ = ["Goal", "ModelRun", "SimulationResult", "Trace", "simulate"]

#: the goal of a simulation: (model, world before the step, env, module, action, args) -> reached
Goal = Callable[[Model, World, Env, str, str, tuple[Any, ...]], bool]


class ModelRun(BindingNames):
    """The binding's deployment on the reference model only: the accounts and
    addresses the EVM harness would use, the prelude run.

    Raises (from the constructor):
        BindingError: the binding does not fit the spec.
        Revert: the deployment or a prelude step reverts on the model.
    """

    def __init__(self, spec: ir.Spec, binding: Binding) -> None:
        from evm_backend.accounts import derive_accounts
        from evm_backend.fork import DEFAULT_CHAIN_ID, GENESIS_BLOCK_NUMBER, GENESIS_TIMESTAMP

        try:
            spec = restrict(spec, binding.modules)
        except ValueError as exc:
            raise BindingError(f"binding {binding.name}: {exc}") from None
        self.spec = spec
        self.binding = binding
        accounts = derive_accounts(1 + binding.actors)
        self.deployer = int(accounts[0].address, 16)
        self.actors = [int(a.address, 16) for a in accounts[1:]]
        # a fresh deployer's nonce is 0: the harness deploys module i with nonce i
        self.addresses = {m: create_address(self.deployer, i) for i, m in enumerate(spec.modules)}
        self.now, self.block, self.chain_id = GENESIS_TIMESTAMP, GENESIS_BLOCK_NUMBER, DEFAULT_CHAIN_ID
        self.model = Model.deploy(spec, Deployment(
            addresses=self.addresses, params=self._param_overrides(), deployer=self.deployer,
            now=self.now, block_number=self.block, chain_id=self.chain_id))
        for s in self.binding_steps(binding.prelude):
            self.run(s)
        self._prelude = self.save()

    def save(self) -> tuple[Any, int, int]:
        """The model's state and clock."""
        return clone(self.model.world.state), self.now, self.block

    def restore(self, saved: tuple[Any, int, int]) -> None:
        """Go back to a state :meth:`save` returned."""
        self.model.world.restore(clone(saved[0]))
        self.now, self.block = saved[1], saved[2]

    def env(self, caller: int) -> Env:
        return Env(caller, self.now, self.block, self.chain_id)

    def run(self, step: Step) -> Any:
        """Run one step on the model; returns the action's outcome (None for a clock step)."""
        if step.kind == "time":
            self.now += step.seconds
            self.block += step.blocks
            return None
        return self.model.execute(step.module, step.action, self.env(step.caller), *step.args)

    def start_from(self, scenario: str | None) -> list[Step]:
        """Back to the state after the prelude; return the scenario's steps (not run)."""
        self.restore(self._prelude)
        if scenario is None:
            return []
        return list(self.binding_steps(self.binding.scenarios[scenario]))


@dataclass(frozen=True)
class Trace:
    """A path to the goal: the binding scenario it starts from (None: just
    after the prelude) and the steps after it; the last one reaches the goal.
    With ``from_deployment`` the steps start right after the deployment,
    without the prelude (:func:`conformance.binding.at_deployment`)."""

    scenario: str | None
    steps: tuple[Step, ...]
    from_deployment: bool = False


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation did: the trace to the goal (or None), how many
    starting states and steps it ran, and for how long."""

    trace: Trace | None
    starts: int
    steps_run: int
    seconds: float
    exhausted: bool  # every planned walk ran (False: the deadline cut it short)


def simulate(spec: ir.Spec, binding: Binding, goal: Goal, *, aim: Sequence[tuple[str, str]] = (),
             seed: int = 0, walks: int = 8, length: int = 6, deadline: float | None = None) -> SimulationResult:
    """Walk the model from the state after the prelude and after each of the
    binding's scenarios, checking ``goal`` after every successful step (the
    scenarios' own steps included); ``walks`` random walks of ``length``
    steps from each start, the ``aim`` actions chosen three times as often
    as the others. Deterministic for a seed; ``deadline`` (a
    ``time.perf_counter()`` value) cuts it short.

    Raises:
        BindingError: the binding does not fit the spec.
    """
    t0 = time.perf_counter()
    run = ModelRun(spec, binding)
    rng = random.Random(seed)
    actions = [(m.name, a.name) for m in run.spec.modules.values() for a in m.actions.values()
               if not a.internal and all(_supported(t) for _, t in a.params)]
    aimed = [a for a in aim if a in actions]
    steps_run = 0
    starts = 0
    for scenario in binding.starts:
        if deadline is not None and time.perf_counter() > deadline:
            return SimulationResult(None, starts, steps_run, time.perf_counter() - t0, False)
        starts += 1
        prefix: list[Step] = []
        for s in run.start_from(scenario):
            steps_run += 1
            reached = _reached(run, s, goal)
            if reached is not None:  # a reverted step changes nothing: it is left out of the trace
                prefix.append(s)
            if reached:
                return SimulationResult(Trace(None, tuple(prefix)), starts, steps_run, time.perf_counter() - t0, True)
        base = run.save()
        for _ in range(walks):
            if deadline is not None and time.perf_counter() > deadline:
                return SimulationResult(None, starts, steps_run, time.perf_counter() - t0, False)
            run.restore(base)
            walk: list[Step] = []
            for _ in range(length):
                step = _random_step(run, rng, actions, aimed)
                if step is None:
                    continue
                steps_run += 1
                reached = _reached(run, step, goal)
                if reached is None:
                    continue  # a reverted step changes nothing: it is left out of the trace
                walk.append(step)
                if reached:
                    return SimulationResult(Trace(scenario, tuple(walk)), starts, steps_run,
                                            time.perf_counter() - t0, True)
    return SimulationResult(None, starts, steps_run, time.perf_counter() - t0, True)


def _reached(run: ModelRun, step: Step, goal: Goal) -> bool | None:
    """Run the step: None when it reverts, else whether the goal holds after it."""
    before = clone(run.model.world.state)
    out = run.run(step)
    if out is None:
        return False
    if not out.ok:
        return None
    old = World({**run.model.world.state, **before}, run.model.world.address, run.model.package)
    try:
        return bool(goal(run.model, old, run.env(step.caller), step.module, step.action, step.args))
    except Exception:  # a goal that cannot be evaluated here is not reached
        return False


def _supported(t: ir.Type) -> bool:
    return t in (ir.UINT, ir.BOOL, ir.ADDRESS)


def _random_step(run: ModelRun, rng: random.Random, actions: Sequence[tuple[str, str]],
                 aimed: Sequence[tuple[str, str]]) -> Step | None:
    if rng.random() < 0.15:
        return Step("time", seconds=rng.choice((1, 60, 3600, 86400, 3 * 86400, 30 * 86400)),
                    blocks=rng.choice((1, 4, 100)))
    # a third of the actions are the first aimed one (the CTI's), a quarter the other aimed ones
    r = rng.random()
    module, action = aimed[0] if aimed and r < 0.35 else rng.choice(
        list(aimed) if aimed and r < 0.6 else list(actions))
    decl = run.spec.modules[module].actions[action]
    # actor 0 holds the roles a binding hands out (merchant, reporter...) more often than not
    caller = run.actors[0] if rng.random() < 0.4 else rng.choice(run.actors)
    held = run.model.numbers_held()
    args = tuple(_value(run, rng, name, t, held, caller) for name, t in decl.params)
    return Step("action", module, action, caller, args)


def _value(run: ModelRun, rng: random.Random, name: str, t: ir.Type, held: list[int], caller: int) -> Any:
    if t == ir.BOOL:
        return rng.random() < 0.5
    if t == ir.ADDRESS:
        if rng.random() < 0.7:
            return caller if rng.random() < 0.5 else rng.choice(run.actors)
        return rng.choice([0, *run.addresses.values()])
    if "deadline" in name:
        return run.now + rng.choice((0, 3600, 10**9))
    small = [0, 1, 2, 10**18]
    pool = held or small
    v = rng.choice(pool) if rng.random() < 0.8 else rng.choice(small)
    how = rng.random()
    if how < 0.6:
        return v
    if how < 0.75:
        return v // 2
    if how < 0.85:
        return max(0, v - 1)
    if how < 0.95:
        return v + 1
    return v * 3 // 10
