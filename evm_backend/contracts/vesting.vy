# pragma version 0.4.3
# @title vesting: DMG lockups that release linearly after a cliff
# @notice Written from spec/protocol/vesting.imo (docs/protocol.md section 8).
#   - Only `funder` creates grants ("UNAUTHORIZED"), paying the DMG in at once
#     through `transfer_from` (it approves this contract first).
#   - One grant per beneficiary, never to the zero address nor to a
#     governance module (this contract, DMG, the timelock, the governor:
#     "GRANT_TO_MODULE"), which could never call `release`.
#   - Vesting is linear from `start` to `end`, nothing before `cliff`,
#     rounding down: `total * (t - start) / (end - start)`.

interface Dmg:
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable

MAX_UINT112: constant(uint256) = 2**112 - 1

struct Grant:
    total: uint256
    start: uint256
    cliff: uint256
    end: uint256

event GrantCreated:
    beneficiary: address
    total: uint256
    start: uint256
    cliff: uint256
    end: uint256

event Released:
    beneficiary: address
    amount: uint256

funder: public(immutable(address))
# imported modules (constructor arguments, in the spec's import order)
dmg: public(immutable(address))
timelock: public(immutable(address))
governor: public(immutable(address))

grants: public(HashMap[address, Grant])
released: public(HashMap[address, uint256])
released_at: public(HashMap[address, uint256])
outstanding: public(uint256)


@deploy
def __init__(_funder: address, _dmg: address, _timelock: address, _governor: address):
    funder = _funder
    dmg = _dmg
    timelock = _timelock
    governor = _governor


@internal
@pure
def _vested_amount(total: uint256, start: uint256, cliff: uint256, end: uint256, t: uint256) -> uint256:
    if t < cliff:
        return 0
    if t >= end:
        return total
    return total * (t - start) // (end - start)


@internal
@view
def _vested_of(beneficiary: address, t: uint256) -> uint256:
    g: Grant = self.grants[beneficiary]
    return self._vested_amount(g.total, g.start, g.cliff, g.end, t)


@internal
@view
def _is_governance_module(account: address) -> bool:
    return account == self or account == dmg or account == timelock or account == governor


@external
@pure
def vested_amount(total: uint256, start: uint256, cliff: uint256, end: uint256, t: uint256) -> uint256:
    """What a grant of `total` over [start, end] with a cliff has vested at `t`."""
    return self._vested_amount(total, start, cliff, end, t)


@external
@view
def vested_of(beneficiary: address, t: uint256) -> uint256:
    """What `beneficiary`'s grant has vested at `t`."""
    return self._vested_of(beneficiary, t)


@external
@view
def is_governance_module(account: address) -> bool:
    """Whether `account` is one of the governance modules."""
    return self._is_governance_module(account)


@external
def add_grant(beneficiary: address, total: uint256, start: uint256, cliff: uint256, end: uint256):
    """Lock `total` DMG for `beneficiary` on the schedule (start, cliff, end)."""
    assert msg.sender == funder, "UNAUTHORIZED"
    assert beneficiary != empty(address), "ZERO_BENEFICIARY"
    assert not self._is_governance_module(beneficiary), "GRANT_TO_MODULE"
    assert self.grants[beneficiary].total == 0, "GRANT_EXISTS"
    assert total > 0, "ZERO_AMOUNT"
    assert start <= cliff and cliff <= end and start < end, "BAD_SCHEDULE"
    assert total <= MAX_UINT112 and end <= MAX_UINT112, "GRANT_TOO_LARGE"
    extcall Dmg(dmg).transfer_from(msg.sender, self, total)
    self.grants[beneficiary] = Grant(total=total, start=start, cliff=cliff, end=end)
    self.outstanding += total
    log GrantCreated(beneficiary=beneficiary, total=total, start=start, cliff=cliff, end=end)


@external
def release() -> uint256:
    """Send the caller everything vested and not yet released."""
    amount: uint256 = self._vested_of(msg.sender, block.timestamp) - self.released[msg.sender]
    assert amount > 0, "NOTHING_TO_RELEASE"
    self.released[msg.sender] += amount
    self.released_at[msg.sender] = block.timestamp
    self.outstanding -= amount
    extcall Dmg(dmg).transfer(msg.sender, amount)
    log Released(beneficiary=msg.sender, amount=amount)
    return amount
