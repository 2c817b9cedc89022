"""Shared setup for the spec tests: the golden-file regeneration switch.

Regenerate every golden output with either::

    .venv/bin/pytest tests/spec/test_golden.py --update-golden
    IMOSPEC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/spec/test_golden.py

then read the diff (``git diff tests/spec/golden``) before keeping it.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/spec/golden/*/expected.txt from the current `imospec check` output",
    )


@pytest.fixture(scope="session")
def update_golden(pytestconfig: pytest.Config) -> bool:
    """Whether the golden files are being regenerated instead of compared."""
    from_option = bool(pytestconfig.getoption("--update-golden", default=False))
    return from_option or os.environ.get("IMOSPEC_UPDATE_GOLDEN", "") not in ("", "0")
