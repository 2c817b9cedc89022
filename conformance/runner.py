"""Conformance campaigns, traces and fixtures.

:func:`run_campaign` runs the generated state machine for a number of
examples and steps, deterministically for a given seed. When the model and the
EVM disagree, hypothesis shrinks the failing sequence; the shrunk trace is
printed step by step and saved as a JSON fixture that :func:`replay` re-runs
(``imospec replay FIXTURE``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from conformance.binding import Binding, load_implementation
from conformance.deployment import check_deployments
from conformance.harness import Harness, Step, StepReport, _show
from conformance.machine import Divergence, RunStats, build_machine
from spec import ir

FIXTURE_FORMAT = "imospec-trace/1"


@dataclass
class CampaignResult:
    """The outcome of a campaign."""

    backend: str
    binding: str
    seed: int
    stats: RunStats
    seconds: float
    divergence: list[StepReport] | None = None
    scenario: str | None = None  # the starting state of the divergent sequence
    fixture: Path | None = None

    @property
    def ok(self) -> bool:
        return self.divergence is None


def describe_report(i: int, r: StepReport) -> str:
    """One trace line: the step, what both sides did, and the differences."""
    head = f"step {i}: {r.step.describe()}"
    if r.step.kind == "time" or r.model is None or r.evm is None:
        return head
    if r.model.ok:
        what = "ok" + (f", returned {_show(r.model.value)}" if r.model.value is not None else "")
    else:
        what = f"reverted {r.model.reason!r}" if r.model.reason else "reverted (bare)"
    evm = "ok" if r.evm.success else (f"reverted {r.evm.revert_reason!r}" if r.evm.revert_reason else "reverted (bare)")
    line = f"{head}\n    model: {what}; evm: {evm}"
    for d in r.differences:
        line += f"\n    DIFFERS {d}"
    return line


def format_trace(trace: list[StepReport]) -> str:
    return "\n".join(describe_report(i + 1, r) for i, r in enumerate(trace))


def step_to_json(s: Step) -> dict[str, Any]:
    if s.kind == "time":
        return {"kind": "time", "seconds": s.seconds, "blocks": s.blocks}
    return {"kind": "action", "module": s.module, "action": s.action, "caller": f"0x{s.caller:040x}",
            "args": [_jsonable(a) for a in s.args]}


def step_from_json(d: dict[str, Any]) -> Step:
    if d["kind"] == "time":
        return Step("time", seconds=int(d["seconds"]), blocks=int(d["blocks"]))
    return Step("action", d["module"], d["action"], int(d["caller"], 16), tuple(_from_json(a) for a in d["args"]))


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return [_jsonable(getattr(v, f)) for f in v.__dataclass_fields__]
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    return v


def save_fixture(path: Path, binding: Binding, backend: str, seed: int, trace: list[StepReport],
                 scenario: str | None = None) -> None:
    """Write a failing trace as a replayable JSON fixture."""
    last = trace[-1]
    data = {
        "format": FIXTURE_FORMAT,
        "binding": str(binding.path.resolve()),
        "backend": backend,
        "seed": seed,
        "scenario": scenario,
        "steps": [step_to_json(r.step) for r in trace],
        "divergence": {"step": len(trace), "differences": [str(d) for d in last.differences]},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def pin_constant_pool() -> None:
    """Keep hypothesis's pool of constants to its own.

    Hypothesis (6.131 on) draws about one number in twenty from literals it
    finds in the source of the local modules loaded so far. Which modules
    those are depends on the entry point (the CLI, a test, a benchmark) and
    on what a run imports lazily, so one seed would draw different campaigns
    from each, and from one mutant to the next in a mutation run. With no
    local constants, a seed and the code of the spec and the implementation
    decide the campaign. (A hypothesis without the feature is left as it is.)
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # pragma: no cover - an older hypothesis
        return
    if getattr(providers, "_get_local_constants", None) is None:  # pragma: no cover
        return
    none = Constants()
    providers._get_local_constants = lambda: none
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()


