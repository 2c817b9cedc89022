// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

contract Broken {
    uint256 public x;

    function f() external {
        x = y + 1;
    }
}
