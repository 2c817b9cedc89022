// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transfer_from(address from, address to, uint256 value) external returns (bool);
}

interface IOffering {
    function merchant() external view returns (address);
}

interface IPhases {
    function issue_price() external view returns (uint256);
}

interface IPool is IToken {
    function twap() external view returns (uint256);
}

/// @title Farm: LP staking with MasterChef rewards in MT, and decaying
/// membership tiers (spec/protocol/farm.imo).
/// @notice Rewards accrue per second from a funded budget, never beyond it:
/// accPerShare grows by reward * 1e12 / totalStaked (rounded down) and a
/// staker is owed staked * accPerShare / 1e12 - debt. The stake gives a tier
/// (100, 1,000, 10,000 LP), but only the stake held TIER_HOLD (one day): a
/// deposit is fresh until then, and the next deposit within that day restarts
/// the wait for all the fresh stake; withdrawals take fresh stake first. When
/// the held stake stops backing the tier, the tier falls one level per 7, 14
/// or 30 days (tiers 1, 2, 3), never below what the held stake still backs.
/// A member's tier record packs its level and start in one slot.
contract Farm {
    struct Tier {
        uint64 since;
        uint8 level;
    }

    event Fund(address funder, uint256 amount);
    event Deposit(address staker, uint256 amount);
    event Withdraw(address staker, uint256 amount);
    event EmergencyWithdraw(address staker, uint256 amount);
    event Harvest(address staker, uint256 amount);
    event Boost(uint256 until);

    uint256 private constant BPS = 10_000;
    uint256 private constant ACC_PRECISION = 1e12;
    uint256 private constant TIER_HOLD = 1 days;

    uint256 public immutable rewardPerSecond;
    uint256 public immutable boostExtraBps;
    IOffering public immutable offering;
    IPhases public immutable phases;
    IPool public immutable pool;
    IToken public immutable mt;

    mapping(address => uint256) public staked;
    uint256 public totalStaked;
    uint256 public accPerShare;
    mapping(address => uint256) public rewardDebt;
    uint256 public lastRewardTime;
    uint256 public funded;
    uint256 public emitted;
    uint256 public paid;
    uint256 public boostUntil;
    mapping(address => Tier) public tiers;
    mapping(address => uint256) public freshStake;
    mapping(address => uint256) public freshSince;
    // governed in the spec (via mt_timelock): a variable, deployed in bounds; declared
    // last so that the slots the bindings name stay where they were
    uint256 public maxBoostDuration;

    constructor(uint256 rewardPerSecond_, uint256 boostExtraBps_, uint256 maxBoostDuration_, IOffering offering_,
                IPhases phases_, IPool pool_, IToken mt_) {
        // governed by MT holders in the spec (via mt_timelock, in [1 day, 30 days]);
        // this deployment has no MT timelock, so the deployed value stays, in bounds
        require(maxBoostDuration_ >= 1 days && maxBoostDuration_ <= 30 days, "OUT_OF_BOUNDS");
        (rewardPerSecond, boostExtraBps, maxBoostDuration) = (rewardPerSecond_, boostExtraBps_, maxBoostDuration_);
        (offering, phases, pool, mt) = (offering_, phases_, pool_, mt_);
    }

    // ------------------------------------------------------------ tiers

    function _levelOf(uint256 amount) private pure returns (uint256 level) {
        if (amount >= 100e18) level++;
        if (amount >= 1_000e18) level++;
        if (amount >= 10_000e18) level++;
    }

    function _decayPeriod(uint256 level) private pure returns (uint256) {
        return level == 1 ? 7 days : level == 2 ? 14 days : 30 days;
    }

    /// The level at `at` of a tier reached at `since`, never below `backed`.
    function _decayed(uint256 level, uint256 backed, uint256 since, uint256 at) private pure returns (uint256) {
        if (level <= backed) return backed;
        uint256 elapsed = at > since ? at - since : 0;
        uint256 current = level > 3 ? 3 : level;
        while (current > backed) {
            uint256 period = _decayPeriod(current);
            if (elapsed < period) break;
            elapsed -= period;
            current--;
        }
        return current;
    }

    /// The part of `user`'s stake held at least TIER_HOLD at `at`.
    function held_stake_at(address user, uint256 at) public view returns (uint256) {
        uint256 stake = staked[user];
        return at >= freshSince[user] + TIER_HOLD ? stake : stake - freshStake[user];
    }

    function staking_tier_at(address user, uint256 at) public view returns (uint256) {
        Tier memory t = tiers[user];
        return _decayed(t.level, _levelOf(held_stake_at(user, at)), t.since, at);
    }

    function staking_tier(address user) external view returns (uint256) {
        return staking_tier_at(user, block.timestamp);
    }

    /// After `user`'s stake changed, from a held stake of `oldHeld`: a held
    /// stake that backs the current tier sets it at once; a tier the held
    /// stake stops backing starts to decay now; a decaying tier keeps its clock.
    function _retier(address user, uint256 oldHeld) private {
        Tier memory t = tiers[user];
        uint256 oldBacked = _levelOf(oldHeld);
        uint256 current = _decayed(t.level, oldBacked, t.since, block.timestamp);
        uint256 backed = _levelOf(held_stake_at(user, block.timestamp));
        if (backed >= current) {
            tiers[user] = Tier(uint64(block.timestamp), uint8(backed));
        } else if (oldBacked >= current) {
            tiers[user] = Tier(uint64(block.timestamp), uint8(current));
        }
    }

    // ---------------------------------------------------------- rewards

    function emission(uint256 from, uint256 to) public view returns (uint256) {
        uint256 boosted = 0;
        if (boostUntil > from) boosted = (to < boostUntil ? to : boostUntil) - from;
        return rewardPerSecond * (to - from) + rewardPerSecond * boosted * boostExtraBps / BPS;
    }

    function _nextReward() private view returns (uint256) {
        uint256 due = emission(lastRewardTime, block.timestamp);
        uint256 left = funded - emitted;
        return due < left ? due : left;
    }

    function pending_reward(address user) external view returns (uint256) {
        uint256 acc = accPerShare;
        if (block.timestamp > lastRewardTime && totalStaked > 0) {
            acc += _nextReward() * ACC_PRECISION / totalStaked;
        }
        return (staked[user] * acc - rewardDebt[user]) / ACC_PRECISION;
    }

    function _updatePool() private {
        if (block.timestamp <= lastRewardTime) return;
        if (totalStaked > 0) {
            uint256 reward = _nextReward();
            accPerShare += reward * ACC_PRECISION / totalStaked;
            emitted += reward;
        }
        lastRewardTime = block.timestamp;
    }

    function _payPending(address user) private returns (uint256 owed) {
        owed = (staked[user] * accPerShare - rewardDebt[user]) / ACC_PRECISION;
        if (owed > 0) {
            paid += owed;
            mt.transfer(user, owed);
            emit Harvest(user, owed);
        }
    }

    // ---------------------------------------------------------- actions

    function fund(uint256 amount) external {
        require(amount > 0, "ZERO_AMOUNT");
        _updatePool();
        funded += amount;
        mt.transfer_from(msg.sender, address(this), amount);
        emit Fund(msg.sender, amount);
    }

    function deposit(uint256 amount) external {
        require(msg.sender != offering.merchant(), "MERCHANT_CANNOT_STAKE");
        _updatePool();
        _payPending(msg.sender);
        uint256 heldBefore = held_stake_at(msg.sender, block.timestamp);
        pool.transfer_from(msg.sender, address(this), amount);
        if (block.timestamp >= freshSince[msg.sender] + TIER_HOLD) freshStake[msg.sender] = amount;
        else freshStake[msg.sender] += amount;
        freshSince[msg.sender] = block.timestamp;
        uint256 stake = staked[msg.sender] + amount;
        staked[msg.sender] = stake;
        totalStaked += amount;
        rewardDebt[msg.sender] = stake * accPerShare;
        _retier(msg.sender, heldBefore);
        emit Deposit(msg.sender, amount);
    }

    function withdraw(uint256 amount) external {
        uint256 before = staked[msg.sender];
        require(amount <= before, "INSUFFICIENT_STAKE");
        _updatePool();
        _payPending(msg.sender);
        uint256 heldBefore = held_stake_at(msg.sender, block.timestamp);
        uint256 fresh = freshStake[msg.sender];
        freshStake[msg.sender] = fresh - (fresh < amount ? fresh : amount);
        staked[msg.sender] = before - amount;
        totalStaked -= amount;
        rewardDebt[msg.sender] = (before - amount) * accPerShare;
        _retier(msg.sender, heldBefore);
        pool.transfer(msg.sender, amount);
        emit Withdraw(msg.sender, amount);
    }

    function harvest() external returns (uint256 amount) {
        _updatePool();
        amount = _payPending(msg.sender);
        rewardDebt[msg.sender] = staked[msg.sender] * accPerShare;
    }

    function emergency_withdraw() external {
        uint256 amount = staked[msg.sender];
        uint256 heldBefore = held_stake_at(msg.sender, block.timestamp);
        staked[msg.sender] = 0;
        freshStake[msg.sender] = 0;
        totalStaked -= amount;
        rewardDebt[msg.sender] = 0;
        _retier(msg.sender, heldBefore);
        pool.transfer(msg.sender, amount);
        emit EmergencyWithdraw(msg.sender, amount);
    }

    function boost(uint256 duration) external {
        require(msg.sender == offering.merchant(), "UNAUTHORIZED");
        require(pool.twap() >= phases.issue_price(), "WRONG_PHASE");
        require(duration <= maxBoostDuration, "BOOST_TOO_LONG");
        _updatePool();
        uint256 until = block.timestamp + duration;
        if (until > boostUntil) boostUntil = until;
        emit Boost(boostUntil);
    }
}
