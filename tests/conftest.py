"""The whole suite's setup: which tests the default run leaves out, and one
compile cache for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evm_backend.compiler import CACHE_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Every test, and every command a test runs in another directory (a CLI
    run in ``tmp_path``), compiles into the checkout's one cache
    (``.imospec-cache/vyper``, and ``solc`` beside it), unless
    ``$IMOSPEC_VYPER_CACHE`` says otherwise: a contract is compiled once a
    run, not once a working directory. (The compiler's own tests use caches
    of their own, and the cache's key holds everything that changes the
    output: tests/evm_backend/test_evm_compiler.py.)"""
    os.environ.setdefault(CACHE_DIR_ENV, str(ROOT / ".imospec-cache" / "vyper"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the `slow` tests out of the default run (select them with `-m slow`; any `-m` expression
    selects as pytest does). docs/testing.md says what the default run covers and what `-m slow` adds."""
    if config.getoption("markexpr", default=""):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
