from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TINY = Path(__file__).resolve().parent / "fixtures" / "tiny"


@pytest.fixture(scope="session")
def tiny_binding_path() -> Path:
    return TINY / "impl" / "binding.json"


MutantMaker = Callable[[str, str, str], Path]


@pytest.fixture
def tiny_mutant(tmp_path: Path, tiny_binding_path: Path) -> MutantMaker:
    """A factory: ``tiny_mutant(file, old, new)`` copies the tiny fixture's
    implementation with ``old`` replaced by ``new`` (once) in ``file``, and
    returns the copy's binding path."""

    def make(file: str, old: str, new: str) -> Path:
        impl = tiny_binding_path.parent
        dst = tmp_path / "impl"
        if not dst.exists():
            shutil.copytree(impl, dst)
            data = json.loads((dst / "binding.json").read_text())
            data["spec"] = str((impl / data["spec"]).resolve())
            (dst / "binding.json").write_text(json.dumps(data))
        source = (dst / file).read_text()
        assert old in source, f"{old!r} is not in {file}"
        (dst / file).write_text(source.replace(old, new, 1))
        return dst / "binding.json"

    return make


ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "evm_backend" / "contracts"
MONEY_MARKET = ("dcep", "interest", "oracle", "controller", "mdcep", "usdc", "musdc")
# the markets, each with its underlying token and one whole unit of it
MARKETS = {"mdcep": ("dcep", 10**18), "musdc": ("usdc", 10**6)}
MAX_UINT = "0x" + "f" * 64


def standalone(module: dict[str, Any]) -> dict[str, Any]:
    """A bundled module's binding entry for a deployment without the
    timelock: the deployer stands in for it as the one caller of the governed
    setters (which no spec action calls outside the timelock)."""
    out = dict(module)
    if "constructor" in out:
        out["constructor"] = ["deployer" if a == "@timelock" else a for a in out["constructor"]]
    return out


def money_market_binding(dst: Path, replace: tuple[str, str, str] | None = None,
                         modules: tuple[str, ...] = MONEY_MARKET, collateral: int = 10**5) -> Path:
    """A binding of the money-market contracts alone (the bundled ones, with
    their names and EIP-712 domains) in ``dst``, with a prelude, for each
    market among ``modules`` (mdcep over DCEP at 18 decimals, musdc over USDC
    at 6; both listed at deployment): every actor holds 1e8 whole units of
    the underlying and approves the market, actor:0 reports ``collateral``
    whole units of off-chain collateral observed at the genesis time (by
    default 100,000: large mints are then undercollateralised), and every
    actor mints with 1,000 units; every sequence begins with a step of each
    market's minting, redeeming, signed and asset-manager actions (the
    binding's ``focus``). ``replace`` (file, old, new) makes a mutant of one
    contract source (market.vy serves both markets).
    With ``timelock`` among ``modules``, actor:0 is its admin (no governor)
    and it governs the interest model (its rate) and the oracle
    (its reporter and staleness bound)."""
    dst.mkdir(parents=True, exist_ok=True)
    bundled = json.loads((CONTRACTS / "binding.json").read_text())["modules"]
    bound = {m: standalone(bundled.get(m, {"vyper": f"{m}.vy"})) for m in modules}
    for file in {b["vyper"] for b in bound.values()}:
        source = (CONTRACTS / file).read_text()
        if replace is not None and replace[0] == file:
            assert replace[1] in source, f"{replace[1]!r} is not in {file}"
            source = source.replace(replace[1], replace[2], 1)
        (dst / file).write_text(source)
    markets = [m for m in MARKETS if m in modules]
    prelude: list[list[object]] = []
    for m in markets:
        token, unit = MARKETS[m]
        prelude += [[token, "mint", "actor:*", ["actor:self", str(10**8 * unit)]],
                    [token, "approve", "actor:*", [f"@{m}", MAX_UINT]]]
    for m in markets:
        prelude.append(["oracle", "report", "actor:0", [f"@{m}", str(collateral * MARKETS[m][1]), "1700000000"]])
    for m in markets:
        prelude.append([m, "mint", "actor:*", [str(1000 * MARKETS[m][1])]])
    params: dict[str, str] = {f"{m}.listed": "1" for m in markets}
    if "timelock" in modules:
        # the timelock governs every module here that has governed parameters
        governed = [a for a in bundled["timelock"]["constructor"][2] if a[1:] in modules]
        bound["timelock"]["constructor"] = ["admin", "delay", governed, "spec.module"]
        params["timelock.admin"] = "actor:0"
        for m in modules:
            if m != "timelock" and "constructor" in bundled.get(m, {}):
                bound[m]["constructor"] = bundled[m]["constructor"]
    if "interest" in modules:
        # the markets the interest model touches on a rate change: those deployed here
        rate, timelock, _ = bound["interest"]["constructor"]
        bound["interest"]["constructor"] = [rate, timelock, [f"@{m}" for m in markets]]
    data: dict[str, object] = {"name": "money-market", "spec": str(ROOT / "spec" / "protocol"),
                               "modules": bound, "params": params, "prelude": prelude}
    if markets:
        # every sequence begins with a step of each of the markets' actions the test counts on
        data["focus"] = {"prelude": [f"{m}.{a}" for m in markets for a in (
            "mint", "mint_from_gasless_request", "redeem", "redeem_from_gasless_request", "permit",
            "allocate_to_rwa", "return_from_rwa")]}
    (dst / "binding.json").write_text(json.dumps(data))
    return dst / "binding.json"


