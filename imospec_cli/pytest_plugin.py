"""The imospec pytest plugin (entry point ``pytest11``: loaded wherever imospec is installed).

``pytest --imospec-impl BINDING`` adds test items to the session:

- one conformance campaign per EVM (``imospec conform`` of BINDING against its
  spec; ``--imospec-examples``, ``--imospec-steps``, ``--imospec-seed``);
- one item per portable fixture in ``--imospec-fixtures DIR`` (``imospec
  consume``: the implementation alone, no model).

And fixtures for a contract author's own tests:

- ``imospec_system``: the implementation deployed on an EVM with the reference
  model beside it (a :class:`conformance.harness.Harness`: ``.run(step)`` runs a
  step on both and compares; ``.model``, ``.backend``, ``.addresses``,
  ``.actors``); parametrized over both EVMs, so a test that uses it runs on
  py-evm and on pyrevm;
- ``imospec_binding`` and ``imospec_spec``: the binding and its checked spec.

Without ``--imospec-impl`` the plugin adds nothing, and its fixtures use the
bundled Vyper implementation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.binding import Binding
    from conformance.harness import Harness
    from spec import ir

BACKENDS = ("py-evm", "pyrevm")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("imospec", "imospec conformance")
    group.addoption("--imospec-impl", metavar="BINDING", default=None,
                    help="collect conformance campaigns of this implementation's binding as test items")
    group.addoption("--imospec-fixtures", metavar="DIR", default=None,
                    help="with --imospec-impl: also run the portable fixtures in DIR (imospec fill) as items")
    group.addoption("--imospec-backend", choices=(*BACKENDS, "both"), default="both",
                    help="the EVM(s) the campaigns, fixtures and imospec_system run on (default both)")
    group.addoption("--imospec-examples", type=int, default=40, metavar="N", help="sequences per campaign (40)")
    group.addoption("--imospec-steps", type=int, default=25, metavar="N", help="steps per sequence (25)")
    group.addoption("--imospec-seed", type=int, default=0, metavar="S", help="campaign seed (0)")


def _backends(config: pytest.Config) -> list[str]:
    chosen = config.getoption("imospec_backend")
    return list(BACKENDS) if chosen == "both" else [chosen]


def _binding_path(config: pytest.Config) -> Path:
    given = config.getoption("imospec_impl")
    if given is not None:
        return Path(given).resolve()
    from imospec_cli.pipeline import DEFAULT_BINDING

    return DEFAULT_BINDING


class ImospecFailure(Exception):
    """A campaign diverged or a fixture failed: the message is the trace or the diff."""


class CampaignItem(pytest.Item):
    """One conformance campaign of the implementation against the model."""

    def __init__(self, *, backend: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.backend = backend

    def runtest(self) -> None:
        from conformance.runner import format_trace
        from imospec_cli.pipeline import Pipeline

        config = self.config
        pipeline = Pipeline.for_binding(_binding_path(config))
        from conformance.runner import run_campaign

        result = run_campaign(pipeline.spec, pipeline.binding, backend=self.backend,
                              examples=config.getoption("imospec_examples"), steps=config.getoption("imospec_steps"),
                              seed=config.getoption("imospec_seed"),
                              fixture_dir=Path(str(config.rootpath)) / ".imospec-cache" / "fixtures")
        if result.divergence is not None:
            raise ImospecFailure(f"the implementation and the model diverge on {self.backend}:\n"
                                 f"{format_trace(result.divergence)}\nsaved as {result.fixture}")

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ImospecFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"imospec campaign on {self.backend}"


class FixtureItem(pytest.Item):
    """One portable fixture run on the implementation, with no model."""

    def __init__(self, *, fixture: Path, backend: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.fixture, self.backend = fixture, backend

    def runtest(self) -> None:
        from conformance.fixtures import consume, read_filled
        from imospec_cli.pipeline import Pipeline

        pipeline = Pipeline.for_binding(_binding_path(self.config))
        result = consume(read_filled(self.fixture), pipeline.spec, pipeline.binding, self.backend)
        if not result.ok:
            raise ImospecFailure(result.describe())

    repr_failure = CampaignItem.repr_failure

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.fixture, 0, f"imospec fixture {self.fixture.name} on {self.backend}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("imospec_impl") is None:
        return
    binding = _binding_path(config)
    for backend in _backends(config):
        items.append(CampaignItem.from_parent(session, name=f"imospec::campaign[{backend}]", backend=backend,
                                              path=binding))
    fixtures = config.getoption("imospec_fixtures")
    if fixtures is not None:
        for path in sorted(Path(fixtures).glob("*.json")):
            for backend in _backends(config):
                items.append(FixtureItem.from_parent(session, name=f"imospec::fixture[{path.stem}-{backend}]",
                                                     fixture=path.resolve(), backend=backend, path=path.resolve()))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "imospec_system" in metafunc.fixturenames:
        metafunc.parametrize("imospec_backend", _backends(metafunc.config), scope="session")


@pytest.fixture(scope="session")
def imospec_binding(pytestconfig: pytest.Config) -> Binding:
    """The implementation's binding (``--imospec-impl``, else the bundled Vyper contracts)."""
    from conformance.binding import load_binding

    return load_binding(_binding_path(pytestconfig))


@pytest.fixture(scope="session")
def imospec_spec(imospec_binding: Binding) -> ir.Spec:
    """The checked spec the binding implements."""
    from imospec_cli.pipeline import Pipeline

    return Pipeline.for_binding(imospec_binding.path).spec


@pytest.fixture
def imospec_system(imospec_spec: ir.Spec, imospec_binding: Binding, imospec_backend: str) -> Harness:
    """The implementation deployed on ``imospec_backend`` with the model beside it, after the binding's prelude."""
    from conformance.harness import Harness

    return Harness(imospec_spec, imospec_binding, imospec_backend)
