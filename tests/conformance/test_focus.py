"""The binding's `focus`: every sequence from a starting state begins with one
step of each action it names there (``"prelude"`` is the state after the
prelude), and a draw that reverts on the model is moved toward success."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import BindingError, load_implementation
from conformance.runner import ShardRunner, plan_shards

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny" / "impl"


def _tiny(tmp_path: Path, focus: dict[str, list[str]]) -> Path:
    impl = tmp_path / "impl"
    shutil.copytree(TINY, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((TINY / data["spec"]).resolve())
    data["scenarios"] = {"later": [["time", 3600, 1]]}
    data["focus"] = focus
    (impl / "binding.json").write_text(json.dumps(data))
    return impl / "binding.json"


@pytest.mark.parametrize("start", ["prelude", "later"])
def test_every_sequence_begins_with_the_focus(tmp_path: Path, start: str) -> None:
    binding, spec = load_implementation(_tiny(tmp_path, {start: ["vault.set_price", "vault.deposit"]}))
    runner = ShardRunner(spec, binding, "pyrevm", steps=4)
    firsts: list[list[str]] = []
    current: list[str] = []

    def note(report: object) -> None:
        step = report.step  # type: ignore[attr-defined]
        current.append(f"{step.module}.{step.action}" if step.kind == "action" else "time")

    index = binding.starts.index(None if start == "prelude" else start)
    shard = next(s for s in plan_shards(len(binding.starts), 2 * 6, seed=0) if s.start == index)
    from conformance.machine import build_machine

    runner.machine = build_machine(runner.harness, runner.stats, note)
    original_init = runner.machine.__init__

    def init(self: object) -> None:
        if current:
            firsts.append(list(current))
        current.clear()
        original_init(self)

    runner.machine.__init__ = init  # type: ignore[method-assign]
    result = runner.run(shard, shrink=False)
    firsts.append(list(current))
    assert result.divergence is None
    sequences = [f for f in firsts if f]  # (hypothesis may abort a sequence before its first step)
    assert len(sequences) >= shard.examples - 1
    assert all(f[:2] == ["vault.set_price", "vault.deposit"] for f in sequences), sequences
    # a draw by another caller than the owner can only revert UNAUTHORIZED (a focus step moves the arguments, not
    # the caller, toward success; the owner is drawn first most often)
    outcomes = result.stats.outcomes["vault.set_price"]
    assert outcomes.ok >= 1 and set(outcomes.reasons) <= {"UNAUTHORIZED"}, outcomes


def test_focus_names_a_starting_state(tmp_path: Path) -> None:
    with pytest.raises(BindingError, match="no such scenario: nowhere"):
        load_implementation(_tiny(tmp_path, {"nowhere": ["vault.deposit"]}))
