// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transfer_from(address from, address to, uint256 value) external returns (bool);
    function burn_from(address holder, uint256 value) external;
}

interface IPhases {
    function floor() external view returns (uint256);
    function bronze_price() external view returns (uint256);
    function issue_price() external view returns (uint256);
}

interface IPool {
    function twap() external view returns (uint256);
}

/// @title Reserve: the DCEP that guarantees MT's floor price (spec/protocol/reserve.imo).
/// @notice Invariant: reserveDcep * 1e18 >= floor * capacity. A top-up adds
/// capacity at the floor (rounded down); in Iron a holder burns MT for DCEP at
/// the floor (rounded down); a contributor takes DCEP back by burning the MT it
/// covers (rounded up), only in Iron and only while capacity covers that MT. Every rounding
/// goes against the caller. The reserve counts its DCEP itself: a donation is
/// not backing. Contributors other than the offering earn yield (funded by the
/// buyback's share of revenue through `fund_yield`) pro rata to what they put
/// in, counted apart from the backing and never paid out of it.
contract Reserve {
    event TopUp(address contributor, uint256 amount, uint256 capacityAdded);
    event Redeem(address holder, uint256 mtAmount, uint256 dcepAmount);
    event Exit(address contributor, uint256 amount, uint256 mtBurned);
    event YieldFunded(address funder, uint256 amount);
    event YieldClaimed(address contributor, uint256 amount);

    uint256 private constant WAD = 1e18;
    uint256 private constant ACC_PRECISION = 1e12;

    IPhases public immutable phases;
    IPool public immutable pool;
    IToken public immutable mt;
    IToken public immutable dcep;
    address public immutable offering;

    uint256 public reserveDcep;
    uint256 public capacity;
    mapping(address => uint256) public contributed;
    uint256 public totalContributed;
    mapping(address => uint256) public yieldShares;
    uint256 public totalYieldShares;
    uint256 public yieldPerShare;
    mapping(address => uint256) public yieldDebt;
    uint256 public yieldFunded;
    uint256 public yieldPaid;

    constructor(IPhases phases_, IPool pool_, IToken mt_, IToken dcep_, address offering_) {
        (phases, pool, mt, dcep, offering) = (phases_, pool_, mt_, dcep_, offering_);
    }

    /// The yield `user` could claim now.
    function pending_yield(address user) public view returns (uint256) {
        return (yieldShares[user] * yieldPerShare - yieldDebt[user]) / ACC_PRECISION;
    }

    function _payYield(address user) private returns (uint256 owed) {
        owed = pending_yield(user);
        if (owed > 0) {
            yieldPaid += owed;
            dcep.transfer(user, owed);
            emit YieldClaimed(user, owed);
        }
    }

    function _resetDebt(address user) private {
        yieldDebt[user] = yieldShares[user] * yieldPerShare;
    }

    function top_up(uint256 amount) external returns (uint256 added) {
        require(amount > 0, "ZERO_AMOUNT");
        added = amount * WAD / phases.floor();
        reserveDcep += amount;
        capacity += added;
        contributed[msg.sender] += amount;
        totalContributed += amount;
        if (msg.sender != offering) {
            _payYield(msg.sender);
            yieldShares[msg.sender] += amount;
            totalYieldShares += amount;
            _resetDebt(msg.sender);
        }
        dcep.transfer_from(msg.sender, address(this), amount);
        emit TopUp(msg.sender, amount, added);
    }

    function redeem(uint256 mtAmount, uint256 deadline) external returns (uint256 paid) {
        require(pool.twap() < phases.floor(), "WRONG_PHASE");
        require(block.timestamp <= deadline, "EXPIRED");
        require(mtAmount > 0, "ZERO_AMOUNT");
        require(mtAmount <= capacity, "INSUFFICIENT_CAPACITY");
        paid = mtAmount * phases.floor() / WAD;
        require(paid > 0, "INSUFFICIENT_OUTPUT_AMOUNT");
        capacity -= mtAmount;
        reserveDcep -= paid;
        mt.burn_from(msg.sender, mtAmount);
        dcep.transfer(msg.sender, paid);
        emit Redeem(msg.sender, mtAmount, paid);
    }

    function exit(uint256 amount) external returns (uint256 burned) {
        require(pool.twap() < phases.floor(), "WRONG_PHASE");
        require(amount > 0, "ZERO_AMOUNT");
        require(amount <= contributed[msg.sender], "EXCEEDS_CONTRIBUTION");
        uint256 floor = phases.floor();
        uint256 product = amount * WAD;
        burned = product / floor + (product % floor == 0 ? 0 : 1);
        require(burned <= capacity, "INSUFFICIENT_CAPACITY");
        contributed[msg.sender] -= amount;
        totalContributed -= amount;
        if (msg.sender != offering) {
            _payYield(msg.sender);
            yieldShares[msg.sender] -= amount;
            totalYieldShares -= amount;
            _resetDebt(msg.sender);
        }
        capacity -= burned;
        reserveDcep -= amount;
        mt.burn_from(msg.sender, burned);
        dcep.transfer(msg.sender, amount);
        emit Exit(msg.sender, amount, burned);
    }

    function fund_yield(uint256 amount) external {
        require(amount > 0, "ZERO_AMOUNT");
        require(totalYieldShares > 0, "NO_CONTRIBUTORS");
        yieldFunded += amount;
        yieldPerShare += amount * ACC_PRECISION / totalYieldShares;
        dcep.transfer_from(msg.sender, address(this), amount);
        emit YieldFunded(msg.sender, amount);
    }

    function claim_yield() external returns (uint256 amount) {
        amount = _payYield(msg.sender);
        _resetDebt(msg.sender);
    }
}
