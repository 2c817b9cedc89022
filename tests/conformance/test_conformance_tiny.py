"""The conformance machinery on the tiny fixture: a faithful implementation
passes on both EVMs, a wrong one is caught, shrunk, saved and replayed."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.binding import BindingError, SpecHasErrors, load_binding, load_implementation
from conformance.harness import Harness, Step
from conformance.runner import read_fixture, replay, run_campaign
from imospec_cli.main import main

MutantMaker = Callable[[str, str, str], Path]  # the tiny_mutant fixture (conftest.py)


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_faithful_implementation_conforms(tiny_binding_path: Path, backend: str, tmp_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    result = run_campaign(spec, binding, backend=backend, examples=25, steps=20, seed=3, fixture_dir=tmp_path)
    assert result.ok, result.divergence
    assert result.stats.steps > 100
    # the generated sequences reach success and revert paths of the vault
    assert result.stats.outcomes["vault.top_up"].ok > 0
    assert result.stats.outcomes["vault.set_price"].reverted > 0


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("amount * WAD // floor_price", "amount * WAD // floor_price + 1", "capacity rounds up"),
        ('assert q <= self.capacity, "OVER_CAPACITY"', 'assert q <= self.capacity, "OVER_CAP"', "reason"),
        ("log TopUp(who=msg.sender, amount=amount, added=added)", "pass", "event dropped"),
        ('assert msg.sender == owner, "UNAUTHORIZED"', 'assert msg.sender == owner, "NOT_OWNER"', "auth reason"),
    ],
)
def test_wrong_implementation_is_caught_and_replays(tiny_mutant: MutantMaker, tmp_path: Path, old: str, new: str,
                                                     what: str) -> None:
    binding_path = tiny_mutant("vault.vy", old, new)
    binding, spec = load_implementation(binding_path)
    result = run_campaign(spec, binding, backend="pyrevm", examples=300, steps=25, seed=1,
                          fixture_dir=tmp_path / "fixtures")
    assert not result.ok, f"mutant not caught: {what}"
    assert result.fixture is not None and result.fixture.exists()
    fixture = read_fixture(result.fixture)
    assert fixture.binding == binding_path.resolve()
    replayed = replay(fixture, binding, spec)
    assert not replayed.ok and replayed.first_difference is not None, "the saved fixture must reproduce it"
    assert main(["replay", str(result.fixture)]) == 1  # the command line, through a pipeline of the fixture's binding


def test_replay_of_a_file_that_is_no_fixture_is_a_clear_error(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "trace.json"
    bad.write_text('{"format": "something else"}')
    assert main(["replay", str(bad)]) == 64
    err = capsys.readouterr().err
    assert "is not an imospec trace fixture" in err and "Traceback" not in err


def test_harness_reports_each_observable(tiny_binding_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    h = Harness(spec, binding, "py-evm")
    assert h.deployment_differences == []
    assert all(r.ok for r in h.prelude_reports)
    alice = h.actors[1]
    report = h.run(Step("action", "vault", "top_up", alice, (10**18,)))
    assert report.ok and report.model is not None and report.model.value == 2 * 10**18
    # corrupt the model: the next comparison must name the field
    h.model.state("vault").capacity += 1
    diffs = h.compare_state(None)
    assert [d.where for d in diffs] == ["vault.capacity"]


def test_binding_errors_are_reported(tmp_path: Path, tiny_binding_path: Path) -> None:
    bad = tmp_path / "b.json"
    bad.write_text("{ not json")
    with pytest.raises(BindingError, match="not JSON"):
        load_binding(bad)
    data = json.loads(tiny_binding_path.read_text())
    broken = dict(data, prelude=[["time", 1, [1]]])
    bad.write_text(json.dumps(broken))
    with pytest.raises(BindingError, match="whole numbers"):
        load_binding(bad)
    del data["modules"]["cash"]
    data["spec"] = str((tiny_binding_path.parent / "../spec").resolve())
    for module in data["modules"].values():
        module["vyper"] = str(tiny_binding_path.parent / module["vyper"])
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(data))
    binding, spec = load_implementation(partial)
    with pytest.raises(BindingError, match="imports cash"):
        Harness(spec, binding, "py-evm")


def test_a_binding_whose_spec_has_errors_is_refused_with_the_diagnostics(
        tmp_path: Path, tiny_binding_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_dir = tmp_path / "spec"
    shutil.copytree(tiny_binding_path.parent.parent / "spec", spec_dir)
    vault = spec_dir / "vault.imo"
    vault.write_text(vault.read_text() + "\naction broken( {\n")
    data = dict(json.loads(tiny_binding_path.read_text()), spec=str(spec_dir))
    for module in data["modules"].values():
        module["vyper"] = str(tiny_binding_path.parent / module["vyper"])
    binding_path = tmp_path / "binding.json"
    binding_path.write_text(json.dumps(data))
    with pytest.raises(SpecHasErrors, match="has errors") as caught:
        load_implementation(binding_path)
    assert "vault.imo:" in caught.value.report
    assert main(["conform", "--impl", str(binding_path)]) == 1
    err = capsys.readouterr().err
    assert "vault.imo:" in err and "imospec check" in err and "Traceback" not in err


def test_a_campaign_does_not_depend_on_the_modules_loaded(
        tiny_binding_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # hypothesis mixes literals from loaded local modules into its draws;
    # the runner switches that off, so a module full of numbers changes nothing
    binding, spec = load_implementation(tiny_binding_path)

    def campaign() -> tuple[int, dict[str, list[int]]]:
        r = run_campaign(spec, binding, backend="pyrevm", examples=12, steps=15, seed=5, fixture_dir=tmp_path)
        return r.stats.steps, r.stats.outcomes

    before = campaign()
    numbers = tmp_path / "numbers_galore"
    numbers.mkdir()
    values = ", ".join(str(3 + 7 * i) for i in range(400))
    (numbers / "numbers_galore_module.py").write_text(f"VALUES = [{values}]\n")
    monkeypatch.syspath_prepend(str(numbers))
    importlib.import_module("numbers_galore_module")
    assert campaign() == before


def test_campaigns_are_deterministic_for_a_seed(tiny_binding_path: Path, tmp_path: Path) -> None:
    binding, spec = load_implementation(tiny_binding_path)
    runs = [run_campaign(spec, binding, backend="pyrevm", examples=8, steps=15, seed=s, fixture_dir=tmp_path)
            for s in (5, 5, 6)]
    assert runs[0].stats.outcomes == runs[1].stats.outcomes and runs[0].stats.steps == runs[1].stats.steps
    assert runs[0].stats.outcomes != runs[2].stats.outcomes
