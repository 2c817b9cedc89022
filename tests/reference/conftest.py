from __future__ import annotations

from pathlib import Path

import pytest

from spec import ir
from spec.driver import load_spec

FIXTURES = Path(__file__).resolve().parent.parent / "spec" / "fixtures"


@pytest.fixture(scope="session")
def mini_spec() -> ir.Spec:
    result = load_spec([FIXTURES / "mini"])
    assert result.ok, result.diagnostics
    assert result.spec is not None
    return result.spec
