"""Portable fixtures: the model's expectations as data, run on an implementation with no model.

:func:`fill` runs sequences of steps (a binding's scenarios, the steps of a
trace fixture) on the reference model beside a reference implementation, and
writes down what the model did: the deployment and its parameters, the state
before the transactions, each transaction with its arguments and the clock,
its expected success or revert with the reason, its return value and events,
and the state after. Any disagreement of the reference implementation with the
model stops the fill: a fixture only holds what both agree on.

:func:`consume` runs a filled fixture on an implementation (any binding of the
spec) with no model and no hypothesis: it deploys the contracts as the fixture
says, runs the setup and the transactions, and compares each outcome and the
state before and after with the fixture's.

Filled fixtures are trace fixtures (``imospec-trace/2``, the format
``imospec conform`` writes and ``imospec replay`` reads) with the expectations
added; ``fixture.schema.json`` beside this file is the format's JSON Schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.binding import Attack, Binding
from conformance.harness import Harness, Step, StepReport
from conformance.harness.values import (
    Difference,
    _attr,
    _variables,
    normal,
    to_abi,
)
from conformance.runner import FIXTURE_FORMAT, _from_json, _jsonable, step_from_json, step_to_json
from evm_backend.records import Receipt
from reference.model import Outcome
from reference.runtime import Event
from spec import ir

SCHEMA_PATH = Path(__file__).parent / "fixture.schema.json"


class FillError(Exception):
    """The reference implementation and the model disagree while filling: no fixture is written."""


class ConsumeError(Exception):
    """A fixture that cannot be run on the implementation (unreadable, or a deployment it cannot reproduce)."""


# ------------------------------------------------------------------- fill


def _expect(report: StepReport) -> dict[str, Any]:
    out = report.model
    assert out is not None
    if not out.ok:
        return {"ok": False, "reason": out.reason}
    return {"ok": True, "value": _jsonable(normal(out.value)),
            "events": [{"module": e.module, "event": e.name, "args": [_jsonable(normal(v)) for _, v in e.args]}
                       for e in out.events]}


def _step_record(report: StepReport) -> dict[str, Any]:
    d = step_to_json(report.step)
    if report.step.kind == "action":
        d["expect"] = _expect(report)
    return d


def state_entries(harness: Harness) -> list[dict[str, Any]]:
    """Every state entry of the model (parameters left out), as fixture data."""
    out: list[dict[str, Any]] = []
    for module, m in harness.spec.modules.items():
        st = harness.model.state(module)
        for name, t, kind in _variables(m):
            if kind == "param":
                continue
            value = getattr(st, _attr(name))
            if isinstance(t, ir.MapT):
                for keys, _, leaf in harness._map_entries(value, t):
                    out.append({"module": module, "name": name, "keys": list(keys), "value": _jsonable(normal(leaf))})
            else:
                out.append({"module": module, "name": name, "keys": [], "value": _jsonable(normal(value))})
    return out


def _deployment(harness: Harness) -> dict[str, Any]:
    now, block, chain = harness.deployed_at
    params = {f"{module}.{name}": _jsonable(harness.param_value(module, name))
              for module, m in harness.spec.modules.items() for name in (*m.params, *m.governed)}
    return {"deployer": f"0x{harness.deployer:040x}", "actors": [f"0x{a:040x}" for a in harness.actors],
            "addresses": {m: f"0x{a:040x}" for m, a in harness.addresses.items()},
            "params": params, "now": now, "block_number": block, "chain_id": chain}


def _check(reports: Iterable[StepReport], what: str) -> None:
    for i, r in enumerate(reports, 1):
        if not r.ok:
            raise FillError(f"{what}: the reference implementation and the model disagree at step {i} "
                            f"({r.step.describe()}): {r.differences[0]}")


def fill_sequence(harness: Harness, backend: str, name: str, source: str, steps: list[Step],
                  scenario: str | None = None) -> dict[str, Any]:
    """One fixture: ``steps`` run after the prelude (and ``scenario``), with the model's expectations.

    Raises:
        FillError: the reference implementation and the model disagree.
    """
    setup = list(harness.prelude_reports)
    _check(setup, f"{name} (prelude)")
    scenario_reports = harness.start_from(scenario)
    _check(scenario_reports, f"{name} (scenario {scenario})")
    pre = state_entries(harness)
    reports = [harness.run(s) for s in steps]
    _check(reports, name)
    return {
        "format": FIXTURE_FORMAT, "name": name, "source": source, "binding": str(harness.binding.path.resolve()),
        "backend": backend, "seed": None, "scenario": scenario, "deployment": _deployment(harness),
        "setup": [_step_record(r) for r in (*setup, *scenario_reports)],
        "pre_state": pre, "steps": [_step_record(r) for r in reports], "post_state": state_entries(harness),
    }


def fill_attack(harness: Harness, backend: str, attack: Attack) -> dict[str, Any]:
    """One fixture for a binding's attack: its steps from its scenario, with the
    model's expectations, which must be what the attack file claims (each step
    in ``reverts`` reverting with its reason, every other action succeeding).

    Raises:
        FillError: the reference implementation and the model disagree, or the
            model does not do what the attack file says.
    """
    planned = list(harness.attack_steps(attack))
    fixture = fill_sequence(harness, backend, f"attack-{attack.name}", f"binding attack `{attack.name}`",
                            [step for _, step, _ in planned], attack.scenario)
    for (i, step, reason), record in zip(planned, fixture["steps"], strict=True):
        if step.kind != "action":
            continue
        got = None if record["expect"]["ok"] else record["expect"]["reason"]
        if record["expect"]["ok"] == (reason is not None) or got != reason:
            said = f"revert {reason}" if reason is not None else "succeed"
            did = f"reverts {got}" if got is not None else "succeeds"
            raise FillError(f"attack `{attack.name}` (in {harness.binding.path.name}'s attack file), step {i} "
                            f"({step.describe()}): the file says it must {said}, but it {did} on the model "
                            "and the implementation")
    return fixture


def sample_sequences(harness: Harness, count: int, steps: int, seed: int) -> list[list[Step]]:
    """Up to ``count`` generated action sequences (from the state after the
    prelude), as a campaign draws them; sequences that only move the clock are left out.

    Raises:
        FillError: the implementation and the model diverge on one.
    """
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.stateful import run_state_machine_as_test

    from conformance.machine import Divergence, RunStats, build_machine
    from conformance.runner import pin_constant_pool

    pin_constant_pool()
    harness.start_from(None)
    stats = RunStats()
    drawn: dict[int, list[Step]] = {}

    def keep(report: StepReport) -> None:
        drawn.setdefault(stats.examples, []).append(report.step)

    machine = build_machine(harness, stats, keep, lambda trace: None)
    config = settings(max_examples=count, stateful_step_count=steps, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate], print_blob=False)
    try:
        run_state_machine_as_test(hypothesis_seed(seed)(machine), settings=config)
    except Divergence as exc:
        raise FillError(f"a generated sequence diverges: {exc}; run `imospec conform` to shrink it") from None
    return [s for s in drawn.values() if any(x.kind == "action" for x in s)][:count]


def fill(spec: ir.Spec, binding: Binding, backend: str,
         traces: Iterable[tuple[str, Path]] = (), *, sample: int = 0, steps: int = 25,
         seed: int = 0) -> list[dict[str, Any]]:
    """Fixtures from ``binding``'s scenarios (each scenario's steps as the
    transactions, from the state after the prelude), from its attacks (see
    :func:`fill_attack`), from trace fixtures
    (``(name, path)``: a divergence saved by a campaign, or any trace), and
    from a sample of ``sample`` generated sequences of up to ``steps`` steps.

    Raises:
        FillError: the reference implementation and the model disagree, or an
            attack does not end as its file says.
        FixtureError: a trace cannot be read.
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
    """
    from conformance.runner import read_fixture

    harness = Harness(spec, binding, backend)
    out = []
    for name, scenario_steps in binding.scenarios.items():
        out.append(fill_sequence(harness, backend, f"scenario-{name}", f"binding scenario `{name}`",
                                 list(harness.binding_steps(scenario_steps))))
    out.extend(fill_attack(harness, backend, attack) for attack in binding.attacks.values())
    for name, path in traces:
        trace = read_fixture(path)
        out.append(fill_sequence(harness, backend, name, f"trace {path.name}", list(trace.steps), trace.scenario))
    for i, drawn in enumerate(sample_sequences(harness, sample, steps, seed) if sample else [], 1):
        out.append(fill_sequence(harness, backend, f"campaign-{seed}-{i}",
                                 f"generated sequence {i} of a campaign with seed {seed}", drawn))
    return out


def write_fixtures(fixtures: list[dict[str, Any]], out: Path) -> list[Path]:
    """Write each fixture as ``OUT/NAME.json``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in fixtures:
        path = out / f"{f['name']}.json"
        path.write_text(json.dumps(f, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------- consume


@dataclass
class ConsumeResult:
    """A fixture run on an implementation: each difference, with where it was found."""

    name: str
    differences: list[tuple[str, Difference]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        """A readable diff: where, what the fixture expects, what the implementation did."""
        if self.ok:
            return f"{self.name}: ok"
        lines = [f"{self.name}: {len(self.differences)} difference(s)"]
        for where, d in self.differences:
            lines.append(f"  {where}: {d.where}\n    expected {d.model!r}\n    got      {d.evm!r}")
        return "\n".join(lines)


class FixtureRunner(Harness):
    """The implementation alone, deployed as a fixture says: no model.

    Raises (from the constructor):
        ConsumeError: the backend cannot reproduce the fixture's accounts, addresses or chain.
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
    """

    def __init__(self, spec: ir.Spec, binding: Binding, backend: str, deployment: dict[str, Any]) -> None:
        # (read by the hooks below, which Harness's constructor calls: it sets every attribute)
        self.fixture_deployment = deployment
        self.params = {k: _from_json(v) for k, v in deployment["params"].items()}
        super().__init__(spec, binding, backend, check_rules=False, full_compare=True)

    def _before_deployment(self) -> None:
        """The fixture's accounts, chain and addresses must be this backend's; its clock is set."""
        deployment = self.fixture_deployment
        want = (int(deployment["deployer"], 16), [int(a, 16) for a in deployment["actors"]])
        if (self.deployer, self.actors) != want:
            raise ConsumeError("the fixture's deployer and actors are not this backend's test accounts")
        if self.backend.chain_id != deployment["chain_id"]:
            raise ConsumeError(f"the fixture is for chain {deployment['chain_id']}, the backend runs "
                               f"{self.backend.chain_id}")
        expected = {m: int(a, 16) for m, a in deployment["addresses"].items()}
        if self.addresses != expected:
            raise ConsumeError("the modules would be deployed elsewhere than the fixture says")
        self.backend.set_timestamp(int(deployment["now"]))
        self.backend.set_block_number(int(deployment["block_number"]))

    def _deploy_model(self) -> None:
        """No model: the fixture holds its expectations."""

    def _start(self) -> None:
        """Nothing to compare or run at deployment: the fixture's setup steps are its prelude."""

    def param_value(self, module: str, name: str) -> Any:
        return self.params[f"{module}.{name}"]

    def abi_args(self, step: Step) -> list[Any]:
        decl = self.spec.modules[step.module].actions[step.action]
        return [_abi(a, t, self.spec) for a, (_, t) in zip(step.args, decl.params, strict=True)]

    def check_step(self, record: dict[str, Any]) -> list[Difference]:
        """Run one recorded step on the implementation and compare it with its expectation."""
        step = step_from_json(record)
        if step.kind == "time":
            self.backend.set_timestamp(self.backend.timestamp + step.seconds)
            self.backend.set_block_number(self.backend.block_number + step.blocks)
            return []
        receipt: Receipt = self.transact(step, self.abi_args(step))
        e = record["expect"]
        events = tuple(Event(x["module"], x["event"], tuple(
            (n, _from_json(v)) for (n, _), v in zip(self.spec.modules[x["module"]].events[x["event"]].fields,
                                                   x["args"], strict=True))) for x in e.get("events", []))
        expected = Outcome(bool(e["ok"]), value=_from_json(e.get("value")), reason=e.get("reason"), events=events)
        return self.compare_outcome(self.spec.modules[step.module].actions[step.action], expected, receipt)

    def check_state(self, entries: list[dict[str, Any]]) -> list[Difference]:
        """Compare the implementation's state with the fixture's entries."""
        diffs = []
        for e in entries:
            t = self._state_types[e["module"]][e["name"]]
            for _ in e["keys"]:
                assert isinstance(t, ir.MapT)
                t = t.value
            path, want, read = self._entry(e["module"], e["name"], tuple(e["keys"]), t, _from_json(e["value"]))
            got = read()
            if normal(want) != got:
                diffs.append(Difference(path(), normal(want), got))
        return diffs


def _abi(value: Any, t: ir.Type, spec: ir.Spec) -> Any:
    if isinstance(t, ir.RecordT):
        rec = spec.modules[t.module].records[t.name]
        return tuple(_abi(v, ft, spec) for v, (_, ft) in zip(value, rec.fields, strict=True))
    return to_abi(value, t)


def read_filled(path: Path) -> dict[str, Any]:
    """A filled fixture.

    Raises:
        ConsumeError: the file cannot be read or holds no expectations.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConsumeError(f"{path}: cannot read the fixture: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FIXTURE_FORMAT or "deployment" not in data:
        raise ConsumeError(f"{path}: not a filled fixture ({FIXTURE_FORMAT} with a deployment and expectations); "
                           "write them with `imospec fill OUT`")
    return data


def consume(data: dict[str, Any], spec: ir.Spec, binding: Binding, backend: str) -> ConsumeResult:
    """Run one filled fixture on ``binding``'s implementation on ``backend`` and compare.

    Raises:
        ConsumeError: the backend cannot reproduce the fixture's deployment.
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
    """
    runner = FixtureRunner(spec, binding, backend, data["deployment"])
    result = ConsumeResult(str(data.get("name", "?")))
    for i, rec in enumerate(data["setup"], 1):
        result.differences += [(f"setup step {i} ({step_from_json(rec).describe()})", d)
                               for d in runner.check_step(rec)]
    result.differences += [("pre-state", d) for d in runner.check_state(data["pre_state"])]
    for i, rec in enumerate(data["steps"], 1):
        result.differences += [(f"step {i} ({step_from_json(rec).describe()})", d) for d in runner.check_step(rec)]
    result.differences += [("post-state", d) for d in runner.check_state(data["post_state"])]
    return result
