"""Which parameters governance can change, and through what, on the bundled spec.

Issue 13 asks that every governed parameter change only through a timelock,
and that the seed's immutable merchant parameters (the cash-out cap first)
change through nothing. The checker already refuses an assignment to a
`param` outside `init` (E030), an assignment to a governed parameter (E031)
and a `govern` outside a module that a `via` names (E032); these tests read
the checked IR of the bundled spec and state what those diagnostics leave to
the spec's authors: that every `via` module is a timelock (it holds the
delay itself), and that no `govern` statement anywhere can reach a
seed-immutable parameter.
"""

from __future__ import annotations

from spec import ir
from spec.driver import load_spec

# Issue 13: "the cash-out cap is immutable by the seed"; so is every other
# parameter that carries a figure of the seed (docs/protocol.md §8): the MT
# supply, the pool's and the reserve's shares of the raise, the floor and the
# phase prices. (The seed's other figures, the farm's 30% and the tiers, are
# constants, which nothing assigns.)
SEED_IMMUTABLE = (
    ("offering", "cashout_cap_bps"),
    ("offering", "mt_total"),
    ("offering", "pool_mt_bps"),
    ("offering", "reserve_bps"),
    ("phases", "floor"),
    ("phases", "bronze_price"),
    ("phases", "issue_price"),
)


def _spec() -> ir.Spec:
    loaded = load_spec()
    assert loaded.spec is not None, [d.message for d in loaded.errors]
    return loaded.spec


def _governs(spec: ir.Spec) -> list[tuple[str, str, ir.Govern]]:
    found = []
    for mname, mod in spec.modules.items():
        for aname, action in mod.actions.items():
            for s in ir.walk(action.body):
                if isinstance(s, ir.Govern):
                    found.append((mname, aname, s))
    return found


def test_every_via_is_a_timelock_that_governs_its_own_delay() -> None:
    spec = _spec()
    vias = {g.via for mod in spec.modules.values() for g in mod.governed.values()}
    assert vias, "the bundled spec has governed parameters"
    for via in sorted(vias):
        tl = spec.module(via)
        delay = tl.governed.get("delay")
        assert delay is not None, f"`{via}` is named by `via` but keeps no governed `delay`"
        assert delay.via == via, f"`{via}`'s delay is governed through `{delay.via}`, not itself"
    holders = {m for m, _, _ in _governs(spec)}
    assert holders == vias, f"`govern` appears in {sorted(holders)}, but `via` names {sorted(vias)}"


def test_a_govern_reaches_only_parameters_that_name_its_module() -> None:
    spec = _spec()
    for mname, aname, g in _governs(spec):
        for target, name in g.candidates:
            gd = spec.module(target).governed.get(name)
            assert gd is not None, f"{mname}.{aname} can govern {target}.{name}, which is not governed"
            assert gd.via == mname, f"{mname}.{aname} can govern {target}.{name}, which names `{gd.via}`"


def test_seed_immutable_parameters_are_out_of_every_governs_reach() -> None:
    spec = _spec()
    governs = _governs(spec)
    assert governs, "the bundled spec governs something"
    for module, name in SEED_IMMUTABLE:
        mod = spec.module(module)
        assert name in mod.params and name not in mod.governed, f"{module}.{name} must stay an immutable `param`"
        for mname, aname, g in governs:
            assert (module, name) not in g.candidates, f"{mname}.{aname} can govern {module}.{name}"
        for aname, action in spec.modules[module].actions.items():
            for s in ir.walk(action.body):
                if isinstance(s, ir.Assign):
                    root = s.target
                    while isinstance(root, ir.Index):
                        root = root.base
                    assert not (isinstance(root, ir.Ref) and root.module == module and root.name == name), (
                        f"{module}.{aname} assigns {name}"
                    )
