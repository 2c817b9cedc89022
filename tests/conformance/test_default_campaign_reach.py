"""At the default budget of `imospec conform` and `imospec verify` (40
sequences of 25 steps, seed 0), every public action of the bundled binding
succeeds at least once on each EVM: no success path goes uncompared, and the
campaign exits 0, not 2 (inconclusive). The binding's `focus` and its
scenarios are what get there (docs/glossary.md, "never succeeded")."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from conformance.binding import module_only_actions
from conformance.runner import CampaignSettings
from imospec_cli.conform import reach
from imospec_cli.exits import EXIT_OK
from imospec_cli.pipeline import Pipeline


@pytest.mark.parametrize("backend", ["pyrevm", pytest.param("py-evm", marks=pytest.mark.slow)])
def test_every_public_action_succeeds_at_the_default_budget(backend: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # (fixtures of a divergence go under the working directory)
    pipeline = Pipeline.for_binding()
    settings = CampaignSettings(backend=backend)  # what `imospec conform` and `imospec verify` run
    assert (settings.examples, settings.steps, settings.seed) == (40, 25, 0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = pipeline.campaign(settings)
    assert result.ok, result.divergence
    # (hypothesis warns, at this budget, that the repr of a step's strategies is large: not the user's business)
    assert not [w for w in seen if "overly large repr" in str(w.message)]
    where = reach(pipeline, result)
    assert where.never == () and where.excused == {} and where.contradicted == (), where
    module_only = module_only_actions(pipeline.spec, pipeline.binding)  # (the timelock's: the governor calls them)
    public = {f"{m}.{a.name}" for m in pipeline.binding.modules for a in pipeline.spec.modules[m].actions.values()
              if not a.internal and f"{m}.{a.name}" not in module_only}
    assert public and all(result.stats.outcomes[a].ok > 0 for a in public)
    assert where.exit_code() == EXIT_OK
