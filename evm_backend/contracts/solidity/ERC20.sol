// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ERC20: the fungible token every token of the protocol builds on.
/// @notice Written from spec/protocol/erc20.imo. An allowance of the maximum
/// is infinite; a transfer to the zero address is refused; minting may credit
/// the zero address (the pool locks its minimum liquidity there). Every
/// balance change runs the `_afterTransfer` hook before its Transfer event.
/// The functions other contracts of the protocol call keep the spec's names
/// (`transfer_from`, `burn_from`): they are the protocol's own interface.
abstract contract ERC20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer_from(address from, address to, uint256 value) external returns (bool) {
        _spendAllowance(from, msg.sender, value);
        _transfer(from, to, value);
        return true;
    }

    function _spendAllowance(address owner, address spender, uint256 value) internal {
        uint256 allowed = allowance[owner][spender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "INSUFFICIENT_ALLOWANCE");
            unchecked {
                allowance[owner][spender] = allowed - value;
            }
        }
    }

    function _transfer(address from, address to, uint256 value) internal {
        require(to != address(0), "ZERO_ADDRESS");
        uint256 held = balanceOf[from];
        require(held >= value, "INSUFFICIENT_BALANCE");
        unchecked {
            balanceOf[from] = held - value;
        }
        balanceOf[to] += value;
        _afterTransfer(from, to, value);
        emit Transfer(from, to, value);
    }

    function _mint(address to, uint256 value) internal {
        totalSupply += value;
        balanceOf[to] += value;
        _afterTransfer(address(0), to, value);
        emit Transfer(address(0), to, value);
    }

    function _burn(address from, uint256 value) internal {
        uint256 held = balanceOf[from];
        require(held >= value, "INSUFFICIENT_BALANCE");
        unchecked {
            balanceOf[from] = held - value;
        }
        totalSupply -= value;
        _afterTransfer(from, address(0), value);
        emit Transfer(from, address(0), value);
    }

    /// Runs after every balance change; `from` is zero for a mint, `to` for a burn.
    function _afterTransfer(address from, address to, uint256 value) internal virtual {}
}
