# pragma version 0.4.3
# @title reserve: the DCEP pool that guarantees MT's floor price
# @notice Written from spec/protocol/reserve.imo (docs/protocol.md section 3).
#   - `capacity` is the MT that may still be redeemed at the floor
#     (`phases.floor`, DCEP per MT, WAD).
#   - The floor guarantee: reserve_dcep * WAD >= floor * capacity, always.
#   - The reserve counts its DCEP in `reserve_dcep`, never with
#     `dcep.balance_of`: a donation is no backing.
#   - Floor redemption is open only in Iron, from the pool's TWAP, never its
#     spot price (a one-block price move cannot open the floor).
#   Rounding is always against the caller: capacity added and DCEP paid round
#   down, the MT an exit burns rounds up.
#   - The contributors' yield: `fund_yield` (called by `buyback.book_revenue`
#     with its share of the revenue) shares DCEP at once among the
#     contributors but the offering, pro rata to their contributions, with
#     the farm's accounting (yield_per_share scaled by ACC_PRECISION, one
#     rounding, down); `claim_yield` pays it. It is counted apart from
#     `reserve_dcep` and never paid out of it.
#   Approvals: `top_up` and `fund_yield` pull DCEP (approve the reserve on
#   dcep); `redeem` and `exit` burn the caller's MT with `mt.burn_from`
#   (approve the reserve on mt).

interface Dcep:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Mt:
    def burn_from(holder: address, amount: uint256): nonpayable

interface Phases:
    def floor() -> uint256: view
    def bronze_price() -> uint256: view
    def issue_price() -> uint256: view

interface Pool:
    def twap() -> uint256: view

event TopUp:
    contributor: address
    amount: uint256
    capacity_added: uint256

event Redeem:
    holder: address
    mt_amount: uint256
    dcep_amount: uint256

event Exit:
    contributor: address
    amount: uint256
    mt_burned: uint256

event YieldFunded:
    funder: address
    amount: uint256

event YieldClaimed:
    contributor: address
    amount: uint256

WAD: constant(uint256) = 10 ** 18
# The scale of yield_per_share.
ACC_PRECISION: constant(uint256) = 10 ** 12

# The bands of `phases.Phase`, from the lowest price up.
IRON: constant(uint256) = 0
BRONZE: constant(uint256) = 1
SILVER: constant(uint256) = 2
GOLD: constant(uint256) = 3

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
mt: public(immutable(address))
offering: public(immutable(address))
phases: public(immutable(address))
pool: public(immutable(address))

# The DCEP the reserve accounts for (never `dcep.balance_of`).
reserve_dcep: public(uint256)
# The MT that may still be redeemed at the floor.
capacity: public(uint256)
# The DCEP each contributor has added and not taken back.
contributed: public(HashMap[address, uint256])
total_contributed: public(uint256)
# The contributions that earn yield (every contributor's but the offering's).
yield_shares: public(HashMap[address, uint256])
total_yield_shares: public(uint256)
# The yield per DCEP of share, scaled by ACC_PRECISION.
yield_per_share: public(uint256)
# yield_shares*yield_per_share at the contributor's last settlement.
yield_debt: public(HashMap[address, uint256])
# The yield funded, in total, and the part paid out.
yield_funded: public(uint256)
yield_paid: public(uint256)


@deploy
def __init__(_dcep: address, _mt: address, _offering: address, _phases: address, _pool: address):
    dcep = _dcep
    mt = _mt
    offering = _offering
    phases = _phases
    pool = _pool


# ------------------------------------------------------------------ helpers

@internal
@view
def _floor() -> uint256:
    return staticcall Phases(phases).floor()


@internal
@view
def _phase(p: uint256) -> uint256:
    # Phase(p): the first band whose bound p is below, else Gold.
    if p < staticcall Phases(phases).floor():
        return IRON
    if p < staticcall Phases(phases).bronze_price():
        return BRONZE
    if p < staticcall Phases(phases).issue_price():
        return SILVER
    return GOLD


@internal
@pure
def _mul_div_up(a: uint256, b: uint256, c: uint256) -> uint256:
    p: uint256 = a * b
    q: uint256 = p // c
    if p % c != 0:
        q += 1
    return q


@internal
def _pay_yield(user: address) -> uint256:
    # (shares*yield_per_share - debt)/ACC_PRECISION, rounded down; the caller
    # resets the debt afterwards.
    owed: uint256 = (self.yield_shares[user] * self.yield_per_share - self.yield_debt[user]) // ACC_PRECISION
    if owed > 0:
        self.yield_paid += owed
        extcall Dcep(dcep).transfer(user, owed)
        log YieldClaimed(contributor=user, amount=owed)
    return owed


