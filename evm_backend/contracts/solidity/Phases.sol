// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IPool {
    function twap() external view returns (uint256);
}

/// @title Phases: the four bands of the MT price (spec/protocol/phases.imo).
/// @notice Iron below the floor, Bronze below the Bronze price, Silver below
/// the issue price, Gold at and above it; the price is always the pool's TWAP.
contract Phases {
    enum Phase {
        Iron,
        Bronze,
        Silver,
        Gold
    }

    uint256 public immutable floor;
    uint256 public immutable bronze_price;
    uint256 public immutable issue_price;
    IPool public immutable pool;

    constructor(uint256 floor_, uint256 bronzePrice, uint256 issuePrice, IPool pool_) {
        require(floor_ > 0, "ZERO_FLOOR");
        require(floor_ < bronzePrice && bronzePrice < issuePrice, "BAD_PHASE_ORDER");
        (floor, bronze_price, issue_price, pool) = (floor_, bronzePrice, issuePrice, pool_);
    }

    /// The band of price `p`.
    function phaseOf(uint256 p) public view returns (Phase) {
        if (p >= issue_price) return Phase.Gold;
        if (p >= bronze_price) return Phase.Silver;
        if (p >= floor) return Phase.Bronze;
        return Phase.Iron;
    }

    /// The phase now, from the pool's TWAP.
    function current() external view returns (Phase) {
        return phaseOf(pool.twap());
    }
}
