"""`imospec docs`: the spec as a document, golden-checked on a small spec and
rendered for the bundled protocol."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

from imospec_cli.docs import render
from imospec_cli.main import main
from imospec_cli.pipeline import Pipeline

GOLDEN = Path(__file__).parent / "golden" / "docs_tiny"
TINY_SPEC = Path(__file__).parent.parent / "conformance" / "fixtures" / "tiny" / "spec"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_docs_of_a_small_spec_match_the_golden_pages(tmp_path: Path) -> None:
    """Regenerate with IMOSPEC_UPDATE_GOLDEN=1 after a deliberate change, and read the diff."""
    code, out, err = _run("docs", str(tmp_path), str(TINY_SPEC))
    assert code == 0, out + err
    written = {p.name: p.read_text() for p in sorted(tmp_path.iterdir())}
    if os.environ.get("IMOSPEC_UPDATE_GOLDEN"):
        for name, text in written.items():
            (GOLDEN / name).write_text(text)
    golden = {p.name: p.read_text() for p in sorted(GOLDEN.iterdir())}
    assert written == golden


def test_the_bundled_protocol_renders_deterministically_with_every_name_linked(tmp_path: Path) -> None:
    spec = Pipeline().spec
    pages = render(spec, "md")
    assert render(Pipeline().spec, "md") == pages, "the same spec gives the same bytes"
    assert set(pages) == {"index.md", *(f"{m}.md" for m in spec.modules)}
    for m in spec.modules.values():
        page = pages[f"{m.name}.md"]
        anchors = set(re.findall(r'<a id="([^"]+)"></a>', page))
        assert {f"action-{a}" for a in m.actions} <= anchors
        assert {f"rule-{r.name}" for r in m.rules} <= anchors
        # every link into a page lands on an anchor of that page
        for target, anchor in re.findall(r"\]\((\w+)\.md#([\w-]+)\)", page):
            assert anchor in set(re.findall(r'<a id="([^"]+)"></a>', pages[f"{target}.md"])), (m.name, target, anchor)
        for anchor in re.findall(r"\]\(#([\w-]+)\)", page):
            assert anchor in anchors, (m.name, anchor)
    # a governed parameter names its bounds and its timelock
    governed = [(m, g) for m in spec.modules.values() for g in m.governed.values()]
    if governed:
        m, g = governed[0]
        assert re.search(rf'param-{g.name}.*governed via \[{g.via}\]\({g.via}\.md\), `in \[', pages[f"{m.name}.md"])


def test_html_and_proof_status_from_a_report(tmp_path: Path) -> None:
    report = tmp_path / "assurance.json"
    report.write_text(json.dumps({"format": "imospec-assurance/2", "rules": [
        {"id": "cash.supply", "verdict": "proved"}, {"id": "vault.solvent", "verdict": "refuted"}]}))
    code, out, err = _run("docs", "--format", "html", "--report", str(report), str(tmp_path / "out"), str(TINY_SPEC))
    assert code == 0, out + err
    cash = (tmp_path / "out" / "cash.html").read_text()
    assert cash.startswith("<!DOCTYPE html>") and "proof status: proved" in cash
    assert '<a href="index.html">index</a>' in cash
    code, _, err = _run("docs", "--report", str(tmp_path / "missing.json"), str(tmp_path / "x"), str(TINY_SPEC))
    assert code == 2 and "cannot read the assurance report" in err
