"""State, parameter and governed names that a generated module also uses for
something else (a runtime helper such as `total` or `min`, a builtin such as
`copy`): the model stores them as attributes, which collide with nothing,
and every reader (the generated code, the harness, the covers' search)
finds them under the same name."""

from __future__ import annotations

from pathlib import Path

from conformance.witness import CoverSettings
from imospec_cli.pipeline import Pipeline
from reference.codegen import attr
from reference.model import Model
from reference.runtime import Env

TALLY = """\
module tally

param min: uint256 = 2

state total: uint256 = 0
state copy: map[address, uint256]

// Adds at least `min` to the caller's tally and to the total.
action add(amount: uint256) {
    require amount >= min, "TOO_SMALL"
    total += amount
    copy[caller] += amount
}

fn total_of(who: address) -> uint256 { return copy[who] }

invariant total_bounds_each: forall a: address. copy[a] <= total
"""


def test_names_that_a_generated_module_also_uses(tmp_path: Path) -> None:
    (tmp_path / "tally.imo").write_text(TALLY, encoding="utf-8")
    p = Pipeline([tmp_path])
    model = Model.deploy(p.spec)
    out = model.execute("tally", "add", Env(0xA, 1_000), 5, check_rules=True)
    assert out.ok, out
    assert model.execute("tally", "add", Env(0xA, 1_000), 1).reason == "TOO_SMALL"
    state = model.state("tally")
    assert (getattr(state, attr("total")), getattr(state, attr("copy"))[0xA], getattr(state, attr("min"))) == (5, 5, 2)
    assert model.call_fn("tally", "total_of", Env(0xA, 1_000), 0xA) == 5
    # the covers' search reads the state by the same names
    report = p.covers(CoverSettings(seed=0, walks=4, steps=8, check_rules=True))
    assert "tally.add:require TOO_SMALL:fails" in report.met and report.violations == {}
