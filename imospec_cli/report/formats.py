"""The assurance report's four forms: JSON, JUnit XML, SARIF 2.1.0, and one HTML page.

Each writer takes the typed :class:`~imospec_cli.report.matrix.AssuranceReport`
and returns text; :func:`write_all` writes the four files into a directory.
"""

from __future__ import annotations

import dataclasses
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from imospec_cli.report.matrix import AssuranceReport, Location, RuleRow

#: The file names :func:`write_all` writes.
FILES = {"json": "assurance.json", "junit": "junit.xml", "sarif": "assurance.sarif", "html": "assurance.html"}
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def write_all(report: AssuranceReport, out: Path) -> dict[str, Path]:
    """Write the four forms into directory ``out`` (made if missing); return their paths by form."""
    out.mkdir(parents=True, exist_ok=True)
    texts = {"json": to_json(report), "junit": to_junit(report), "sarif": to_sarif(report), "html": to_html(report)}
    paths = {}
    for form, text in texts.items():
        paths[form] = out / FILES[form]
        paths[form].write_text(text, encoding="utf-8")
    return paths


# -------------------------------------------------------------------- JSON


def to_data(report: AssuranceReport) -> dict[str, Any]:
    """The report as JSON-ready data (see ``assurance-report.schema.json``)."""
    data = dataclasses.asdict(report)
    data.pop("sources")
    data["summary"] = report.summary()
    return {"format": data.pop("format"), **data}


def to_json(report: AssuranceReport) -> str:
    return json.dumps(to_data(report), indent=2, sort_keys=False) + "\n"


# ------------------------------------------------------------------- JUnit


def to_junit(report: AssuranceReport) -> str:
    """One test case per rule × action (a refutation fails, an unknown is an
    error: neither is a pass) and one per campaign."""
    suites = ET.Element("testsuites", name="imospec")
    proofs = ET.SubElement(suites, "testsuite", name="proofs")
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for rule in report.rules:
        for cell in rule.cells:
            case = ET.SubElement(proofs, "testcase", classname=rule.id, name=cell.action, time=f"{cell.seconds:.3f}")
            counts["tests"] += 1
            spent = "not measured (frame rule or cached)" if cell.rlimit_spent is None else str(cell.rlimit_spent)
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="method", value=cell.method)
            ET.SubElement(props, "property", name="rlimit", value=str(cell.rlimit))
            ET.SubElement(props, "property", name="rlimit_spent", value=spent)
            where = f" at {rule.location}" if rule.location else ""
            if cell.verdict == "refuted":
                counts["failures"] += 1
                fail = ET.SubElement(case, "failure", type="refuted",
                                     message=f"{rule.id} is broken by {cell.action}{where}")
                fail.text = _trace_text(report, cell.trace)
            elif cell.verdict == "unknown":
                counts["errors"] += 1
                err = ET.SubElement(case, "error", type=f"unknown ({cell.reason})",
                                    message=f"no verdict on {rule.id} across {cell.action} within rlimit "
                                            f"{cell.rlimit} ({spent} spent): {cell.reason}{where}")
                err.text = cell.detail or ""
            for warning in rule.vacuity:
                ET.SubElement(case, "system-out").text = f"vacuity: {warning}"
    proofs.attrib.update({k: str(v) for k, v in counts.items()})
    conform = ET.SubElement(suites, "testsuite", name="conformance")
    failures = 0
    for c in report.campaigns:
        case = ET.SubElement(conform, "testcase", classname=f"conformance.{c.binding}",
                             name=f"{c.backend} seed={c.seed}", time=f"{c.seconds:.3f}")
        if not c.ok:
            failures += 1
            fail = ET.SubElement(case, "failure", type="divergence",
                                 message=f"the implementation and the model diverge on {c.backend}")
            fail.text = _trace_text(report, c.trace)
        ET.SubElement(case, "system-out").text = f"{c.sequences} sequence(s), {c.steps} step(s)"
    conform.attrib.update(tests=str(len(report.campaigns)), failures=str(failures), errors="0")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _trace_text(report: AssuranceReport, anchor: str | None) -> str:
    return next((t.text for t in report.traces if t.id == anchor), "")


# ------------------------------------------------------------------- SARIF

_SARIF_RULES = {
    "refuted": ("error", "A rule of the spec is refuted: the prover found a counterexample."),
    "unknown": ("warning", "No verdict on a rule within the budget (inconclusive, not proved)."),
    "vacuous": ("warning", "A vacuity check failed: the rule is true of every state, or the action never succeeds."),
    "uncovered": ("note", "A clause of the spec that no conformance step exercised."),
}


