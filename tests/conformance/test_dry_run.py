"""A dry run on the model (the generator's look-ahead at a draw's outcome)
undoes the action from an undo log: it must give what ``execute`` gives and
leave the state exactly as it was, over the bundled protocol's actions (maps
of maps, maps of records, governed parameters, nested calls)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.binding import load_implementation
from conformance.runner import ShardRunner, plan_shards
from reference.runtime import Env, clone

BUNDLED = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"


def test_a_dry_run_gives_what_execute_gives_and_changes_nothing() -> None:
    binding, spec = load_implementation(BUNDLED)
    runner = ShardRunner(spec, binding, "pyrevm", steps=15)
    model = runner.harness.model
    dry_run = model.dry_run
    checked: dict[str, int] = {"ok": 0, "revert": 0, "writes": 0}

    def checked_dry_run(module: str, action: str, env: Env, *args: Any) -> Any:
        before = clone(model.world.state)
        outcome = dry_run(module, action, env, *args)
        assert model.world.state == before, f"a dry run of {module}.{action} changed the state"
        ran = model.execute(module, action, env, *args)
        assert (outcome.ok, outcome.reason, outcome.value, outcome.events, outcome.clauses) == (
            ran.ok, ran.reason, ran.value, ran.events, ran.clauses), f"{module}.{action}"
        if ran.ok:
            checked["writes"] += model.world.state != before
            model.world.state.update(ran.before)
        assert model.world.state == before
        checked["ok" if ran.ok else "revert"] += 1
        return outcome

    model.dry_run = checked_dry_run  # type: ignore[method-assign]
    for shard in plan_shards(len(binding.starts), len(binding.starts), 5)[::3]:
        result = runner.run(shard)
        assert result.divergence is None
    # both kinds of outcome, and successes that wrote the state, were undone
    assert checked["ok"] > 50 and checked["revert"] > 50 and checked["writes"] > 50, checked
