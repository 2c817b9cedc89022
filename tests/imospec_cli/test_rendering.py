"""Traces and counterexamples that read like Foundry's -vvvv: labelled
addresses, only what changed, numbers by name, the starting state, one step
numbering in conform and replay, no filler clock moves, and the budget's
sequences in the header (not the shrinking runs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.harness import Step
from conformance.runner import ShardRunner, format_trace, run_campaign
from spec.numbers import show_number
from tests.imospec_cli.test_cli import REPO, run
from tests.verification.conftest import find
from tests.verification.conftest import run as prove
from verification.outcome import Refuted
from verification.report import render_counterexample

TINY_IMPL = REPO / "tests" / "conformance" / "fixtures" / "tiny" / "impl"


@pytest.fixture
def rounding_mutant(tmp_path: Path) -> Path:
    """The tiny vault with a top-up that rounds capacity up: a divergence at any top-up."""
    impl = tmp_path / "impl"
    shutil.copytree(TINY_IMPL, impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((TINY_IMPL / data["spec"]).resolve())
    (impl / "binding.json").write_text(json.dumps(data))
    vault = impl / "vault.vy"
    vault.write_text(vault.read_text().replace("amount * WAD // floor_price", "amount * WAD // floor_price + 1", 1))
    return impl / "binding.json"


def test_numbers_by_name() -> None:
    assert show_number(2**256 - 1) == "2**256-1"
    assert show_number(2**112 - 1) == "MAX_UINT112"
    assert show_number(2**256 - 3) == "2**256-1-2"
    assert show_number(5 * 10**18) == "5e18"
    assert show_number(1234567890123456789) == "1_234_567_890_123_456_789"
    assert show_number(38) == "38"


def test_conform_and_replay_number_the_steps_alike_from_a_named_start(rounding_mutant: Path, tmp_path: Path) -> None:
    code, out, err = run("conform", "--impl", str(rounding_mutant), "--backend", "pyrevm", "--examples", "300",
                         "--seed", "1", "--workers", "1", cwd=tmp_path)
    assert code == 1, out + err
    trace = out.split("DIVERGENCE (shrunk):\n", 1)[1].split("\n\nsaved as", 1)[0]
    assert trace.startswith("starting state: the state after the binding's prelude")
    # the caller by its label (an actor that the binding makes the vault's owner), no raw hex address
    assert "from actor:0/owner" in trace and "0x" not in trace
    fixture = out.split("replay with: imospec replay ", 1)[1].strip()
    code, replayed, _ = run("replay", fixture, cwd=tmp_path)
    assert code == 1
    last = [ln for ln in trace.splitlines() if ln.startswith("step ")][-1].split(":")[0]
    assert replayed.startswith(trace.split("\n", 1)[0])
    assert f"the model and the EVM differ at {last}" in replayed  # the same number, not prelude steps + n


def test_the_header_counts_the_budgets_sequences_not_the_shrinking(rounding_mutant: Path, tmp_path: Path) -> None:
    binding, spec = load_implementation(rounding_mutant)
    shrunk = run_campaign(spec, binding, backend="pyrevm", examples=300, steps=25, seed=1, fixture_dir=tmp_path)
    found = run_campaign(spec, binding, backend="pyrevm", examples=300, steps=25, seed=1, fixture_dir=tmp_path,
                         shrink=False)
    assert not shrunk.ok and not found.ok
    assert shrunk.stats.examples == found.stats.examples  # the sequences run until the divergence, no more


def test_shrinking_drops_filler_clock_moves(rounding_mutant: Path) -> None:
    binding, spec = load_implementation(rounding_mutant)
    runner = ShardRunner(spec, binding, "pyrevm", steps=25)
    runner.harness.start_from(None)
    owner = runner.harness.actors[0]
    steps = [Step("time", seconds=1, blocks=1), Step("action", "vault", "top_up", owner, (19,)),
             Step("time", seconds=1, blocks=1), Step("action", "vault", "top_up", owner, (19,))]
    runner.harness.reset()
    trace = [runner.harness.run(s) for s in steps[:2]]
    assert not trace[-1].ok
    kept = runner.drop_filler_time(trace)
    assert [r.step.kind for r in kept] == ["action"]
    assert not kept[-1].ok and "vault.capacity" in format_trace(kept)


def test_a_counterexample_shows_what_changed_and_names_addresses() -> None:
    report = prove("timelock_early", vacuity=False, invariant="cancelled_never_executed")
    r = find(report, "timelock.cancelled_never_executed", "timelock.execute")
    assert isinstance(r.outcome, Refuted)
    cex = r.outcome.counterexample
    short, full = render_counterexample(cex), render_counterexample(cex, full=True)
    rows = len(cex["state"])
    shown = [ln for ln in short.splitlines() if ln.startswith("      timelock.")]
    assert len(shown) < rows and "unchanged not shown (--full shows them)" in short
    assert len([ln for ln in full.splitlines() if ln.startswith("      timelock.")]) == rows
    assert all(ln.endswith("*") or "cancelled[" in ln for ln in shown)  # changed, or read by the clause
    assert "caller=admin" in short  # the parameter's name, not 0x…01


def test_hypothesis_shrink_warning_is_silenced(rounding_mutant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Hypothesis warns after five minutes of shrinking (a slow EVM meets it); here the limit is 0 s."""
    from hypothesis.internal.conjecture import engine

    monkeypatch.setattr(engine, "MAX_SHRINKING_SECONDS", 0)
    binding, spec = load_implementation(rounding_mutant)
    result = run_campaign(spec, binding, backend="pyrevm", examples=300, steps=25, seed=1, fixture_dir=tmp_path)
    assert not result.ok
    out, err = capsys.readouterr()
    assert "Hypothesis" not in out + err


