"""Spec coverage of conformance campaigns, as ``imospec conform`` prints it and the report shows it.

The model records which sides of which clauses each step covered
(:attr:`reference.model.Outcome.clauses`); the campaign collects them
(:attr:`conformance.machine.RunStats.clauses`); :func:`spec.clauses.coverage`
says, per action, what was covered and what was not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from spec.clauses import ActionCoverage, coverage

if TYPE_CHECKING:
    from conformance.runner import CampaignResult
    from imospec_cli.pipeline import Pipeline

#: How many uncovered clauses ``imospec conform`` lists (all are in the report).
SHOWN = 25


def campaign_coverage(pipeline: Pipeline, campaigns: Sequence[CampaignResult]) -> list[ActionCoverage]:
    """The coverage of the spec's actions (those the implementation implements) by ``campaigns`` together."""
    from spec.analysis import restrict

    spec = pipeline.spec
    if pipeline.binding_path is not None:
        spec = restrict(spec, pipeline.binding.modules)
    seen: set[tuple[str, bool]] = set()
    produced: dict[str, set[str]] = {}
    for c in campaigns:
        seen |= c.stats.clauses
        for action, counts in c.stats.outcomes.items():
            produced.setdefault(action, set()).update(r for r in counts.reasons if r)
    return coverage(spec, seen, produced)


def coverage_text(pipeline: Pipeline, campaigns: Sequence[CampaignResult], shown: int = SHOWN) -> str:
    """A summary line of the clause sides covered, then the first ``shown`` uncovered ones (file:line:col)."""
    rows = campaign_coverage(pipeline, campaigns)
    covered, total = sum(r.covered for r in rows), sum(r.total for r in rows)
    missing = [u for r in rows for u in r.uncovered]
    pct = f" ({covered / total:.0%})" if total else ""
    lines = [f"spec coverage: {covered} of {total} clause sides{pct}; {len(missing)} uncovered"]
    lines += [f"  uncovered: {u.describe()}" for u in missing[:shown]]
    if len(missing) > shown:
        lines.append(f"  ... and {len(missing) - shown} more (all of them: imospec verify --report DIR)")
    return "\n".join(lines)
