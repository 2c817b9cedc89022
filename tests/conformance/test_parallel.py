"""Campaigns and mutation runs on several workers: the work is cut into
shards that do not depend on one another, so the result for a seed is the
same whatever the number of workers (the divergences found, the mutants
killed); and the same shards run on a Ray cluster."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.mutate import mutations, run_mutants
from conformance.runner import (
    SHARD_EXAMPLES,
    CampaignResult,
    Shard,
    ShardRunner,
    plan_shards,
    run_campaign,
    step_to_json,
)
from imospec_cli.main import main

MutantMaker = Callable[[str, str, str], Path]  # the tiny_mutant fixture (conftest.py)


def _found(result: CampaignResult) -> Any:
    """The divergence of a result: its shard, starting state, steps and differences."""
    trace = result.divergence or []
    return (result.shard, result.scenario, [step_to_json(s.step) for s in trace],
            [str(d) for s in trace for d in s.differences])


def test_shards_depend_on_the_seed_and_the_budget_alone() -> None:
    shards = plan_shards(3, 100, seed=5)
    assert [s.examples for s in shards if s.start == 0] == [SHARD_EXAMPLES, 9]  # 34 = 25 + 9
    assert sum(s.examples for s in shards) == 100
    assert [s.number for s in shards] == list(range(len(shards)))
    assert len({s.seed for s in shards}) == len(shards)  # no two shards draw the same sequences
    assert plan_shards(3, 100, seed=5) == shards
    # up to SHARD_EXAMPLES sequences a starting state: one shard each, seeded as campaigns always were
    assert [(s.start, s.seed) for s in plan_shards(10, 100, seed=1)] == [(i, 1009 + i) for i in range(10)]


def test_a_shard_that_starts_where_the_last_one_did_keeps_its_starting_state(
        tiny_binding_path: Path, tmp_path: Path) -> None:
    # the shards of one starting state come one after another: the second runs from the
    # state the first made, without the scenario's steps, and draws and finds what it does alone
    impl = tmp_path / "impl"
    shutil.copytree(tiny_binding_path.parent, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((tiny_binding_path.parent / data["spec"]).resolve())
    data["scenarios"] = {"later": [["time", 3600, 1], ["cash", "transfer", "actor:0", ["actor:1", "5"]]]}
    (impl / "binding.json").write_text(json.dumps(data))
    binding, spec = load_implementation(impl / "binding.json")
    index = binding.starts.index("later")
    first, second = Shard(0, index, 0, 3, 11), Shard(1, index, 1, 3, 12)

    def runner() -> tuple[ShardRunner, list[tuple[str, int]]]:
        seen: list[tuple[str, int]] = []
        r = ShardRunner(spec, binding, "pyrevm", steps=6,
                        on_step=lambda rep: seen.append((rep.step.describe(), r.harness.backend.timestamp)))
        return r, seen

    together, seen = runner()
    assert together.run(first).divergence is None
    rebases = together.harness.rebases
    seen.clear()
    again = together.run(second)
    assert together.harness.rebases == rebases, "the scenario ran again"
    alone, fresh = runner()
    by_itself = alone.run(second)
    assert seen and seen == fresh
    assert (again.stats.examples, again.stats.steps, again.stats.outcomes) == (
        by_itself.stats.examples, by_itself.stats.steps, by_itself.stats.outcomes)
    # once the harness was rebased elsewhere, the next shard makes its starting state again
    together.harness.start_from(None)
    rebases = together.harness.rebases
    seen.clear()
    together.run(second)
    assert together.harness.rebases == rebases + 1 and seen == fresh


def test_the_divergence_found_is_the_same_whatever_the_number_of_workers(
        tiny_mutant: MutantMaker, tmp_path: Path) -> None:
    # a mutant that some sequences show and others do not: the campaign stops
    # at the first shard, in shard order, that diverges, whichever finished first
    # (seed 1: one whose first shard does not diverge, and a later one does; any such seed will do)
    binding, spec = load_implementation(tiny_mutant("vault.vy", "if amount >= t:", "if amount > t:"))
    results = {}
    for workers in (1, 2, 3):
        results[workers] = run_campaign(spec, binding, backend="pyrevm", examples=4 * SHARD_EXAMPLES, steps=8,
                                        seed=1, shrink=False, workers=workers, fixture_dir=tmp_path / f"w{workers}")
    one = results[1]
    assert one.shards == 4 and not one.ok and one.shard is not None
    assert one.shard.number > 0, "the test needs a first shard that does not diverge"
    for workers in (2, 3):
        other = results[workers]
        assert _found(other) == _found(one)
        assert (other.stats.examples, other.stats.steps, other.stats.outcomes) == (
            one.stats.examples, one.stats.steps, one.stats.outcomes)
        assert other.fixture is not None and one.fixture is not None
        assert json.loads(other.fixture.read_text())["steps"] == json.loads(one.fixture.read_text())["steps"]


def test_the_mutants_killed_are_the_same_whatever_the_number_of_workers(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    chosen = list(mutations("vault", binding.modules["vault"].vyper))[:5]
    one = run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=1)
    two = run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=2)
    assert one.killed and (one.survived or one.stillborn), "the sample should hold kills and others"
    for fate in ("killed", "survived", "stillborn"):
        assert [m.key() for m in getattr(two, fate)] == [m.key() for m in getattr(one, fate)]


def test_a_mutation_run_is_cut_into_consecutive_batches_that_shrink_towards_the_end() -> None:
    from conformance.parallel import MAX_BATCH, batches

    for n, workers in ((0, 2), (1, 2), (7, 3), (30, 2), (1739, 2), (500, 8)):
        cut = batches(n, workers)
        assert [i for b in cut for i in b] == list(range(n))  # every task once, in order
        sizes = [len(b) for b in cut]
        assert all(1 <= size <= MAX_BATCH for size in sizes)
        assert sizes == sorted(sizes, reverse=True), "no batch is longer than one before it"
        if n >= 8 * workers:
            assert sizes[-1] == 1, "the last batches are single tasks"
    assert batches(1739, 2)[0] == range(MAX_BATCH)
    assert [len(b) for b in batches(5, 1)] == [1] * 5


def test_each_task_s_cpu_time_is_recorded_with_the_process_that_ran_it(tiny_binding_path: Path) -> None:
    import os

    from conformance import parallel

    binding, spec = load_implementation(tiny_binding_path)
    chosen = list(mutations("vault", binding.modules["vault"].vyper))[:3]
    parallel.TIMINGS.clear()
    run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=2)
    names = [t.fn for t in parallel.TIMINGS]
    assert "run_record_task" in names and "run_replay_task" in names
    assert all(t.worker != os.getpid() and t.cpu > 0 for t in parallel.TIMINGS), "the workers ran every task"
    parallel.TIMINGS.clear()
    run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=1)
    assert {t.worker for t in parallel.TIMINGS} == {os.getpid()}


def test_the_critical_path_is_the_serial_part_then_each_stage_s_busiest_worker() -> None:
    import os

    from conformance.parallel import TaskTiming, critical_cpu, worker_cpu

    me = os.getpid()
    timings = [TaskTiming("run_record_task", 11, 3.0), TaskTiming("run_record_task", 12, 2.0),
               TaskTiming("run_record_task", 11, 1.0), TaskTiming("run_replay_task", 12, 5.0),
               TaskTiming("run_replay_task", 11, 4.0), TaskTiming("run_replay_task", 12, 2.0)]
    assert worker_cpu(timings) == {"run_record_task": {11: 4.0, 12: 2.0}, "run_replay_task": {12: 7.0, 11: 4.0}}
    # 1.5 s of this process's own, then the corpus's busiest worker (4), then the replays' (7)
    assert critical_cpu(timings, 1.5) == (12.5, 1.5)
    # tasks run in this process are all one after another
    inline = [TaskTiming("run_replay_task", me, 2.0), TaskTiming("run_replay_task", me, 3.0)]
    assert critical_cpu(inline, 6.0) == (6.0, 1.0)


def test_the_same_shards_run_on_a_local_ray_instance(tiny_mutant: MutantMaker, tmp_path: Path) -> None:
    binding, spec = load_implementation(tiny_mutant("vault.vy", "amount * WAD // floor_price",
                                                    "amount * WAD // floor_price + 1"))
    args: dict[str, Any] = {"backend": "pyrevm", "examples": 2 * SHARD_EXAMPLES, "steps": 12, "seed": 4,
                            "shrink": False}
    local = run_campaign(spec, binding, workers=1, fixture_dir=tmp_path / "local", **args)
    # engine="ray" with no address starts a local Ray instance and stops it after the run
    on_ray = run_campaign(spec, binding, workers=2, engine="ray", fixture_dir=tmp_path / "ray", **args)
    assert not local.ok
    assert _found(on_ray) == _found(local)
    assert on_ray.stats.steps == local.stats.steps


def test_the_same_mutants_are_killed_on_a_local_ray_instance(tiny_binding_path: Path) -> None:
    ray = pytest.importorskip("ray")
    binding, spec = load_implementation(tiny_binding_path)
    chosen = list(mutations("vault", binding.modules["vault"].vyper))[:5]
    one = run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # one instance for both stages
    try:
        on_ray = run_mutants(spec, binding, chosen, examples=2, steps=8, seed=2, workers=2, engine="ray")
    finally:
        ray.shutdown()
    assert one.killed and (one.survived or one.stillborn)
    for fate in ("killed", "survived", "stillborn"):
        assert [m.key() for m in getattr(on_ray, fate)] == [m.key() for m in getattr(one, fate)]


def test_conform_takes_workers_and_says_so(tiny_binding_path: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "summary.json"
    code = main(["conform", "--impl", str(tiny_binding_path), "--backend", "pyrevm", "--examples", "4",
                 "--steps", "5", "--workers", "2", "--json", str(out), "--allow-never-succeeded"])
    assert code == 0, capsys.readouterr()
    summary = json.loads(out.read_text())
    assert summary["workers"] == 2 and summary["shards"] == 1 and summary["ok"]


def test_ray_missing_is_a_clear_error(tiny_binding_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when it is not installed
    code = main(["conform", "--impl", str(tiny_binding_path), "--examples", "2", "--steps", "3",
                 "--engine", "ray"])
    err = capsys.readouterr().err
    assert code == 64
    assert "pip install 'imospec[ray]'" in err and "Traceback" not in err


def test_a_worker_that_cannot_set_up_is_a_clear_error(tiny_mutant: MutantMaker,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    broken = tiny_mutant("vault.vy", "amount * WAD // floor_price", "amount * WAD // // floor_price")
    code = main(["conform", "--impl", str(broken), "--backend", "pyrevm", "--examples", "2", "--steps", "3",
                 "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 64
    assert "error:" in err and "vault" in err and "Traceback" not in err
