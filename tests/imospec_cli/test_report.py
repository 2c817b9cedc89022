"""The assurance report (`imospec verify --report DIR`) in its four forms.

A small broken spec (a mint that skips the collateral check) is proved on one
pipeline; its report must validate against the report's JSON Schema, parse as
JUnit with the refuted rule × action as the one failure, validate against the
official SARIF 2.1.0 schema with the refutation at the rule's line, and render
in headless Chromium with the refuted row linking to its trace.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from imospec_cli.pipeline import DEFAULT_BINDING, Pipeline
from imospec_cli.report import SCHEMA_PATH, build, write_all
from imospec_cli.report.matrix import AssuranceReport
from verification.runner import Options

SPECS = Path(__file__).parent.parent / "verification" / "specs"
SARIF_SCHEMA = Path(__file__).parent / "sarif-schema-2.1.0.json"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")


def validate_report(data: dict[str, object]) -> None:
    """Raise jsonschema.ValidationError unless ``data`` is a valid assurance report."""
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)


def validate_sarif(data: dict[str, object]) -> None:
    """Raise jsonschema.ValidationError unless ``data`` is valid SARIF 2.1.0 (the OASIS schema, draft-04)."""
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(data)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[AssuranceReport, dict[str, Path]]:
    p = Pipeline([SPECS / "vault_nocheck"], options=Options(jobs=1, rlimit=20_000_000, cache=False))
    p.verdicts  # noqa: B018
    report = build(p)
    return report, write_all(report, tmp_path_factory.mktemp("report"))


def test_json_is_versioned_and_valid(broken: tuple[AssuranceReport, dict[str, Path]]) -> None:
    _, paths = broken
    data = json.loads(paths["json"].read_text())
    assert data["format"] == "imospec-assurance/2"
    validate_report(data)
    rule = next(r for r in data["rules"] if r["id"] == "vault.collateralized")
    assert rule["verdict"] == "refuted" and rule["bmc_depth"] == 1
    mint = next(c for c in rule["cells"] if c["action"] == "vault.mint")
    assert mint["verdict"] == "refuted" and mint["trace"] and mint["rlimit"] == 20_000_000
    assert any(t["id"] == mint["trace"] and "vault.imo:36" in t["text"] for t in data["traces"])
    frame = [c for c in rule["cells"] if c["method"] == "frame"]
    assert frame and all(c["action"] not in rule["concerns"] for c in frame)
    assert data["summary"]["refuted"] == 1 and data["summary"]["rules"] == len(data["rules"])
    # the schema can fail: a wrong verdict is caught
    rule["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(data)


def test_budget_spent_is_measured_per_solver_query(broken: tuple[AssuranceReport, dict[str, Path]]) -> None:
    """Each solver-decided query records the Z3 resource units it spent (Z3's
    "rlimit count"): positive, and within its rlimit; a frame-rule proof ran
    no solver and spent nothing. The JUnit and HTML forms carry it too."""
    _, paths = broken
    data = json.loads(paths["json"].read_text())
    cells = [c for r in data["rules"] for c in r["cells"]]
    solver = [c for c in cells if c["method"] != "frame"]
    frame = [c for c in cells if c["method"] == "frame"]
    assert solver and frame
    for c in solver:
        assert not c["cached"] and 0 < c["rlimit_spent"] <= c["rlimit"], c
    assert all(c["rlimit_spent"] is None for c in frame)
    # different queries spend different amounts: a measurement, not a constant
    assert len({c["rlimit_spent"] for c in solver}) > 1
    mint = next(c for r in data["rules"] if r["id"] == "vault.collateralized" for c in r["cells"]
                if c["action"] == "vault.mint")
    root = ET.parse(paths["junit"]).getroot()
    case = root.find("./testsuite[@name='proofs']/testcase[@classname='vault.collateralized'][@name='vault.mint']")
    assert case is not None
    props = {p.get("name"): p.get("value") for p in case.findall("./properties/property")}
    assert props["rlimit_spent"] == str(mint["rlimit_spent"]) and props["rlimit"] == "20000000"
    assert f"{mint['rlimit_spent']:,}/20,000,000" in paths["html"].read_text()
    # the schema can fail: a negative count is caught
    solver[0]["rlimit_spent"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validate_report(data)


def test_junit_has_one_case_per_rule_and_action(broken: tuple[AssuranceReport, dict[str, Path]]) -> None:
    report, paths = broken
    root = ET.parse(paths["junit"]).getroot()
    cases = root.findall("./testsuite[@name='proofs']/testcase")
    assert len(cases) == sum(len(r.cells) for r in report.rules)
    failed = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert failed == [("vault.collateralized", "vault.mint")]
    text = next(c for c in cases if c.find("failure") is not None).find("failure").text  # type: ignore[union-attr]
    assert "reachable from deployment in 1 step(s)" in (text or "")
    assert root.find("./testsuite[@name='proofs']").get("failures") == "1"  # type: ignore[union-attr]


def test_sarif_validates_and_points_at_the_rule(broken: tuple[AssuranceReport, dict[str, Path]]) -> None:
    _, paths = broken
    data = json.loads(paths["sarif"].read_text())
    validate_sarif(data)
    results = data["runs"][0]["results"]
    refuted = [r for r in results if r["ruleId"] == "refuted"]
    assert len(refuted) == 1 and refuted[0]["level"] == "error"
    where = refuted[0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"].endswith("vault_nocheck/vault.imo")
    source = (SPECS / "vault_nocheck" / "vault.imo").read_text().splitlines()
    assert source[where["region"]["startLine"] - 1].startswith("invariant collateralized")
    # the schema can fail: a result without a message is caught
    del refuted[0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(data)


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class _Dom(HTMLParser):
    """Ids, and the links of the row with id ``rule-…``, of a DOM as Chromium dumped it."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.row_links: dict[str, list[str]] = {}
        self.row_verdict: dict[str, str] = {}
        self._row: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "tr" and str(a.get("id", "")).startswith("rule-"):
            self._row = str(a["id"])
            self.row_links[self._row] = []
            self.row_verdict[self._row] = str(a.get("data-verdict"))
        if tag == "a" and self._row and a.get("href"):
            self.row_links[self._row].append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


