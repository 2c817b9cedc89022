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
#   - The seed's distribution: `dmg` mints the locked 60% of the supply here
#     at deployment, held as three `allocations` made by the constructor (0:
#     the foundation's 100M, linear over [unlock_start, unlock_end]; 1 and 2:
#     the rewards' and the sale's 25M each, in full at unlock_start). The
#     dates are constructor arguments ("BAD_SCHEDULE" unless 1 <= unlock_start
#     < unlock_end <= 2**112 - 1). Anyone may `release_allocation(id)`: what
#     has vested goes to the allocation's wallet ("UNKNOWN_ALLOCATION" for an
#     id past 2).

interface Dmg:
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable

MAX_UINT112: constant(uint256) = 2**112 - 1
FOUNDATION_LOCKED: constant(uint256) = 100000000 * 10**18
REWARDS_LOCKED: constant(uint256) = 25000000 * 10**18
SALE_LOCKED: constant(uint256) = 25000000 * 10**18
LOCKED_SUPPLY: constant(uint256) = 150000000 * 10**18
ALLOCATIONS: constant(uint256) = 3

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

event AllocationReleased:
    id: uint256
    wallet: address
    amount: uint256

funder: public(immutable(address))
# the wallets the seed's allocations pay, and their dates
foundation_wallet: public(immutable(address))
rewards_wallet: public(immutable(address))
sale_wallet: public(immutable(address))
unlock_start: public(immutable(uint256))
unlock_end: public(immutable(uint256))
# imported modules (constructor arguments, in the spec's import order)
dmg: public(immutable(address))
timelock: public(immutable(address))
governor: public(immutable(address))

grants: public(HashMap[address, Grant])
released: public(HashMap[address, uint256])
released_at: public(HashMap[address, uint256])
outstanding: public(uint256)
allocations: public(HashMap[uint256, Grant])
allocation_released: public(HashMap[uint256, uint256])
allocation_released_at: public(HashMap[uint256, uint256])


@deploy
def __init__(_funder: address, _foundation_wallet: address, _rewards_wallet: address, _sale_wallet: address,
             _unlock_start: uint256, _unlock_end: uint256, _dmg: address, _timelock: address, _governor: address):
    funder = _funder
    foundation_wallet = _foundation_wallet
    rewards_wallet = _rewards_wallet
    sale_wallet = _sale_wallet
    unlock_start = _unlock_start
    unlock_end = _unlock_end
    dmg = _dmg
    timelock = _timelock
    governor = _governor
    assert 1 <= _unlock_start and _unlock_start < _unlock_end and _unlock_end <= MAX_UINT112, "BAD_SCHEDULE"
    self.allocations[0] = Grant(total=FOUNDATION_LOCKED, start=_unlock_start, cliff=_unlock_start, end=_unlock_end)
    self.allocations[1] = Grant(total=REWARDS_LOCKED, start=_unlock_start - 1, cliff=_unlock_start, end=_unlock_start)
    self.allocations[2] = Grant(total=SALE_LOCKED, start=_unlock_start - 1, cliff=_unlock_start, end=_unlock_start)
    self.outstanding = LOCKED_SUPPLY


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


@internal
@view
def _wallet_of(id: uint256) -> address:
    if id == 0:
        return foundation_wallet
    if id == 1:
        return rewards_wallet
    return sale_wallet


@external
@view
def wallet_of(id: uint256) -> address:
    """The wallet allocation `id` pays."""
    return self._wallet_of(id)


@external
def release_allocation(id: uint256) -> uint256:
    """Send allocation `id`'s wallet everything of it vested and not yet released (anyone may call)."""
    assert id < ALLOCATIONS, "UNKNOWN_ALLOCATION"
    g: Grant = self.allocations[id]
    amount: uint256 = self._vested_amount(g.total, g.start, g.cliff, g.end, block.timestamp) - self.allocation_released[id]
    assert amount > 0, "NOTHING_TO_RELEASE"
    self.allocation_released[id] += amount
    self.allocation_released_at[id] = block.timestamp
    self.outstanding -= amount
    wallet: address = self._wallet_of(id)
    extcall Dmg(dmg).transfer(wallet, amount)
    log AllocationReleased(id=id, wallet=wallet, amount=amount)
    return amount
