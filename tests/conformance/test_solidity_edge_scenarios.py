"""The scenarios of the Solidity binding written for the mutation run
(evm_backend/contracts/solidity/binding.json: 'pool_edges', 'pool_overflow',
'pool_burns', 'pool_dust', 'yield_dust', 'farm_all', 'decay_edges', 'decay_late'): each puts one boundary that
generated sequences do not reach in a step of its own, so that the scenario
alone tells a wrong contract from the right one. Each case breaks the
contract the way a surviving mutant of the full run did, and the scenario
must diverge; the right contracts pass every scenario (test_solidity_implementation)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness

SOLIDITY = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "solidity"


def _broken(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the Solidity implementation with ``old`` replaced by ``new`` in ``file``; its binding."""
    impl = tmp_path / "solidity"
    shutil.copytree(SOLIDITY, impl)
    data = json.loads((SOLIDITY / "binding.json").read_text())
    data["spec"] = str((SOLIDITY / data["spec"]).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    source = impl / file
    text = source.read_text()
    assert text.count(old) == 1, old
    source.write_text(text.replace(old, new))
    return impl / "binding.json"


FUND = 'require(amount {} merchantMt, "EXCEEDS_MERCHANT_MT");\n        uint256 total = farmFunded'
K = "return (inAfter * 1000 - feePart) * (outAfter * 1000) >= inBefore * outBefore * 1000 * 1000;"


@pytest.mark.parametrize(("scenario", "file", "old", "new"), [
    # a purchase whose output is an exact quotient meets the K check with equality
    ("pool_edges", "Pool.sol", K, K.replace(">=", ">")),
    # a purchase exactly one second after the last update adds the price once
    pytest.param("pool_edges", "Pool.sol", "if (elapsed > 0 && reserveMt > 0)", "if (elapsed > 1 && reserveMt > 0)",
                 marks=pytest.mark.slow),
    # a DCEP reserve of exactly 2**112 - 1 fits
    pytest.param("pool_edges", "Pool.sol", "newDcep <= type(uint112).max", "newDcep < type(uint112).max",
                 marks=pytest.mark.slow),
    # a K product just below 2**256: a larger left side overflows (a bare revert) where the update says OVERFLOW
    pytest.param("pool_overflow", "Pool.sol", K, K.replace("inAfter * 1000 - feePart", "inAfter * 1000 + feePart"),
                 marks=pytest.mark.slow),
    # a burn that would pay MT and no DCEP
    pytest.param("pool_burns", "Pool.sol", "require(mtAmount > 0 && dcepAmount > 0,",
                 "require(mtAmount > 0 && dcepAmount >= 0,", marks=pytest.mark.slow),
    # a sale against exactly 1 wei of DCEP pays nothing: INSUFFICIENT_OUTPUT_AMOUNT, not INSUFFICIENT_LIQUIDITY
    pytest.param("pool_dust", "Pool.sol", "require(mtIn > 0, \"INSUFFICIENT_INPUT_AMOUNT\");\n        "
                 "(uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);\n        require(rMt > 0 && rDcep > 0,",
                 "require(mtIn > 0, \"INSUFFICIENT_INPUT_AMOUNT\");\n        "
                 "(uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);\n        require(rMt > 0 && rDcep > 1,",
                 marks=pytest.mark.slow),
    # tier 1 has not decayed 6 days on; tier 2 has, exactly 14 days on; 99 LP back no tier
    pytest.param("decay_edges", "Farm.sol", "level == 1 ? 7 days :", "level == 1 ? 6 days :", marks=pytest.mark.slow),
    pytest.param("decay_edges", "Farm.sol", "level == 2 ? 14 days :", "level == 2 ? 15 days :", marks=pytest.mark.slow),
    pytest.param("decay_edges", "Farm.sol", "if (elapsed < period) break;", "if (elapsed <= period) break;",
                 marks=pytest.mark.slow),
    pytest.param("decay_edges", "Farm.sol", "if (amount >= 100e18) level++;", "if (amount >= 99e18) level++;",
                 marks=pytest.mark.slow),
    # tier 2 has not decayed 13.5 days on, nor tier 3 29.5 days on
    pytest.param("decay_late", "Farm.sol", "level == 2 ? 14 days :", "level == 2 ? 13 days :", marks=pytest.mark.slow),
    pytest.param("decay_late", "Farm.sol", ": 30 days;", ": 29 days;", marks=pytest.mark.slow),
    # a Bronze member's card costs 100 DCEP
    pytest.param("decay_edges", "Member.sol", "uint256(100e18)", "uint256(99e18)", marks=pytest.mark.slow),
    # a card cannot go to the zero address, nor to a member who holds one
    pytest.param("decay_edges", "Member.sol", 'require(to != address(0), "ZERO_ADDRESS");', "{}",
                 marks=pytest.mark.slow),
    pytest.param("decay_edges", "Member.sol", 'require(to == from || tokenOf[to] == 0, "ALREADY_MEMBER");', "{}",
                 marks=pytest.mark.slow),
    # the merchant funds the farm with all of its MT left
    pytest.param("farm_all", "Offering.sol", FUND.format("<="), FUND.format("<"), marks=pytest.mark.slow),
    # a pending yield of exactly 1 wei is paid
    pytest.param("yield_dust", "Reserve.sol", "if (owed > 0) {", "if (owed > 1) {", marks=pytest.mark.slow),
])
def test_the_edge_scenario_catches_the_wrong_contract(tmp_path: Path, scenario: str, file: str, old: str,
                                                     new: str) -> None:
    binding, spec = load_implementation(_broken(tmp_path, file, old, new))
    h = Harness(spec, binding, "pyrevm")
    assert h.deployment_differences == [] and all(r.ok for r in h.prelude_reports)
    reports = h.start_from(scenario)
    assert not all(r.ok for r in reports), scenario
