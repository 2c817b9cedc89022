"""Issue 12: the money market's governed parameters at their bounds.

The bundled binding's scenario ``governed_bounds`` executes, through the
governor and the timelock, a change of every governed parameter of the money
market at each of its bounds and one past each, and an unknown key on each
module; every step is compared with the model, so each execution's outcome
(a success, OUT_OF_BOUNDS or UNKNOWN_PARAMETER) is checked on the contracts.
The constructors of the interest model, the oracle and the markets check
their governed arguments with the setter's own ``_check_bounds`` (as the
controller does), so the deployment checks, which deploy each governed
parameter at its bounds and one past, reach the setter's bound checks too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.deployment import deployment_cases, evm_deploys, model_deploys
from conformance.harness import Harness
from reference.codegen import governed_bounds
from tests.conformance.conftest import expected_setting, money_market_binding, scenario_compared

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "evm_backend" / "contracts" / "binding.json"
# the modules whose governed parameters the scenario moves; the markets share one source
GROUPS = {"interest": "interest", "oracle": "oracle", "controller": "controller",
          "mdcep": "market", "musdc": "market"}


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_governed_bounds_scenario_executes_each_bound_and_agrees(backend: str) -> None:
    h, reports = scenario_compared(BUNDLED, "governed_bounds", backend)
    spec = h.spec
    by_address = {a: m for m, a in h.addresses.items()}
    proposals: list[tuple[str, int, int]] = []
    tried: dict[tuple[str, str], set[str]] = {}
    unknown: set[str] = set()
    for r in reports:
        if r.step.kind != "action" or r.step.module != "governor":
            continue
        if r.step.action == "propose":
            target, key, value = r.step.args
            proposals.append((by_address[target], key, value))
        elif r.step.action == "execute":
            module, key, value = proposals[r.step.args[0] - 1]
            ok, reason, name, where = expected_setting(spec, module, key, value)
            assert r.model is not None
            assert (r.model.ok, r.model.reason) == (ok, reason), (module, name, value)
            if name is None:
                unknown.add(GROUPS[module])
            else:
                tried.setdefault((GROUPS[module], name), set()).add(where)
    assert unknown == set(GROUPS.values())
    for module, group in GROUPS.items():
        for name in spec.modules[module].governed:
            low, _ = governed_bounds(spec, module, name)
            wanted = {"low", "high", "above"} | ({"below"} if low > 0 else set())
            if name == "reporter":  # an address: the timelock's number must name one other than 0
                wanted = {"below", "high", "above"}
            assert wanted <= tried.get((group, name), set()), (group, name, tried.get((group, name)))
    # the outcomes the checks in between were written for
    reasons = [(r.step.module, r.step.action, r.model.reason) for r in reports
               if r.step.kind == "action" and r.step.module in ("mdcep", "musdc", "oracle") and r.model is not None]
    for seen in (("mdcep", "mint", "MARKET_DISABLED"), ("musdc", "allocate_to_rwa", "MARKET_DISABLED"),
                 ("mdcep", "mint", "MARKET_NOT_LISTED"), ("mdcep", "allocate_to_rwa", "MARKET_NOT_LISTED"),
                 ("mdcep", "mint", "AMOUNT_TOO_SMALL"), ("mdcep", "redeem", "AMOUNT_TOO_SMALL"),
                 ("mdcep", "mint", "ZERO_MINT"), ("oracle", "report", "UNAUTHORIZED"),
                 ("mdcep", "mint", None), ("mdcep", "allocate_to_rwa", None)):
        assert seen in reasons, seen


@pytest.mark.parametrize(
    ("file", "module", "old", "new"),
    [
        ("interest.vy", "interest", 'assert _value <= MAX_RATE, "OUT_OF_BOUNDS"',
         'assert _value < MAX_RATE, "OUT_OF_BOUNDS"'),
        ("oracle.vy", "oracle", "assert HOUR <= _value and _value <= 7 * DAY",
         "assert HOUR <= _value and _value < 7 * DAY"),
        ("oracle.vy", "oracle", "assert 1 <= _value and _value <= convert(max_value(uint160), uint256)",
         "assert 1 <= _value and _value < convert(max_value(uint160), uint256)"),
        ("market.vy", "mdcep", "assert 1 <= _value and _value <= 1000 * UNIT",
         "assert 1 < _value and _value <= 1000 * UNIT"),
        ("market.vy", "musdc", 'assert _value <= 100000000 * UNIT, "OUT_OF_BOUNDS"',
         'assert _value <= 99999999 * UNIT, "OUT_OF_BOUNDS"'),
    ],
)
def test_a_wrong_setter_bound_is_caught_at_deployment(file: str, module: str, old: str, new: str,
                                                      tmp_path: Path) -> None:
    """A setter's bound off by one shows at deployment already: the
    constructor checks its arguments with the same ``_check_bounds``, and the
    deployment checks move each governed argument to its bounds and one past."""
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl", (file, old, new)))
    h = Harness(spec, binding, "pyrevm")
    differ = [moves for m, moves in deployment_cases(h)
              if m == module and model_deploys(h, m, moves) != evm_deploys(h, m, moves)]
    assert differ, f"mutant not caught at deployment: {file}: {new}"


def test_the_bundled_constructors_agree_at_every_governed_edge(tmp_path: Path) -> None:
    binding, spec = load_implementation(money_market_binding(tmp_path / "impl"))
    h = Harness(spec, binding, "pyrevm")
    for module in ("interest", "oracle", "mdcep", "musdc"):
        cases = [moves for m, moves in deployment_cases(h) if m == module]
        assert cases
        for moves in cases:
            assert model_deploys(h, module, moves) == evm_deploys(h, module, moves), (module, moves)
