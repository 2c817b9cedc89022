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
    selects as pytest does). docs/testing.md says what the default run covers and what `-m slow` adds.
    On an xdist worker, order the collection the scheduler hands out: the heaviest units of work first
    (:func:`heaviest_first`)."""
    if not config.getoption("markexpr", default=""):
        keep, drop = [], []
        for item in items:
            (drop if item.get_closest_marker("slow") else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    _check_cut(items)
    if hasattr(config, "workerinput"):
        order = heaviest_first([item.nodeid for item in items])
        items[:] = [items[i] for i in order]


# ---------------------------------------------------------------- the order of work on several workers
#
# Under `--dist loadfile` (pyproject's addopts) a file is a unit of work, and a free worker takes the next
# unit. pytest-xdist orders the units by their number of tests, so a file of two long tests (test_verify.py: a
# cold proof of every query) came among the last and held one worker alone after the other had finished. Here
# the units come heaviest first (longest processing time first), by the rough CPU seconds of COST, and the
# long files are cut (CUT) so that the two workers end together: the tests of a unit still run one after
# another in one process, so a module fixture they share is made once.

# Rough CPU seconds of a test: the value of the longest key that starts its node id (a file, or
# `file::test_name`), measured in session 17 (docs/testing.md). Only the order of the units depends on them.
COST: dict[str, float] = {
    "tests/imospec_cli/test_verify.py": 60.0,  # the cold proof (on two processes of its own), then a cached one
    "tests/verification/test_search.py": 3.0,
    "tests/verification/test_search.py::test_the_search_finds_nothing_on_the_unmutated_pool": 45.0,
    "tests/verification/test_search.py::test_issue11_hole_is_found_on_the_old_spec": 12.0,
    "tests/verification/test_search.py::test_issue11_hole_is_reached_from_deployment": 8.0,
    "tests/verification/test_search.py::test_the_search_from_a_launched_state": 10.0,
    "tests/conformance/test_attacks.py": 3.4,
    "tests/spec/test_fuzz.py": 2.0,
    "tests/spec/test_fuzz.py::test_mutated_specs": 24.0,
    "tests/conformance/test_covers.py": 1.0,
    "tests/conformance/test_covers.py::test_bundled_spec_mutants_are_refuted_by_the_ensures": 2.5,
    "tests/conformance/test_spec_mutant_gaps.py": 4.0,
    "tests/conformance/test_spec_mutant_gaps_mm.py": 3.0,
    "tests/conformance/test_governance.py": 1.3,
    "tests/conformance/test_protocol_sections_1_6.py": 4.9,
    "tests/conformance/test_money_market.py": 3.1,
    "tests/conformance/test_parallel.py": 1.5,
    "tests/conformance/test_parallel.py::test_the_same_shards_run_on_a_local_ray_instance": 20.0,
    "tests/conformance/test_parallel.py::test_the_same_mutants_are_killed_on_a_local_ray_instance": 12.0,
    "tests/conformance/test_incremental_compare.py": 2.2,
    "tests/conformance/test_solidity_implementation.py": 2.3,
    "tests/conformance/test_governance_bundled.py": 4.0,
    "tests/conformance/test_conformance_tiny.py": 1.9,
    "tests/conformance/test_solidity_builds.py": 1.5,
    "tests/conformance/test_mutation_coverage.py": 0.8,
    "tests/conformance/test_money_market_vectors.py": 1.3,
    "tests/conformance/test_mutation_corpus.py": 1.6,
    "tests/conformance/test_binding_shapes.py": 1.9,
    "tests/conformance/test_mt_checkpoint_cap.py": 1.7,
    "tests/conformance/test_money_market_governed.py": 1.7,
    "tests/conformance/test_money_market_attacks.py": 0.4,
    "tests/conformance/test_tiers_membership.py": 3.9,
    "tests/verification/test_stages.py": 3.8,
    "tests/conformance/test_default_campaign_reach.py": 6.0,
    "tests/conformance/test_pytest_plugin.py": 6.0,
    "tests/test_lint.py": 2.7,
}
DEFAULT_COST = 0.2

ALONE = "*"
# How a file is cut into units of work (a file not named here is one unit): the tests whose name (after
# `::`) holds one of the strings form that string's unit (the first that matches); with ALONE, every other
# test is a unit of its own (it must use no module- or class-scoped fixture: `_check_cut`), else the others
# form one unit.
CUT: dict[str, tuple[str, ...]] = {
    "tests/verification/test_search.py": (ALONE,),
    "tests/spec/test_fuzz.py": (ALONE,),
    "tests/conformance/test_covers.py": (ALONE,),
    "tests/conformance/test_spec_mutant_gaps.py": (ALONE,),
    "tests/conformance/test_governance.py": (ALONE,),
    "tests/conformance/test_money_market.py": (ALONE,),
    "tests/conformance/test_incremental_compare.py": (ALONE,),
    "tests/conformance/test_conformance_tiny.py": (ALONE,),
    "tests/conformance/test_solidity_builds.py": (ALONE,),
    # the two Ray tests one after the other: two local Ray instances at once could find each other
    "tests/conformance/test_parallel.py": ("local_ray_instance", ALONE),
    # the module's harnesses are made per EVM: py-evm's tests on one worker, the rest (pyrevm's) on another
    "tests/conformance/test_attacks.py": ("[py-evm]",),
}


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to under `--dist loadfile`: its file, or a part of it (CUT)."""
    file = _file_of(nodeid)
    parts = CUT.get(file)
    if parts is None:
        return file
    name = nodeid[len(file) + 2:]
    for part in parts:
        if part != ALONE and part in name:
            return f"{file}::{part}"
    return nodeid if ALONE in parts else file


def cost_of(nodeid: str) -> float:
    """The rough CPU seconds of a test (COST)."""
    best = ""
    for key in COST:
        if nodeid.startswith(key) and len(key) > len(best):
            best = key
    return COST[best] if best else DEFAULT_COST


def heaviest_first(nodeids: list[str]) -> list[int]:
    """The order in which to hand out ``nodeids`` (as indexes into it): the units of work
    (:func:`work_unit`) by their summed :func:`cost_of`, heaviest first, each unit's tests in their
    collected order."""
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    units = [work_unit(n) for n in nodeids]
    for i, (nodeid, unit) in enumerate(zip(nodeids, units, strict=True)):
        weight[unit] = weight.get(unit, 0.0) + cost_of(nodeid)
        first.setdefault(unit, i)
    return sorted(range(len(nodeids)), key=lambda i: (-weight[units[i]], first[units[i]], i))


def _check_cut(items: list[pytest.Item]) -> None:
    """A test that is a unit of its own may run in either worker, in any order: it must share no fixture
    wider than a function but narrower than the session.

    Raises:
        pytest.UsageError: such a test uses a module-, class- or package-scoped fixture.
    """
    for item in items:
        if work_unit(item.nodeid) != item.nodeid:
            continue
        info = getattr(item, "_fixtureinfo", None)
        for name, defs in (info.name2fixturedefs.items() if info is not None else ()):
            scope = defs[-1].scope
            if scope in ("module", "class", "package"):
                raise pytest.UsageError(f"{item.nodeid}: fixture {name!r} is {scope}-scoped, but the test is a unit "
                                        "of work of its own (tests/conftest.py's CUT): name it among its file's "
                                        "parts there")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """`--dist loadfile` by :func:`work_unit`, in the collected order (heaviest first, see above)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class HeaviestFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def schedule(self) -> None:
            self.config.option.loadscopereorder = False  # keep the collected order: heaviest first
            super().schedule()

    return HeaviestFirst(config, log)  # type: ignore[arg-type]
