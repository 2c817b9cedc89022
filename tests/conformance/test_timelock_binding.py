"""evm_backend/contracts/binding-timelock.json: the timelock deployed alone,
an actor its admin (the second deployment of the governance mutation run,
docs/governance.md). Its scenario 'edges' hits the timelock's boundaries
exactly; every step agrees with the model on both EVMs, and a timelock wrong
at one of those boundaries diverges in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "evm_backend" / "contracts"
BINDING = CONTRACTS / "binding-timelock.json"

# the outcome of each action step of 'edges', in order (None: it succeeds)
EDGES = [None, None, None, None, None, None, "TRANSACTION_SPENT", "ETA_NOT_REACHED",
         None, "UNKNOWN_PARAMETER", None, "TRANSACTION_STALE"]


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_the_edges_scenario_agrees_and_hits_each_boundary(backend: str) -> None:
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, backend, full_compare=True)
    reports = h.start_from("edges")
    assert all(r.ok for r in reports), [str(d) for r in reports for d in r.differences]
    outcomes = [None if r.model.ok else r.model.reason for r in reports if r.model is not None]
    assert outcomes == EDGES
    assert h.model.state("timelock").delay == 30 * 86_400


@pytest.mark.parametrize(("old", "new"), [
    ('assert not self.executed[id] and not self.cancelled[id], "TRANSACTION_SPENT"', "pass"),
    ("block.timestamp <= self.eta_of[id] + GRACE_PERIOD", "block.timestamp < self.eta_of[id] + GRACE_PERIOD"),
    ("MIN_DELAY <= _value and _value <= MAX_DELAY", "MIN_DELAY < _value and _value <= MAX_DELAY"),
    ('assert target in self.governed_modules, "UNKNOWN_PARAMETER"', "pass"),
    ("GRACE_PERIOD: constant(uint256) = 14 * DAY", "GRACE_PERIOD: constant(uint256) = 15 * DAY"),
])
def test_a_wrong_timelock_diverges_in_edges(old: str, new: str, tmp_path: Path) -> None:
    source = (CONTRACTS / "timelock.vy").read_text()
    assert source.count(old) == 1, old
    (tmp_path / "timelock.vy").write_text(source.replace(old, new))
    data = json.loads(BINDING.read_text())
    data["spec"] = str(ROOT / "spec" / "protocol")
    (tmp_path / "binding.json").write_text(json.dumps(data))
    binding, spec = load_implementation(tmp_path / "binding.json")
    h = Harness(spec, binding, "pyrevm", full_compare=True)
    assert not all(r.ok for r in h.start_from("edges")), new
