# pragma version 0.4.3
# @title farm: LP staking that pays MT rewards, and the membership tiers
# @notice Written from spec/protocol/farm.imo (docs/protocol.md section 5).
#   Rewards (MasterChef accounting, docs/protocol.md's formulas):
#   - acc_per_share += reward * 1e12 / total_staked (rounded down);
#   - the debt is kept in the same 1e12-scaled units as staked * acc, so the
#     pending reward is (staked * acc - debt) / 1e12, one rounding, down;
#   - emission never exceeds the funded budget: paid + pending <= funded.
#   Reward shares use `total_staked`, the farm's accounting, never
#   `pool.balance_of[farm]`: LP sent to the farm directly is no stake.
#   Tiers: staked LP against ascending thresholds; after a withdrawal the tier
#   decays one level every DECAY_PERIODS[tier - 1] seconds, never below the tier
#   the remaining stake backs.
#   Approvals: `deposit` pulls LP (approve the farm on the pool); `fund` pulls
#   MT (approve the farm on mt).

interface Mt:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Offering:
    def merchant() -> address: view

interface Phases:
    def floor() -> uint256: view
    def bronze_price() -> uint256: view
    def issue_price() -> uint256: view

interface Pool:
    def twap() -> uint256: view
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

event Fund:
    funder: address
    amount: uint256

event Deposit:
    staker: address
    amount: uint256

event Withdraw:
    staker: address
    amount: uint256

event EmergencyWithdraw:
    staker: address
    amount: uint256

event Harvest:
    staker: address
    amount: uint256

event Boost:
    until: uint256

BPS: constant(uint256) = 10000
WAD: constant(uint256) = 10 ** 18
DAY: constant(uint256) = 86400
# docs/protocol.md's scale for acc_per_share.
ACC_PRECISION: constant(uint256) = 10 ** 12

# Tiers 1, 2 and 3 at 100, 1,000 and 10,000 LP staked (0 = no tier).
N_TIERS: constant(uint256) = 3
TIER_THRESHOLDS: constant(uint256[N_TIERS]) = [100 * WAD, 1000 * WAD, 10000 * WAD]
# The decay period of each tier: 7, 14 and 30 days.
DECAY_PERIODS: constant(uint256[N_TIERS]) = [7 * DAY, 14 * DAY, 30 * DAY]
# Stake backs a tier only once it has been held this long: one day.
TIER_HOLD: constant(uint256) = DAY

GOLD: constant(uint256) = 3

# parameters (immutable)
reward_per_second: public(immutable(uint256))
boost_extra_bps: public(immutable(uint256))
# governed by MT holders: set only by `mt_timelock`, inside [1 day, 30 days]
max_boost_duration: public(uint256)
MAX_BOOST_DURATION_KEY: constant(bytes32) = keccak256("farm.max_boost_duration")
# the MT holders' timelock, the one caller of `set_parameter`
mt_timelock: public(immutable(address))

# imported modules (constructor order: the IR's imports, alphabetical)
mt: public(immutable(address))
offering: public(immutable(address))
phases: public(immutable(address))
pool: public(immutable(address))

# The LP each staker has in the farm, and in total.
staked: public(HashMap[address, uint256])
total_staked: public(uint256)
# Fresh stake: deposits not yet held TIER_HOLD (each less than TIER_HOLD after
# the one before), less withdrawals, which take fresh stake first; and the
# time of the latest deposit. It backs no tier until TIER_HOLD after that.
fresh_stake: public(HashMap[address, uint256])
fresh_since: public(HashMap[address, uint256])
# The MT reward per staked LP unit, ACC_PRECISION-scaled.
acc_per_share: public(uint256)
# staked * acc_per_share at the staker's last settlement (ACC_PRECISION-scaled).
reward_debt: public(HashMap[address, uint256])
last_reward_time: public(uint256)
# The MT budget in total; the part emitted into acc_per_share; the part paid.
funded: public(uint256)
emitted: public(uint256)
paid: public(uint256)
# Emission is boosted until this time.
boost_until: public(uint256)
# The tier record: at `tier_level` at `tier_since`, decaying from there.
tier_level: public(HashMap[address, uint256])
tier_since: public(HashMap[address, uint256])


@deploy
def __init__(_reward_per_second: uint256, _boost_extra_bps: uint256, _max_boost_duration: uint256,
             _mt: address, _offering: address, _phases: address, _pool: address, _mt_timelock: address):
    self._check_bounds(MAX_BOOST_DURATION_KEY, _max_boost_duration)
    reward_per_second = _reward_per_second
    boost_extra_bps = _boost_extra_bps
    self.max_boost_duration = _max_boost_duration
    mt = _mt
    offering = _offering
    phases = _phases
    pool = _pool
    mt_timelock = _mt_timelock


