// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "./ERC20.sol";

interface IToken {
    function transfer(address to, uint256 value) external returns (bool);
    function transfer_from(address from, address to, uint256 value) external returns (bool);
}

/// @title Pool: the MT/DCEP constant-product pool, its own LP token
/// (spec/protocol/pool.imo; Uniswap v2's formulas).
/// @notice Only the offering opens it (isqrt(mt * dcep) - 1,000 LP, the 1,000
/// locked at the zero address); later deposits keep the ratio and mint the
/// smaller share; a swap pays in * 997 * R_out / (R_in * 1000 + in * 997)
/// and must keep the fee-adjusted product. Reserves are accounting variables
/// (never balances), at most 112 bits, packed with the last update's time.
/// The price oracle keeps two observations at least a window apart; the TWAP
/// runs from the older one to now.
contract Pool is ERC20 {
    event Mint(address indexed sender, uint256 mtAmount, uint256 dcepAmount, uint256 liquidity,
               address indexed receiver);
    event Burn(address indexed sender, uint256 mtAmount, uint256 dcepAmount, uint256 liquidity,
               address indexed receiver);
    event Swap(address indexed sender, uint256 mtIn, uint256 dcepIn, uint256 mtOut, uint256 dcepOut,
               address indexed receiver);
    event Sync(uint256 reserveMt, uint256 reserveDcep);
    event Observation(uint256 cumulative, uint256 timestamp);

    uint256 private constant WAD = 1e18;
    uint256 public constant MINIMUM_LIQUIDITY = 1_000;

    uint256 public immutable twapWindow;
    IToken public immutable dcep;
    IToken public immutable mt;
    address public immutable offering;

    uint112 public reserveMt;
    uint112 public reserveDcep;
    uint32 public lastUpdate;
    bool public locked;
    uint256 public priceCumulative;
    uint256 public obsOldCumulative;
    uint256 public obsOldTime;
    uint256 public obsNewCumulative;
    uint256 public obsNewTime;

    constructor(uint256 twapWindow_, IToken dcep_, IToken mt_, address offering_) {
        require(twapWindow_ > 0, "INVALID_PARAMETERS");
        (twapWindow, dcep, mt, offering) = (twapWindow_, dcep_, mt_, offering_);
    }

    modifier lock() {
        require(!locked, "LOCKED");
        locked = true;
        _;
        locked = false;
    }

    // ------------------------------------------------------------ pricing

    function get_amount_out(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        uint256 inWithFee = amountIn * 997;
        return inWithFee * reserveOut / (reserveIn * 1000 + inWithFee);
    }

    function _kHolds(uint256 inAfter, uint256 outAfter, uint256 amountIn, uint256 inBefore, uint256 outBefore)
        private pure returns (bool)
    {
        uint256 feePart = amountIn * (1000 - 997);
        return (inAfter * 1000 - feePart) * (outAfter * 1000) >= inBefore * outBefore * 1000 * 1000;
    }

    function spot_price() public view returns (uint256) {
        return uint256(reserveDcep) * WAD / reserveMt;
    }

    function cumulative_price() public view returns (uint256) {
        if (reserveMt == 0) return priceCumulative;
        return priceCumulative + spot_price() * (block.timestamp - lastUpdate);
    }

    function twap() external view returns (uint256) {
        require(totalSupply > 0, "NOT_LAUNCHED");
        require(block.timestamp >= obsOldTime + twapWindow, "TWAP_NOT_READY");
        return (cumulative_price() - obsOldCumulative) / (block.timestamp - obsOldTime);
    }

    // ------------------------------------------------------------ oracle

    function _accumulate() private {
        uint256 elapsed = block.timestamp - lastUpdate;
        if (elapsed > 0 && reserveMt > 0) priceCumulative += spot_price() * elapsed;
        lastUpdate = uint32(block.timestamp);
    }

    function _roll() private {
        if (block.timestamp < obsNewTime + twapWindow) return;
        (obsOldCumulative, obsOldTime) = (obsNewCumulative, obsNewTime);
        (obsNewCumulative, obsNewTime) = (priceCumulative, block.timestamp);
        emit Observation(priceCumulative, block.timestamp);
    }

    function _update(uint256 newMt, uint256 newDcep) private {
        require(newMt <= type(uint112).max && newDcep <= type(uint112).max, "OVERFLOW");
        _accumulate();
        _roll();
        (reserveMt, reserveDcep) = (uint112(newMt), uint112(newDcep));
        emit Sync(newMt, newDcep);
    }

    function observe() external {
        require(!locked, "LOCKED");
        require(totalSupply > 0, "NOT_LAUNCHED");
        require(block.timestamp >= obsNewTime + twapWindow, "WINDOW_NOT_ELAPSED");
        _accumulate();
        _roll();
    }

    // --------------------------------------------------------- liquidity

    function add_liquidity(uint256 mtDesired, uint256 dcepDesired, uint256 mtMin, uint256 dcepMin, address receiver,
                           uint256 deadline) external lock returns (uint256 liquidity) {
        require(block.timestamp <= deadline, "EXPIRED");
        require(receiver != address(0), "ZERO_ADDRESS");
        (uint256 mtAmount, uint256 dcepAmount) = (mtDesired, dcepDesired);
        (uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);
        uint256 supply = totalSupply;
        if (supply == 0) {
            require(msg.sender == offering, "UNAUTHORIZED");
            require(mtAmount <= type(uint112).max && dcepAmount <= type(uint112).max, "OVERFLOW");
            uint256 root = _sqrt(mtAmount * dcepAmount);
            require(root > MINIMUM_LIQUIDITY, "INSUFFICIENT_LIQUIDITY_MINTED");
            liquidity = root - MINIMUM_LIQUIDITY;
            _mint(address(0), MINIMUM_LIQUIDITY);
            (obsOldCumulative, obsOldTime) = (priceCumulative, block.timestamp);
            (obsNewCumulative, obsNewTime) = (priceCumulative, block.timestamp);
            emit Observation(priceCumulative, block.timestamp);
        } else {
            uint256 dcepOptimal = mtDesired * rDcep / rMt;
            if (dcepOptimal <= dcepDesired) dcepAmount = dcepOptimal;
            else mtAmount = dcepDesired * rMt / rDcep;
            uint256 byMt = mtAmount * supply / rMt;
            uint256 byDcep = dcepAmount * supply / rDcep;
            liquidity = byMt < byDcep ? byMt : byDcep;
        }
        require(mtAmount >= mtMin, "INSUFFICIENT_MT_AMOUNT");
        require(dcepAmount >= dcepMin, "INSUFFICIENT_DCEP_AMOUNT");
        require(liquidity > 0, "INSUFFICIENT_LIQUIDITY_MINTED");
        mt.transfer_from(msg.sender, address(this), mtAmount);
        dcep.transfer_from(msg.sender, address(this), dcepAmount);
        _mint(receiver, liquidity);
        _update(rMt + mtAmount, rDcep + dcepAmount);
        emit Mint(msg.sender, mtAmount, dcepAmount, liquidity, receiver);
    }

    function remove_liquidity(uint256 liquidity, uint256 mtMin, uint256 dcepMin, address receiver, uint256 deadline)
        external lock
    {
        require(block.timestamp <= deadline, "EXPIRED");
        require(liquidity > 0, "INSUFFICIENT_LIQUIDITY_BURNED");
        uint256 supply = totalSupply;
        _burn(msg.sender, liquidity);
        (uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);
        uint256 mtAmount = liquidity * rMt / supply;
        uint256 dcepAmount = liquidity * rDcep / supply;
        require(mtAmount > 0 && dcepAmount > 0, "INSUFFICIENT_LIQUIDITY_BURNED");
        require(mtAmount >= mtMin, "INSUFFICIENT_MT_AMOUNT");
        require(dcepAmount >= dcepMin, "INSUFFICIENT_DCEP_AMOUNT");
        mt.transfer(receiver, mtAmount);
        dcep.transfer(receiver, dcepAmount);
        _update(rMt - mtAmount, rDcep - dcepAmount);
        emit Burn(msg.sender, mtAmount, dcepAmount, liquidity, receiver);
    }

    // ------------------------------------------------------------- swaps

    function swap_mt_for_dcep(uint256 mtIn, uint256 minDcepOut, address receiver, uint256 deadline)
        external lock returns (uint256 dcepOut)
    {
        require(block.timestamp <= deadline, "EXPIRED");
        require(mtIn > 0, "INSUFFICIENT_INPUT_AMOUNT");
        (uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);
        require(rMt > 0 && rDcep > 0, "INSUFFICIENT_LIQUIDITY");
        dcepOut = get_amount_out(mtIn, rMt, rDcep);
        require(dcepOut > 0, "INSUFFICIENT_OUTPUT_AMOUNT");
        require(dcepOut >= minDcepOut, "INSUFFICIENT_OUTPUT_AMOUNT");
        mt.transfer_from(msg.sender, address(this), mtIn);
        dcep.transfer(receiver, dcepOut);
        require(_kHolds(rMt + mtIn, rDcep - dcepOut, mtIn, rMt, rDcep), "K");
        _update(rMt + mtIn, rDcep - dcepOut);
        emit Swap(msg.sender, mtIn, 0, 0, dcepOut, receiver);
    }

    function swap_dcep_for_mt(uint256 dcepIn, uint256 minMtOut, address receiver, uint256 deadline)
        external lock returns (uint256 mtOut)
    {
        require(block.timestamp <= deadline, "EXPIRED");
        require(dcepIn > 0, "INSUFFICIENT_INPUT_AMOUNT");
        (uint256 rMt, uint256 rDcep) = (reserveMt, reserveDcep);
        require(rMt > 0 && rDcep > 0, "INSUFFICIENT_LIQUIDITY");
        mtOut = get_amount_out(dcepIn, rDcep, rMt);
        require(mtOut > 0, "INSUFFICIENT_OUTPUT_AMOUNT");
        require(mtOut >= minMtOut, "INSUFFICIENT_OUTPUT_AMOUNT");
        dcep.transfer_from(msg.sender, address(this), dcepIn);
        mt.transfer(receiver, mtOut);
        require(_kHolds(rDcep + dcepIn, rMt - mtOut, dcepIn, rDcep, rMt), "K");
        _update(rMt - mtOut, rDcep + dcepIn);
        emit Swap(msg.sender, 0, dcepIn, mtOut, 0, receiver);
    }

    /// The floor of the square root of `x`.
    function _sqrt(uint256 x) private pure returns (uint256 r) {
        if (x == 0) return 0;
        r = x;
        uint256 next = x / 2 + 1;
        while (next < r) {
            r = next;
            next = (x / next + next) / 2;
        }
    }
}
