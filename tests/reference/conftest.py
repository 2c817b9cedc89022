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


PROTOCOL = Path(__file__).resolve().parents[2] / "spec" / "protocol"


@pytest.fixture(scope="session")
def protocol_spec() -> ir.Spec:
    """The bundled protocol spec (spec/protocol), checked."""
    result = load_spec([PROTOCOL])
    assert result.ok, result.diagnostics
    assert result.spec is not None
    return result.spec
