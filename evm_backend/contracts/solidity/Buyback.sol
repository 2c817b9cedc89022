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
/// the TWAP cannot be sandwiched), and burns what it bought.
contract Buyback {
    event RevenueBooked(uint256 amount, uint256 allocated);
    event Buyback(uint256 dcepAmount, uint256 mtAmount, uint256 minOut);

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    uint256 private constant BUYBACK_BPS = 2_000;

    uint256 public immutable max_slippage_bps;
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

    constructor(uint256 maxSlippageBps, IOffering offering_, IPhases phases_, IPool pool_, IToken mt_, IToken dcep_) {
        require(maxSlippageBps < BPS, "INVALID_PARAMETERS");
        max_slippage_bps = maxSlippageBps;
        (offering, phases, pool, mt, dcep) = (offering_, phases_, pool_, mt_, dcep_);
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
        revenue += amount;
        allocated += share;
        dcep.transfer_from(msg.sender, address(this), share);
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
