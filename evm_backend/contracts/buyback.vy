# pragma version 0.4.3
# @title buyback: a share of the merchant's revenue buys MT back and burns it
# @notice Written from spec/protocol/buyback.imo (docs/protocol.md section 6).
#   - The merchant books revenue; BUYBACK_BPS of it (rounded up) is paid into
#     this contract in DCEP at once, and can then only buy MT.
#   - The merchant executes buybacks in Gold or Silver: each swaps DCEP for MT
#     through the pool and burns all of it.
#   - Sandwich protection: each swap's minimum output comes from the pool's
#     TWAP, less `max_slippage_bps` (both steps rounded up), never from the
#     spot price; the merchant may pass a minimum of its own (`min_mt_out`)
#     and the larger of the two applies, so a spot price below the TWAP
#     cannot be sandwiched. The pool refuses a worse fill. A deadline bounds
#     the delay.
#   - The reserve's yield: each booking also pays `reserve_yield_bps` of the
#     revenue (rounded up) to the reserve's contributors through
#     `reserve.fund_yield`, while someone has a yield share there.
#   Approvals: `book_revenue` pulls DCEP from the merchant (approve the buyback
#   on dcep). This contract approves the pool for the exact DCEP of each swap,
#   and the reserve for the exact yield of each booking.

interface Dcep:
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Mt:
    def burn(amount: uint256): nonpayable

interface Offering:
    def merchant() -> address: view

interface Phases:
    def floor() -> uint256: view
    def bronze_price() -> uint256: view
    def issue_price() -> uint256: view

interface Pool:
    def twap() -> uint256: view
    def swap_dcep_for_mt(dcep_in: uint256, min_mt_out: uint256, receiver: address, deadline: uint256) -> uint256: nonpayable

interface Reserve:
    def total_yield_shares() -> uint256: view
    def fund_yield(amount: uint256): nonpayable

event RevenueBooked:
    amount: uint256
    allocated: uint256

event Buyback:
    dcep_amount: uint256
    mt_amount: uint256
    min_out: uint256

BPS: constant(uint256) = 10000
WAD: constant(uint256) = 10 ** 18
# The share of revenue that buys MT back (docs/protocol.md: 20%).
BUYBACK_BPS: constant(uint256) = 2000

SILVER: constant(uint256) = 2
GOLD: constant(uint256) = 3

# governed by MT holders: the worst price a buyback accepts, below the TWAP;
# set only by `mt_timelock`, inside [0, 1000]
max_slippage_bps: public(uint256)
MAX_SLIPPAGE_BPS_KEY: constant(bytes32) = keccak256("buyback.max_slippage_bps")
# the MT holders' timelock, the one caller of `set_parameter`
mt_timelock: public(immutable(address))
# parameter (immutable): the share of revenue paid to the reserve's contributors
reserve_yield_bps: public(immutable(uint256))

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
mt: public(immutable(address))
offering: public(immutable(address))
phases: public(immutable(address))
pool: public(immutable(address))
reserve: public(immutable(address))

# Revenue booked in total; the DCEP set aside for buybacks; the part spent.
revenue: public(uint256)
allocated: public(uint256)
spent: public(uint256)
# The MT bought back and burned, in total.
burned: public(uint256)
# The minimum outputs of all buybacks (the larger of the TWAP's and the merchant's), in total.
guaranteed: public(uint256)


@deploy
def __init__(_max_slippage_bps: uint256, _reserve_yield_bps: uint256, _dcep: address, _mt: address,
             _offering: address, _phases: address, _pool: address, _reserve: address, _mt_timelock: address):
    self._check_bounds(MAX_SLIPPAGE_BPS_KEY, _max_slippage_bps)
    self.max_slippage_bps = _max_slippage_bps
    reserve_yield_bps = _reserve_yield_bps
    dcep = _dcep
    mt = _mt
    offering = _offering
    phases = _phases
    pool = _pool
    reserve = _reserve
    mt_timelock = _mt_timelock
    assert _reserve_yield_bps <= BPS - BUYBACK_BPS, "INVALID_PARAMETERS"


