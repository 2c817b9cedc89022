"""Golden tests: the exact `imospec check` output for one tiny bad spec per code.

Each directory ``tests/spec/golden/<CODE>_<slug>/`` holds the ``.imo`` files of
one case and ``expected.txt``: the line ``exit: N`` followed by everything
``imospec check tests/spec/golden/<CODE>_<slug>`` prints on stdout when run
from the repository root.

The case is copied to a temporary directory under the same relative path and
checked from there, so the output is stable and nothing is written into the
repository (some cases are generated, e.g. the 1 MiB file of E007).

Regenerate with ``pytest tests/spec/test_golden.py --update-golden`` (or
``IMOSPEC_UPDATE_GOLDEN=1``) and read the diff before keeping it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imospec_cli.main import main
from spec.diagnostics import CATALOGUE, catalogue_markdown
from spec.parser import MAX_FILE_BYTES

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
REL_GOLDEN = Path("tests", "spec", "golden")
EXPECTED = "expected.txt"
CASE_RE = re.compile(r"^(?P<code>[EW]\d{3})_[a-z0-9_]+$")


def _write_big_file(case_dir: Path) -> None:
    """E007: a well-formed module padded with comments to just over 1 MiB."""
    head = "// A spec file over the 1 MiB limit.\nmodule big\n"
    line = "// " + "x" * 76 + "\n"
    body = head + line * ((MAX_FILE_BYTES - len(head)) // len(line) + 1)
    assert len(body.encode()) > MAX_FILE_BYTES
    (case_dir / "big.imo").write_text(body, encoding="utf-8")


# Cases whose input is too large (or too odd) to keep in the repository.
GENERATORS: dict[str, Callable[[Path], None]] = {
    "E007_file_too_large": _write_big_file,
}


def _cases() -> list[str]:
    return sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and CASE_RE.match(p.name))


CASES = _cases()


def _stage(case: str, root: Path) -> Path:
    """Copy the case to ``root/tests/spec/golden/<case>`` and generate its inputs."""
    dest = root / REL_GOLDEN / case
    shutil.copytree(GOLDEN / case, dest, ignore=shutil.ignore_patterns(EXPECTED))
    if case in GENERATORS:
        GENERATORS[case](dest)
    return dest


def run_check(root: Path, rel: Path) -> tuple[int, str, str]:
    """Run `imospec check rel` in-process from ``root``; return (exit, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(rel)])
    return code, out.getvalue(), err.getvalue()


def golden_text(code: int, stdout: str) -> str:
    return f"exit: {code}\n{stdout}"


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path, update_golden: bool) -> None:
    _stage(case, tmp_path)
    code, stdout, stderr = run_check(tmp_path, REL_GOLDEN / case)
    assert stderr == "", f"`imospec check` wrote to stderr:\n{stderr}"
    actual = golden_text(code, stdout)
    expected_file = GOLDEN / case / EXPECTED
    if update_golden:
        expected_file.write_text(actual, encoding="utf-8")
        return
    assert expected_file.exists(), f"no {EXPECTED} for {case}; run with --update-golden and review it"
    expected = expected_file.read_text(encoding="utf-8")
    assert actual == expected, f"golden output of {case} changed (regenerate with --update-golden if intended)"


# Codes that `imospec prove` reports for covers, not `imospec check`; their
# tests are in tests/conformance/test_covers.py.
COVER_CODES = {"E050", "E051", "W002", "W003", "W004"}


def test_every_code_has_a_golden_case() -> None:
    covered = {CASE_RE.match(c).group("code") for c in CASES}  # type: ignore[union-attr]
    missing = sorted(set(CATALOGUE) - covered - COVER_CODES)
    assert not missing, f"codes without a golden case under tests/spec/golden: {missing}"


def test_golden_cases_are_named_after_known_codes() -> None:
    stray = [p.name for p in GOLDEN.iterdir() if p.is_dir() and not CASE_RE.match(p.name)]
    assert not stray, f"golden directories must be named <CODE>_<slug>: {stray}"
    unknown = sorted({CASE_RE.match(c).group("code") for c in CASES} - set(CATALOGUE))  # type: ignore[union-attr]
    assert not unknown, f"golden cases for codes not in CATALOGUE: {unknown}"


@pytest.mark.parametrize("case", CASES)
def test_golden_case_reports_its_code(case: str) -> None:
    """The case named after a code really produces that code, as its first diagnostic."""
    code = case[:4]
    expected_file = GOLDEN / case / EXPECTED
    assert expected_file.exists(), f"no {EXPECTED} for {case}"
    text = expected_file.read_text(encoding="utf-8")
    severity = CATALOGUE[code].severity.value
    headers = re.findall(r"(?m)^(?:\S+:\d+:\d+: )?(error|warning)\[([EW]\d{3})\]", text)
    assert headers, f"{case}: no diagnostic in the golden output"
    assert (severity, code) in headers, f"{case}: golden output does not report {code}"
    first_line = text.splitlines()[0]
    assert first_line == ("exit: 0" if severity == "warning" and all(s == "warning" for s, _ in headers)
                          else "exit: 1"), f"{case}: unexpected exit line {first_line!r}"


@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("E005")])
def test_golden_inputs_name_files_after_modules(case: str) -> None:
    """Every stored input follows `x.imo` holds `module x` (E005 cases break it on purpose)."""
    for f in (GOLDEN / case).rglob("*.imo"):
        m = re.search(rb"(?m)^\s*(?:abstract\s+)?module\s+(\w+)", f.read_bytes())
        if m is not None:
            assert m.group(1).decode() == f.stem, f"{f} holds module {m.group(1).decode()}"


def test_golden_matches_the_installed_command(tmp_path: Path) -> None:
    """The in-process run used above prints exactly what the `imospec` script prints."""
    case = "E010_unknown_name"
    _stage(case, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "imospec_cli.main", "check", str(REL_GOLDEN / case)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.stderr == ""
    assert golden_text(proc.returncode, proc.stdout) == (GOLDEN / case / EXPECTED).read_text(encoding="utf-8")


def test_golden_from_repository_root() -> None:
    """Checked in place from the repository root, a stored case gives its golden output."""
    case = "E020_type_mismatch"
    code, stdout, _ = run_check(REPO, REL_GOLDEN / case)
    assert golden_text(code, stdout) == (GOLDEN / case / EXPECTED).read_text(encoding="utf-8")


def test_errors_md_matches_catalogue() -> None:
    """docs/errors.md is `imospec errors` output; regenerate it with `imospec errors > docs/errors.md`."""
    doc = REPO / "docs" / "errors.md"
    assert doc.exists(), "docs/errors.md is missing: run `imospec errors > docs/errors.md`"
    assert doc.read_text(encoding="utf-8") == catalogue_markdown()


def test_errors_md_lists_every_code() -> None:
    text = catalogue_markdown()
    for code, info in CATALOGUE.items():
        assert f"| {code} | {info.severity.value} | {info.title} |" in text
