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
#   Approvals: `top_up` pulls DCEP (approve the reserve on dcep); `redeem` and
#   `exit` burn the caller's MT with `mt.burn_from` (approve the reserve on mt).

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

WAD: constant(uint256) = 10 ** 18

# The bands of `phases.Phase`, from the lowest price up.
IRON: constant(uint256) = 0
BRONZE: constant(uint256) = 1
SILVER: constant(uint256) = 2
GOLD: constant(uint256) = 3

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
mt: public(immutable(address))
phases: public(immutable(address))
pool: public(immutable(address))

# The DCEP the reserve accounts for (never `dcep.balance_of`).
reserve_dcep: public(uint256)
# The MT that may still be redeemed at the floor.
capacity: public(uint256)
# The DCEP each contributor has added and not taken back.
contributed: public(HashMap[address, uint256])
total_contributed: public(uint256)


@deploy
def __init__(_dcep: address, _mt: address, _phases: address, _pool: address):
    dcep = _dcep
    mt = _mt
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
    self.capacity -= mt_amount
    self.reserve_dcep -= amount
    extcall Mt(mt).burn_from(msg.sender, mt_amount)
    extcall Dcep(dcep).transfer(msg.sender, amount)
    log Exit(contributor=msg.sender, amount=amount, mt_burned=mt_amount)
    return mt_amount
