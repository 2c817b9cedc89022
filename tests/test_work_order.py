"""The order in which the default run hands out its tests to the workers (tests/conftest.py): heaviest units of
work first, the long files cut into units."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import ALONE, COST, CUT, heaviest_first, work_unit

ROOT = Path(__file__).resolve().parents[1]


def test_every_file_named_in_the_tables_exists() -> None:
    # a file renamed or removed would silently lose its place in the order or its cut
    for key in [*COST, *CUT]:
        assert (ROOT / key.split("::", 1)[0]).is_file(), key


def test_a_cut_file_is_one_unit_a_test_or_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CUT", {"t/a.py": ("ray", ALONE), "t/b.py": ("[py-evm]",)})
    assert work_unit("t/a.py::test_one[x]") == "t/a.py::test_one[x]"
    assert work_unit("t/a.py::test_on_ray") == work_unit("t/a.py::test_ray_again") == "t/a.py::ray"
    assert work_unit("t/b.py::test_x[py-evm]") == work_unit("t/b.py::test_y[py-evm]") == "t/b.py::[py-evm]"
    assert work_unit("t/b.py::test_x[pyrevm]") == work_unit("t/b.py::test_z") == "t/b.py"
    assert work_unit("t/c.py::test_x") == "t/c.py"


def test_the_heaviest_unit_comes_first_each_in_its_collected_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CUT", {"t/b.py": (ALONE,)})
    monkeypatch.setattr(conftest, "COST", {"t/a.py": 1.0, "t/b.py::test_long": 5.0, "t/c.py": 2.0})
    monkeypatch.setattr(conftest, "DEFAULT_COST", 0.1)
    ids = ["t/a.py::test_1", "t/a.py::test_2", "t/b.py::test_short", "t/b.py::test_long", "t/c.py::test_1",
           "t/d.py::test_1"]
    # units: t/b.py::test_long 5, t/a.py 2 (two tests), t/c.py 2, t/b.py::test_short 0.1, t/d.py 0.1
    assert [ids[i] for i in heaviest_first(ids)] == [
        "t/b.py::test_long", "t/a.py::test_1", "t/a.py::test_2", "t/c.py::test_1", "t/b.py::test_short",
        "t/d.py::test_1"]
