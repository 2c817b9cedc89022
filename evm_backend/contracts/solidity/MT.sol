// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "./ERC20.sol";

interface IOffering {
    function mt_total() external view returns (uint256);
}

/// @title MT: the merchant token, an ERC-20 with COMP-style vote checkpoints.
/// @notice Written from spec/protocol/mt.imo and votes.imo. The whole supply
/// is minted to the offering at deployment; holders burn it. A balance counts
/// for its holder's delegate (nobody until the holder delegates); each
/// delegate's history keeps one checkpoint per block it changed in, a block
/// number and the votes packed in one slot.
contract MT is ERC20 {
    struct Checkpoint {
        uint32 fromBlock;
        uint224 votes;
    }

    event DelegateChanged(address indexed delegator, address indexed fromDelegate, address indexed toDelegate);
    event DelegateVotesChanged(address indexed delegate, uint256 previousBalance, uint256 newBalance);

    address public immutable offering;

    mapping(address => address) public delegates;
    mapping(address => mapping(uint256 => Checkpoint)) public checkpoints;
    mapping(address => uint256) public numCheckpoints;
    mapping(address => uint256) public currentVotes;
    uint256 public totalDelegated;

    constructor(address offering_) {
        offering = offering_;
        _mint(offering_, IOffering(offering_).mt_total());
    }

    function burn(uint256 value) external {
        _burn(msg.sender, value);
    }

    function burn_from(address holder, uint256 value) external {
        _spendAllowance(holder, msg.sender, value);
        _burn(holder, value);
    }

    function delegate(address delegatee) external {
        address previous = delegates[msg.sender];
        uint256 held = balanceOf[msg.sender];
        delegates[msg.sender] = delegatee;
        emit DelegateChanged(msg.sender, previous, delegatee);
        if (previous == address(0) && delegatee != address(0)) totalDelegated += held;
        if (previous != address(0) && delegatee == address(0)) totalDelegated -= held;
        _moveVotes(previous, delegatee, held);
    }

    /// The votes of `account` at the end of block `blockNumber`; only an ended block may be asked for.
    function getPriorVotes(address account, uint256 blockNumber) external view returns (uint256) {
        require(blockNumber < block.number, "NOT_YET_DETERMINED");
        uint256 n = numCheckpoints[account];
        if (n == 0) return 0;
        mapping(uint256 => Checkpoint) storage history = checkpoints[account];
        if (history[n - 1].fromBlock <= blockNumber) return history[n - 1].votes;
        if (history[0].fromBlock > blockNumber) return 0;
        uint256 lower = 0;
        uint256 upper = n - 1;
        while (upper > lower) {
            uint256 center = upper - (upper - lower) / 2;
            Checkpoint memory cp = history[center];
            if (cp.fromBlock == blockNumber) return cp.votes;
            if (cp.fromBlock < blockNumber) lower = center;
            else upper = center - 1;
        }
        return history[lower].votes;
    }

    function _afterTransfer(address from, address to, uint256 value) internal override {
        address src = from == address(0) ? address(0) : delegates[from];
        address dst = to == address(0) ? address(0) : delegates[to];
        if (dst != address(0)) totalDelegated += value;
        if (src != address(0)) totalDelegated -= value;
        _moveVotes(src, dst, value);
    }

    function _moveVotes(address src, address dst, uint256 value) private {
        if (src == dst || value == 0) return;
        if (src != address(0)) _writeCheckpoint(src, currentVotes[src] - value);
        if (dst != address(0)) _writeCheckpoint(dst, currentVotes[dst] + value);
    }

    function _writeCheckpoint(address delegatee, uint256 newVotes) private {
        uint256 previous = currentVotes[delegatee];
        uint256 n = numCheckpoints[delegatee];
        if (n > 0 && checkpoints[delegatee][n - 1].fromBlock == block.number) {
            checkpoints[delegatee][n - 1].votes = uint224(newVotes);
        } else {
            require(n < 2 ** 32, "TOO_MANY_CHECKPOINTS");
            checkpoints[delegatee][n] = Checkpoint(uint32(block.number), uint224(newVotes));
            numCheckpoints[delegatee] = n + 1;
        }
        currentVotes[delegatee] = newVotes;
        emit DelegateVotesChanged(delegatee, previous, newVotes);
    }
}