@internal
@pure
def _check_bounds(key: bytes32, _value: uint256):
    assert key == MAX_BOOST_DURATION_KEY, "UNKNOWN_PARAMETER"
    assert DAY <= _value and _value <= 30 * DAY, "OUT_OF_BOUNDS"


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter: `mt_timelock`'s `govern`, inside its bounds."""
    assert msg.sender == mt_timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    self.max_boost_duration = _value


# ------------------------------------------------------------------ phases

@internal
@view
def _phase(p: uint256) -> uint256:
    # Phase(p): 0 Iron, 1 Bronze, 2 Silver, 3 Gold.
    if p < staticcall Phases(phases).floor():
        return 0
    if p < staticcall Phases(phases).bronze_price():
        return 1
    if p < staticcall Phases(phases).issue_price():
        return 2
    return GOLD


# ------------------------------------------------------------------- decay

@internal
@pure
def _level_of(amount: uint256) -> uint256:
    # how many thresholds `amount` reaches
    n: uint256 = 0
    for t: uint256 in TIER_THRESHOLDS:
        if amount >= t:
            n += 1
    return n


@internal
@pure
def _decay_at(level: uint256, backed: uint256, since: uint256, t: uint256) -> uint256:
    # The level at `t` of a member at `level` since `since`: one level less
    # every DECAY_PERIODS[current - 1] seconds, never below `backed`.
    if level <= backed:
        return backed
    elapsed: uint256 = 0
    if t > since:
        elapsed = t - since
    current: uint256 = min(level, N_TIERS)
    for i: uint256 in range(N_TIERS):
        if current <= backed:
            break
        period: uint256 = DECAY_PERIODS[current - 1]
        if elapsed < period:
            break
        elapsed -= period
        current -= 1
    return current


# ---------------------------------------------------------------- formulas

@internal
@view
def _emission(start: uint256, stop: uint256) -> uint256:
    # base rate for the whole span, plus the boost share for its boosted seconds
    boosted: uint256 = 0
    if self.boost_until > start:
        boosted = min(stop, self.boost_until) - start
    return reward_per_second * (stop - start) + reward_per_second * boosted * boost_extra_bps // BPS


@internal
@view
def _held_stake_at(user: address, t: uint256) -> uint256:
    # the stake held at least TIER_HOLD at `t`
    if t >= self.fresh_since[user] + TIER_HOLD:
        return self.staked[user]
    return self.staked[user] - self.fresh_stake[user]


@internal
@view
def _staking_tier_at(user: address, t: uint256) -> uint256:
    return self._decay_at(self.tier_level[user], self._level_of(self._held_stake_at(user, t)),
                          self.tier_since[user], t)


@external
@view
def emission(start: uint256, stop: uint256) -> uint256:
    """
    @notice The MT emitted from `start` to `stop` (spec `emission(from, to)`).
    """
    return self._emission(start, stop)


@external
@view
def pending_reward(user: address) -> uint256:
    """
    @notice The reward `user` could harvest now.
    """
    acc: uint256 = self.acc_per_share
    if block.timestamp > self.last_reward_time and self.total_staked > 0:
        reward: uint256 = min(self._emission(self.last_reward_time, block.timestamp), self.funded - self.emitted)
        acc += reward * ACC_PRECISION // self.total_staked
    return (self.staked[user] * acc - self.reward_debt[user]) // ACC_PRECISION


@external
@view
def held_stake_at(user: address, t: uint256) -> uint256:
    """
    @notice The part of `user`'s stake held at least TIER_HOLD at time `t`.
    """
    return self._held_stake_at(user, t)


@external
@view
def staking_tier_at(user: address, t: uint256) -> uint256:
    """
    @notice The tier `user`'s stake gives at time `t`, after decay.
    """
    return self._staking_tier_at(user, t)


@external
@view
def staking_tier(user: address) -> uint256:
    """
    @notice The tier `user`'s stake gives now, after decay.
    """
    return self._staking_tier_at(user, block.timestamp)


# -------------------------------------------------------- internal actions

@internal
def _update_pool():
    # Emits the reward since last_reward_time into acc_per_share, never more
    # than the budget has left; with nobody staked nothing is emitted.
    if block.timestamp > self.last_reward_time:
        if self.total_staked > 0:
            reward: uint256 = min(self._emission(self.last_reward_time, block.timestamp), self.funded - self.emitted)
            self.acc_per_share += reward * ACC_PRECISION // self.total_staked
            self.emitted += reward
        self.last_reward_time = block.timestamp


@internal
def _pay_pending(user: address) -> uint256:
    # Pays (staked * acc - debt) / 1e12, rounded down; the caller resets the debt.
    owed: uint256 = (self.staked[user] * self.acc_per_share - self.reward_debt[user]) // ACC_PRECISION
    if owed > 0:
        self.paid += owed
        extcall Mt(mt).transfer(user, owed)
        log Harvest(staker=user, amount=owed)
    return owed


