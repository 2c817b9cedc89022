"""A replay on a mutant leaves out the rule checks whose verdict the
unmutated spec's replay already gave (``replay_witnesses``' ``record`` and
``against``), and still finds every violation the full checks find."""

from __future__ import annotations

from pathlib import Path

from conformance.witness import ACTOR_BASE, TraceStep, Witness, goals_of, replay_witnesses, search_witnesses
from imospec_cli.pipeline import Pipeline
from imospec_cli.spec_mutate import stale_checks
from spec.mutate import spec_mutants

VAULT = """\
module vault

const CAP: uint256 = 100
const LIMIT: uint256 = 100

state held: uint256 = 0
state open: bool = false
state visits: uint256 = 0

action start() {
    require not open, "ALREADY_OPEN"
    open = true
}

// Takes `n` into the vault, up to the cap.
action put(n: uint256) {
    require open, "CLOSED"
    require n > 0, "ZERO"
    require held + n <= CAP, "FULL"
    held += n
}

// Counts a visit.
action visit() {
    visits += 1
}

fn limit() -> uint256 {
    return LIMIT
}

// Never more than the limit.
invariant capped: held <= limit()
"""


def _spec(tmp_path: Path, text: str, name: str) -> object:
    d = tmp_path / name
    d.mkdir()
    (d / "vault.imo").write_text(text, encoding="utf-8")
    return Pipeline([d / "vault.imo"]).spec


def _witnesses(spec: object) -> dict[str, Witness]:
    report = search_witnesses(spec, goals_of(spec), seed=0, walks=6, steps=12)  # type: ignore[arg-type]
    # the vault filled to the cap, visited, then refused one more
    full = Witness("deployment", (TraceStep("vault", "start", ACTOR_BASE),
                                  TraceStep("vault", "put", ACTOR_BASE, (100,)),
                                  TraceStep("vault", "visit", ACTOR_BASE),
                                  TraceStep("vault", "put", ACTOR_BASE, (1,), ok=False, reason="FULL")))
    # half filled, refused another half and a bit, visited
    over = Witness("deployment", (TraceStep("vault", "start", ACTOR_BASE),
                                  TraceStep("vault", "put", ACTOR_BASE, (60,)),
                                  TraceStep("vault", "put", ACTOR_BASE, (60,), ok=False, reason="FULL"),
                                  TraceStep("vault", "visit", ACTOR_BASE)))
    return {**report.met, "vault.put:require FULL:fails": full, "over": over}


def _mutant(tmp_path: Path, where: str, operator: str, new: str, old: str = "") -> tuple[object, object]:
    m = next(m for m in spec_mutants({"vault.imo": VAULT}) if m.where == where and m.operator == operator
             and " ".join(m.replacement.split()) == new and old in m.original)
    return m, _spec(tmp_path, m.apply(VAULT), f"{operator}-{m.line}-{m.column}")


def test_known_checks_are_left_out_and_the_violations_are_the_same(tmp_path: Path) -> None:
    spec = _spec(tmp_path, VAULT, "base")
    witnesses = _witnesses(spec)
    recorded: dict = {}
    base = replay_witnesses(spec, goals_of(spec), witnesses, check_rules=True, record=recorded)  # type: ignore[arg-type]
    assert base.violations == {} and recorded
    # a mutant no witness's state tells apart from the spec's (a put of 0 adds nothing): checks known
    m, zero_put = _mutant(tmp_path, "vault.put", "compare", ">=")
    assert stale_checks(zero_put, m) == frozenset()
    known = replay_witnesses(zero_put, goals_of(zero_put), witnesses, check_rules=True,  # type: ignore[arg-type]
                             against=recorded)
    full = replay_witnesses(zero_put, goals_of(zero_put), witnesses, check_rules=True)  # type: ignore[arg-type]
    assert known.checks_known > 0
    assert known.violations == full.violations == {} and set(known.met) == set(full.met)
    # the cap dropped: the refused put passes and overfills the vault; the states differ from there
    m, no_cap = _mutant(tmp_path, "vault.put", "drop-require", "", "FULL")
    known = replay_witnesses(no_cap, goals_of(no_cap), witnesses, check_rules=True, against=recorded,  # type: ignore[arg-type]
                             stale=stale_checks(no_cap, m))
    full = replay_witnesses(no_cap, goals_of(no_cap), witnesses, check_rules=True)  # type: ignore[arg-type]
    assert list(known.violations) == list(full.violations)
    assert "vault.capped fails after vault.put" in known.violations
    assert [s.args for s in known.violations["vault.capped fails after vault.put"].steps] == [(), (100,), (), (1,)]
    # a cap ten times as large: the second put of 60 passes, and the visit after it is the same call
    # as on the spec but on another state (120 held), where the rule is checked and breaks again
    m, wide = _mutant(tmp_path, "vault.CAP", "const", "(100) * 10")
    known = replay_witnesses(wide, goals_of(wide), witnesses, check_rules=True, against=recorded,  # type: ignore[arg-type]
                             stale=stale_checks(wide, m))
    full = replay_witnesses(wide, goals_of(wide), witnesses, check_rules=True)  # type: ignore[arg-type]
    assert "vault.capped fails after vault.visit" in full.violations
    assert list(known.violations) == list(full.violations)


