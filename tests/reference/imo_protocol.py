"""A small driver for the bundled protocol's reference model, shared by
``test_vectors.py`` and ``test_scenarios.py``.

Every action runs with ``check_rules=True``: each invariant and ``ensures`` of
the spec is checked after every successful step, so a test that drives the
model also checks the whole rule set on the states it reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from reference.model import Deployment, Model, Outcome
from reference.runtime import MAX_UINT256, Env, Map, Revert, Signature
from spec import ir

WAD = 10**18
BPS = 10_000
DAY = 86_400
YEAR = 31_536_000
T0 = 1_700_000_000  # the offering window opens here

# Externally owned accounts (far from the module addresses 0x1000..0x1010).
MERCHANT = 0xE7C4A47
REPORTER = 0x4E904
GUARDIAN = 0x64A4D
ASSET_MANAGER = 0xA55E7
TREASURY = 0x74EA5
ADMIN = 0xAD814
MT_ADMIN = 0xAD815
FUNDER = 0xF04D
ALICE = 0xA11CE
BOB = 0xB0B
CAROL = 0xCA201
DAVE = 0xDA5E
RELAYER = 0x4E1A7
ATTACKER = 0xBAD

DEFAULT_PARAMS: dict[str, int] = {
    "offering.merchant": MERCHANT,
    "offering.start": T0,
    "oracle.reporter": REPORTER,
    "controller.guardian": GUARDIAN,
    "controller.asset_manager": ASSET_MANAGER,
    "dmg.treasury": TREASURY,
    "timelock.admin": ADMIN,
    "governor.guardian": GUARDIAN,
    "mt_timelock.admin": MT_ADMIN,
    "mt_governor.guardian": GUARDIAN,
    "vesting.funder": FUNDER,
    "mdcep.listed": 1,  # a founding market; musdc is deployed unlisted (governance adds it)
}


def raise_for_pool_dcep(dcep: int) -> int:
    """The smallest raise whose pool share (the raise less its 70% reserve
    share, rounded up) is exactly ``dcep``: ceil(10*dcep/3)."""
    return -(-10 * dcep // 3)


def canonical(value: Any) -> Any:
    """A comparable copy of model state: maps become dicts without the entries
    that hold their default value; records and states become field tuples."""
    if isinstance(value, Map):
        default = canonical(value.default())
        out = {}
        for key, item in value.items():
            c = canonical(item)
            if c != default:
                out[key] = c
        return out
    if is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, canonical(getattr(value, f.name))) for f in fields(value))
    return value


class Protocol:
    """The deployed protocol model, with a clock and helpers for tests."""

    def __init__(self, spec: ir.Spec, params: Mapping[str, int] | None = None, *, now: int = T0,
                 block: int = 1, chain_id: int = 1) -> None:
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.model = Model.deploy(spec, Deployment(params=self.params, now=now, block_number=block,
                                                   chain_id=chain_id))
        self.now = now
        self.block = block
        self.chain_id = chain_id

    # ------------------------------------------------------------ clock
    def at(self, now: int, block: int | None = None) -> Protocol:
        """Move the clock (time never runs backwards; a new block by default)."""
        assert now >= self.now, (now, self.now)
        self.now = now
        self.block = block if block is not None else self.block + 1
        return self

    def env(self, caller: int) -> Env:
        return Env(caller, self.now, self.block, self.chain_id)

    # ---------------------------------------------------------- actions
    def run(self, module: str, action: str, caller: int, *args: Any) -> Outcome:
        return self.model.execute(module, action, self.env(caller), *args, check_rules=True)

    def ok(self, module: str, action: str, caller: int, *args: Any) -> Any:
        out = self.run(module, action, caller, *args)
        assert out.ok, f"{module}.{action} reverted: {out.reason or out.error}"
        return out.value

    def reverts(self, reason: str | None, module: str, action: str, caller: int, *args: Any) -> Outcome:
        """Run an action that must revert with ``reason``, and check that the
        revert undid everything (every module's state, no events)."""
        before = self.snapshot()
        out = self.run(module, action, caller, *args)
        assert not out.ok, f"{module}.{action} should revert with {reason}, returned {out.value}"
        assert out.reason == reason, f"{module}.{action}: expected {reason}, got {out.reason or out.error}"
        assert out.events == ()
        after = self.snapshot()
        changed = sorted(m for m in before if before[m] != after[m])
        assert not changed, f"{module}.{action} reverted but left changes in {changed}"
        return out

    def snapshot(self) -> dict[str, Any]:
        """Every module's state as plain values, entries at their default left out
        (reading a missing nested map inserts an empty one, which changes nothing)."""
        return {name: canonical(st) for name, st in self.model.world.state.items()}

    # ----------------------------------------------------------- access
    def st(self, module: str) -> Any:
        return self.model.state(module)

    def addr(self, module: str) -> int:
        return self.model.address(module)

    def fn(self, module: str, name: str, *args: Any, caller: int = 0) -> Any:
        return self.model.call_fn(module, name, self.env(caller), *args)

    def fn_reason(self, module: str, name: str, *args: Any) -> str | None:
        """The revert reason of a spec function that is expected to revert."""
        try:
            value = self.fn(module, name, *args)
        except Revert as exc:
            return exc.reason
        raise AssertionError(f"{module}.{name} returned {value} instead of reverting")

    def record(self, module: str, name: str, *fields: Any) -> Any:
        return self.model.record(module, name, *fields)

    def sign(self, owner: int, kind: str, request: Any, market: str = "mdcep", **override: Any) -> Signature:
        """``owner``'s canonical signature over ``request`` for this chain and the
        ``market`` contract; ``override`` replaces any field (a forged or replayed one)."""
        fields: dict[str, Any] = {"signer": owner, "request_type": kind, "request": request,
                                  "chain_id": self.chain_id, "verifying_contract": self.addr(market)}
        return Signature(**(fields | override))

    def balance(self, token: str, who: int) -> int:
        m = self.st(token).balance_of
        return int(m.get(who, 0))

    # ---------------------------------------------------------- helpers
    def give_dcep(self, who: int, amount: int, *spenders: str) -> None:
        """Mint DCEP to ``who`` and approve the named modules without limit."""
        self.ok("dcep", "mint", who, who, amount)
        for module in spenders:
            self.ok("dcep", "approve", who, self.addr(module), MAX_UINT256)

    def approve(self, token: str, owner: int, spender_module: str) -> None:
        self.ok(token, "approve", owner, self.addr(spender_module), MAX_UINT256)

    def contribute(self, who: int, amount: int) -> None:
        self.give_dcep(who, amount, "offering")
        self.ok("offering", "contribute", who, amount)

    def end_time(self) -> int:
        o = self.st("offering")
        return int(o.start + o.duration)

    def launch(self, contributions: Mapping[int, int]) -> int:
        """Contribute at the window's opening, finalize at its end; returns the
        launch time (the pool's first observation)."""
        self.at(self.st("offering").start)
        for who, amount in contributions.items():
            self.contribute(who, amount)
        self.at(self.end_time())
        self.ok("offering", "finalize", ALICE)
        assert self.st("offering").succeeded
        return self.now

    def swap_dcep_for_mt(self, who: int, dcep_in: int, min_out: int = 0) -> int:
        self.give_dcep(who, dcep_in, "pool")
        return int(self.ok("pool", "swap_dcep_for_mt", who, dcep_in, min_out, who, self.now))

    def floor_holds(self) -> bool:
        r = self.st("reserve")
        return bool(r.reserve_dcep * WAD >= self.st("phases").floor * r.capacity)
