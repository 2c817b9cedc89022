// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "./ERC20.sol";

/// @title DCEP: the stable cash token the tests deploy (spec/protocol/dcep.imo).
/// @notice A plain ERC-20 with a faucet anyone may call.
contract DCEP is ERC20 {
    function mint(address to, uint256 value) external {
        require(to != address(0), "ZERO_ADDRESS");
        _mint(to, value);
    }
}