@external
@view
def pending_yield(user: address) -> uint256:
    """
    @notice The yield `user` could claim now.
    """
    return (self.yield_shares[user] * self.yield_per_share - self.yield_debt[user]) // ACC_PRECISION


# ------------------------------------------------------------------ actions

@external
def top_up(amount: uint256) -> uint256:
    """
    @notice Adds `amount` DCEP; capacity grows by amount*WAD/floor, rounded
        down. Anyone may top up; the contribution is recorded.
    """
    assert amount > 0, "ZERO_AMOUNT"
    added: uint256 = amount * WAD // self._floor()
    self.reserve_dcep += amount
    self.capacity += added
    self.contributed[msg.sender] += amount
    self.total_contributed += amount
    if msg.sender != offering:
        self._pay_yield(msg.sender)
        self.yield_shares[msg.sender] += amount
        self.total_yield_shares += amount
        self.yield_debt[msg.sender] = self.yield_shares[msg.sender] * self.yield_per_share
    extcall Dcep(dcep).transfer_from(msg.sender, self, amount)
    log TopUp(contributor=msg.sender, amount=amount, capacity_added=added)
    return added


@external
def redeem(mt_amount: uint256, deadline: uint256) -> uint256:
    """
    @notice Floor redemption, only in Iron (TWAP below the floor): burns
        `mt_amount` <= capacity MT and pays mt_amount*floor/WAD DCEP, rounded
        down. Returns the DCEP paid.
    """
    assert self._phase(staticcall Pool(pool).twap()) == IRON, "WRONG_PHASE"
    assert block.timestamp <= deadline, "EXPIRED"
    assert mt_amount > 0, "ZERO_AMOUNT"
    assert mt_amount <= self.capacity, "INSUFFICIENT_CAPACITY"
    dcep_amount: uint256 = mt_amount * self._floor() // WAD
    assert dcep_amount > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    self.capacity -= mt_amount
    self.reserve_dcep -= dcep_amount
    extcall Mt(mt).burn_from(msg.sender, mt_amount)
    extcall Dcep(dcep).transfer(msg.sender, dcep_amount)
    log Redeem(holder=msg.sender, mt_amount=mt_amount, dcep_amount=dcep_amount)
    return dcep_amount


@external
def exit(amount: uint256) -> uint256:
    """
    @notice A contributor takes back `amount` of the DCEP they added, only in
        Iron (the seed: the reserve cannot normally be taken out), burning
        amount*WAD/floor MT rounded up; capacity falls by the same MT
        (subordination: capacity must still cover it). Returns the MT burned.
    """
    assert self._phase(staticcall Pool(pool).twap()) == IRON, "WRONG_PHASE"
    assert amount > 0, "ZERO_AMOUNT"
    assert amount <= self.contributed[msg.sender], "EXCEEDS_CONTRIBUTION"
    mt_amount: uint256 = self._mul_div_up(amount, WAD, self._floor())
    assert mt_amount <= self.capacity, "INSUFFICIENT_CAPACITY"
    self.contributed[msg.sender] -= amount
    self.total_contributed -= amount
    if msg.sender != offering:
        self._pay_yield(msg.sender)
        self.yield_shares[msg.sender] -= amount
        self.total_yield_shares -= amount
        self.yield_debt[msg.sender] = self.yield_shares[msg.sender] * self.yield_per_share
    self.capacity -= mt_amount
    self.reserve_dcep -= amount
    extcall Mt(mt).burn_from(msg.sender, mt_amount)
    extcall Dcep(dcep).transfer(msg.sender, amount)
    log Exit(contributor=msg.sender, amount=amount, mt_burned=mt_amount)
    return mt_amount


@external
def fund_yield(amount: uint256):
    """
    @notice Adds `amount` DCEP of yield, shared at once among the contributors
        pro rata to their yield shares (yield_per_share grows by
        amount*ACC_PRECISION/total_yield_shares, rounded down). Anyone may
        fund; with no shares it reverts.
    """
    assert amount > 0, "ZERO_AMOUNT"
    assert self.total_yield_shares > 0, "NO_CONTRIBUTORS"
    self.yield_funded += amount
    self.yield_per_share += amount * ACC_PRECISION // self.total_yield_shares
    extcall Dcep(dcep).transfer_from(msg.sender, self, amount)
    log YieldFunded(funder=msg.sender, amount=amount)


@external
def claim_yield() -> uint256:
    """
    @notice Pays the caller's pending yield; returns it. The backing
        (reserve_dcep, capacity) is never touched.
    """
    amount: uint256 = self._pay_yield(msg.sender)
    self.yield_debt[msg.sender] = self.yield_shares[msg.sender] * self.yield_per_share
    return amount