@internal
def _retier(user: address, old_stake: uint256):
    # `old_stake` is the stake held TIER_HOLD before the change.
    # - the held stake backs at least the current tier: that tier, at once;
    # - the stake backed the tier before and backs less now: decay starts now;
    # - the tier was already decaying: the decay goes on from where it was.
    old_backed: uint256 = self._level_of(old_stake)
    current: uint256 = self._decay_at(self.tier_level[user], old_backed, self.tier_since[user], block.timestamp)
    backed: uint256 = self._level_of(self._held_stake_at(user, block.timestamp))
    if backed >= current:
        self.tier_level[user] = backed
        self.tier_since[user] = block.timestamp
    elif old_backed >= current:
        self.tier_level[user] = current
        self.tier_since[user] = block.timestamp


# ----------------------------------------------------------------- actions

@external
def fund(amount: uint256):
    """
    @notice Adds `amount` MT to the reward budget. Anyone may fund; the
        merchant does so through `offering.fund_farm`, under its 30% bound.
    """
    assert amount > 0, "ZERO_AMOUNT"
    self._update_pool()
    self.funded += amount
    extcall Mt(mt).transfer_from(msg.sender, self, amount)
    log Fund(funder=msg.sender, amount=amount)


@external
def deposit(amount: uint256):
    """
    @notice Stakes `amount` LP after paying the caller's pending reward. The
        new stake backs a tier only once held TIER_HOLD; the deposit restarts
        that wait for the fresh stake. The merchant never stakes: it funds the
        rewards, and staking would let it earn that MT back and sell it outside
        `offering.merchant_sell`, the only sale the cash-out cap counts.
    """
    assert msg.sender != staticcall Offering(offering).merchant(), "MERCHANT_CANNOT_STAKE"
    self._update_pool()
    self._pay_pending(msg.sender)
    held_before: uint256 = self._held_stake_at(msg.sender, block.timestamp)
    extcall Pool(pool).transfer_from(msg.sender, self, amount)
    if block.timestamp >= self.fresh_since[msg.sender] + TIER_HOLD:
        self.fresh_stake[msg.sender] = amount
    else:
        self.fresh_stake[msg.sender] += amount
    self.fresh_since[msg.sender] = block.timestamp
    self.staked[msg.sender] += amount
    self.total_staked += amount
    self.reward_debt[msg.sender] = self.staked[msg.sender] * self.acc_per_share
    self._retier(msg.sender, held_before)
    log Deposit(staker=msg.sender, amount=amount)


@external
def withdraw(amount: uint256):
    """
    @notice Takes back `amount` LP after paying the caller's pending reward.
        Fresh stake goes first.
    """
    assert amount <= self.staked[msg.sender], "INSUFFICIENT_STAKE"
    self._update_pool()
    self._pay_pending(msg.sender)
    held_before: uint256 = self._held_stake_at(msg.sender, block.timestamp)
    self.fresh_stake[msg.sender] -= min(self.fresh_stake[msg.sender], amount)
    self.staked[msg.sender] -= amount
    self.total_staked -= amount
    self.reward_debt[msg.sender] = self.staked[msg.sender] * self.acc_per_share
    self._retier(msg.sender, held_before)
    extcall Pool(pool).transfer(msg.sender, amount)
    log Withdraw(staker=msg.sender, amount=amount)


@external
def harvest() -> uint256:
    """
    @notice Pays the caller's pending reward; returns it.
    """
    self._update_pool()
    amount: uint256 = self._pay_pending(msg.sender)
    self.reward_debt[msg.sender] = self.staked[msg.sender] * self.acc_per_share
    return amount


@external
def emergency_withdraw():
    """
    @notice Takes back the caller's whole stake, giving up the pending reward.
        Reads no oracle and pays no reward.
    """
    amount: uint256 = self.staked[msg.sender]
    held_before: uint256 = self._held_stake_at(msg.sender, block.timestamp)
    self.staked[msg.sender] = 0
    self.fresh_stake[msg.sender] = 0
    self.total_staked -= amount
    self.reward_debt[msg.sender] = 0
    self._retier(msg.sender, held_before)
    extcall Pool(pool).transfer(msg.sender, amount)
    log EmergencyWithdraw(staker=msg.sender, amount=amount)


@external
def boost(duration: uint256):
    """
    @notice Mining boost, merchant only, open only in Gold: emission is raised
        by boost_extra_bps for `duration` seconds, from the same budget.
    """
    assert msg.sender == staticcall Offering(offering).merchant(), "UNAUTHORIZED"
    assert self._phase(staticcall Pool(pool).twap()) == GOLD, "WRONG_PHASE"
    assert duration <= self.max_boost_duration, "BOOST_TOO_LONG"
    self._update_pool()
    self.boost_until = max(self.boost_until, block.timestamp + duration)
    log Boost(until=self.boost_until)
