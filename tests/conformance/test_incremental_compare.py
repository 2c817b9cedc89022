"""After each step the harness compares only what the step changed on either
side. These tests hold it to what a full read of every observable finds, on
implementations that write what the spec does not, or leave out a write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.binding import load_implementation
from conformance.harness import Harness, Step, StepReport
from conformance.runner import run_campaign

MutantMaker = Callable[[str, str, str], Path]  # the tiny_mutant fixture (conftest.py)


def _harness(binding_path: Path, backend: str) -> Harness:
    binding, spec = load_implementation(binding_path)
    return Harness(spec, binding, backend)


def _state_differences(report: StepReport) -> set[str]:
    # outcome differences are named "success", "return value", "event #0"...;
    # state differences by the module and variable they are in
    return {d.where for d in report.differences if "." in d.where}


def _trace(h: Harness) -> list[Step]:
    alice, bob = h.actors[1], h.actors[2]
    return [
        Step("action", "cash", "transfer", alice, (bob, 5)),
        Step("action", "vault", "top_up", alice, (10**18,)),
        Step("action", "vault", "top_up", bob, (0,)),  # reverts
        Step("action", "vault", "deposit", bob, (1000,)),
        Step("action", "vault", "top_up", bob, (3 * 10**18,)),
        Step("action", "cash", "approve", bob, (alice, 9)),
    ]


MUTANTS = [
    # the EVM writes an entry the model leaves alone (a nested map, at known addresses)
    ("cash.vy", "    self.balance_of[owner] -= amount\n", "    self.balance_of[owner] -= amount\n"
     "    self.allowance[to][owner] = 7\n"),
    # the EVM leaves out a write the model makes
    ("vault.vy", "    self.reserve += amount\n", "    pass\n"),
    # the EVM writes a different value
    ("vault.vy", "    self.capacity += added\n", "    self.capacity += added + 1\n"),
]


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
@pytest.mark.parametrize(("file", "old", "new"), MUTANTS)
def test_each_step_finds_what_a_full_read_finds(tiny_mutant: MutantMaker, backend: str, file: str, old: str,
                                                new: str) -> None:
    binding_path = tiny_mutant(file, old, new)
    h = _harness(binding_path, backend)
    # a second harness on the same implementation reads everything after each step
    full = _harness(binding_path, backend)
    found = False
    for step in _trace(h):
        incremental = _state_differences(h.run(step))
        full.run(step, compare_state=False)
        expected = {d.where for d in full.compare_state(None, views=False)}
        assert incremental == expected, step.describe()
        if expected:
            found = True
            break  # past the first divergence the two sides start from different states
    assert found, "the mutant must diverge on this trace"


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_faithful_implementation_agrees_step_by_step(tiny_binding_path: Path, backend: str) -> None:
    h = _harness(tiny_binding_path, backend)
    for step in _trace(h):
        assert h.run(step).ok
        assert h.compare_state(None) == []


def test_a_write_outside_the_spec_write_set(tiny_mutant: MutantMaker) -> None:
    # set_price writes only the vault in the spec; this one also approves, silently, in cash
    tiny_mutant("vault.vy", "    self.price = p\n", "    self.price = p\n    extcall Cash(CASH).approve(owner, 5)\n")
    binding_path = tiny_mutant("vault.vy", "    def transfer(to: address, amount: uint256) -> bool: nonpayable",
                               "    def transfer(to: address, amount: uint256) -> bool: nonpayable\n"
                               "    def approve(spender: address, amount: uint256) -> bool: nonpayable")
    exact = _harness(binding_path, "py-evm")
    owner = exact.actors[0]
    step = Step("action", "vault", "set_price", owner, (12345,))
    # py-evm lists every slot written: the step itself shows it
    assert any(d.where.startswith("cash.allowance") for d in exact.run(step).differences)
    # pyrevm watches the modules the spec lets the action write: the next full read shows it
    watched = _harness(binding_path, "pyrevm")
    assert watched.run(step).ok
    assert any(d.where.startswith("cash.allowance") for d in watched.compare_state(None))


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
@pytest.mark.parametrize("setup", ["prelude", "scenario"])
def test_a_stray_write_in_the_setup_is_compared_before_its_state_is_kept(tiny_mutant: MutantMaker, backend: str,
                                                                         setup: str) -> None:
    # the set_price above that also approves in cash, run by the setup: the
    # prelude's last step, or a starting state's scenario. On pyrevm the
    # step compares the vault alone, and a return to the state kept after
    # the setup reads every watched word afresh as the agreed one: the write
    # must be compared before that, or no later sweep sees it
    tiny_mutant("vault.vy", "    self.price = p\n", "    self.price = p\n    extcall Cash(CASH).approve(owner, 5)\n")
    binding_path = tiny_mutant("vault.vy", "    def transfer(to: address, amount: uint256) -> bool: nonpayable",
                               "    def transfer(to: address, amount: uint256) -> bool: nonpayable\n"
                               "    def approve(spender: address, amount: uint256) -> bool: nonpayable")
    data = json.loads(binding_path.read_text())
    priced = ["vault", "set_price", "actor:0", ["12345"]]
    if setup == "prelude":
        data["prelude"].append(priced)
    else:
        data["scenarios"] = {"priced": [priced]}
    binding_path.write_text(json.dumps(data))
    h = _harness(binding_path, backend)
    reports = h.prelude_reports if setup == "prelude" else h.start_from("priced")
    assert any(d.where.startswith("cash.allowance") for r in reports for d in r.differences)
    # (and a return to the kept state, then a sweep, finds nothing more: what it reads afresh agrees)
    h.reset()
    assert h.sweep() == []


def test_a_campaign_catches_a_silent_stray_write(tiny_mutant: MutantMaker, tmp_path: Path) -> None:
    binding_path = tiny_mutant(*MUTANTS[0])
    binding, spec = load_implementation(binding_path)
    for backend in ("py-evm", "pyrevm"):
        result = run_campaign(spec, binding, backend=backend, examples=40, steps=10, seed=2,
                              fixture_dir=tmp_path / backend)
        assert not result.ok and result.divergence is not None
        assert "allowance" in str(result.divergence)


def test_an_action_changes_only_the_variables_it_saves() -> None:
    # the model saves, before each action, only the variables the spec lets it
    # assign (spec.analysis.fields_written); putting them back must undo it: in
    # a campaign over the bundled protocol, every variable an action changed is
    # one it saved, and a revert leaves every variable as it was
    from reference.model import Model
    from reference.runtime import clone
    from spec.analysis import fields_written

    binding, spec = load_implementation(Path(__file__).resolve().parents[2] / "evm_backend/contracts/binding.json")
    seen = {"changed": 0, "reverted": 0}
    original = Model.execute

    def checked(self: Model, module: str, action: str, *args: object, **kwargs: object) -> object:
        before = clone(self.world.state)
        outcome = original(self, module, action, *args, **kwargs)  # type: ignore[arg-type]
        saved = fields_written(spec, module, action)
        for m, state in self.world.state.items():
            for name, value in vars(state).items():
                # (a read of a missing nested entry inserts a default one: that changes no value)
                if _meaning(value) != _meaning(getattr(before[m], name)):
                    assert outcome.ok and name in saved.get(m, ()), f"{module}.{action} changed {m}.{name}"
                    seen["changed"] += 1
        seen["reverted"] += not outcome.ok
        return outcome

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Model, "execute", checked)
        result = run_campaign(spec, binding, backend="pyrevm", examples=12, steps=12, seed=3)
    assert result.ok and seen["changed"] > 100 and seen["reverted"] > 100, seen


def _meaning(v: object) -> object:
    """A piece of model state without its entries at their default value."""
    from reference.runtime import Map

    if isinstance(v, Map):
        default = _meaning(v.default())
        return {k: m for k, x in v.items() if (m := _meaning(x)) != default}
    if hasattr(v, "__dataclass_fields__"):
        return tuple(_meaning(getattr(v, f)) for f in v.__dataclass_fields__)
    return v


def _fresh_watch(h: Harness) -> dict[str, dict[tuple[str, int], int]]:
    """Every indexed slot's word as it is now, by module (what a full re-read finds)."""
    out: dict[str, dict[tuple[str, int], int]] = {m: {} for m in h.spec.modules}
    for (address, slot), entries in h._index.items():
        out[min(entries)[0]][(address, slot)] = h.backend.read_storage([address], [slot])[0]
    return out


