"""The most a whole conformance campaign could do per second of CPU, from parts
measured in one run, against issue 14's targets.

A drawn step of a campaign costs at least three things, each measured here on
the bundled binding (seed 7, the default 30 x 25):

- **generation**: hypothesis drawing an action and its arguments. The floor
  is a rule-based state machine with one rule that draws one of the
  binding's actions (or a clock move) with arguments of the same types and
  does nothing: no bundles, no filters, no preconditions, no dry runs on
  the model;
- **the step itself**: the model's action, the EVM transaction and the
  comparison of outcome, events and the state it changed, through
  ``Harness.run`` on the campaign's recorded steps (no views, no sweeps);
- **the starting states**: with the default settings a campaign's shards
  start from the binding's starting states in turn (27 shards for 30
  sequences on the bundled binding), and each is made by running its
  scenario's steps, compared like any step; counted here as their action
  steps per drawn step, each at the cost of the step above;
- **the views that must be asked**: a view call whose answer on the model
  side is new (arguments never asked at this state: the numbers the model
  holds include the clock) or can have changed (a variable the spec's
  function reads, or the clock it reads, moved) must be evaluated on both
  sides, or a wrong view is missed. Counted during the drawn steps only (the
  starting states' scenario steps left out), each costed at what its model
  evaluation and its share of the EVM's view executions took, nothing of
  the plumbing around them.

The ceiling is one over their sum per drawn step: a campaign with generation
as cheap as the floor, starting states that cost only their action steps, no
sweeps or other overhead,
and with only the views that must be asked, asked at no cost beyond the
model and the EVM. It prints each part, the ceiling and the target::

    python benchmarks/campaign_ceiling.py [--backends pyrevm,py-evm] [--examples 30] [--steps 25]

On pyrevm the target is 1,500 steps per second of one core; on py-evm half
the raw call rate that ``benchmarks/conformance_throughput.py`` prints (the
recorded steps' contract calls alone), here measured again on the same
steps per CPU second, as the ceiling is (the best of three).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conformance_throughput import DEFAULT, SEED, raw_rate, record

from conformance.binding import load_implementation
from conformance.harness import Harness
from conformance.runner import ShardRunner, pin_constant_pool, plan_shards
from spec import ir

PYREVM_TARGET = 1500.0


def _strategy(t: ir.Type, actors: list[int]) -> st.SearchStrategy[Any]:
    if t == ir.ADDRESS:
        return st.sampled_from(actors)
    if t == ir.BOOL:
        return st.booleans()
    if t in (ir.BYTES32, ir.SIGNATURE):
        return st.binary(min_size=32, max_size=32)
    return st.integers(0, 2**256 - 1)


def generation_floor(spec: ir.Spec, binding: Any, examples: int, steps: int) -> tuple[int, float]:
    """(steps, CPU s) of a do-nothing state machine drawing the binding's
    actions: one rule that draws one of them (or a clock move) with its
    arguments and caller, the cheapest shape measured (a rule an action, as
    the campaign's machine has, costs hypothesis several times as much: it
    chooses among the rules, each step)."""
    actors = list(range(1, 9))
    count = [0]
    actions = [st.tuples(*(_strategy(t, actors) for _, t in act.params), st.sampled_from(actors))
               for module in binding.modules for act in spec.modules[module].actions.values() if not act.internal]

    class Floor(RuleBasedStateMachine):
        @rule(drawn=st.one_of(*actions, st.integers(1, 86_400)))
        def step(self, drawn: Any) -> None:
            count[0] += 1

    config = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate], verbosity=Verbosity.quiet,
                      derandomize=True)
    cpu = time.process_time()
    run_state_machine_as_test(Floor, settings=config)
    return count[0], time.process_time() - cpu


def one_step(spec: ir.Spec, binding: Any, backend: str, trace: list[Any]) -> float:
    """CPU s a recorded action step takes through ``Harness.run`` (the best of three runs)."""
    best = float("inf")
    for _ in range(3):  # (the best of three: the least a noisy machine added)
        h = Harness(spec, binding, backend)
        cpu = time.process_time()
        for step in trace:
            h.run(step)
        best = min(best, (time.process_time() - cpu) / len(trace))
    return best


def raw_cpu_rate(spec: ir.Spec, binding: Any, backend: str, trace: list[Any]) -> float:
    """The recorded steps' contract calls per CPU second, no model and no
    comparison (the best of three): ``conformance_throughput.py``'s raw
    rate, by CPU time instead of the wall clock, as the ceiling is."""
    return max(raw_rate(spec, binding, backend, trace, clock=time.process_time) for _ in range(3))


def required_views(spec: ir.Spec, binding: Any, backend: str, examples: int, steps: int) -> dict[str, float]:
    """One campaign, counting the view calls that must be asked during its
    drawn steps and what their model evaluations and the EVM's view
    executions cost."""
    pin_constant_pool()
    runner = ShardRunner(spec, binding, backend, steps=steps)
    assert runner.deployment() is None, "the deployment diverged"
    h = runner.harness
    tally = {"drawn": 1.0, "model_calls": 0.0, "model_s": 0.0, "evm_calls": 0.0, "evm_s": 0.0, "setup": 0.0}

    def wrap(obj: Any, name: str, counted: str, seconds: str, size: Any) -> None:
        inner = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                if tally["drawn"]:
                    tally[counted] += size(args)
                    tally[seconds] += time.process_time() - start

        setattr(obj, name, timed)

    def starting(*args: Any, **kwargs: Any) -> Any:
        tally["drawn"] = 0.0
        try:
            reports = start_from(*args, **kwargs)
            tally["setup"] += sum(1 for r in reports if r.step.kind == "action")
            return reports
        finally:
            tally["drawn"] = 1.0

    start_from = h.start_from
    h.start_from = starting  # type: ignore[method-assign]
    wrap(h, "_model_view", "model_calls", "model_s", lambda a: 1)
    wrap(h.backend, "call_views", "evm_calls", "evm_s", lambda a: len(a[0]))
    wrap(h.backend, "call_raw", "evm_calls", "evm_s", lambda a: 1)
    done = 0
    for shard in plan_shards(len(binding.starts), examples, SEED):
        result = runner.run(shard)
        assert result.divergence is None, f"the campaign diverged on {backend}"
        done += result.stats.steps
    tally["steps"] = done
    return tally


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--impl", type=Path, default=DEFAULT)
    ap.add_argument("--examples", type=int, default=30)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--backends", default="pyrevm,py-evm")
    args = ap.parse_args()
    binding, spec = load_implementation(args.impl)
    n, cpu = generation_floor(spec, binding, 200, args.steps)
    floor = cpu / n
    print(f"generation floor: a do-nothing state machine with the binding's rules, {n} steps in {cpu:.2f} CPU s: "
          f"{1e6 * floor:.0f} us a step ({n / cpu:.0f} steps per CPU second)")
    for backend in [b for b in args.backends.split(",") if b]:
        trace = record(spec, binding, backend, args.examples, args.steps)
        step = one_step(spec, binding, backend, trace)
        views = required_views(spec, binding, backend, args.examples, args.steps)
        per_view = views["model_s"] / max(views["model_calls"], 1) + views["evm_s"] / max(views["evm_calls"], 1)
        asked = views["model_calls"] / views["steps"]
        view_cost = asked * per_view
        setup = views["setup"] / views["steps"]
        total = floor + step * (1 + setup) + view_cost
        ceiling = 1 / total
        raw = raw_cpu_rate(spec, binding, backend, trace)
        target = PYREVM_TARGET if backend == "pyrevm" else raw / 2
        print(f"{backend:>7}: one step (model, EVM, comparison) {1e6 * step:.0f} us; starting states "
              f"{setup:.2f} action steps a drawn step: {1e6 * step * setup:.0f} us; views that must be asked "
              f"{asked:.1f} a drawn step at {1e6 * per_view:.1f} us each (model "
              f"{1e6 * views['model_s'] / max(views['model_calls'], 1):.1f}, EVM "
              f"{1e6 * views['evm_s'] / max(views['evm_calls'], 1):.1f}): {1e6 * view_cost:.0f} us; "
              f"raw calls {raw:.0f} per CPU second")
        print(f"{backend:>7}: ceiling {1e6 * total:.0f} us a step = {ceiling:.0f} steps per CPU second; "
              f"target {target:.0f}: {'within reach of the ceiling' if ceiling >= target else 'above the ceiling'}"
              f" ({ceiling / target:.2f} of it); load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
