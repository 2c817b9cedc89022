"""The bundled contracts at a second parameter set with non-round values
(evm_backend/contracts/binding-odd.json): a floor that does not divide 1e18,
odd caps and shares in basis points, an odd window and TWAP window. A check
or a rounding that the bundled deployment only exercises at round numbers
(the floor 0.5 divides 1e18, so an exit's MT never rounds up there) is told
apart here. Both EVMs; every scenario step must succeed and agree with the
model, each scenario must reach the phase it is for, and a generated campaign
from every starting state must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step
from conformance.runner import format_trace, run_campaign

ODD = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding-odd.json"
WAD = 10**18
MAX = 2**256 - 1
IRON, BRONZE, SILVER, GOLD = 0, 1, 2, 3


@pytest.fixture(scope="module")
def odd() -> tuple[Any, Any]:
    return load_implementation(ODD)


def _phase(h: Harness) -> int:
    return int(h.model.call_fn("phases", "current", h.env(h.deployer)))


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_scenarios_run_and_reach_their_phases(odd: tuple[Any, Any], backend: str) -> None:
    binding, spec = odd
    h = Harness(spec, binding, backend, full_compare=True)
    assert h.deployment_differences == []
    assert all(r.ok and r.model is not None and r.model.ok for r in h.prelude_reports)
    floor = h.model.state("phases").floor
    assert WAD % floor != 0  # the point of this deployment
    expected = {"launched": BRONZE, "gold": GOLD, "iron": IRON, "members": BRONZE}
    for name in binding.scenarios:
        reports = h.start_from(name)
        bad = [r.step.describe() for r in reports if not (r.ok and (r.model is None or r.model.ok))]
        assert bad == [], f"{name}: {bad}"
        if name in expected:
            assert _phase(h) == expected[name], name
    # in Iron a top-up and an exit round trip: the exit's MT rounds up (floor does not divide WAD)
    h.start_from("iron")
    user = h.actors[2]
    for amount in (1, 7, 10**18 + 1):
        top = h.run(Step("action", "reserve", "top_up", user, (amount,)))
        out = h.run(Step("action", "reserve", "exit", user, (amount,)))
        assert top.ok and out.ok and top.model is not None and out.model is not None
        assert top.model.ok and out.model.ok
        assert top.model.value == amount * WAD // floor
        assert out.model.value == -(-amount * WAD // floor) > top.model.value


@pytest.mark.parametrize("backend", ["pyrevm", "py-evm"])
def test_campaign_on_the_second_deployment_conforms(odd: tuple[Any, Any], backend: str, tmp_path: Path) -> None:
    binding, spec = odd
    result = run_campaign(spec, binding, backend=backend, examples=3 * len(binding.starts), steps=20, seed=5,
                          fixture_dir=tmp_path)
    assert result.ok, format_trace(result.divergence or [])
    assert result.stats.steps > 100