class ComparedSteps:
    """Hand-written steps run on the model and the EVM side by side through a
    harness: every step (an action or a clock move) must agree in full."""

    def __init__(self, h: Any) -> None:
        self.h = h

    def step(self, module: str, action: str, caller: int, *args: Any) -> Any:
        """Run one action on both sides; its report (model and EVM outcomes)."""
        from conformance.harness import Step

        report = self.h.run(Step("action", module, action, caller, tuple(args)))
        assert report.ok, f"{report.step.describe()}: " + "; ".join(str(d) for d in report.differences)
        assert report.model is not None and report.evm is not None
        return report

    def ok(self, module: str, action: str, caller: int, *args: Any) -> Any:
        """Run one action that must succeed; the value it returns."""
        report = self.step(module, action, caller, *args)
        assert report.model.ok, f"{module}.{action} reverted {report.model.reason!r}"
        return report.model.value

    def reverts(self, reason: str, module: str, action: str, caller: int, *args: Any) -> None:
        """Run one action that must revert with ``reason`` on both sides."""
        report = self.step(module, action, caller, *args)
        assert not report.model.ok, f"{module}.{action} succeeded, expected {reason!r}"
        assert report.model.reason == reason and report.evm.revert_reason == reason

    def wait(self, seconds: int, blocks: int = 1) -> None:
        """Move the clock and the block number on both sides."""
        from conformance.harness import Step

        report = self.h.run(Step("time", seconds=seconds, blocks=blocks))
        assert report.ok, report.differences


def give_checkpoints(h: Any, module: str, account: int, n: int,
                     entries: dict[int, tuple[int, int]] | None = None) -> None:
    """Make ``account`` hold ``n`` checkpoints of ``module`` (a `votes`
    module: dmg, mt) on both sides: its count, its newest checkpoint (index
    n - 1) at the block before this one with its current votes, and
    ``entries`` (index: (from_block, votes)). The other entries are left as
    they are: a new checkpoint reads only the count and the newest, and a
    search only the entries it probes. Written where each contract's own
    compiler places them (`Harness.write_entry`)."""
    written = dict(entries or {})
    written[n - 1] = (int(h.backend.block_number) - 1, h.model.state(module).current_votes[account])
    h.write_entry(module, "num_checkpoints", (account,), n)
    for i, (block, votes) in written.items():
        h.write_entry(module, "checkpoints", (account, i), (block, votes))


def fill_to_the_checkpoint_cap(h: Any, module: str, holder: int, other: int, amount: int) -> None:
    """The checkpoint cap of a `votes` module (dmg, mt), on both sides: with
    ``holder`` one checkpoint short of MAX_CHECKPOINTS = 2**32, a new block's
    change from ``other`` adds the last one (a cap of 2**31 refuses it), a
    second change in the same block rewrites it, and in the next block a
    transfer and a delegation revert TOO_MANY_CHECKPOINTS (the check dropped,
    `<=`, or a cap of 2**33 or 3**32 let them through); a transfer that moves
    no votes writes no checkpoint and passes."""
    g = ComparedSteps(h)
    give_checkpoints(h, module, holder, 2**32 - 1)
    g.ok(module, "transfer", other, holder, amount)
    assert h.model.state(module).num_checkpoints[holder] == 2**32
    g.ok(module, "transfer", holder, other, amount)
    assert h.model.state(module).num_checkpoints[holder] == 2**32
    g.wait(12)
    g.reverts("TOO_MANY_CHECKPOINTS", module, "transfer", other, holder, amount)
    g.reverts("TOO_MANY_CHECKPOINTS", module, "delegate", holder, other)
    g.ok(module, "transfer", holder, other, 0)


def expected_setting(spec: Any, module: str, key: int, value: int,
                     via: str | None = None) -> tuple[bool, str | None, str | None, str]:
    """(succeeds, reason, parameter, where the value lies) for "set ``key`` of
    ``module`` to ``value``" (through the timelock ``via``, when given), from
    the spec's governed parameters and their bounds alone."""
    from reference.codegen import governed_bounds
    from reference.runtime import key_of

    governed = spec.modules[module].governed
    name = next((g for g in governed if key_of(f"{module}.{g}") == key), None)
    if name is None or (via is not None and governed[name].via != via):
        return False, "UNKNOWN_PARAMETER", None, "unknown"
    low, high = governed_bounds(spec, module, name)
    where = ("below" if value < low else "above" if value > high
             else "low" if value == low else "high" if value == high else "inside")
    if low <= value <= high:
        return True, None, name, where
    return False, "OUT_OF_BOUNDS", name, where


def scenario_compared(binding_path: Path, scenario: str, backend: str) -> tuple[Any, list[Any]]:
    """A harness of ``binding_path`` on ``backend`` and the reports of the
    steps of ``scenario``, each of which must agree in full."""
    from conformance.binding import load_implementation
    from conformance.harness import Harness

    binding, spec = load_implementation(binding_path)
    h = Harness(spec, binding, backend)
    reports = h.start_from(scenario)
    diverged = [r for r in reports if not r.ok]
    assert not diverged, diverged[0].differences
    return h, reports