def test_html_renders_in_chromium_and_links_the_refuted_row_to_its_trace(
        broken: tuple[AssuranceReport, dict[str, Path]], tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip(f"no headless Chromium found (looked for {', '.join(CHROMIUM_NAMES)}; "
                    "install the Debian package `chromium`)")
    _, paths = broken
    url = paths["html"].resolve().as_uri()
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
                           "--virtual-time-budget=2000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    assert "rule-matrix" in dom.ids and "action-matrix" in dom.ids and "summary" in dom.ids
    row = "rule-vault-collateralized"
    assert dom.row_verdict[row] == "refuted"
    links = [h for h in dom.row_links[row] if h.startswith("#trace-")]
    assert links, dom.row_links
    for link in links:
        assert link[1:] in dom.ids, f"{link} points nowhere"
    assert dom.row_links["rule-vault-supply"] == []  # a proved rule links to no trace
    # the spec's source is on the page, the refuted rule's line highlighted
    assert re.search(r'<span id="L-[^"]*vault.imo-36" class="hit-refuted">', proc.stdout)
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
                    f"--screenshot={shot}", "--window-size=1000,800", url],
                   capture_output=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000, "Chromium drew the page"


def test_mutants_are_filed_under_the_action_whose_function_they_change(tmp_path: Path) -> None:
    p = Pipeline.for_binding(DEFAULT_BINDING)
    pool = p.binding.modules["pool"].vyper
    assert pool is not None
    lines = pool.read_text().splitlines()
    impl = p.binding.modules["pool"].name("swap_mt_for_dcep")
    start = next(i for i, t in enumerate(lines, 1) if re.match(rf"def {impl}\s*\(", t))
    rows = [{"file": pool.name, "line": start + 3, "kind": "op", "original": "a", "mutated": "b", "fate": "killed"},
            {"file": pool.name, "line": start + 4, "kind": "op", "original": "a", "mutated": "c", "fate": "survived"}]
    report = build(p, mutation_report={"kill_rate": 0.5, "mutants": rows})
    row = next(a for a in report.actions if a.id == "pool.swap_mt_for_dcep")
    assert row.mutants is not None
    assert len(row.mutants.killed) == 1 and len(row.mutants.survived) == 1
    others = [a for a in report.actions if a.id != "pool.swap_mt_for_dcep" and a.mutants and
              (a.mutants.killed or a.mutants.survived)]
    assert others == []


def test_a_campaign_puts_counts_and_coverage_in_the_report(tmp_path: Path) -> None:
    from conformance.runner import CampaignSettings

    tiny = Path(__file__).parent.parent / "conformance" / "fixtures" / "tiny" / "impl" / "binding.json"
    p = Pipeline.for_binding(tiny)
    # a budget small enough that clauses stay uncovered (a larger one now covers the tiny spec whole)
    result = p.campaign(CampaignSettings(backend="pyrevm", examples=3, steps=4, seed=1))
    report = build(p)
    paths = write_all(report, tmp_path)
    data = json.loads(paths["json"].read_text())
    validate_report(data)
    rows = {a["id"]: a for a in data["actions"]}
    for action, counts in result.stats.outcomes.items():
        assert rows[action]["successes"] == counts.ok
        assert sum(rows[action]["reverts"].values()) == counts.reverted
    uncovered = [u for a in data["actions"] if a["coverage"] for u in a["coverage"]["uncovered"]]
    assert uncovered and data["summary"]["uncovered_clauses"] == len(uncovered)
    sarif = json.loads(paths["sarif"].read_text())
    validate_sarif(sarif)
    located = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "uncovered"]
    assert len(located) == len(uncovered)
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".imo") for r in located)
    assert 'class="hit-uncovered"' in paths["html"].read_text()
    junit = ET.parse(paths["junit"]).getroot()
    assert len(junit.findall("./testsuite[@name='conformance']/testcase")) == 1
