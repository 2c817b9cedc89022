"""Spec coverage: the model's probes record each clause side a step covers,
campaigns collect them, `imospec conform` prints what stayed uncovered."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from conformance.binding import load_implementation
from conformance.runner import run_campaign
from imospec_cli.main import main
from reference.codegen import generate_module
from reference.model import Model
from reference.runtime import Env
from spec import ir
from spec.clauses import action_clauses, all_clauses, coverage, node_ids


def _tiny(tiny_binding_path: Path) -> ir.Spec:
    return load_implementation(tiny_binding_path)[1]


def test_ids_follow_the_one_walk_and_are_unique(tiny_binding_path: Path) -> None:
    spec = _tiny(tiny_binding_path)
    ids = [c.id for c in all_clauses(spec)]
    assert len(ids) == len(set(ids))
    a = spec.modules["cash"].actions["transfer_from"]
    walked = ir.walk(a.body)
    for node, cid in node_ids("cash", a).items():
        assert walked[int(cid.rsplit("#", 1)[1])] is node
    kinds = [c.kind for c in action_clauses(spec, "cash", "transfer_from")]
    assert kinds.count("branch") == 1 and kinds.count("emit") == 1


def test_the_model_reports_the_sides_each_action_covered(tiny_binding_path: Path) -> None:
    spec = _tiny(tiny_binding_path)
    assert "probe" not in generate_module(spec, "cash"), "the model users read has no probes"
    model = Model.deploy(spec, probes=True)
    me, other = 0xA1, 0xB2
    clauses = {c.id: c for c in action_clauses(spec, "cash", "transfer_from")}
    branch = next(c.id for c in clauses.values() if c.kind == "branch")
    emit = next(c.id for c in clauses.values() if c.kind == "emit")
    # no allowance: the branch is taken, then the subtraction underflows: a revert, nothing emitted
    out = model.execute("cash", "transfer_from", Env(me, 0, 0, 1), other, me, 5)
    assert not out.ok and (branch, True) in out.clauses and (emit, True) not in out.clauses
    # an unlimited allowance skips the branch; with no balance it still reverts
    model.execute("cash", "mint", Env(me, 0, 0, 1), other, 10)
    model.execute("cash", "approve", Env(other, 0, 0, 1), me, 2**256 - 1)
    out = model.execute("cash", "transfer_from", Env(me, 0, 0, 1), other, me, 5)
    assert out.ok and (branch, False) in out.clauses and (emit, True) in out.clauses
    # a model without probes reports nothing
    plain = Model.deploy(spec)
    assert plain.execute("cash", "approve", Env(me, 0, 0, 1), other, 1).clauses == frozenset()


def test_coverage_counts_sides_and_names_what_is_missing(tiny_binding_path: Path) -> None:
    spec = _tiny(tiny_binding_path)
    everything = {(c.id, v) for c in all_clauses(spec) for v in (True, False)}
    full = coverage(spec, everything)
    assert all(r.covered == r.total and not r.uncovered for r in full)
    none = coverage(spec, set())
    assert all(r.covered == 0 and len(r.uncovered) == r.total for r in none)
    assert sum(r.total for r in none) > 0
    # one require seen failing covers it, and the reason it raises
    require = next(c for c in all_clauses(spec) if c.kind == "require")
    one = {r.action: r for r in coverage(spec, {(require.id, False)})}[require.action]
    assert one.covered == 2
    missing = [u.describe() for u in one.uncovered]
    assert any("never seen passing" in m and str(require.span) in m for m in missing)


def test_a_campaign_collects_coverage_and_conform_prints_what_is_uncovered(tiny_binding_path: Path,
                                                                          tmp_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    result = run_campaign(spec, binding, backend="pyrevm", examples=25, steps=20, seed=3, fixture_dir=tmp_path)
    ids = {c.id for c in all_clauses(spec)}
    assert result.stats.clauses and {cid for cid, _ in result.stats.clauses} <= ids
    rows = {r.action: r for r in coverage(spec, result.stats.clauses)}
    # an action that succeeded covered some side of its clauses (if it has any)
    for action, counts in result.stats.outcomes.items():
        if counts.ok:
            assert rows[action].total == 0 or rows[action].covered > 0, action
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["conform", "--impl", str(tiny_binding_path), "--backend", "pyrevm", "--examples", "3",
                     "--steps", "4", "--workers", "1", "--allow-never-succeeded"])
    text = out.getvalue()
    assert code == 0, text
    assert "spec coverage:" in text and "uncovered: " in text
    assert ".imo:" in text.split("uncovered: ", 1)[1].splitlines()[0], "an uncovered clause is located"