def test_a_rule_whose_function_or_constant_the_mutant_edits_is_always_checked(tmp_path: Path) -> None:
    """``LIMIT - 1`` leaves every state as the spec's (only the rule reads
    it), so only ``stale_checks`` keeps the rule checked: without it the
    break would be taken for known."""
    spec = _spec(tmp_path, VAULT, "base")
    witnesses = _witnesses(spec)
    recorded: dict = {}
    replay_witnesses(spec, goals_of(spec), witnesses, check_rules=True, record=recorded)  # type: ignore[arg-type]
    m, lower = _mutant(tmp_path, "vault.LIMIT", "const", "(100) - 1")
    assert stale_checks(lower, m) == frozenset({"vault.capped"})
    caught = replay_witnesses(lower, goals_of(lower), witnesses, check_rules=True, against=recorded,  # type: ignore[arg-type]
                              stale=stale_checks(lower, m))
    full = replay_witnesses(lower, goals_of(lower), witnesses, check_rules=True)  # type: ignore[arg-type]
    assert "vault.capped fails after vault.put" in caught.violations
    assert list(caught.violations) == list(full.violations)
    # (what the stale set is for: the same replay taking the rule for known misses the break)
    missed = replay_witnesses(lower, goals_of(lower), witnesses, check_rules=True, against=recorded)  # type: ignore[arg-type]
    assert missed.violations == {}
    # the constant the cap's check reads is no rule's
    m, cap = _mutant(tmp_path, "vault.CAP", "const", "(100) * 10")
    assert stale_checks(cap, m) == frozenset()


LOG = """\
module log

state notes: map[uint256, uint256]

// Notes key `k`.
action note(k: uint256) {
    notes[k] = 1
}
"""

COUNTER = """\
module counter

state count: uint256 = 0

// Counts one.
action bump() {
    count += 1
}

// No key anywhere from 11 to 4095, below the modules' addresses (a `forall`'s runtime check ranges
// over every key any module mentions).
invariant small_keys: forall k: uint256. k <= 10 or k >= 4096 or count > 1000000
"""


def test_a_forall_rule_is_checked_when_another_module_mentions_other_keys(tmp_path: Path) -> None:
    """``small_keys`` reads only ``counter``, but its check ranges over the
    keys of ``log`` too: a mutant that notes another key, then bumps the
    counter (the same call, on the same ``counter`` state) breaks it there."""
    def spec(name: str, log: str) -> object:
        d = tmp_path / name
        d.mkdir()
        (d / "log.imo").write_text(log, encoding="utf-8")
        (d / "counter.imo").write_text(COUNTER, encoding="utf-8")
        return Pipeline([d]).spec

    base = spec("base", LOG)
    run = Witness("deployment", (TraceStep("log", "note", ACTOR_BASE, (5,)),
                                 TraceStep("counter", "bump", ACTOR_BASE)))
    recorded: dict = {}
    assert replay_witnesses(base, goals_of(base), {"run": run}, check_rules=True,  # type: ignore[arg-type]
                            record=recorded).violations == {}
    wide = spec("wide", LOG.replace("notes[k] = 1", "notes[k + 100] = 1"))
    known = replay_witnesses(wide, goals_of(wide), {"run": run}, check_rules=True, against=recorded)  # type: ignore[arg-type]
    full = replay_witnesses(wide, goals_of(wide), {"run": run}, check_rules=True)  # type: ignore[arg-type]
    assert list(full.violations) == ["counter.small_keys fails after counter.bump"]
    assert list(known.violations) == list(full.violations)