def test_a_campaign_that_leaves_an_action_never_succeeding_warns(tmp_path: Path) -> None:
    from imospec_cli.conform import never_succeeded, summary

    binding, spec = load_implementation(TINY_IMPL / "binding.json")
    # (seed 2: a budget this small, with a seed that leaves an action run but never succeeding; any such seed will do)
    result = run_campaign(spec, binding, backend="pyrevm", examples=4, steps=5, seed=2, fixture_dir=tmp_path)
    never = never_succeeded(result)
    assert result.ok and never, "this small budget leaves an action never succeeding"
    assert [a for a, (ok, _) in result.stats.outcomes.items() if ok == 0] == never
    text = summary(result)
    warning = next(ln for ln in text.splitlines() if ln.startswith("warning: "))
    assert f"{len(never)} action(s) never succeeded" in warning and all(a in warning for a in never)


def test_a_refutation_header_names_the_actions_its_trace_runs() -> None:
    """When the search reaches the violation through other actions than the
    step's (a governor whose execute runs through the timelock), the header says which."""
    import dataclasses
    import io

    from imospec_cli.prove import print_report
    from verification.runner import Report

    report = prove("timelock_early", vacuity=False, invariant="executed_after_delay")
    r = find(report, "timelock.executed_after_delay", "timelock.execute")
    assert r.bmc is not None and [s["action"] for s in r.bmc.steps] == ["timelock.queue", "timelock.execute"]
    out = io.StringIO()
    print_report(Report(report.spec, [r]), out)
    assert "refuted: timelock.executed_after_delay after timelock.execute\n" in out.getvalue()
    other = dataclasses.replace(r, job=dataclasses.replace(r.job, action=("timelock", "queue")))
    out = io.StringIO()
    print_report(Report(report.spec, [other]), out)
    assert ("refuted: timelock.executed_after_delay after timelock.queue "
            "(the trace below runs timelock.queue, timelock.execute)") in out.getvalue()


def test_a_campaign_on_several_workers_labels_its_trace_too(rounding_mutant: Path, tmp_path: Path) -> None:
    """The workers name the addresses; the process that prints the trace gets their names."""
    from conformance.harness.values import ADDRESS_LABELS

    binding, spec = load_implementation(rounding_mutant)
    ADDRESS_LABELS.clear()
    result = run_campaign(spec, binding, backend="pyrevm", examples=300, steps=25, seed=1, fixture_dir=tmp_path,
                          workers=2)
    assert not result.ok and result.divergence
    text = format_trace(result.divergence)
    assert "from actor:" in text and "0x" not in text


def test_state_paths_name_addresses_and_zero_is_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DIFFERS line's map key names the address as the trace does (actor:1,
    pool); a zero reads 0, not the zero address's 0x0."""
    from conformance.harness import values

    actor, pool = 0x6F2B0793639DA1E8325CE4453A637DA334A469CD, 0x18D2756E9BF90B952A7E39BBBD1FFFC0EF66754D
    for address, name in ((actor, "actor:1"), (pool, "pool"), (0, "0x0")):
        monkeypatch.setitem(values.ADDRESS_LABELS, address, name)
    assert values._path("dcep", "balance_of", (actor,)) == "dcep.balance_of[actor:1]"
    assert values._path("dcep", "allowance", (actor, pool)) == "dcep.allowance[actor:1][pool]"
    assert values._path("member", "owner_of", (2,)) == "member.owner_of[2]"
    assert values._show(0) == "0" and values._show(pool) == "pool" and values._show(10**18) == "1e18"


def test_a_counterexamples_state_names_the_addresses_it_knows() -> None:
    """A state entry keyed by a module's address reads by the module's name,
    one keyed by the caller's as `caller` (not 0x…de0b6b3a7640001)."""
    from verification.report import render_counterexample

    caller, reserve = "0x" + "0" * 25 + "de0b6b3a763ffff", "0x" + "0" * 25 + "de0b6b3a7640001"
    cex = {"env": {"caller": caller, "now": 0}, "args": {"amount": 2}, "addresses": {"reserve": reserve},
           "state": [{"name": f"reserve.contributed[{caller}]", "before": 0, "after": 2},
                     {"name": f"dcep.balance_of[{reserve.upper().replace('0X', '0x')}]", "before": 0, "after": 2},
                     {"name": "dcep.balance_of[0x" + "1" * 40 + "]", "before": 5, "after": 3}]}
    text = render_counterexample(cex)
    assert "reserve.contributed[caller]" in text and "dcep.balance_of[reserve]" in text, text
    assert "dcep.balance_of[0x" + "1" * 40 + "]" in text  # an address it cannot name stays as it is
    assert f"caller={caller}" in text  # the environment still gives the caller's address
