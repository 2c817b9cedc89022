// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IToken {
    function approve(address spender, uint256 value) external returns (bool);
    function transfer_from(address from, address to, uint256 value) external returns (bool);
    function burn(uint256 value) external;
}

interface IOffering {
    function merchant() external view returns (address);
}

interface IPhases {
    function bronze_price() external view returns (uint256);
}

interface IReserve {
    function totalYieldShares() external view returns (uint256);
    function fund_yield(uint256 amount) external;
}

interface IPool {
    function twap() external view returns (uint256);
    function swap_dcep_for_mt(uint256 dcepIn, uint256 minMtOut, address receiver, uint256 deadline)
        external returns (uint256);
}

/// @title Buyback: a fifth of the merchant's revenue buys MT back and burns it
/// (spec/protocol/buyback.imo).
/// @notice The merchant books revenue; 20% of it (rounded up) is set aside in
/// DCEP. In Gold and Silver the merchant spends set-aside DCEP on MT through
/// the pool, never below the larger of what the TWAP buys less
/// `maxSlippageBps` (both steps rounded up) and the merchant's own minimum
/// `minMtOut` (quoted from the spot price it sees, so that a spot price below
/// the TWAP cannot be sandwiched), and burns what it bought. Each booking also
/// pays `reserve_yield_bps` of the revenue (rounded up) to the reserve's
/// contributors as yield, while the reserve has any.
contract Buyback {
    event RevenueBooked(uint256 amount, uint256 allocated);
    event Buyback(uint256 dcepAmount, uint256 mtAmount, uint256 minOut);

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    uint256 private constant BUYBACK_BPS = 2_000;

    uint256 public immutable reserve_yield_bps;
    IReserve public immutable reserve;
    IOffering public immutable offering;
    IPhases public immutable phases;
    IPool public immutable pool;
    IToken public immutable mt;
    IToken public immutable dcep;

    uint256 public revenue;
    uint256 public allocated;
    uint256 public spent;
    uint256 public burned;
    uint256 public guaranteed;
    // governed in the spec (via mt_timelock): a variable, deployed in bounds; declared
    // last so that the slots the bindings name stay where they were
    uint256 public max_slippage_bps;

    constructor(
        uint256 maxSlippageBps, uint256 reserveYieldBps, IOffering offering_, IPhases phases_, IPool pool_,
        IToken mt_, IToken dcep_, IReserve reserve_
    ) {
        // governed by MT holders in the spec (via mt_timelock, in [0, 1000]); this
        // deployment has no MT timelock, so the deployed value stays, in bounds
        require(maxSlippageBps <= 1_000, "OUT_OF_BOUNDS");
        require(reserveYieldBps <= BPS - BUYBACK_BPS, "INVALID_PARAMETERS");
        max_slippage_bps = maxSlippageBps;
        reserve_yield_bps = reserveYieldBps;
        (offering, phases, pool, mt, dcep, reserve) = (offering_, phases_, pool_, mt_, dcep_, reserve_);
    }

    /// The reserve's yield from a booking of `amount`: nothing while the
    /// reserve has no yield shares.
    function reserve_yield_for(uint256 amount) public view returns (uint256) {
        if (reserve.totalYieldShares() == 0) return 0;
        return _divUp(amount * reserve_yield_bps, BPS);
    }

    modifier onlyMerchant() {
        require(msg.sender == offering.merchant(), "UNAUTHORIZED");
        _;
    }

    function _divUp(uint256 a, uint256 b) private pure returns (uint256) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /// The least MT a buyback of `dcepAmount` accepts.
    function min_out_for(uint256 dcepAmount) public view returns (uint256) {
        uint256 atTwap = _divUp(dcepAmount * WAD, pool.twap());
        return _divUp(atTwap * (BPS - max_slippage_bps), BPS);
    }

    function book_revenue(uint256 amount) external onlyMerchant returns (uint256 share) {
        require(amount > 0, "ZERO_AMOUNT");
        share = _divUp(amount * BUYBACK_BPS, BPS);
        uint256 toReserve = reserve_yield_for(amount);
        revenue += amount;
        allocated += share;
        dcep.transfer_from(msg.sender, address(this), share);
        if (toReserve > 0) {
            dcep.transfer_from(msg.sender, address(this), toReserve);
            dcep.approve(address(reserve), toReserve);
            reserve.fund_yield(toReserve);
        }
        emit RevenueBooked(amount, share);
    }

    function execute(uint256 dcepAmount, uint256 minMtOut, uint256 deadline)
        external onlyMerchant returns (uint256 bought)
    {
        require(pool.twap() >= phases.bronze_price(), "WRONG_PHASE");
        require(block.timestamp <= deadline, "EXPIRED");
        require(dcepAmount > 0, "ZERO_AMOUNT");
        require(dcepAmount <= allocated - spent, "EXCEEDS_ALLOCATION");
        uint256 minOut = min_out_for(dcepAmount);
        if (minMtOut > minOut) minOut = minMtOut;
        spent += dcepAmount;
        guaranteed += minOut;
        dcep.approve(address(pool), dcepAmount);
        bought = pool.swap_dcep_for_mt(dcepAmount, minOut, address(this), deadline);
        mt.burn(bought);
        burned += bought;
        emit Buyback(dcepAmount, bought, minOut);
    }
}
