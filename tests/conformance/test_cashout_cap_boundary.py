"""`imospec verify`'s default campaign catches a cash-out cap one basis point
too high, on both EVMs (py-evm's with `-m slow`): the binding's `edges` scenario sells the smallest
amount of MT over the cap (one wei more than the largest sale that passes),
which the spec refuses with CASHOUT_CAP and such a contract lets through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.runner import CampaignSettings, run_campaign
from imospec_cli.pipeline import DEFAULT_BINDING

CHECK = "assert self.cashed_out * BPS <= cashout_cap_bps * self.raised"
MUTANT = "assert self.cashed_out * BPS <= (cashout_cap_bps + 1) * self.raised"


def _mutant_binding(tmp_path: Path) -> Path:
    src = DEFAULT_BINDING.parent
    dst = tmp_path / "contracts"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("solidity"))
    data = json.loads((dst / "binding.json").read_text())
    data["spec"] = str((src / data["spec"]).resolve())
    (dst / "binding.json").write_text(json.dumps(data))
    source = (dst / "offering.vy").read_text()
    assert source.count(CHECK) == 1
    (dst / "offering.vy").write_text(source.replace(CHECK, MUTANT))
    return dst / "binding.json"


# the same campaign (seed 0 draws the same steps on either EVM): on py-evm (120 s of a 67 min run at load 8)
# with `-m slow`; the default run keeps pyrevm, and the cap attacks of test_attacks.py on both EVMs
@pytest.mark.parametrize("backend", ["pyrevm", pytest.param("py-evm", marks=pytest.mark.slow)])
def test_verify_default_campaign_catches_a_cap_one_basis_point_high(tmp_path: Path, backend: str) -> None:
    binding, spec = load_implementation(_mutant_binding(tmp_path))
    defaults = CampaignSettings(backend=backend)  # what `imospec verify` runs: 40 sequences of 25 steps, seed 0
    assert (defaults.examples, defaults.steps, defaults.seed) == (40, 25, 0)
    result = run_campaign(spec, binding, backend=backend, examples=defaults.examples, steps=defaults.steps,
                          seed=defaults.seed, shrink=False, workers=1, fixture_dir=tmp_path / "fixtures")
    assert not result.ok and result.divergence is not None
    last = result.divergence[-1]
    assert (last.step.module, last.step.action) == ("offering", "merchant_sell")
    assert last.model is not None and not last.model.ok and last.model.reason == "CASHOUT_CAP"
