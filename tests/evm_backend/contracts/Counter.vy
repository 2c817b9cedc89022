# pragma version 0.4.3
# Test contract for the EVM backends: every feature the backend tests need.

event Bumped:
    who: indexed(address)
    amount: uint256
    total: uint256

event Noted:
    key: indexed(address)
    note: String[32]

owner: public(address)
counter: public(uint256)
credits: public(HashMap[address, uint256])
last_seen: public(uint256)
ticks: transient(uint256)


@deploy
def __init__(start: uint256):
    self.owner = msg.sender
    self.counter = start


@external
def bump(amount: uint256) -> uint256:
    assert amount != 13, "REASON"
    self.counter += amount  # reverts bare on overflow
    self.credits[msg.sender] += amount
    log Bumped(who=msg.sender, amount=amount, total=self.counter)
    return self.counter


@external
def note(text: String[32]):
    log Noted(key=msg.sender, note=text)


@external
def stamp() -> uint256:
    self.last_seen = block.timestamp
    return block.timestamp


@view
@external
def now() -> uint256:
    return block.timestamp


@view
@external
def env() -> (uint256, uint256, address):
    return block.number, chain.id, msg.sender


@payable
@external
def deposit() -> uint256:
    return self.balance


@external
def fail_bare():
    raise


@external
def tick() -> uint256:
    # Transient storage starts at zero in every transaction.
    self.ticks += 1
    return self.ticks
