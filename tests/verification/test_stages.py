"""The stages of a quantified query: the instantiated query on a small budget
first; when that runs out, the quantified query before the instantiated one
on its larger budget."""

from __future__ import annotations

from typing import Any

from spec.analysis import Analysis
from spec.driver import BUNDLED_PROTOCOL, load_spec
from verification import solve
from verification.build import Builder
from verification.cache import Cache
from verification.outcome import Budget, Job, Proved
from verification.report import explain
from verification.runner import _fresh_solver_context

BUDGET = Budget(300, 40_000_000)


def _solve(spec: Any, job: Job) -> solve.Verdict:
    builders: dict[str, Builder] = {}

    def builder_for(dom: str) -> Builder:
        return builders.setdefault(dom, Builder(spec, Analysis(spec), dom))

    _fresh_solver_context()
    return solve.solve_job(builder_for, job, BUDGET, "auto", Cache(None, False), explain)


def _instantiated_alone(spec: Any, job: Job) -> tuple[str, int]:
    """The instantiated query on a quarter of the budget, as the only stage
    (what the first stage was before it got a smaller share)."""
    _fresh_solver_context()
    built = Builder(spec, Analysis(spec), "int").build(job)
    s, lits = solve.make_solver(built, BUDGET.share(1 / 4), "instances")
    before = solve.rlimit_count()
    r = solve.run_solver(s, lits)
    return r.status, solve.rlimit_count() - before


def test_a_costly_instantiation_gives_way_to_the_quantified_query() -> None:
    spec = load_spec([BUNDLED_PROTOCOL]).spec
    assert spec is not None
    # instantiated, this step needs more than a fortieth of the budget; quantified, a few percent of that
    costly = Job("step", "mt", "newest_checkpoint_is_current", ("offering", "finalize"))
    status, alone = _instantiated_alone(spec, costly)
    assert status == "unsat" and alone > BUDGET.rlimit * solve.STAGE_SHARE[solve.INSTANCES_FIRST]
    v = _solve(spec, costly)
    assert isinstance(v.outcome, Proved) and v.outcome.method == "z3"
    assert v.rlimit_spent is not None and v.rlimit_spent < alone


def test_a_query_the_first_stage_decides_is_the_query_it_was() -> None:
    spec = load_spec([BUNDLED_PROTOCOL]).spec
    assert spec is not None
    cheap = Job("step", "mt", "newest_checkpoint_is_current", ("farm", "withdraw"))
    status, alone = _instantiated_alone(spec, cheap)
    assert status == "unsat"
    v = _solve(spec, cheap)
    assert isinstance(v.outcome, Proved) and v.outcome.method == "z3-instances"
    assert v.rlimit_spent == alone  # the same terms, the same search: not a unit more or less