def start_seed(seed: int, index: int) -> int:
    """The hypothesis seed of the sequences that start from the ``index``-th
    starting state of a campaign run with ``seed``."""
    return seed * 1009 + index


def run_campaign(
    spec: ir.Spec,
    binding: Binding,
    *,
    backend: str = "py-evm",
    examples: int = 50,
    steps: int = 30,
    seed: int = 0,
    fixture_dir: Path = Path(".imospec-cache/fixtures"),
    on_step: Callable[[StepReport], None] | None = None,
    check_rules: bool = False,
    shrink: bool = True,
) -> CampaignResult:
    """Run ``examples`` generated action sequences of up to ``steps`` steps.

    First the deployment: the state after it and after the prelude, and the
    constructors at edge parameters (:func:`conformance.deployment.check_deployments`).
    Deterministic for a given seed. Stops at the first divergence, shrinks it
    (unless ``shrink`` is false: mutation testing only asks whether there is
    one), saves it as a fixture and returns it in the result.

    Raises:
        BindingError, CompileError, DeploymentFailed: the implementation cannot be set up.
    """
    pin_constant_pool()
    harness = Harness(spec, binding, backend, check_rules=check_rules)
    stats = RunStats()
    failing: dict[str, list[StepReport]] = {}

    def keep(trace: list[StepReport]) -> None:
        failing["trace"] = list(trace)  # the last one kept is the shrunk one

    started = time.perf_counter()
    result = CampaignResult(backend, binding.name, seed, stats, 0.0)
    bad = [rep for rep in harness.prelude_reports if not rep.ok]
    # constructors at edge parameters, against the spec's init rules
    deployment = harness.deployment_differences or check_deployments(harness)
    if deployment or bad:
        result.divergence = bad[:1] or [StepReport(Step("time"), None, None, deployment)]
    # the sequences are shared between the state after the prelude and each
    # scenario, the first ones taking one more each until all are given out
    starts = binding.starts
    machine = build_machine(harness, stats, on_step, keep)  # one for every starting state
    for index, start in enumerate(starts if result.divergence is None else []):
        reports = harness.start_from(start)
        if any(not r.ok for r in reports):
            # the scenario's own steps are the trace: replay runs them after the prelude
            result.divergence, result.scenario = reports, None
            break
        config = settings(
            max_examples=max(1, examples // len(starts) + (index < examples % len(starts))),
            stateful_step_count=steps, deadline=None, database=None,
            derandomize=False, suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
            report_multiple_bugs=False, print_blob=False,
        )
        # hypothesis copies the seed from the machine class to the test it builds;
        # each starting state gets its own, or they would all run the same
        # draws (the same actions, in the same order, with the same arguments)
        seeded = hypothesis_seed(start_seed(seed, index))(machine)
        try:
            run_state_machine_as_test(seeded, settings=config)
        except Divergence:
            result.divergence, result.scenario = failing.get("trace"), start
            break
    result.seconds = time.perf_counter() - started
    if result.divergence is not None:
        name = f"{binding.name}-{backend}-seed{seed}.json"
        result.fixture = fixture_dir / name
        save_fixture(result.fixture, binding, backend, seed, result.divergence, result.scenario)
    return result


def replay(path: str | Path, backend: str | None = None,
           impl: str | Path | None = None) -> tuple[list[StepReport], Harness]:
    """Re-run a fixture on the model and the EVM; return the reports. With
    ``impl``, on another implementation of the same spec (a sequence found on
    the Vyper build, replayed on the Solidity one).

    Raises:
        ValueError: the file is not a fixture.
        BindingError: its binding cannot be loaded, or its spec has errors.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read fixture {p}: {exc}") from None
    if data.get("format") != FIXTURE_FORMAT:
        raise ValueError(f"{p} is not an imospec trace fixture")
    binding, spec = load_implementation(impl if impl is not None else data["binding"])
    harness = Harness(spec, binding, backend or data.get("backend", "py-evm"))
    reports = list(harness.prelude_reports)
    reports += harness.start_from(data.get("scenario"))
    for d in data["steps"]:
        reports.append(harness.run(step_from_json(d)))
    return reports, harness
