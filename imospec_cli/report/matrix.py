"""The assurance matrix: what was shown about each rule and each action.

Built from one :class:`imospec_cli.pipeline.Pipeline` (its checked spec, its
proof verdicts and the conformance campaigns it ran), never by running a
command again. :func:`build` makes the typed :class:`AssuranceReport`; the
writers in :mod:`imospec_cli.report.formats` turn it into JSON, JUnit XML,
SARIF and HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spec import ir
from spec.diagnostics import Span

if TYPE_CHECKING:
    from conformance.runner import CampaignResult
    from imospec_cli.pipeline import Pipeline
    from verification.outcome import Result

#: The version of the report's JSON form (see ``assurance-report.schema.json``).
REPORT_FORMAT = "imospec-assurance/2"
SCHEMA_PATH = Path(__file__).parent / "assurance-report.schema.json"

Verdict = Literal["proved", "refuted", "unknown"]
_RANK = {"proved": 0, "unknown": 1, "refuted": 2}


class MutationReportError(Exception):
    """A mutation report (``imospec mutate --json``) that cannot be read or has the wrong shape."""


@dataclass(frozen=True)
class Location:
    """Where something is in the spec's source (lines and columns from 1)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def of(span: Span | None) -> Location | None:
        return None if span is None else Location(span.file, span.line, span.column, span.end_line, span.end_column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Cell:
    """A rule's verdict across one action (or at deployment: ``init``; ``-`` for a theorem)."""

    action: str
    kind: str  # the proof job's kind: init, step, ensures, theorem
    verdict: Verdict
    method: str  # "frame" (the action cannot touch what the rule reads) or the solver ("z3")
    lemmas: list[str]
    seconds: float
    rlimit: int  # the budget: Z3 resource units a query may spend (this decides)
    timeout: float  # and wall-clock seconds (a safety net)
    cached: bool
    # the Z3 resource units the query spent (Z3's "rlimit count"); None for a frame-rule proof (no solver) or a
    # cached verdict (not measured in this run)
    rlimit_spent: int | None = None
    reason: str | None = None  # of an unknown
    detail: str | None = None
    bmc_status: str | None = None  # of the bounded search from deployment after a refutation
    bmc_depth: int | None = None
    conditional_on: list[str] = field(default_factory=list)
    trace: str | None = None  # the anchor of its counterexample in ``AssuranceReport.traces``
    exercised: int | None = None  # conformance steps in which the action succeeded (None: no campaign)


@dataclass
class RuleRow:
    """One rule (invariant, lemma, theorem, or an action's ``ensures`` clause)."""

    id: str
    module: str
    kind: str  # invariant | lemma | theorem | ensures
    location: Location | None
    verdict: Verdict
    cells: list[Cell]
    vacuity: list[str]
    bmc_depth: int | None  # the deepest bounded search run for it
    concerns: list[str]  # the actions that can change what it reads (no frame-rule proof)
    exercised: int | None  # conformance steps in which an action it concerns succeeded
    never_exercised: list[str]  # actions it concerns that never succeeded in any campaign

    @property
    def anchor(self) -> str:
        return "rule-" + _slug(self.id)


@dataclass
class Mutants:
    """The mutants of an action's implementation and what the campaigns did to them."""

    killed: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    """How much of an action's clauses the campaigns exercised (see :mod:`reference.coverage`)."""

    covered: int
    total: int
    uncovered: list[UncoveredClause] = field(default_factory=list)


@dataclass
class UncoveredClause:
    """A clause of the spec that no conformance step exercised one way or the other."""

    action: str
    what: str  # e.g. "require never failed", "branch never taken", "event never emitted"
    location: Location | None


@dataclass
class ActionRow:
    """One public action: how the campaigns exercised it."""

    id: str
    location: Location | None
    successes: int | None
    reverts: dict[str, int] | None  # by reason ("" is a bare revert)
    vacuity: str | None = None
    coverage: Coverage | None = None
    mutants: Mutants | None = None
    internal: bool = False  # called by other actions only (its clauses count when they run)

    @property
    def anchor(self) -> str:
        return "action-" + _slug(self.id)


@dataclass
class Campaign:
    """One conformance campaign of the implementation against the model."""

    backend: str
    binding: str
    seed: int
    sequences: int
    steps: int
    seconds: float
    ok: bool
    trace: str | None = None  # the anchor of its divergence trace


@dataclass
class Trace:
    """A counterexample or a divergence, as readable lines."""

    id: str
    title: str
    text: str
    location: Location | None = None


@dataclass
class AssuranceReport:
    """The whole matrix: rules, actions, campaigns, and the traces they link to."""

    spec_files: list[str]
    sources: dict[str, str]
    rules: list[RuleRow]
    actions: list[ActionRow]
    campaigns: list[Campaign]
    traces: list[Trace]
    errors: list[str]
    proved: bool  # whether proofs ran
    format: str = REPORT_FORMAT

    def summary(self) -> dict[str, int]:
        """Counts of rules by verdict, of warnings, and of failed campaigns."""
        out = {"rules": len(self.rules), "proved": 0, "refuted": 0, "unknown": 0,
               "vacuity_warnings": sum(len(r.vacuity) for r in self.rules)
               + sum(1 for a in self.actions if a.vacuity),
               "actions": len(self.actions), "campaigns": len(self.campaigns),
               "failed_campaigns": sum(1 for c in self.campaigns if not c.ok),
               "uncovered_clauses": sum(len(a.coverage.uncovered) for a in self.actions if a.coverage)}
        for r in self.rules:
            out[r.verdict] += 1
        return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


# ------------------------------------------------------------------ building


def build(pipeline: Pipeline, *, mutation_report: dict[str, Any] | None = None) -> AssuranceReport:
    """The assurance matrix of what ``pipeline`` has done: its verdicts if it
    has proved (building never starts a proof or a campaign), and every
    campaign it ran. ``mutation_report`` is the data of ``imospec mutate --json``."""
    spec = pipeline.spec
    proved = "verdicts" in pipeline.__dict__
    results = list(pipeline.verdicts.results) if proved else []
    campaigns = pipeline.campaigns
    successes = _successes(campaigns) if campaigns else None
    traces: list[Trace] = []
    rules = _rule_rows(spec, results, successes, traces, pipeline)
    mutants = _mutants_by_action(pipeline, mutation_report) if mutation_report is not None else None
    covered = None
    if campaigns:
        from imospec_cli.coverage import campaign_coverage

        covered = {c.action: Coverage(c.covered, c.total, [
            UncoveredClause(u.clause.action, f"{u.clause.text}: never {u.side}", Location.of(u.clause.span))
            for u in c.uncovered]) for c in campaign_coverage(pipeline, campaigns)}
    actions = _action_rows(spec, results, campaigns, mutants, covered)
    camp_rows = []
    for c in campaigns:
        anchor = None
        if c.divergence is not None:
            from conformance.runner import format_trace

            anchor = f"trace-campaign-{_slug(c.backend)}-seed{c.seed}"
            traces.append(Trace(anchor, f"divergence on {c.backend} (seed {c.seed})", format_trace(c.divergence)))
        camp_rows.append(Campaign(c.backend, c.binding, c.seed, c.stats.examples, c.stats.steps,
                                  round(c.seconds, 3), c.ok, anchor))
    errors = [r.error for r in results if r.error]
    return AssuranceReport(sorted(spec.sources), dict(spec.sources), rules, actions, camp_rows, traces, errors,
                           proved)


def _successes(campaigns: list[CampaignResult]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in campaigns:
        for action, counts in c.stats.outcomes.items():
            out[action] = out.get(action, 0) + counts.ok
    return out


def _verdict(r: Result) -> Verdict:
    return r.outcome.kind


def _rule_rows(spec: ir.Spec, results: list[Result], successes: dict[str, int] | None,
               traces: list[Trace], pipeline: Pipeline) -> list[RuleRow]:
    from verification.build import governed_bounds_rule
    from verification.outcome import Proved, Refuted, Unknown
    from verification.report import render_counterexample, render_trace
    from verification.runner import budget_for

    by_rule: dict[str, list[Result]] = {}
    vacuity: dict[str, list[str]] = {}
    for r in results:
        if r.job.kind == "vacuity-rule":
            if r.warning:
                vacuity.setdefault(r.job.rule_label, []).append(r.warning)
            continue
        if r.job.kind == "vacuity-action":
            continue
        by_rule.setdefault(r.job.rule_label, []).append(r)
    rows: list[RuleRow] = []
    for m in spec.modules.values():
        declared: list[tuple[str, str, Span | None]] = [(f"{m.name}.{rule.name}", rule.kind, rule.span)
                                                        for rule in m.rules]
        generated = governed_bounds_rule(spec, m.name)  # the rule a module's governed bounds give it
        if generated is not None:
            declared.append((f"{m.name}.{generated.name}", generated.kind, generated.span))
        for a in m.actions.values():
            declared += [(f"{m.name}.{a.name}.ensures[{i + 1}]", "ensures", e.span) for i, e in enumerate(a.ensures)]
        for rid, kind, span in declared:
            cells: list[Cell] = []
            for r in by_rule.get(rid, []):
                o = r.outcome
                budget = budget_for(r.job, pipeline.options)
                cell = Cell(action=r.job.action_label, kind=r.job.kind, verdict=_verdict(r),
                            method=o.method if isinstance(o, Proved) else "z3",
                            lemmas=list(o.lemmas_used) if isinstance(o, Proved) else [],
                            seconds=round(r.seconds, 4), rlimit=int(budget.rlimit),
                            timeout=float(budget.timeout), cached=r.cached, rlimit_spent=r.rlimit_spent,
                            conditional_on=list(r.conditional_on))
                if isinstance(o, Unknown):
                    cell.reason, cell.detail = o.reason, o.detail or None
                if r.bmc is not None:
                    cell.bmc_status, cell.bmc_depth = r.bmc.status, r.bmc.depth
                if isinstance(o, Refuted):
                    cell.trace = f"trace-{_slug(rid)}-{_slug(r.job.action_label)}"
                    text = render_counterexample(o.counterexample, indent="")
                    if r.bmc is not None:
                        text += "\n\n" + render_trace(r.bmc, indent="")
                    traces.append(Trace(cell.trace, f"{rid} broken by {r.job.action_label}", text,
                                        Location.of(span)))
                if successes is not None and r.job.kind in ("step", "ensures"):
                    cell.exercised = successes.get(r.job.action_label, 0)
                cells.append(cell)
            if not cells:
                continue  # not selected for this run
            concerns = sorted({c.action for c in cells if c.kind in ("step", "ensures") and c.method != "frame"})
            exercised = never = None
            if successes is not None:
                exercised = sum(successes.get(a, 0) for a in concerns)
                never = [a for a in concerns if successes.get(a, 0) == 0]
            depths = [c.bmc_depth for c in cells if c.bmc_depth is not None]
            verdict = max((c.verdict for c in cells), key=lambda v: _RANK[v])
            rows.append(RuleRow(rid, m.name, kind, Location.of(span), verdict, cells, vacuity.get(rid, []),
                                max(depths) if depths else None, concerns, exercised, never or []))
    return rows


def _action_rows(spec: ir.Spec, results: list[Result], campaigns: list[CampaignResult],
                 mutants: dict[str, Mutants] | None, covered: dict[str, Coverage] | None) -> list[ActionRow]:
    vacuous = {r.job.action_label: r.warning for r in results if r.job.kind == "vacuity-action" and r.warning}
    rows = []
    for m in spec.modules.values():
        for a in m.actions.values():
            aid = f"{m.name}.{a.name}"
            ok: int | None = None
            reverts: dict[str, int] | None = None
            if campaigns and not a.internal:
                ok, reverts = 0, {}
                for c in campaigns:
                    counts = c.stats.outcomes.get(aid)
                    if counts is None:
                        continue
                    ok += counts.ok
                    for reason, n in counts.reasons.items():
                        reverts[reason] = reverts.get(reason, 0) + n
                reverts = dict(sorted(reverts.items()))
            rows.append(ActionRow(aid, Location.of(a.span), ok, reverts, vacuous.get(aid),
                                  coverage=covered.get(aid) if covered is not None else None,
                                  mutants=mutants.get(aid, Mutants()) if mutants is not None else None,
                                  internal=a.internal))
    return rows


def read_mutation_report(path: Path) -> dict[str, Any]:
    """A mutation report written by ``imospec mutate --json FILE``.

    Raises:
        MutationReportError: the file cannot be read or is not such a report.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MutationReportError(f"{path}: cannot read the mutation report: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("mutants"), list):
        raise MutationReportError(f"{path}: not a mutation report (no list of `mutants`); "
                                  "write one with `imospec mutate --json FILE`")
    return data


def _mutants_by_action(pipeline: Pipeline, report: dict[str, Any]) -> dict[str, Mutants]:
    """Each mutant filed under the action whose implementation it changes: the
    contract function that holds its line, named as the binding names the
    action (a mutant outside every action's function is filed under none)."""
    import re

    functions: dict[str, list[tuple[int, str]]] = {}  # file name -> (line of `def`, action id)
    for module, mb in pipeline.binding.modules.items():
        if mb.vyper is None:
            continue
        by_impl = {mb.name(a): a for a in pipeline.spec.modules[module].actions}
        for no, line in enumerate(mb.vyper.read_text(encoding="utf-8").splitlines(), 1):
            hit = re.match(r"def\s+(\w+)\s*\(", line)
            if hit:
                name = hit.group(1)
                functions.setdefault(mb.vyper.name, []).append(
                    (no, f"{module}.{by_impl[name]}" if name in by_impl else ""))
    out: dict[str, Mutants] = {}
    for mu in report["mutants"]:
        owner = ""
        for start, action in functions.get(str(mu.get("file")), []):
            if start <= int(mu.get("line", 0)):
                owner = action
        if not owner:
            continue
        bucket = out.setdefault(owner, Mutants())
        text = f"{mu.get('file')}:{mu.get('line')} [{mu.get('kind')}] {str(mu.get('mutated', '')).strip()}"
        fate = mu.get("fate")
        if fate == "killed":
            bucket.killed.append(text)
        elif fate == "survived":
            bucket.survived.append(text)
        elif fate == "equivalent":
            bucket.equivalent.append(text)
    return out