def _watched(h: Harness) -> dict[str, dict[tuple[str, int], int]]:
    return {m: dict(zip(zip(a, s, strict=True), w, strict=True)) for m, (a, s, w) in h._watch.items()}


def test_the_storage_watch_read_once_per_slot_is_a_full_re_read(tiny_binding_path: Path) -> None:
    # pyrevm reads back only the slots indexed since the last read, and a
    # saved starting state keeps the words read the first time both sides
    # went back to it: after compared steps, and after each move back, the
    # watched words are every indexed slot's word, as a full re-read finds
    h = _harness(tiny_binding_path, "pyrevm")
    h.rebase()
    for _ in range(3):
        h.reset()
        assert _watched(h) == _fresh_watch(h)
        grew = len(h._index)
        # (a transfer to an address no one knew: an entry at a new key, its slot indexed and read back)
        for step in [*_trace(h), Step("action", "cash", "transfer", h.actors[1], (0xBEEF, 3))]:
            assert h.run(step).ok
            assert _watched(h) == _fresh_watch(h), step.describe()
        assert len(h._index) > grew


def test_the_undo_log_names_every_entry_an_action_changed() -> None:
    # compare_changes takes the entries a step changed on the model from the
    # action's undo log (Outcome.journal): in campaigns over the bundled
    # protocol, they include every entry whose value a copy of the state
    # before shows changed, and the others it names kept their value
    from conformance.harness import Harness as H
    from conformance.harness.values import peek
    from spec.analysis import fields_written

    binding, spec = load_implementation(Path(__file__).resolve().parents[2] / "evm_backend/contracts/binding.json")
    seen = {"steps": 0, "changed": 0, "kept": 0}
    original = H.compare_changes

    def checked(self: H, step: Step, outcome: object, receipt: object) -> object:
        if outcome.ok:  # type: ignore[attr-defined]
            logged = self._journal_changes(outcome.journal,  # type: ignore[attr-defined]
                                           fields_written(spec, step.module, step.action))
            assert logged is not None
            copied = {e for m, before in outcome.before.items()  # type: ignore[attr-defined]
                      for e in self._model_changes(m, before)}
            assert copied <= logged, (step.describe(), copied - logged)
            for module, name, keys in logged - copied:
                value = getattr(outcome.before[module], _attr(name))  # type: ignore[attr-defined]
                now = getattr(self.model.state(module), _attr(name))
                for k in keys:
                    value, now = peek(value, k), peek(now, k)
                assert value == now, (step.describe(), module, name, keys)
                seen["kept"] += 1
            seen["steps"] += 1
            seen["changed"] += len(copied)
        return original(self, step, outcome, receipt)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(H, "compare_changes", checked)
        result = run_campaign(spec, binding, backend="pyrevm", examples=12, steps=12, seed=4)
    assert result.ok and seen["steps"] > 100 and seen["changed"] > 300, seen


