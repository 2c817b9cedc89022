"""Attack tests on the bundled Vyper contracts (docs/protocol.md, "Attacks the spec
and contracts must withstand"), merchant-offering side.

Every test drives the deployed contracts through :class:`Harness` with the
bundled binding (``evm_backend/contracts/binding.json``), so each step is also
run on the reference model and compared in full (success or revert and
reason, return value, events, the whole state of every module). On top of
that, each test asserts the exact values the attack is about, computed here
from docs/protocol.md's formulas: a contract that priced from ``balanceOf``, read
the spot price, rounded the wrong way or checked the cap per sale would fail
them.

The attacks:
- first-depositor and donation inflation, on the pool and on the farm;
- taking the reserve's yield without contributing, or out of the backing;
- rounding in the caller's favour: top-up-then-exit (and -redeem) on the
  reserve, contribute-then-claim on the offering, add-then-remove on the pool;
- opening the floor with a one-block price move (a big swap, then
  ``reserve.redeem`` in the same block);
- sandwiching a buyback (a front-run swap makes it revert on its TWAP-derived
  minimum output);
- exceeding the merchant's cash-out cap through many small sales.

Three of them are plain sequences and run from data, the binding's attack file
``evm_backend/contracts/attacks.json`` (``imospec fill`` writes them as
portable fixtures too): ``pool_launch_front_run_and_donation``,
``offering_split_contributions`` and ``flash_staking``. The others stay here:
their arguments are computed from the state as they go (the largest sale under
the cap by bisection, a front-run sized against the TWAP bound, amounts from
balances), they compare branches from one snapshot (the sandwiches), or they
need another deployment (a floor that does not divide WAD, the offering's
constructor bounds).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.binding import Binding, load_implementation
from conformance.harness import Harness, Step, normal, to_abi, to_checksum
from reference.model import Outcome
from spec import ir

BINDING = Path(__file__).resolve().parents[2] / "evm_backend" / "contracts" / "binding.json"

WAD = 10**18
BPS = 10_000
MAX = 2**256 - 1
ACC_PRECISION = 10**12
MINIMUM_LIQUIDITY = 1000
IRON, BRONZE, SILVER, GOLD = 0, 1, 2, 3


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """docs/protocol.md section 2: in*997*R_out / (R_in*1000 + in*997), rounded down."""
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------ driver


class Protocol:
    """The bundled contracts and the model side by side, with the helpers the
    attacks need. Every step must agree with the model in full."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.actors = list(harness.actors)
        self.merchant: int = self.state("offering").merchant
        # an attacker and a victim (neither is the merchant)
        self.attacker = self.actors[3]
        self.victim = self.actors[1]
        assert self.merchant not in (self.attacker, self.victim)

    # ---------------------------------------------------------- steps
    def step(self, module: str, action: str, caller: int, *args: Any) -> Outcome:
        report = self.h.run(Step("action", module, action, caller, tuple(args)))
        assert report.ok, f"{report.step.describe()}: " + "; ".join(str(d) for d in report.differences)
        assert report.model is not None
        return report.model

    def act(self, module: str, action: str, caller: int, *args: Any) -> Any:
        """Run an action that must succeed on both sides; return its value."""
        out = self.step(module, action, caller, *args)
        assert out.ok, f"{module}.{action} reverted {out.reason!r}"
        return out.value

    def reverts(self, reason: str | None, module: str, action: str, caller: int, *args: Any) -> None:
        """Run an action that must revert with ``reason`` on both sides."""
        report = self.h.run(Step("action", module, action, caller, tuple(args)))
        assert report.ok, "; ".join(str(d) for d in report.differences)
        assert report.model is not None and report.evm is not None
        assert not report.model.ok, f"{module}.{action} succeeded, expected {reason!r}"
        assert report.model.reason == reason
        assert report.evm.revert_reason == reason

    def wait(self, seconds: int, blocks: int = 1) -> None:
        self.h.run(Step("time", seconds=seconds, blocks=blocks))

    # ---------------------------------------------------------- reads
    @property
    def now(self) -> int:
        return self.h.backend.timestamp

    def state(self, module: str) -> Any:
        """The model's state of ``module`` (equal to the contract's after every step)."""
        return self.h.model.state(module)

    def address(self, module: str) -> int:
        return self.h.addresses[module]

    def balance(self, token: str, who: int | str) -> int:
        key = self.address(who) if isinstance(who, str) else who
        return int(self.state(token).balance_of[key])

    def view(self, module: str, fn: str, *args: Any) -> Any:
        """A spec function, evaluated on the contract and on the model; both must agree."""
        decl = self.h.spec.modules[module].fns[fn]
        abi_args = [to_abi(a, t) for a, (_, t) in zip(args, decl.params, strict=True)]
        name = self.h.binding.modules[module].name(fn)
        evm = normal(self.h.backend.call(to_checksum(self.address(module)), name, abi_args))
        model = normal(self.h.model.call_fn(module, fn, self.h.env(self.h.deployer), *args))
        assert evm == model, f"{module}.{fn}{args}: model {model} != evm {evm}"
        return evm

    def spot(self) -> int:
        """The pool's spot price (DCEP per MT, WAD) from its reserves."""
        pool = self.state("pool")
        return int(pool.reserve_dcep * WAD // pool.reserve_mt)

    def phase(self) -> int:
        return int(self.view("phases", "current"))

    # ---------------------------------------------------------- snapshots
    def snapshot(self) -> tuple[int, dict[str, Any]]:
        return self.h.backend.snapshot(), copy.deepcopy(self.h.model.world.state)

    def restore(self, snap: tuple[int, dict[str, Any]]) -> None:
        sid, state = snap
        self.h.backend.revert(sid)  # also puts back the block time and number
        self.h.model.world.restore(copy.deepcopy(state))

    # ---------------------------------------------------------- scenarios
    def launch(self, contributions: dict[int, int]) -> None:
        """Contribute inside the offering's window, close it, finalize and
        claim every contributor's LP."""
        st = self.state("offering")
        end = st.start + st.duration
        if self.now < st.start:
            self.wait(st.start - self.now)
        assert self.now < end, "the bundled binding must leave the offering window open after its prelude"
        for who, amount in contributions.items():
            self.act("offering", "contribute", who, amount)
        self.wait(end - self.now)
        self.act("offering", "finalize", self.actors[2])
        assert self.state("offering").succeeded
        for who in self.actors:
            if self.state("offering").contributed[who] > 0:
                self.act("offering", "claim", who)

    def twap_ready(self) -> None:
        """Wait until the pool's TWAP window has passed since the launch."""
        pool = self.state("pool")
        ready = pool.obs_old_time + pool.twap_window
        if self.now < ready:
            self.wait(ready - self.now)

    def hold_price(self) -> None:
        """Keep the current spot price for two full TWAP windows, rolling the
        oracle, so that the TWAP becomes that price."""
        window = self.state("pool").twap_window
        for _ in range(2):
            self.wait(window)
            self.act("pool", "observe", self.actors[2])

    def dump(self, who: int) -> None:
        """``who`` takes out all their LP and sells all their MT into the pool,
        in the current block."""
        lp = self.balance("pool", who)
        if lp:
            self.act("pool", "remove_liquidity", who, lp, 0, 0, who, MAX)
        self.act("pool", "swap_mt_for_dcep", who, self.balance("mt", who), 0, who, MAX)


class Play:
    """An attack of the binding's attack file (``evm_backend/contracts/attacks.json``)
    run step by step through :class:`Protocol`: every step is compared with the
    model and must end as the file says (its ``reverts``, else success). The
    test asserts what the attack is about between the steps; :meth:`finish`
    checks that every step of the file ran, so the data and the test cannot
    drift apart."""

    def __init__(self, p: Protocol, name: str) -> None:
        self.p = p
        self.attack = p.h.binding.attacks[name]
        assert self.attack.scenario is None, "these attacks start after the prelude, where `p` starts"
        self.steps = list(p.h.attack_steps(self.attack))
        self.at = 0
        self.values: list[Any] = []  # the return value of each action run (None for a revert)

    def upto(self, index: int) -> list[Any]:
        """Run the file's steps before step ``index``; return the actions' values."""
        values: list[Any] = []
        while self.at < len(self.steps) and self.steps[self.at][0] < index:
            _, step, reason = self.steps[self.at]
            self.at += 1
            if step.kind == "time":
                self.p.wait(step.seconds, step.blocks)
                continue
            if reason is None:
                values.append(self.p.act(step.module, step.action, step.caller, *step.args))
            else:
                self.p.reverts(reason, step.module, step.action, step.caller, *step.args)
                values.append(None)
        self.values += values
        return values

    def finish(self) -> list[Any]:
        """Run the rest of the file's steps."""
        values = self.upto(len(self.attack.steps))
        assert self.at == len(self.steps)
        return values


def _spec_and_binding(overrides: dict[str, str] | None = None) -> tuple[ir.Spec, Binding]:
    binding, spec = load_implementation(BINDING)
    if overrides:
        binding = dataclasses.replace(binding, params={**binding.params, **overrides})
    return spec, binding


Launched = Callable[..., Harness]


@pytest.fixture(scope="module")
def launched() -> Iterator[Launched]:
    """``launched(backend, overrides)``: a harness of the bundled binding
    (with ``overrides`` of its parameters) on ``backend``, comparing every
    step in full, put back in the state after the prelude
    (``Harness.start_from(None)``: both sides, the clock, the storage index
    and the views). Deployed once a module for each backend and overrides:
    the deployment and the prelude, compared in full at each step, are about
    5 s of CPU a harness, and the tests of this file need four."""
    made: dict[tuple[str, tuple[tuple[str, str], ...]], Harness] = {}

    def get(backend: str, overrides: dict[str, str] | None = None) -> Harness:
        key = (backend, tuple(sorted((overrides or {}).items())))
        if key not in made:
            spec, binding = _spec_and_binding(overrides)
            made[key] = Harness(spec, binding, backend, full_compare=True)
        h = made[key]
        assert h.deployment_differences == []
        assert all(r.ok for r in h.prelude_reports)
        h.start_from(None)
        return h

    yield get
    made.clear()


@pytest.fixture(scope="module", params=["pyrevm", "py-evm"])
def harness(request: pytest.FixtureRequest, launched: Launched) -> Harness:
    return launched(request.param)


@pytest.fixture
def p(harness: Harness) -> Iterator[Protocol]:
    harness.reset()
    yield Protocol(harness)


# ------------------------------------------------- first depositor, donations


def test_pool_launch_cannot_be_front_run_or_priced_by_a_donation(p: Protocol) -> None:
    """First-depositor attack on the pool: nobody but the offering can make
    the first deposit, and DCEP sent to the pool before the launch changes
    neither the opening price nor the LP minted."""
    play = Play(p, "pool_launch_front_run_and_donation")  # the steps: evm_backend/contracts/attacks.json
    # the attacker tries to open the pool at a price of its own, and empty (both revert UNAUTHORIZED)
    dcep_in_pool = p.balance("dcep", "pool")
    play.upto(2)
    assert p.state("pool").total_supply == 0
    # and donates DCEP to the pool's address before the launch
    donation = 10**24
    play.upto(3)
    assert p.balance("dcep", "pool") == dcep_in_pool + donation

    # the launch: the attacker contributes 10**24, the window closes, every contributor claims
    play.upto(7)
    assert p.state("offering").succeeded and p.balance("pool", p.attacker) > 0
    off, pool = p.state("offering"), p.state("pool")
    raised = off.raised
    to_reserve = ceil_div(raised * off.reserve_bps, BPS)
    to_pool = raised - to_reserve
    mt_seed = off.mt_total * off.pool_mt_bps // BPS
    # the pool opened at the offering's ratio, on its accounting, not its balance
    assert (pool.reserve_mt, pool.reserve_dcep) == (mt_seed, to_pool)
    assert p.balance("dcep", "pool") == to_pool + donation
    assert off.lp_total == math.isqrt(mt_seed * to_pool) - MINIMUM_LIQUIDITY
    assert p.balance("pool", 0) == MINIMUM_LIQUIDITY
    assert pool.total_supply == off.lp_total + MINIMUM_LIQUIDITY
    assert p.spot() == to_pool * WAD // mt_seed
    # the reserve got its 70% by top_up, and its floor guarantee holds
    assert p.state("reserve").reserve_dcep == to_reserve
    assert p.state("reserve").capacity == to_reserve * WAD // p.state("phases").floor

    # a later small depositor still gets a share (no rounding to zero)
    play.upto(8)  # the victim buys MT
    pool = p.state("pool")
    r_mt, r_dcep, supply = pool.reserve_mt, pool.reserve_dcep, pool.total_supply
    small = 10**6
    dcep_in = small * r_dcep // r_mt
    expected = min(small * supply // r_mt, dcep_in * supply // r_dcep)
    assert expected > 0
    assert play.finish() == [expected]  # the victim adds 10**6 MT


def test_pool_donation_moves_no_price_and_no_lp_share(p: Protocol) -> None:
    """Donation inflation on the pool: tokens sent straight to the pool change
    no reserve, no spot price, no TWAP and no LP share."""
    attacker, victim = p.attacker, p.victim
    p.launch({attacker: 10**24})
    p.act("pool", "swap_dcep_for_mt", attacker, 10**22, 0, attacker, MAX)
    p.act("pool", "swap_dcep_for_mt", victim, 10**22, 0, victim, MAX)
    p.twap_ready()
    pool = p.state("pool")
    reserves = (pool.reserve_mt, pool.reserve_dcep, pool.total_supply)
    spot, twap = p.spot(), p.view("pool", "twap")

    # the donation: DCEP and every MT the attacker holds
    mt_donated = p.balance("mt", attacker)
    assert mt_donated > 0
    p.act("dcep", "transfer", attacker, p.address("pool"), 10**24)
    p.act("mt", "transfer", attacker, p.address("pool"), mt_donated)
    pool = p.state("pool")
    assert (pool.reserve_mt, pool.reserve_dcep, pool.total_supply) == reserves
    assert p.spot() == spot
    assert p.view("pool", "twap") == twap
    assert p.balance("dcep", "pool") == pool.reserve_dcep + 10**24
    assert p.balance("mt", "pool") == pool.reserve_mt + mt_donated

    # the victim's deposit is priced on the reserves, as if there had been no donation
    r_mt, r_dcep, supply = reserves
    mt_in = p.balance("mt", victim)
    dcep_in = mt_in * r_dcep // r_mt
    expected = min(mt_in * supply // r_mt, dcep_in * supply // r_dcep)
    dcep_before = p.balance("dcep", victim)
    assert p.act("pool", "add_liquidity", victim, mt_in, 10**25, 0, 0, victim, MAX) == expected
    assert p.balance("dcep", victim) == dcep_before - dcep_in

    # the attacker's LP redeems its pro-rata share of the reserves only
    pool = p.state("pool")
    lp = p.balance("pool", attacker)
    mt_out = lp * pool.reserve_mt // pool.total_supply
    dcep_out = lp * pool.reserve_dcep // pool.total_supply
    before = (p.balance("mt", attacker), p.balance("dcep", attacker))
    p.act("pool", "remove_liquidity", attacker, lp, 0, 0, attacker, MAX)
    assert (p.balance("mt", attacker), p.balance("dcep", attacker)) == (before[0] + mt_out, before[1] + dcep_out)
    # the donation stays stranded in the pool, outside the accounting
    pool = p.state("pool")
    assert p.balance("dcep", "pool") - pool.reserve_dcep == 10**24
    assert p.balance("mt", "pool") - pool.reserve_mt == mt_donated


def test_farm_first_staker_and_lp_donation_do_not_dilute_rewards(p: Protocol) -> None:
    """First-depositor and donation inflation on the farm: the attacker stakes
    1 wei of LP first, then sends a large amount of LP straight to the farm.
    Rewards are shared over `total_staked`, so the victim still earns its
    pro-rata share, and the donated LP is not the attacker's stake."""
    attacker, victim = p.attacker, p.victim
    p.launch({attacker: 10**24})
    p.act("offering", "fund_farm", p.merchant, 10**22)
    p.act("farm", "deposit", attacker, 1)
    donation = 10**22
    p.act("pool", "transfer", attacker, p.address("farm"), donation)
    stake = 10**21
    p.act("farm", "deposit", victim, stake)
    farm = p.state("farm")
    assert farm.total_staked == stake + 1
    assert p.balance("pool", "farm") == stake + 1 + donation
    assert farm.acc_per_share == 0

    dt = 1000
    p.wait(dt)
    reward = farm.reward_per_second * dt
    assert reward < farm.funded
    acc = reward * ACC_PRECISION // (stake + 1)
    assert p.view("farm", "pending_reward", victim) == stake * acc // ACC_PRECISION
    got = p.act("farm", "harvest", victim)
    assert got == stake * acc // ACC_PRECISION
    # the victim gets its whole share, up to the rounding of acc (below 1 MT-wei per staked unit)
    assert reward * stake // (stake + 1) - stake // 10**6 <= got <= reward
    assert p.act("farm", "harvest", attacker) == acc // ACC_PRECISION  # 1 wei's share: nothing
    assert p.state("farm").acc_per_share == acc
    # budget: paid plus all pending never exceeds the funded budget
    farm = p.state("farm")
    assert (
        farm.paid + p.view("farm", "pending_reward", victim) + p.view("farm", "pending_reward", attacker) <= farm.funded
    )

    # the donated LP is nobody's stake
    p.reverts("INSUFFICIENT_STAKE", "farm", "withdraw", attacker, donation)
    lp_before = p.balance("pool", attacker)
    p.act("farm", "emergency_withdraw", attacker)
    assert p.balance("pool", attacker) == lp_before + 1
    assert p.balance("pool", "farm") == stake + donation


# ------------------------------------------------------ rounding, mint-then-redeem


def test_reserve_top_up_then_exit_never_profits() -> None:
    """Rounding in the caller's favour on the reserve, with a floor that does
    not divide WAD (1/3 DCEP per MT, rounded down): a top-up adds
    floor(amount*WAD/floor) capacity, and exiting that amount burns
    ceil(amount*WAD/floor) MT. A top-up-then-exit round trip returns exactly
    the DCEP put in and always costs at least the MT the capacity was worth.
    Exits are open in Iron only."""
    floor = WAD // 3  # 333333333333333333
    spec, binding = _spec_and_binding({"phases.floor": str(floor)})
    h = Harness(spec, binding, "pyrevm", full_compare=True)
    assert all(r.ok for r in h.prelude_reports)
    p = Protocol(h)
    p.launch({p.attacker: 4 * 10**24})
    user = p.victim
    p.act("pool", "swap_dcep_for_mt", user, 10**23, 0, user, MAX)
    assert p.balance("mt", user) > 0
    # exit is open in Iron only ("储备金池正常无法取出"): a dump held for whole windows takes the TWAP there
    p.twap_ready()
    p.act("reserve", "top_up", user, 10)
    p.reverts("WRONG_PHASE", "reserve", "exit", user, 10)
    p.dump(p.attacker)
    p.hold_price()
    assert p.phase() == IRON
    p.act("reserve", "exit", user, 10)
    for amount in (1, 2, 3, 7, 10**18 + 1, 123456789123456789123):
        dcep0, mt0 = p.balance("dcep", user), p.balance("mt", user)
        res0 = p.state("reserve")
        cap0, held0 = res0.capacity, res0.reserve_dcep
        added = p.act("reserve", "top_up", user, amount)
        assert added == amount * WAD // floor
        burned = p.act("reserve", "exit", user, amount)
        assert burned == ceil_div(amount * WAD, floor)
        assert burned >= added
        assert p.balance("dcep", user) == dcep0  # the DCEP comes back, not a wei more
        assert p.balance("mt", user) == mt0 - burned
        res = p.state("reserve")
        assert res.capacity == cap0 + added - burned <= cap0
        assert res.reserve_dcep == held0
        assert res.reserve_dcep * WAD >= floor * res.capacity  # the floor guarantee
    # 1 wei buys 3 MT of capacity, and taking it back costs 4 MT
    assert (1 * WAD // floor, ceil_div(WAD, floor)) == (3, 4)
    # a contributor cannot take back more than they added
    p.reverts("EXCEEDS_CONTRIBUTION", "reserve", "exit", user, 1)


def test_reserve_yield_cannot_be_taken_without_contributing_or_from_the_backing(p: Protocol) -> None:
    """The reserve's yield (docs/protocol.md section 3): the attacker tries to
    take yield it did not earn, and to take it out of the floor's backing.
    - With no contributor but the offering, nothing is charged and
      `fund_yield` reverts NO_CONTRIBUTORS: the offering's 70% earns nothing.
    - An address that never contributed claims 0.
    - Topping up right after a funding (back-running the booking) earns
      nothing of that funding, and the contribution cannot be taken back
      outside Iron (WRONG_PHASE) to be recycled.
    - The next funding is shared pro rata, one rounding down each.
    - Every claim leaves reserve_dcep and capacity as they were; the claims
      sum to at most what was funded; a second claim pays nothing."""
    attacker, victim, merchant = p.attacker, p.victim, p.merchant
    p.launch({attacker: 4 * 10**24})
    offering = p.address("offering")
    res = p.state("reserve")
    assert res.contributed[offering] > 0
    assert res.yield_shares[offering] == 0 and res.total_yield_shares == 0
    bps = p.state("buyback").reserve_yield_bps
    assert bps > 0
    p.reverts("NO_CONTRIBUTORS", "reserve", "fund_yield", attacker, WAD)
    assert p.view("buyback", "reserve_yield_for", 10**22) == 0
    p.act("buyback", "book_revenue", merchant, 10**22)
    assert p.state("reserve").yield_funded == 0

    c = 10**22 + 7
    p.act("reserve", "top_up", victim, c)
    revenue = 10**23 + 1
    y = ceil_div(revenue * bps, BPS)
    assert p.view("buyback", "reserve_yield_for", revenue) == y
    p.act("buyback", "book_revenue", merchant, revenue)
    acc = y * ACC_PRECISION // c
    assert p.state("reserve").yield_per_share == acc
    assert p.view("reserve", "pending_yield", victim) == c * acc // ACC_PRECISION

    # no contribution, no yield
    dcep0 = p.balance("dcep", attacker)
    assert p.act("reserve", "claim_yield", attacker) == 0
    assert p.balance("dcep", attacker) == dcep0
    # back-running the booking earns nothing of it
    stake = 10**24
    p.act("reserve", "top_up", attacker, stake)
    assert p.view("reserve", "pending_yield", attacker) == 0
    assert p.act("reserve", "claim_yield", attacker) == 0
    p.twap_ready()
    assert p.phase() != IRON
    p.reverts("WRONG_PHASE", "reserve", "exit", attacker, stake)
    # the next funding is shared pro rata
    p.act("buyback", "book_revenue", merchant, revenue)
    acc2 = acc + y * ACC_PRECISION // (c + stake)
    assert p.state("reserve").yield_per_share == acc2
    assert p.view("reserve", "pending_yield", attacker) == (stake * acc2 - stake * acc) // ACC_PRECISION
    assert p.view("reserve", "pending_yield", victim) == c * acc2 // ACC_PRECISION

    # the claims never touch the backing, and never exceed the funding
    res = p.state("reserve")
    backing = (res.reserve_dcep, res.capacity)
    got_v = p.act("reserve", "claim_yield", victim)
    got_a = p.act("reserve", "claim_yield", attacker)
    assert (got_v, got_a) == (c * acc2 // ACC_PRECISION, (stake * acc2 - stake * acc) // ACC_PRECISION)
    assert got_v + got_a <= 2 * y
    assert p.act("reserve", "claim_yield", attacker) == 0
    assert p.act("reserve", "claim_yield", victim) == 0
    res = p.state("reserve")
    assert (res.reserve_dcep, res.capacity) == backing
    assert (res.yield_funded, res.yield_paid) == (2 * y, got_v + got_a)
    assert p.balance("dcep", "reserve") == res.reserve_dcep + res.yield_funded - res.yield_paid
    floor = p.state("phases").floor
    assert res.reserve_dcep * WAD >= floor * res.capacity


def test_offering_contribute_then_claim_rounds_down_and_splitting_gains_nothing(p: Protocol) -> None:
    """Rounding on the offering: each claim is contribution*lp_total/raised
    rounded down, the dust stays locked in the offering, a second claim gets
    nothing, and splitting a contribution into many small ones changes
    nothing."""
    a = p.attacker
    piece = 10**23 + 7
    play = Play(p, "offering_split_contributions")  # the steps: evm_backend/contracts/attacks.json
    st = p.state("offering")
    assert st.start <= p.now < st.start + st.duration  # the window is open after the prelude
    before = p.state("offering").contributed[a]
    play.upto(9)  # the attacker adds 9 * piece in 9 contributions
    contributed = {who: p.state("offering").contributed[who] for who in p.actors}
    assert contributed[a] == before + 9 * piece
    play.upto(12)  # the window closes, the offering is finalized, every contributor claims
    assert p.now == st.start + st.duration
    off = p.state("offering")
    raised, lp_total = off.raised, off.lp_total
    claims = {who: p.balance("pool", who) for who in p.actors}
    for who in p.actors:
        # the claim depends on the sum contributed only, rounded down
        assert claims[who] == contributed[who] * lp_total // raised
    assert off.lp_claimed == sum(claims.values()) < lp_total  # rounding left dust...
    assert off.claimed_total == raised
    assert p.balance("pool", "offering") == lp_total - off.lp_claimed  # ...locked in the offering
    assert play.finish() == [None] * len(p.actors)  # a second claim: NOTHING_TO_CLAIM for everyone


def test_pool_add_then_remove_returns_no_more_than_deposited(p: Protocol) -> None:
    """Rounding on the pool: adding liquidity and removing it at once returns
    at most what was deposited, each amount rounded down."""
    p.launch({p.attacker: 10**24})
    user = p.victim
    p.act("pool", "swap_dcep_for_mt", user, 10**22 + 3, 0, user, MAX)
    for mt_in in (1001, 10**18 + 1, p.balance("mt", user) // 3):
        pool = p.state("pool")
        dcep_in = mt_in * pool.reserve_dcep // pool.reserve_mt
        mt0, dcep0 = p.balance("mt", user), p.balance("dcep", user)
        lp = p.act("pool", "add_liquidity", user, mt_in, 10**25, 0, 0, user, MAX)
        pool = p.state("pool")
        mt_back = lp * pool.reserve_mt // pool.total_supply
        dcep_back = lp * pool.reserve_dcep // pool.total_supply
        if mt_back == 0 or dcep_back == 0:
            p.reverts("INSUFFICIENT_LIQUIDITY_BURNED", "pool", "remove_liquidity", user, lp, 0, 0, user, MAX)
            continue
        p.act("pool", "remove_liquidity", user, lp, 0, 0, user, MAX)
        assert p.balance("mt", user) == mt0 - mt_in + mt_back
        assert p.balance("dcep", user) == dcep0 - dcep_in + dcep_back
        assert mt_back <= mt_in and dcep_back <= dcep_in


# ---------------------------------------------------- floor and the TWAP


def test_one_block_price_move_cannot_open_the_floor(p: Protocol) -> None:
    """A holder of most of the LP pulls it and dumps all the MT: the spot price
    falls far below the floor, but floor redemption in the same block (and in
    the next one) still reverts WRONG_PHASE, because the phase comes from the
    TWAP. Only a price held for whole TWAP windows opens the floor, and then
    redemption pays exactly the floor."""
    attacker = p.attacker
    p.launch({attacker: 4 * 10**24})
    p.act("pool", "swap_dcep_for_mt", p.victim, 10**22, 0, p.victim, MAX)  # a holder to redeem
    p.twap_ready()
    floor = p.state("phases").floor
    assert p.phase() == SILVER
    twap_before = p.view("pool", "twap")

    p.dump(attacker)  # one block: remove liquidity, sell every MT
    spot = p.spot()
    assert spot < floor // 2
    twap = p.view("pool", "twap")
    assert twap == twap_before and twap >= floor
    assert p.phase() == SILVER
    q = 1000 * WAD
    p.reverts("WRONG_PHASE", "reserve", "redeem", attacker, q, MAX)
    p.reverts("WRONG_PHASE", "reserve", "redeem", p.victim, q, MAX)

    p.wait(12)  # the next block: the moved price has counted for 12 seconds only
    assert p.view("pool", "twap") >= floor
    p.reverts("WRONG_PHASE", "reserve", "redeem", p.victim, q, MAX)

    # held for whole windows, the low price is the TWAP: Iron opens, at the floor price
    p.hold_price()
    assert p.view("pool", "twap") < floor
    assert p.phase() == IRON
    capacity = p.state("reserve").capacity
    mt0, dcep0 = p.balance("mt", p.victim), p.balance("dcep", p.victim)
    paid = p.act("reserve", "redeem", p.victim, q, MAX)
    assert paid == q * floor // WAD
    assert (p.balance("mt", p.victim), p.balance("dcep", p.victim)) == (mt0 - q, dcep0 + paid)
    assert p.state("reserve").capacity == capacity - q
    # redemption rounds down: an odd wei of MT pays nothing and is refused
    p.reverts("INSUFFICIENT_OUTPUT_AMOUNT", "reserve", "redeem", p.victim, 1, MAX)
    assert p.act("reserve", "redeem", p.victim, 3, MAX) == 3 * floor // WAD
    # top-up-then-redeem returns at most the DCEP put in
    added = p.act("reserve", "top_up", p.victim, 10**18 + 1)
    assert p.act("reserve", "redeem", p.victim, added, MAX) == added * floor // WAD <= 10**18 + 1
    res = p.state("reserve")
    assert res.reserve_dcep * WAD >= floor * res.capacity


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ((10**18, 2 * 10**18, 10 * 10**18), IRON),  # a sale takes the price just under the floor: Iron
        ((10**18, 2 * 10**18, 10 * 10**18), BRONZE),  # exactly the floor: not Iron
        (None, SILVER),  # the bundled thresholds: exactly bronze_price is Silver
        ((2 * 10**17, 5 * 10**17, 10**18), GOLD),  # exactly the issue price: Gold
    ],
)
def test_phase_gates_are_exact_at_the_thresholds(thresholds: tuple[int, int, int] | None, expected: int,
                                                launched: Launched) -> None:
    """The floor opens strictly below the floor price, and the other gates
    switch exactly at their thresholds (docs/protocol.md section 4), on the TWAP. The
    offering launches the pool at exactly 1 DCEP per MT (a raise of 1,000,000
    DCEP: 300,000 DCEP against 300,000 MT), and the thresholds are placed
    around that price. The pool cannot open below the floor
    (OPENS_BELOW_FLOOR), so the Iron case opens at the floor exactly and a
    small MT sale, held for whole TWAP windows, takes the TWAP just under it."""
    overrides = {}
    if thresholds is not None:
        overrides = dict(
            zip(("phases.floor", "phases.bronze_price", "phases.issue_price"), map(str, thresholds), strict=True)
        )
    p = Protocol(launched("pyrevm", overrides))
    ph = p.state("phases")
    if thresholds is None:
        assert (ph.floor, ph.bronze_price, ph.issue_price) == (WAD // 2, WAD, 10 * WAD)
    raised = p.state("offering").raised
    assert raised <= 10**24, "the bundled prelude must raise at most 1,000,000 DCEP"
    p.launch({p.attacker: 10**24 - raised} if raised < 10**24 else {})
    assert p.state("offering").raised == 10**24 and p.spot() == WAD
    p.twap_ready()
    assert p.view("pool", "twap") == WAD
    merchant, holder = p.merchant, p.victim
    if expected == IRON:
        assert p.phase() == BRONZE
        p.act("offering", "merchant_sell", merchant, WAD, 0, MAX)
        p.hold_price()
        assert p.view("pool", "twap") == p.spot() < WAD
    assert p.phase() == expected
    # MT for the holder without moving the price: LP out at the pool's ratio
    spot = p.spot()
    p.act("pool", "remove_liquidity", holder, 10**21, 0, 0, holder, MAX)
    assert p.spot() == spot
    q = 1000 * WAD
    if expected == IRON:
        assert p.act("reserve", "redeem", holder, q, MAX) == q * ph.floor // WAD
    else:
        p.reverts("WRONG_PHASE", "reserve", "redeem", holder, q, MAX)
    p.act("buyback", "book_revenue", merchant, 10**21)
    if expected in (SILVER, GOLD):
        assert p.act("buyback", "execute", merchant, 10**20, 0, MAX) > 0
    else:
        p.reverts("WRONG_PHASE", "buyback", "execute", merchant, 10**20, 0, MAX)
    if expected == GOLD:
        p.act("farm", "boost", merchant, 3600)
        assert p.state("farm").boost_until == p.now + 3600
    else:
        p.reverts("WRONG_PHASE", "farm", "boost", merchant, 3600)


# ----------------------------------------------------------------- buyback


def test_sandwiched_buyback_reverts_on_its_twap_minimum(p: Protocol) -> None:
    """A front-run swap that pushes the spot price of MT up makes the buyback
    revert (INSUFFICIENT_OUTPUT_AMOUNT from the pool) instead of filling at
    the manipulated price; the front-run does not move the TWAP-derived
    minimum. Without the front-run, or with one inside the slippage, the same
    buyback fills at no less than that minimum."""
    attacker, merchant = p.attacker, p.merchant
    p.launch({attacker: 4 * 10**24})
    share = p.act("buyback", "book_revenue", merchant, 5 * 10**22 - 1)
    assert share == ceil_div((5 * 10**22 - 1) * 2000, BPS) == 10**22  # rounded up
    p.twap_ready()
    assert p.phase() in (SILVER, GOLD)
    spend = share  # the whole allocation
    twap = p.view("pool", "twap")
    slippage = p.state("buyback").max_slippage_bps
    min_out = ceil_div(ceil_div(spend * WAD, twap) * (BPS - slippage), BPS)
    assert p.view("buyback", "min_out_for", spend) == min_out

    snap = p.snapshot()
    # control: no sandwich
    pool = p.state("pool")
    fair = amount_out(spend, pool.reserve_dcep, pool.reserve_mt)
    assert fair >= min_out
    supply = p.state("mt").total_supply
    assert p.act("buyback", "execute", merchant, spend, 0, MAX) == fair
    bb = p.state("buyback")
    assert (bb.spent, bb.burned, bb.guaranteed) == (spend, fair, min_out)
    assert p.state("mt").total_supply == supply - fair  # all of it burned
    p.reverts("EXCEEDS_ALLOCATION", "buyback", "execute", merchant, 1, 0, MAX)  # the allocation is spent
    p.restore(snap)

    # the sandwich: a front-run buy in the same block
    snap = p.snapshot()
    p.act("pool", "swap_dcep_for_mt", attacker, 5 * 10**22, 0, attacker, MAX)
    assert p.view("pool", "twap") == twap  # the TWAP ignores the front-run
    assert p.view("buyback", "min_out_for", spend) == min_out
    pool = p.state("pool")
    assert amount_out(spend, pool.reserve_dcep, pool.reserve_mt) < min_out
    bb_before = dataclasses.astuple(p.state("buyback"))
    p.reverts("INSUFFICIENT_OUTPUT_AMOUNT", "buyback", "execute", merchant, spend, 0, MAX)
    assert dataclasses.astuple(p.state("buyback")) == bb_before
    assert p.state("dcep").allowance[p.address("buyback")][p.address("pool")] == 0
    p.restore(snap)

    # a front-run inside the slippage: the buyback fills, never below its minimum
    p.act("pool", "swap_dcep_for_mt", attacker, 10**20, 0, attacker, MAX)
    pool = p.state("pool")
    expected = amount_out(spend, pool.reserve_dcep, pool.reserve_mt)
    assert min_out <= expected < fair
    assert p.act("buyback", "execute", merchant, spend, 0, MAX) == expected
    # and a stale transaction never runs
    p.reverts("EXPIRED", "buyback", "execute", merchant, spend, 0, p.now - 1)
    # nobody but the merchant spends the allocation
    p.reverts("UNAUTHORIZED", "buyback", "execute", attacker, spend, 0, MAX)


# ------------------------------------------------------------ cash-out cap


def test_many_small_sales_cannot_exceed_the_cashout_cap(p: Protocol) -> None:
    """The merchant sells its MT in many small pieces. The cap bounds the
    running total: every sale that would take `cashed_out` above
    cashout_cap_bps of the raise reverts CASHOUT_CAP, whatever its size, and
    the merchant cannot get round it through the farm."""
    merchant = p.merchant
    p.launch({p.attacker: 10**24})
    off = p.state("offering")
    limit = off.cashout_cap_bps * off.raised  # cashed_out * BPS must stay <= limit
    chunk = off.merchant_mt // 40
    sales = refused = 0
    received = 0
    dcep0 = p.balance("dcep", merchant)
    while chunk >= WAD and refused < 3:
        pool, off = p.state("pool"), p.state("offering")
        if chunk > off.merchant_mt:
            break
        out = amount_out(chunk, pool.reserve_mt, pool.reserve_dcep)
        if (off.cashed_out + out) * BPS <= limit:
            assert p.act("offering", "merchant_sell", merchant, chunk, 0, MAX) == out
            sales += 1
            received += out
        else:
            before = (off.cashed_out, off.merchant_mt)
            p.reverts("CASHOUT_CAP", "offering", "merchant_sell", merchant, chunk, 0, MAX)
            off = p.state("offering")
            assert (off.cashed_out, off.merchant_mt) == before
            refused += 1
            chunk //= 16  # try again, smaller
        off = p.state("offering")
        assert off.cashed_out * BPS <= limit
    assert sales >= 20 and refused == 3
    off = p.state("offering")
    assert off.cashed_out == received == p.balance("dcep", merchant) - dcep0
    # the boundary: the smallest sale that would cross the cap is refused, the
    # largest that reaches it exactly is accepted
    headroom = limit // BPS - off.cashed_out
    pool = p.state("pool")
    lo, hi = 0, off.merchant_mt  # out(lo) <= headroom < out(hi)
    assert amount_out(hi, pool.reserve_mt, pool.reserve_dcep) > headroom
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if amount_out(mid, pool.reserve_mt, pool.reserve_dcep) <= headroom:
            lo = mid
        else:
            hi = mid
    p.reverts("CASHOUT_CAP", "offering", "merchant_sell", merchant, hi, 0, MAX)
    p.reverts("CASHOUT_CAP", "offering", "merchant_sell", merchant, off.merchant_mt, 0, MAX)
    if amount_out(lo, pool.reserve_mt, pool.reserve_dcep) > 0:
        p.act("offering", "merchant_sell", merchant, lo, 0, MAX)
    off = p.state("offering")
    assert off.cashed_out * BPS <= limit < (off.cashed_out + 1) * BPS or off.cashed_out < limit // BPS
    # the merchant's MT never leaves custody except through these two doors
    assert p.balance("mt", merchant) == 0
    # rewards funded from the merchant's MT cannot be earned back by the merchant
    p.act("offering", "fund_farm", merchant, 10**21)
    p.act("pool", "transfer", p.victim, merchant, 10**18)
    p.reverts("MERCHANT_CANNOT_STAKE", "farm", "deposit", merchant, 10**18)


# ------------------------------------------------------ issue 11: the four holes


def test_cashout_cap_cannot_be_bypassed_through_the_farm_by_a_second_address(p: Protocol) -> None:
    """Cash-out cap bypass through the farm: a second address the merchant
    controls contributes and stakes its LP; the merchant moves its MT into the
    farm with `fund_farm`, and the second address harvests it and sells it
    into the pool, out of the cap's sight. `fund_farm` is bounded, in total,
    by 30% of the MT the merchant kept (FARM_FUNDING_CAP), so the MT that can
    reach the second address that way is at most that share; the rest leaves
    custody only through `merchant_sell`, under the cap."""
    merchant, accomplice = p.merchant, p.attacker
    p.launch({accomplice: 10**24})
    off = p.state("offering")
    kept = off.mt_total - off.mt_total * off.pool_mt_bps // BPS
    assert off.merchant_mt == kept
    bound = 3000 * kept // BPS  # the most the farm may get from the offering, in total

    # the exploit moved all of the merchant's MT into the farm: refused
    p.reverts("FARM_FUNDING_CAP", "offering", "fund_farm", merchant, off.merchant_mt)
    p.reverts("FARM_FUNDING_CAP", "offering", "fund_farm", merchant, bound + 1)
    assert p.view("offering", "merchant_kept") == kept
    # splitting the funding changes nothing: the bound is on the running total
    p.act("offering", "fund_farm", merchant, bound // 2)
    p.reverts("FARM_FUNDING_CAP", "offering", "fund_farm", merchant, bound - bound // 2 + 1)
    p.act("offering", "fund_farm", merchant, bound - bound // 2)
    p.reverts("FARM_FUNDING_CAP", "offering", "fund_farm", merchant, 1)
    off = p.state("offering")
    assert off.farm_funded == bound and off.merchant_mt == kept - bound
    assert p.state("farm").funded == bound

    # the second address stakes all its LP and harvests the whole budget
    stake = p.balance("pool", accomplice)
    p.act("farm", "deposit", accomplice, stake)
    farm = p.state("farm")
    p.wait(ceil_div(bound, farm.reward_per_second) + 1)
    mt0 = p.balance("mt", accomplice)
    harvested = p.act("farm", "harvest", accomplice)
    assert p.state("farm").emitted == bound
    assert bound - stake // ACC_PRECISION - 1 <= harvested <= bound  # all of it, less the rounding of acc
    assert p.balance("mt", accomplice) == mt0 + harvested
    # ...and sells it into the pool: out of the cap's sight, but bounded
    p.act("pool", "swap_mt_for_dcep", accomplice, harvested, 0, accomplice, MAX)

    # the merchant sells up to its cap as well
    limit = off.cashout_cap_bps * off.raised // BPS
    pool = p.state("pool")
    lo, hi = 0, off.merchant_mt
    while hi - lo > 1:  # the largest sale that stays under the cap
        mid = (lo + hi) // 2
        if amount_out(mid, pool.reserve_mt, pool.reserve_dcep) <= limit:
            lo = mid
        else:
            hi = mid
    p.act("offering", "merchant_sell", merchant, lo, 0, MAX)
    off = p.state("offering")
    # custody: the kept MT is still held, or was sold under the cap, or went to the farm (at most 30%)
    assert off.merchant_mt + off.mt_sold + off.farm_funded == kept
    assert off.mt_sold == lo and off.cashed_out * BPS <= off.cashout_cap_bps * off.raised
    assert off.farm_funded * BPS <= 3000 * kept
    assert p.balance("mt", "offering") >= off.merchant_mt


def test_buyback_with_the_spot_price_below_the_twap_cannot_be_sandwiched(p: Protocol) -> None:
    """Sandwiching a buyback when a genuine sale has taken the spot price well
    below the TWAP. The TWAP-derived minimum alone then lets a front-runner
    buy first, push the spot price up towards the TWAP, and keep the
    difference: the buyback still fills above that minimum. The merchant's own
    `min_mt_out`, quoted from the spot price it sees, is the stricter bound and
    applies: the sandwiched buyback reverts, and without the front-run it
    fills."""
    attacker, merchant = p.attacker, p.merchant
    p.launch({attacker: 4 * 10**24})
    spend = p.act("buyback", "book_revenue", merchant, 5 * 10**23)
    assert spend == 10**23  # 100,000 DCEP to buy back
    p.twap_ready()
    twap = p.view("pool", "twap")
    # a genuine sale (the merchant's own, under its cap) drops the spot price
    p.act("offering", "merchant_sell", merchant, 40_000 * WAD, 0, MAX)
    assert p.view("pool", "twap") == twap and p.spot() * 100 < twap * 90  # spot more than 10% below TWAP
    assert p.phase() == SILVER
    twap_min = p.view("buyback", "min_out_for", spend)
    pool = p.state("pool")
    honest = amount_out(spend, pool.reserve_dcep, pool.reserve_mt)  # what the buyback buys now
    merchant_min = honest * 99 // 100  # the merchant's bound: 1% below its spot quote
    assert twap_min < merchant_min

    # the largest front-run purchase after which the TWAP bound alone still lets the buyback fill
    def after(x: int) -> tuple[int, int, int]:
        got = amount_out(x, pool.reserve_dcep, pool.reserve_mt)
        r_mt, r_dcep = pool.reserve_mt - got, pool.reserve_dcep + x
        return got, amount_out(spend, r_dcep, r_mt), r_mt

    lo, hi = 0, 10**24
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if after(mid)[1] >= twap_min:
            lo = mid
        else:
            hi = mid
    front = lo
    bought, victim_out, _ = after(front)
    assert twap_min <= victim_out < merchant_min

    snap = p.snapshot()
    # the sandwich, with only the TWAP bound (min_mt_out = 0): it fills, below the merchant's bound
    dcep0 = p.balance("dcep", attacker)
    assert p.act("pool", "swap_dcep_for_mt", attacker, front, 0, attacker, MAX) == bought
    assert p.act("buyback", "execute", merchant, spend, 0, MAX) == victim_out
    p.act("pool", "swap_mt_for_dcep", attacker, bought, 0, attacker, MAX)
    assert p.balance("dcep", attacker) > dcep0  # the front-runner kept DCEP
    p.restore(snap)

    # the same sandwich against the merchant's bound: the buyback reverts, nothing is spent
    snap = p.snapshot()
    p.act("pool", "swap_dcep_for_mt", attacker, front, 0, attacker, MAX)
    bb_before = dataclasses.astuple(p.state("buyback"))
    p.reverts("INSUFFICIENT_OUTPUT_AMOUNT", "buyback", "execute", merchant, spend, merchant_min, MAX)
    assert dataclasses.astuple(p.state("buyback")) == bb_before
    p.restore(snap)

    # no sandwich: the buyback fills at the spot quote, and the stricter bound is what it records
    assert p.act("buyback", "execute", merchant, spend, merchant_min, MAX) == honest
    bb = p.state("buyback")
    assert (bb.spent, bb.burned, bb.guaranteed) == (spend, honest, max(twap_min, merchant_min))


def test_flash_staking_earns_no_tier_and_no_card(p: Protocol) -> None:
    """Flash staking: within one block, deposit 10,000 LP, withdraw it and pass
    the LP on. Stake backs a tier only once it has been held the farm's
    TIER_HOLD (one day), so the flash earns no tier, nothing to decay from,
    and no MEMBER card; nor does the same LP passed to a second address. A
    stake held the whole period earns its tier."""
    attacker, other = p.attacker, p.victim
    play = Play(p, "flash_staking")  # the steps: evm_backend/contracts/attacks.json
    play.upto(4)  # the launch: the attacker contributes 10**24, every contributor claims its LP
    stake = 10_000 * WAD  # tier 3
    assert p.balance("pool", attacker) >= stake
    block = p.h.backend.block_number
    for who, first in ((attacker, 4), (other, 9)):
        play.upto(first + 1)  # deposit the stake
        assert p.state("farm").staked[who] == stake
        assert p.view("farm", "staking_tier", who) == 0
        play.upto(first + 3)  # no card (NO_TIER), withdraw
        assert p.state("farm").staked[who] == 0
        assert p.view("farm", "staking_tier", who) == 0
        play.upto(first + 5)  # no card (NO_TIER), pass the LP on
        assert p.state("farm").tier_level[who] == 0
    assert p.h.backend.block_number == block  # all in one block
    play.upto(15)  # a second passes
    for who in (attacker, other):
        assert p.view("farm", "staking_tier", who) == 0
    # a stake held one second short of the period backs nothing yet; held the period, tier 3
    play.upto(17)  # deposit, then a day less one second
    assert p.view("farm", "staking_tier", attacker) == 0
    play.upto(19)  # no card (NO_TIER), and the last second
    assert p.view("farm", "staking_tier", attacker) == 3
    [card] = play.upto(20)
    assert p.state("member").tier_of[card] == 3
    # topping the stake up keeps the tier earned while the new stake waits
    play.finish()  # a deposit of 1 LP
    assert p.view("farm", "staking_tier", attacker) == 3


def test_pool_cannot_open_below_the_floor(harness: Harness) -> None:
    """Opening the pool in Iron: the offering's constructor refuses parameters
    with which a soft-cap raise would open the pool below the floor. With the
    bundled floor of 0.5 DCEP, a soft cap of 1,000,000 DCEP and 70% of it to
    the reserve, the pool gets 300,000 DCEP; it opens at the floor exactly
    with 600,000 MT (pool_mt_bps = 6000), below it with one bps more, and at
    0.3 DCEP with all the MT (pool_mt_bps = 10000). Model and EVM agree."""
    from conformance.deployment import evm_deploys, model_deploys

    harness.reset()
    off, ph = harness.model.state("offering"), harness.model.state("phases")
    assert (ph.floor, off.soft_cap, off.reserve_bps, off.mt_total) == (WAD // 2, 10**24, 7000, 10**24)
    for bps, verdict in ((6000, (False, None)), (6001, (True, "OPENS_BELOW_FLOOR")),
                         (10_000, (True, "OPENS_BELOW_FLOOR"))):
        moves = (("pool_mt_bps", bps),)
        assert model_deploys(harness, "offering", moves) == verdict, bps
        assert evm_deploys(harness, "offering", moves) == verdict, bps
