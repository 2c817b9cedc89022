"""The whole suite's setup: which tests the default run leaves out."""

from __future__ import annotations

import pytest


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
