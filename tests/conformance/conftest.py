from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"


@pytest.fixture(scope="session")
def tiny_binding_path() -> Path:
    return TINY / "impl" / "binding.json"


MutantMaker = Callable[[str, str, str], Path]


@pytest.fixture
def tiny_mutant(tmp_path: Path, tiny_binding_path: Path) -> MutantMaker:
    """A factory: ``tiny_mutant(file, old, new)`` copies the tiny fixture's
    implementation with ``old`` replaced by ``new`` (once) in ``file``, and
    returns the copy's binding path."""

    def make(file: str, old: str, new: str) -> Path:
        impl = tiny_binding_path.parent
        dst = tmp_path / "impl"
        if not dst.exists():
            shutil.copytree(impl, dst)
            data = json.loads((dst / "binding.json").read_text())
            data["spec"] = str((impl / data["spec"]).resolve())
            (dst / "binding.json").write_text(json.dumps(data))
        source = (dst / file).read_text()
        assert old in source, f"{old!r} is not in {file}"
        (dst / file).write_text(source.replace(old, new, 1))
        return dst / "binding.json"

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave this directory's `slow` tests out of the default run (select them with `-m slow`)."""
    if config.getoption("markexpr", default=""):
        return
    keep, drop = [], []
    for item in items:
        own = "tests/conformance/" in item.path.as_posix()
        (drop if own and item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
