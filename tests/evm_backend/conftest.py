"""Fixtures shared by the EVM backend tests: every backend test runs on both EVMs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evm_backend import (
    BACKEND_NAMES,
    Backend,
    CompiledContract,
    TestAccount,
    compile_file,
    get_backend,
)

CONTRACTS = Path(__file__).parent / "contracts"


@pytest.fixture(scope="session")
def vyper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private compile cache, so tests never touch the repository's cache."""
    return tmp_path_factory.mktemp("vyper-cache")


@pytest.fixture(scope="session")
def counter_artifact(vyper_cache: Path) -> CompiledContract:
    return compile_file(CONTRACTS / "Counter.vy", cache_dir=vyper_cache)


@pytest.fixture(params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    yield get_backend(request.param)


@pytest.fixture
def accounts(backend: Backend) -> list[TestAccount]:
    return backend.create_accounts(3)