def _sarif_location(loc: Location | None) -> list[dict[str, Any]]:
    if loc is None:
        return []
    uri = Path(loc.file).as_uri() if Path(loc.file).is_absolute() else loc.file
    region = {"startLine": loc.line, "startColumn": loc.column}
    if (loc.end_line, loc.end_column) > (loc.line, loc.column):
        region.update(endLine=loc.end_line, endColumn=loc.end_column)
    return [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}]


def to_sarif(report: AssuranceReport) -> str:
    """SARIF 2.1.0: refutations, unknowns, vacuity warnings and uncovered
    clauses, each located at the spec's file:line:col."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool_version = version("imospec")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        tool_version = "0"
    ids = list(_SARIF_RULES)
    results: list[dict[str, Any]] = []

    def add(kind: str, text: str, loc: Location | None, **props: Any) -> None:
        level = _SARIF_RULES[kind][0]
        r: dict[str, Any] = {"ruleId": kind, "ruleIndex": ids.index(kind), "level": level,
                             "message": {"text": text}, "locations": _sarif_location(loc)}
        if props:
            r["properties"] = props
        results.append(r)

    for rule in report.rules:
        for cell in rule.cells:
            if cell.verdict == "refuted":
                add("refuted", f"{rule.id} is broken by {cell.action}.\n{_trace_text(report, cell.trace)}",
                    rule.location, rule=rule.id, action=cell.action)
            elif cell.verdict == "unknown":
                add("unknown", f"{rule.id} across {cell.action}: no verdict ({cell.reason}) within rlimit "
                               f"{cell.rlimit}", rule.location, rule=rule.id, action=cell.action)
        for warning in rule.vacuity:
            add("vacuous", f"{rule.id}: {warning}", rule.location, rule=rule.id)
    for action in report.actions:
        if action.vacuity:
            add("vacuous", f"{action.id}: {action.vacuity}", action.location, action=action.id)
        if action.coverage:
            for u in action.coverage.uncovered:
                add("uncovered", f"{u.action}: {u.what}", u.location, action=u.action)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "imospec", "version": tool_version,
                "rules": [{"id": k, "shortDescription": {"text": d},
                           "defaultConfiguration": {"level": lvl}} for k, (lvl, d) in _SARIF_RULES.items()],
            }},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2) + "\n"


# -------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.proved{background:#e3f6e3}.refuted{background:#fbdada}.unknown{background:#fff2c6}
.warn{color:#8a5a00}
pre{background:#f8f8f8;border:1px solid #ddd;padding:.6em;overflow-x:auto}
.src{font:12px/1.35 ui-monospace,monospace;white-space:pre;border:1px solid #ddd}
.src span{display:block}.src .ln{color:#999;display:inline;user-select:none}
.src .hit-refuted{background:#fbdada}.src .hit-unknown{background:#fff2c6}
.src .hit-uncovered{background:#ffe3c2}.src .hit-proved{background:#eef9ee}
:target{outline:3px solid #4a7bd0}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _cell_html(rule: RuleRow) -> str:
    parts = []
    for c in rule.cells:
        label = f"{_e(c.action)}: {_e(c.verdict)}"
        if c.method == "frame":
            label += " (frame)"
        elif c.rlimit_spent is not None:
            label += f' <small class="spent" title="Z3 resource units spent of the rlimit">' \
                     f"{c.rlimit_spent:,}/{c.rlimit:,}</small>"
        if c.trace:
            label = f'<a href="#{_e(c.trace)}">{label}</a>'
        parts.append(f'<span class="{_e(c.verdict)}">{label}</span>')
    return "<br>".join(parts)


def to_html(report: AssuranceReport) -> str:
    """One self-contained page: summary, rule and action matrices, each trace
    under its own anchor, and the spec source with what was found highlighted."""
    s = report.summary()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>imospec assurance report</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>imospec assurance report</h1>",
           f'<p id="summary">{s["rules"]} rule(s): {s["proved"]} proved, {s["refuted"]} refuted, '
           f'{s["unknown"]} unknown; {s["vacuity_warnings"]} vacuity warning(s); {s["campaigns"]} campaign(s), '
           f'{s["failed_campaigns"]} failed; {s["uncovered_clauses"]} uncovered clause(s).</p>']
    out.append('<h2 id="rules">Rules</h2><table id="rule-matrix"><tr><th>rule</th><th>kind</th><th>verdict</th>'
               "<th>per action</th><th>lemmas</th><th>time (s)</th><th>BMC depth</th>"
               "<th>exercised steps</th><th>warnings</th></tr>")
    for r in report.rules:
        lemmas = sorted({x for c in r.cells for x in c.lemmas})
        secs = sum(c.seconds for c in r.cells)
        warn = [*r.vacuity] + [f"never exercised: {a}" for a in r.never_exercised]
        where = f'<br><small>{_e(r.location)}</small>' if r.location else ""
        out.append(f'<tr id="{_e(r.anchor)}" class="{_e(r.verdict)}" data-verdict="{_e(r.verdict)}">'
                   f"<td>{_e(r.id)}{where}</td><td>{_e(r.kind)}</td><td>{_e(r.verdict)}</td>"
                   f"<td>{_cell_html(r)}</td><td>{_e(', '.join(lemmas))}</td><td>{secs:.2f}</td>"
                   f"<td>{'' if r.bmc_depth is None else r.bmc_depth}</td>"
                   f"<td>{'' if r.exercised is None else r.exercised}</td>"
                   f'<td class="warn">{"<br>".join(_e(w) for w in warn)}</td></tr>')
    out.append("</table>")
    out.append('<h2 id="actions">Actions</h2><table id="action-matrix"><tr><th>action</th><th>successes</th>'
               "<th>reverts by reason</th><th>coverage</th><th>mutants</th><th>warnings</th></tr>")
    for a in report.actions:
        reverts = "<br>".join(f"{_e(k or '(bare)')}: {n}" for k, n in (a.reverts or {}).items())
        cov = ""
        if a.coverage:
            cov = f"{a.coverage.covered}/{a.coverage.total}" + "".join(
                f"<br><small>{_e(u.what)} ({_e(u.location)})</small>" for u in a.coverage.uncovered)
        mut = ""
        if a.mutants:
            mut = f"{len(a.mutants.killed)} killed, {len(a.mutants.survived)} survived" + "".join(
                f"<br><small>survived: {_e(x)}</small>" for x in a.mutants.survived)
        out.append(f'<tr id="{_e(a.anchor)}"><td>{_e(a.id)}{" (internal)" if a.internal else ""}</td>'
                   f"<td>{'' if a.successes is None else a.successes}</td><td>{reverts}</td>"
                   f'<td>{cov}</td><td>{mut}</td><td class="warn">{_e(a.vacuity or "")}</td></tr>')
    out.append("</table>")
    if report.campaigns:
        out.append('<h2 id="campaigns">Conformance campaigns</h2><table><tr><th>backend</th><th>seed</th>'
                   "<th>sequences</th><th>steps</th><th>time (s)</th><th>result</th></tr>")
        for c in report.campaigns:
            res = "ok" if c.ok else f'<a href="#{_e(c.trace)}">DIVERGED</a>'
            out.append(f"<tr><td>{_e(c.backend)}</td><td>{c.seed}</td><td>{c.sequences}</td><td>{c.steps}</td>"
                       f"<td>{c.seconds:.1f}</td><td>{res}</td></tr>")
        out.append("</table>")
    if report.errors:
        out.append("<h2>Errors</h2><ul>" + "".join(f"<li>{_e(x)}</li>" for x in report.errors) + "</ul>")
    out.append('<h2 id="traces">Traces</h2>')
    if not report.traces:
        out.append("<p>None: nothing was refuted and no campaign diverged.</p>")
    for t in report.traces:
        out.append(f'<section class="trace" id="{_e(t.id)}"><h3>{_e(t.title)}</h3><pre>{_e(t.text)}</pre></section>')
    out.append('<h2 id="source">Spec source</h2>')
    out.extend(_source_html(report))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _source_html(report: AssuranceReport) -> list[str]:
    marks: dict[tuple[str, int], str] = {}
    rank = {"proved": 0, "uncovered": 1, "unknown": 2, "refuted": 3}

    def mark(loc: Location | None, what: str) -> None:
        if loc is None:
            return
        for line in range(loc.line, max(loc.line, loc.end_line) + 1):
            if rank[what] > rank.get(marks.get((loc.file, line), ""), -1):
                marks[(loc.file, line)] = what

    for r in report.rules:
        mark(r.location, r.verdict)
    for a in report.actions:
        for u in a.coverage.uncovered if a.coverage else []:
            mark(u.location, "uncovered")
    out = []
    for name in report.spec_files:
        out.append(f'<h3 id="file-{_e(name)}">{_e(name)}</h3><div class="src">')
        for no, line in enumerate(report.sources[name].splitlines(), 1):
            hit = marks.get((name, no))
            cls = f' class="hit-{hit}"' if hit else ""
            out.append(f'<span id="L-{_e(name)}-{no}"{cls}><span class="ln">{no:>5} </span>{_e(line)}</span>')
        out.append("</div>")
    return out
