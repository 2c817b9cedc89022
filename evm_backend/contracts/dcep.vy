# pragma version 0.4.3
# @title dcep: the stable cash token (a mintable ERC-20 for the tests)
# @notice Written from spec/protocol/dcep.imo and its template erc20.imo
#   (docs/protocol.md "Actors and assets").
#   - In production DCEP is any 18-decimal ERC-20; this is the one the tests
#     deploy. Anyone may mint (a test faucet).
#   - erc20 conventions: an allowance of max_value(uint256) is infinite and
#     never decremented; a transfer to the zero address is refused
#     ("ZERO_ADDRESS"); tokens leave the supply only through `_burn` (no
#     action of dcep burns).
#   - Every `require` of the spec is an `assert` with the same reason, in the
#     same order. Arithmetic faults are Vyper's bare reverts.

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256

# ---------------------------------------------------------------- erc20 state

# The number of tokens in existence.
total_supply: public(uint256)
# The tokens each address holds.
balance_of: public(HashMap[address, uint256])
# allowance[owner][spender]: what `spender` may still move out of `owner`'s balance.
allowance: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__():
    pass


# ---------------------------------------------------------------- erc20 actions

@external
def transfer(receiver: address, amount: uint256) -> bool:
    """Moves `amount` of the caller's tokens to `receiver`."""
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """Lets `spender` move up to `amount` of the caller's tokens (replaces the old amount)."""
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, amount=amount)
    return True


@external
def transfer_from(sender: address, receiver: address, amount: uint256) -> bool:
    """Moves `amount` of `sender`'s tokens to `receiver`, spending the
    allowance that `sender` gave to the caller."""
    self._spend_allowance(sender, msg.sender, amount)
    self._transfer(sender, receiver, amount)
    return True


# ---------------------------------------------------------------- dcep actions

@external
def mint(receiver: address, amount: uint256):
    """Test faucet: creates `amount` DCEP for `receiver`. Anyone may call it."""
    assert receiver != empty(address), "ZERO_ADDRESS"
    self._mint(receiver, amount)


# ---------------------------------------------------------------- erc20 internals

@internal
def _spend_allowance(owner: address, spender: address, amount: uint256):
    allowed: uint256 = self.allowance[owner][spender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "INSUFFICIENT_ALLOWANCE"
        self.allowance[owner][spender] = allowed - amount


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "ZERO_ADDRESS"
    assert self.balance_of[sender] >= amount, "INSUFFICIENT_BALANCE"
    self.balance_of[sender] -= amount
    self.balance_of[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, amount=amount)


@internal
def _mint(receiver: address, amount: uint256):
    self.total_supply += amount
    self.balance_of[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, amount=amount)
