// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Layouts {
    struct S { uint128 a; address b; bool c; uint256 d; }
    uint112 public r0; uint112 public r1; uint32 public ts;
    mapping(address => uint256) public bal;
    mapping(address => mapping(uint256 => S)) public nested;
    uint64[] public small;
    S[] public structs;
    mapping(bytes4 => uint8) public sel;
    function set() external { r0 = 5; r1 = 7; ts = 9; bal[msg.sender] = 11; nested[msg.sender][3] = S(13, msg.sender, true, 17);
      small.push(1); small.push(2); small.push(3); small.push(4); small.push(5); structs.push(S(1, address(this), false, 2)); sel[0xdeadbeef] = 42; }
}
