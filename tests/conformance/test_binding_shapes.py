"""Bindings for an ABI that differs from the spec: a Uniswap-v2-style pair
(tests/conformance/fixtures/pair) whose swap takes the amounts out after the
input tokens were sent to it. A spec sale is bound to a call sequence, its
arguments renamed and reordered; reserve0 is read through a getter's first
output, reserve1 from its packed slot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.binding import BindingError, load_binding, load_implementation
from conformance.harness import Harness, Step
from conformance.runner import run_campaign

PAIR = Path(__file__).resolve().parent / "fixtures" / "pair"
BINDING = PAIR / "impl" / "binding.json"
WAD = 10**18


def _copy(tmp_path: Path, edit_source: tuple[str, str] | None = None, edit_binding=None) -> Path:
    impl = tmp_path / "impl"
    shutil.copytree(PAIR / "impl", impl)
    data = json.loads((impl / "binding.json").read_text())
    data["spec"] = str((PAIR / "spec").resolve())
    if edit_binding is not None:
        edit_binding(data)
    (impl / "binding.json").write_text(json.dumps(data))
    if edit_source is not None:
        old, new = edit_source
        text = (impl / "Pair.sol").read_text()
        assert old in text
        (impl / "Pair.sol").write_text(text.replace(old, new, 1))
    return impl / "binding.json"


@pytest.mark.parametrize("backend", ["py-evm", "pyrevm"])
def test_uniswap_style_pair_conforms_through_call_sequences(backend: str, tmp_path: Path) -> None:
    binding, spec = load_implementation(BINDING)
    result = run_campaign(spec, binding, backend=backend, examples=20, steps=20, seed=5,
                          fixture_dir=tmp_path / "fixtures")
    assert result.ok, result.divergence
    sells = result.stats.outcomes["pair.sell0"]
    assert sells.ok > 0 and sells.reverted > 0, sells  # sales that pass, and sales that revert


def test_a_reverting_call_undoes_the_whole_sequence() -> None:
    binding, spec = load_implementation(BINDING)
    h = Harness(spec, binding, "py-evm")
    h.start_from("liquid")
    alice = h.actors[1]
    before = h.model.state("tok0").balance_of[alice]
    # asking for more out than the product allows: the transfer in already ran when swap fails K
    report = h.run(Step("action", "pair", "sell0", alice, (WAD, 100 * WAD)))
    assert report.ok, report.differences
    assert report.evm is not None and (report.evm.success, report.evm.revert_reason) == (False, "K")
    assert h.backend.call(f"0x{h.addresses['tok0']:040x}", "balanceOf", [f"0x{alice:040x}"]) == before
    # a fair sale: the transfer, the pair's transfer out, Sync and Swap, in that order
    report = h.run(Step("action", "pair", "sell0", alice, (WAD, WAD)))
    assert report.ok and report.evm is not None and report.evm.success
    assert [log.event for log in report.evm.logs] == ["Transfer", "Transfer", "Sync", "Swap"]


@pytest.mark.parametrize(("old", "new"), [
    ("amount0In * 3", "amount0In * 2"),  # a smaller fee
    ('reserve1 * 1000 ** 2, "K")', 'reserve1 * 1000 ** 2, "UniswapV2: K")'),  # the real pair's reason
])
def test_a_wrong_pair_is_caught(tmp_path: Path, old: str, new: str) -> None:
    binding, spec = load_implementation(_copy(tmp_path, (old, new)))
    result = run_campaign(spec, binding, backend="pyrevm", examples=60, steps=20, seed=6,
                          fixture_dir=tmp_path / "fixtures")
    assert not result.ok


def test_a_wrong_packed_offset_is_caught(tmp_path: Path) -> None:
    def edit(data: dict) -> None:
        data["modules"]["pair"]["state"]["reserve1"]["offset"] = 0

    binding, spec = load_implementation(_copy(tmp_path, edit_binding=edit))
    h = Harness(spec, binding, "pyrevm")
    reports = h.start_from("liquid")
    assert any(d.where == "pair.reserve1" for r in reports for d in r.differences)


def test_malformed_action_and_state_bindings_are_reported(tmp_path: Path) -> None:
    data = json.loads(BINDING.read_text())
    data["modules"]["pair"]["actions"]["sell0"] = [["self", "swap"]]
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(BindingError, match="action `sell0` is a list of calls"):
        load_binding(bad)
    data = json.loads(BINDING.read_text())
    data["modules"]["pair"]["state"]["reserve1"] = {"slot": 0, "getter": "getReserves"}
    bad.write_text(json.dumps(data))
    with pytest.raises(BindingError, match="exactly one of `slot` or `getter`"):
        load_binding(bad)


def test_malformed_attack_files_are_reported(tmp_path: Path) -> None:
    """The binding's `attacks` file: a missing file, a scenario the binding
    lacks, and a `reverts` index that is not an action step are each named."""
    bundled = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts"
    data = json.loads((bundled / "binding.json").read_text())
    for m in data["modules"].values():
        m["vyper"] = str((bundled / m["vyper"]).resolve())
    data["spec"] = str((bundled / data["spec"]).resolve())
    data["attacks"] = "attacks.json"
    path = tmp_path / "binding.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BindingError, match=r"`attacks` names 'attacks\.json', but there is no file"):
        load_binding(path)

    def attacks(attack: dict[str, object]) -> None:
        (tmp_path / "attacks.json").write_text(json.dumps({"attacks": {"a": attack}}))

    step = ["pool", "add_liquidity", "actor:3", ["1", "0", "0", "0", "actor:3", "1"]]
    attacks({"steps": [step], "reverts": {"0": "UNAUTHORIZED"}})
    assert load_binding(path).attacks["a"].expected(0) == "UNAUTHORIZED"
    attacks({"steps": [step], "scenario": "nowhere"})
    with pytest.raises(BindingError, match="starts from scenario 'nowhere', which the binding does not have"):
        load_binding(path)
    attacks({"steps": [step, ["time", 1, 1]], "reverts": {"1": "UNAUTHORIZED"}})
    with pytest.raises(BindingError, match=r"`attacks.a.reverts`: '1' is not the index of an action"):
        load_binding(path)
    attacks({"steps": [step], "reverts": {"2": "UNAUTHORIZED"}})
    with pytest.raises(BindingError, match=r"'2' is not the index of an action of its 1 steps"):
        load_binding(path)
