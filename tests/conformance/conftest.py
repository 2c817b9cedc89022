from __future__ import annotations

from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"


@pytest.fixture(scope="session")
def tiny_binding_path() -> Path:
    return TINY / "impl" / "binding.json"