@internal
@pure
def _check_bounds(key: bytes32, _value: uint256):
    assert key == MAX_SLIPPAGE_BPS_KEY, "UNKNOWN_PARAMETER"
    assert _value <= 1000, "OUT_OF_BOUNDS"


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter: `mt_timelock`'s `govern`, inside its bounds."""
    assert msg.sender == mt_timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    self.max_slippage_bps = _value


# ------------------------------------------------------------------ helpers

@internal
@view
def _phase(p: uint256) -> uint256:
    # Phase(p): 0 Iron, 1 Bronze, 2 Silver, 3 Gold.
    if p < staticcall Phases(phases).floor():
        return 0
    if p < staticcall Phases(phases).bronze_price():
        return 1
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
@view
def _min_out_for(dcep_amount: uint256) -> uint256:
    price: uint256 = staticcall Pool(pool).twap()
    at_twap: uint256 = self._mul_div_up(dcep_amount, WAD, price)
    return self._mul_div_up(at_twap, BPS - self.max_slippage_bps, BPS)


@external
@view
def min_out_for(dcep_amount: uint256) -> uint256:
    """
    @notice The least MT a buyback of `dcep_amount` accepts: what it buys at
        the TWAP, less max_slippage_bps; both steps round up.
    """
    return self._min_out_for(dcep_amount)


@internal
@view
def _reserve_yield_for(amount: uint256) -> uint256:
    if staticcall Reserve(reserve).total_yield_shares() == 0:
        return 0
    return self._mul_div_up(amount, reserve_yield_bps, BPS)


@external
@view
def reserve_yield_for(amount: uint256) -> uint256:
    """
    @notice The reserve's yield from a booking of `amount`: reserve_yield_bps
        of it, rounded up, or nothing while no contributor has a yield share.
    """
    return self._reserve_yield_for(amount)


# ----------------------------------------------------------------- actions

@external
def book_revenue(amount: uint256) -> uint256:
    """
    @notice The merchant books `amount` of revenue; BUYBACK_BPS of it, rounded
        up, is paid in DCEP into this contract, and reserve_yield_for(amount)
        more to the reserve's contributors as yield. Returns the buyback share.
    """
    assert msg.sender == staticcall Offering(offering).merchant(), "UNAUTHORIZED"
    assert amount > 0, "ZERO_AMOUNT"
    share: uint256 = self._mul_div_up(amount, BUYBACK_BPS, BPS)
    to_reserve: uint256 = self._reserve_yield_for(amount)
    self.revenue += amount
    self.allocated += share
    extcall Dcep(dcep).transfer_from(msg.sender, self, share)
    if to_reserve > 0:
        extcall Dcep(dcep).transfer_from(msg.sender, self, to_reserve)
        extcall Dcep(dcep).approve(reserve, to_reserve)
        extcall Reserve(reserve).fund_yield(to_reserve)
    log RevenueBooked(amount=amount, allocated=share)
    return share


@external
def execute(dcep_amount: uint256, min_mt_out: uint256, deadline: uint256) -> uint256:
    """
    @notice Spends `dcep_amount` of the set-aside DCEP on MT through the pool
        and burns it all; returns the MT burned. Merchant only, in Gold and
        Silver, never after `deadline`, never below the larger of
        min_out_for(dcep_amount) and the merchant's `min_mt_out`.
    """
    assert msg.sender == staticcall Offering(offering).merchant(), "UNAUTHORIZED"
    phase: uint256 = self._phase(staticcall Pool(pool).twap())
    assert phase == GOLD or phase == SILVER, "WRONG_PHASE"
    assert block.timestamp <= deadline, "EXPIRED"
    assert dcep_amount > 0, "ZERO_AMOUNT"
    assert dcep_amount <= self.allocated - self.spent, "EXCEEDS_ALLOCATION"
    min_out: uint256 = max(self._min_out_for(dcep_amount), min_mt_out)
    self.spent += dcep_amount
    self.guaranteed += min_out
    extcall Dcep(dcep).approve(pool, dcep_amount)
    mt_amount: uint256 = extcall Pool(pool).swap_dcep_for_mt(dcep_amount, min_out, self, deadline)
    extcall Mt(mt).burn(mt_amount)
    self.burned += mt_amount
    log Buyback(dcep_amount=dcep_amount, mt_amount=mt_amount, min_out=min_out)
    return mt_amount
