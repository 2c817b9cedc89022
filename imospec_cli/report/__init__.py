"""The assurance report of ``imospec verify --report DIR``: one matrix, four forms.

:func:`~imospec_cli.report.matrix.build` makes the typed matrix from a
pipeline; :func:`~imospec_cli.report.formats.write_all` writes it as JSON
(versioned, with the JSON Schema ``assurance-report.schema.json`` beside this
file), JUnit XML, SARIF 2.1.0 and one self-contained HTML page.
"""

from imospec_cli.report.formats import FILES, to_html, to_json, to_junit, to_sarif, write_all
from imospec_cli.report.matrix import REPORT_FORMAT, SCHEMA_PATH, AssuranceReport, MutationReportError, build

__all__ = ["FILES", "REPORT_FORMAT", "SCHEMA_PATH", "AssuranceReport", "MutationReportError", "build", "to_html",
           "to_json", "to_junit", "to_sarif", "write_all"]
