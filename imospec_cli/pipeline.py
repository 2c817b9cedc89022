"""One object for the whole pipeline, one cached property per phase.

Shaped like Vyper's ``CompilerData``: each phase is computed the first time
something asks for it, from the phase before, and kept::

    sources -> checked -> spec -> model
                            \\-> plan -> verdicts
                            \\-> (binding) -> campaigns

Every command (``check``, ``model``, ``prove``, ``conform``, ``mutate``,
``replay``, ``verify``) and the Python API work through it, and nothing
downstream reads the spec from a path again: the proofs prove
:attr:`Pipeline.spec`, the campaigns run against it, and ``verify`` reads and
checks the spec once for all its stages::

    from imospec_cli.pipeline import Pipeline

    p = Pipeline()                       # the bundled protocol
    p.checked.diagnostics                # parse and check
    p.verdicts.exit_code()               # prove (verification.runner.Options)
    p.campaign("pyrevm").ok              # conform (conformance.runner.CampaignSettings)

The phases import their packages only when they run, so ``imospec check``
needs neither Z3 nor an EVM.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec import ir
from spec.driver import BUNDLED_PROTOCOL, LoadResult, Sources, SpecHasErrors, check_sources, read_sources

__all__ = ["DEFAULT_BINDING", "Pipeline", "SpecHasErrors"]

if TYPE_CHECKING:
    from conformance.binding import Binding
    from conformance.runner import CampaignResult, CampaignSettings
    from conformance.witness import CoverReport, CoverSettings
    from verification.outcome import Job, Result
    from verification.runner import Options, Report

#: The bundled implementation: the Vyper contracts of the protocol and their binding.
DEFAULT_BINDING = Path(__file__).resolve().parent.parent / "evm_backend" / "contracts" / "binding.json"


class Pipeline:
    """A spec (and optionally an implementation of it) and every phase derived from it.

    ``paths`` are spec files or directories; by default the spec the binding
    names when there is a binding, else the bundled protocol. ``binding`` is
    an implementation's binding file (needed for campaigns). ``options``
    selects the proofs and their budget.
    """

    def __init__(self, paths: Sequence[str | Path] | None = None, *, binding: str | Path | None = None,
                 options: Options | None = None) -> None:
        self._paths = list(paths) if paths else None
        self.binding_path = Path(binding) if binding is not None else None
        self._options = options
        self._campaigns: dict[tuple[Any, ...], CampaignResult] = {}
        self._covers: dict[Any, CoverReport] = {}
        #: The witness search whose successful calls answer the vacuity checks
        #: of :meth:`prove` (None: the default settings).
        self.cover_settings: CoverSettings | None = None

    @classmethod
    def for_binding(cls, binding: str | Path = DEFAULT_BINDING, *, options: Options | None = None) -> Pipeline:
        """The pipeline of an implementation: its binding and the spec the binding names."""
        return cls(None, binding=binding, options=options)

    # ---------------------------------------------------------------- inputs

    @cached_property
    def binding(self) -> Binding:
        """The implementation's binding.

        Raises:
            BindingError: there is no binding, or it cannot be read.
        """
        from conformance.binding import BindingError, load_binding

        if self.binding_path is None:
            raise BindingError("this pipeline has no implementation (no binding)")
        return load_binding(self.binding_path)

    @property
    def paths(self) -> list[str | Path]:
        """The spec files or directories this pipeline reads."""
        if self._paths is not None:
            return list(self._paths)
        if self.binding_path is not None:
            return [self.binding.spec_dir]
        return [BUNDLED_PROTOCOL]

    @property
    def options(self) -> Options:
        """What to prove, with which budget (the defaults unless given)."""
        if self._options is None:
            from verification.runner import Options

            self._options = Options()
        return self._options

    # ---------------------------------------------------------------- phases

    @cached_property
    def sources(self) -> Sources:
        """Phase 1: the spec's files, read as text."""
        return read_sources(self.paths)

    @cached_property
    def checked(self) -> LoadResult:
        """Phase 2: parsed and checked: the IR (when clean) and every diagnostic."""
        return check_sources(self.sources)

    @property
    def ok(self) -> bool:
        """Whether the spec checks without errors."""
        return self.checked.ok

    @cached_property
    def spec(self) -> ir.Spec:
        """The checked IR.

        Raises:
            SpecHasErrors: the spec does not check.
        """
        where = self.binding.spec_dir if self._paths is None and self.binding_path is not None else None
        return self.checked.checked_spec(where)

    @cached_property
    def model(self) -> types.ModuleType:
        """Phase 3: the executable reference model, generated from the IR and imported.

        Raises:
            SpecHasErrors: the spec does not check.
        """
        from reference.model import Model

        return Model.load_code(self.spec)

    @cached_property
    def plan(self) -> tuple[list[Job], list[Result]]:
        """Phase 4a: the proof queries to run, and the steps settled by the frame rule.

        Raises:
            SpecHasErrors: the spec does not check.
            SelectionError: ``options.module`` / ``options.invariant`` select nothing.
        """
        from spec.analysis import Analysis
        from verification.runner import plan

        return plan(self.spec, Analysis(self.spec), self.options)

    def prove(self, progress: Callable[[int, int, Result], None] | None = None) -> Report:
        """Phase 4b, with a progress callback: prove :attr:`spec` (once; later calls return the report).

        Raises:
            SpecHasErrors: the spec does not check.
            SelectionError: ``options.module`` / ``options.invariant`` select nothing.
        """
        if "verdicts" not in self.__dict__:
            from verification.runner import prove

            self.plan  # noqa: B018  (a bad selection fails here, before any worker starts)
            options = self.options
            if options.vacuity and not options.succeeded:
                options = replace(options, succeeded=self.witnessed_successes())
            self.__dict__["verdicts"] = prove(options, self.spec, progress)
        report: Report = self.__dict__["verdicts"]
        return report

    def witnessed_successes(self) -> frozenset[tuple[str, str]]:
        """The public actions that the covers' witness runs (:meth:`covers`,
        with :attr:`cover_settings`) saw succeed: a concrete run shows that an
        action's requirements can hold together, which answers its vacuity
        check without a solver. Empty when the witness search cannot run.

        Raises:
            SpecHasErrors: the spec does not check.
        """
        try:
            report = self.covers(self.cover_settings)
        except SpecHasErrors:
            raise
        except Exception:
            return frozenset()
        return frozenset((g.module, g.action) for g in report.goals
                         if g.kind == "succeeds" and g.action is not None and g.key in report.met)

    @cached_property
    def verdicts(self) -> Report:
        """Phase 4b: every selected query proved, refuted or unknown (see :meth:`prove`)."""
        return self.prove()

    def campaign(self, settings: CampaignSettings | str, on_step: Callable[[Any], None] | None = None,
                 on_shard: Callable[[Any], None] | None = None) -> CampaignResult:
        """Phase 5: one conformance campaign of the implementation against :attr:`spec`
        (run once per settings; a backend name means the default settings on it).

        Raises:
            BindingError: no binding, or it cannot be read.
            SpecHasErrors: the spec does not check.
            EvmBackendError: the implementation cannot be compiled or deployed.
            EngineUnavailable: ``settings.engine`` is ``"ray"`` and Ray is not installed.
        """
        from conformance.runner import CampaignSettings, run_campaign

        if isinstance(settings, str):
            settings = CampaignSettings(backend=settings)
        key = (settings,)
        if key not in self._campaigns:
            self._campaigns[key] = run_campaign(
                self.spec, self.binding, backend=settings.backend, examples=settings.examples,
                steps=settings.steps, seed=settings.seed, check_rules=settings.check_rules, on_step=on_step,
                on_shard=on_shard, workers=settings.workers, engine=settings.engine, address=settings.address)
        return self._campaigns[key]

    def covers(self, settings: CoverSettings | None = None,
               progress: Callable[[int, int], None] | None = None) -> CoverReport:
        """Phase 4c: every cover of :attr:`spec`, explicit and generated, met
        by witness runs of :attr:`model` (once per settings). The runs start
        from deployment, from the scenarios of the binding (this pipeline's,
        or the bundled one when the spec is the bundled protocol) and from the
        ``scenarios.json`` beside the spec.

        Raises:
            SpecHasErrors: the spec does not check.
            BindingError: the binding or a ``scenarios.json`` cannot be read.
        """
        from conformance.witness import CoverSettings, goals_of, search_witnesses

        settings = settings or CoverSettings()
        if settings not in self._covers:
            self._covers[settings] = search_witnesses(
                self.spec, goals_of(self.spec), binding=self._cover_binding(), scenarios=self.scenarios,
                seed=settings.seed, walks=settings.walks, steps=settings.steps, progress=progress,
                check_rules=settings.check_rules)
        return self._covers[settings]

    def _cover_binding(self) -> Binding | None:
        from spec.driver import BUNDLED_PROTOCOL

        if self.binding_path is not None:
            return self.binding
        if [Path(p).resolve() for p in self.paths] == [BUNDLED_PROTOCOL.resolve()] and DEFAULT_BINDING.exists():
            from conformance.binding import load_binding

            return load_binding(DEFAULT_BINDING)
        return None

    @cached_property
    def scenarios(self) -> Any:
        """The ``scenarios.json`` beside the spec (of each directory in
        :attr:`paths`, merged), read once: every phase of this pipeline, and
        every mutant pipeline ``mutate --spec`` derives from it, sees the same
        file even when it is edited on disk during a run.

        Raises:
            BindingError: a ``scenarios.json`` cannot be read.
        """
        from conformance.witness import SCENARIOS_FILE, Scenarios, load_scenarios

        merged = Scenarios()
        for p in self.paths:
            if Path(p).is_dir():
                found = load_scenarios(Path(p) / SCENARIOS_FILE)
                merged = Scenarios({**merged.params, **found.params}, (*merged.prelude, *found.prelude),
                                   {**merged.scenarios, **found.scenarios},
                                   {**merged.deployments, **found.deployments})
        return merged

    @property
    def campaigns(self) -> list[CampaignResult]:
        """The campaigns run so far, in the order they ran."""
        return list(self._campaigns.values())