def test_an_outcome_before_is_the_state_before_the_action(tiny_binding_path: Path) -> None:
    # Outcome.before is made from the undo log on first use: the written
    # modules as a copy made before the action holds them; asked for once
    # the model has moved on, it raises rather than answer wrong
    from reference.model import StaleOutcome
    from reference.runtime import clone

    h = _harness(tiny_binding_path, "pyrevm")
    alice, bob = h.actors[1], h.actors[2]
    model = h.model
    copy = clone(model.world.state)
    outcome = model.execute("vault", "deposit", h.env(bob), 1000)
    assert outcome.ok and model.world.state != copy
    after = clone(model.world.state)
    assert dict(outcome.before) == {m: copy[m] for m in outcome.before}
    assert model.world.state == after  # (the writes are made again)
    late = model.execute("cash", "transfer", h.env(alice), bob, 5)
    assert late.ok
    model.execute("cash", "transfer", h.env(alice), bob, 6)
    with pytest.raises(StaleOutcome):
        dict(late.before)


def _attr(name: str) -> str:
    from conformance.harness.values import _attr as attr

    return attr(name)


def test_a_sweep_reads_again_only_what_a_transaction_may_have_changed(tiny_mutant: MutantMaker) -> None:
    # on pyrevm the sweep reads back the watched words of the modules not read
    # since the last transaction that succeeded; a stray write (set_price
    # approving in cash, which the spec does not let it write) is still found
    # by a sweep after later clock moves and reverted steps, and a sweep right
    # after a sweep reads nothing
    tiny_mutant("vault.vy", "    self.price = p\n", "    self.price = p\n    extcall Cash(CASH).approve(owner, 5)\n")
    binding_path = tiny_mutant("vault.vy", "    def transfer(to: address, amount: uint256) -> bool: nonpayable",
                               "    def transfer(to: address, amount: uint256) -> bool: nonpayable\n"
                               "    def approve(spender: address, amount: uint256) -> bool: nonpayable")
    h = _harness(binding_path, "pyrevm")
    read: list[int] = []
    original = h.backend.read_storage

    def counted(addresses: list[str], slots: list[int]) -> list[int]:
        read.append(len(slots))
        return original(addresses, slots)

    h.backend.read_storage = counted  # type: ignore[method-assign]
    owner, bob = h.actors[0], h.actors[2]
    assert h.run(Step("action", "vault", "set_price", owner, (12345,))).ok
    assert h.run(Step("time", seconds=60, blocks=1)).ok
    assert h.run(Step("action", "vault", "top_up", bob, (0,))).ok  # (reverts on both sides)
    assert any(d.where.startswith("cash.allowance") for d in h.sweep())
    read.clear()
    h.sweep()
    assert sum(read) == 0
    # a successful step reads its own modules; the sweep after it the others
    assert h.run(Step("action", "cash", "transfer", h.actors[1], (bob, 5))).ok
    read.clear()
    assert h.sweep() == []
    assert sum(read) == sum(len(h._watch[m][1]) for m in h.spec.modules if m != "cash") > 0
