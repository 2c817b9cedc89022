# pragma version 0.4.3
# @title offering: the Initial Merchant Offering (IMO)
# @notice Written from spec/protocol/offering.imo (docs/protocol.md section 1).
#   - A raise in DCEP, open in the window [start, start + duration), never
#     above `hard_cap`.
#   - `finalize`, after the window: if the raise reached `soft_cap`,
#     reserve_bps of it (rounded up) tops up the reserve, and the rest with
#     pool_mt_bps of mt_total launches the pool; this contract holds the LP
#     minted and contributors `claim` it pro rata (rounded down, the dust stays
#     here). Otherwise contributors `refund`.
#   - The merchant's MT (mt_total less the pool seed) stays here, in
#     `merchant_mt`, and leaves only through `merchant_sell` (under the
#     lifetime cash-out cap: cashed_out*BPS <= cashout_cap_bps*raised) and
#     `fund_farm` (in total at most FARM_FUNDING_BPS, 30%, of the MT kept).
#     Custody is what makes the cap enforceable.
#   - The pool never opens below the floor: the constructor checks the
#     opening price at a raise of exactly the soft cap (the lowest).
#   - The offering approves the exact amounts that the reserve, the pool and
#     the farm pull in the same action, so no allowance of its own outlives an
#     action.
#   Approvals: `contribute` pulls DCEP from the caller.

interface Dcep:
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Mt:
    def approve(spender: address, amount: uint256) -> bool: nonpayable

interface Pool:
    def add_liquidity(mt_desired: uint256, dcep_desired: uint256, mt_min: uint256, dcep_min: uint256,
                      receiver: address, deadline: uint256) -> uint256: nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def swap_mt_for_dcep(mt_in: uint256, min_dcep_out: uint256, receiver: address,
                         deadline: uint256) -> uint256: nonpayable

interface Phases:
    def floor_price() -> uint256: view

interface Reserve:
    def top_up(amount: uint256) -> uint256: nonpayable

interface Farm:
    def fund(amount: uint256): nonpayable

event Contribute:
    contributor: indexed(address)
    amount: uint256

event Finalize:
    success: bool
    raised: uint256
    lp_minted: uint256

event Claim:
    contributor: indexed(address)
    amount: uint256
    lp_amount: uint256

event Refund:
    contributor: indexed(address)
    amount: uint256

event MerchantSale:
    mt_amount: uint256
    dcep_amount: uint256
    cashed_out: uint256

event FarmFunded:
    mt_amount: uint256

BPS: constant(uint256) = 10000
WAD: constant(uint256) = 10 ** 18
DAY: constant(uint256) = 86400
# The share of the merchant's kept MT that may fund the farm, in total.
FARM_FUNDING_BPS: constant(uint256) = 3000
MAX_UINT112: constant(uint256) = 2 ** 112 - 1
# pool.MINIMUM_LIQUIDITY (a constant of the pool module)
POOL_MINIMUM_LIQUIDITY: constant(uint256) = 1000

# ---------------------------------------------------------------- parameters (spec order)

# The merchant: runs the offering, owns the cash-out and the funding of rewards.
merchant: public(immutable(address))
# MT minted to the offering at deployment (mt's init reads this getter).
mt_total: public(immutable(uint256))
# The share of mt_total that seeds the pool; the merchant keeps the rest.
pool_mt_bps: public(immutable(uint256))
# The window is [start, start + duration).
start: public(immutable(uint256))
duration: public(immutable(uint256))
# Caps in DCEP.
soft_cap: public(immutable(uint256))
hard_cap: public(immutable(uint256))
# The share of the raise that goes to the reserve.
reserve_bps: public(immutable(uint256))
# The merchant's lifetime DCEP cash-out, as a share of the raise.
cashout_cap_bps: public(immutable(uint256))

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
farm: public(immutable(address))
mt: public(immutable(address))
phases: public(immutable(address))
pool: public(immutable(address))
reserve: public(immutable(address))

# ---------------------------------------------------------------- state

# The DCEP contributed in the window, in total (refunds are counted apart).
raised: public(uint256)
# The DCEP each contributor put in and has neither claimed nor been refunded.
contributed: public(HashMap[address, uint256])
# Contributions already turned into LP by `claim`, and already refunded.
claimed_total: public(uint256)
refunded: public(uint256)
finalized: public(bool)
succeeded: public(bool)
# The LP minted to the offering at the launch, and the part handed out so far.
lp_total: public(uint256)
lp_claimed: public(uint256)
# The merchant's MT, held here.
merchant_mt: public(uint256)
# The DCEP the merchant has received from selling MT into the pool, in total.
cashed_out: public(uint256)
# The merchant's MT sold into the pool, and moved into the farm, in total.
mt_sold: public(uint256)
farm_funded: public(uint256)


@deploy
def __init__(_merchant: address, _mt_total: uint256, _pool_mt_bps: uint256, _start: uint256,
             _duration: uint256, _soft_cap: uint256, _hard_cap: uint256, _reserve_bps: uint256,
             _cashout_cap_bps: uint256, _dcep: address, _farm: address, _mt: address, _phases: address,
             _pool: address, _reserve: address):
    merchant = _merchant
    mt_total = _mt_total
    pool_mt_bps = _pool_mt_bps
    start = _start
    duration = _duration
    soft_cap = _soft_cap
    hard_cap = _hard_cap
    reserve_bps = _reserve_bps
    cashout_cap_bps = _cashout_cap_bps
    dcep = _dcep
    farm = _farm
    mt = _mt
    phases = _phases
    pool = _pool
    reserve = _reserve
    assert _pool_mt_bps > 0 and _pool_mt_bps <= BPS, "INVALID_PARAMETERS"
    assert _reserve_bps < BPS and _cashout_cap_bps <= BPS, "INVALID_PARAMETERS"
    assert _duration > 0, "INVALID_PARAMETERS"
    assert _soft_cap > 0 and _soft_cap <= _hard_cap, "INVALID_PARAMETERS"
    assert _hard_cap <= MAX_UINT112 and _mt_total <= MAX_UINT112, "INVALID_PARAMETERS"
    # A raise of at least the soft cap must be able to launch the pool.
    assert isqrt(self._pool_seed_mt() * self._pool_seed_dcep(_soft_cap)) > POOL_MINIMUM_LIQUIDITY, \
        "INVALID_PARAMETERS"
    # The pool never opens below the floor: the opening price is lowest at a
    # raise of exactly the soft cap.
    assert self._pool_seed_dcep(_soft_cap) * WAD >= staticcall Phases(_phases).floor_price() * self._pool_seed_mt(), \
        "OPENS_BELOW_FLOOR"


# ---------------------------------------------------------------- formulas

@internal
@view
def _end_time() -> uint256:
    return start + duration


@internal
@view
def _pool_seed_mt() -> uint256:
    """The MT that seeds the pool: pool_mt_bps of mt_total, rounded down."""
    return mt_total * pool_mt_bps // BPS


@internal
@view
def _reserve_share(amount: uint256) -> uint256:
    """reserve_bps of `amount`, rounded up (the floor backing gets the odd unit)."""
    product: uint256 = amount * reserve_bps
    share: uint256 = product // BPS
    if product % BPS != 0:
        share += 1
    return share


@internal
@view
def _pool_seed_dcep(amount: uint256) -> uint256:
    """The DCEP that seeds the pool: the rest of the raise."""
    return amount - self._reserve_share(amount)


@internal
@view
def _merchant_kept() -> uint256:
    """The MT the merchant keeps after the launch: mt_total less the pool seed."""
    return mt_total - self._pool_seed_mt()


@external
@view
def merchant_kept() -> uint256:
    """The MT the merchant keeps after the launch (spec `merchant_kept`)."""
    return self._merchant_kept()


# ---------------------------------------------------------------- actions

@external
def contribute(amount: uint256):
    """Contributes `amount` DCEP, only inside the window, never above the hard cap."""
    assert block.timestamp >= start and block.timestamp < self._end_time(), "OUTSIDE_WINDOW"
    assert not self.finalized, "FINALIZED"
    assert amount > 0, "ZERO_AMOUNT"
    assert self.raised + amount <= hard_cap, "HARD_CAP"
    self.raised += amount
    self.contributed[msg.sender] += amount
    extcall Dcep(dcep).transfer_from(msg.sender, self, amount)
    log Contribute(contributor=msg.sender, amount=amount)


@external
def finalize():
    """Closes the offering once the window has ended; anyone may call it. A
    raise at or above the soft cap funds the reserve and launches the pool;
    otherwise the offering has failed."""
    assert block.timestamp >= self._end_time(), "OFFERING_OPEN"
    assert not self.finalized, "ALREADY_FINALIZED"
    self.finalized = True
    if self.raised >= soft_cap:
        self.succeeded = True
        to_reserve: uint256 = self._reserve_share(self.raised)
        to_pool: uint256 = self.raised - to_reserve
        mt_seed: uint256 = self._pool_seed_mt()
        self.merchant_mt = mt_total - mt_seed
        extcall Dcep(dcep).approve(reserve, to_reserve)
        extcall Reserve(reserve).top_up(to_reserve)
        extcall Mt(mt).approve(pool, mt_seed)
        extcall Dcep(dcep).approve(pool, to_pool)
        self.lp_total = extcall Pool(pool).add_liquidity(mt_seed, to_pool, mt_seed, to_pool, self,
                                                         block.timestamp)
        log Finalize(success=True, raised=self.raised, lp_minted=self.lp_total)
    else:
        log Finalize(success=False, raised=self.raised, lp_minted=0)


@external
def claim() -> uint256:
    """After a success, the caller takes their LP: contribution*lp_total/raised,
    rounded down."""
    assert self.succeeded, "NOT_SUCCEEDED"
    amount: uint256 = self.contributed[msg.sender]
    assert amount > 0, "NOTHING_TO_CLAIM"
    lp_amount: uint256 = amount * self.lp_total // self.raised
    self.contributed[msg.sender] = 0
    self.claimed_total += amount
    self.lp_claimed += lp_amount
    extcall Pool(pool).transfer(msg.sender, lp_amount)
    log Claim(contributor=msg.sender, amount=amount, lp_amount=lp_amount)
    return lp_amount


@external
def refund() -> uint256:
    """After a failure, the caller takes their DCEP back."""
    assert self.finalized and not self.succeeded, "NOT_FAILED"
    amount: uint256 = self.contributed[msg.sender]
    assert amount > 0, "NOTHING_TO_CLAIM"
    self.contributed[msg.sender] = 0
    self.refunded += amount
    extcall Dcep(dcep).transfer(msg.sender, amount)
    log Refund(contributor=msg.sender, amount=amount)
    return amount


@external
def merchant_sell(mt_amount: uint256, min_dcep_out: uint256, deadline: uint256) -> uint256:
    """The merchant sells `mt_amount` of their MT into the pool, the DCEP to
    the merchant; the lifetime cash-out stays under the cap. Returns the DCEP
    received."""
    assert msg.sender == merchant, "UNAUTHORIZED"
    assert self.succeeded, "NOT_SUCCEEDED"
    assert mt_amount <= self.merchant_mt, "EXCEEDS_MERCHANT_MT"
    self.merchant_mt -= mt_amount
    extcall Mt(mt).approve(pool, mt_amount)
    dcep_amount: uint256 = extcall Pool(pool).swap_mt_for_dcep(mt_amount, min_dcep_out, merchant, deadline)
    self.cashed_out += dcep_amount
    self.mt_sold += mt_amount
    assert self.cashed_out * BPS <= cashout_cap_bps * self.raised, "CASHOUT_CAP"
    log MerchantSale(mt_amount=mt_amount, dcep_amount=dcep_amount, cashed_out=self.cashed_out)
    return dcep_amount


@external
def fund_farm(amount: uint256):
    """The merchant moves `amount` of their MT into the farm's reward budget;
    in total at most FARM_FUNDING_BPS of the MT it kept."""
    assert msg.sender == merchant, "UNAUTHORIZED"
    assert self.succeeded, "NOT_SUCCEEDED"
    assert amount <= self.merchant_mt, "EXCEEDS_MERCHANT_MT"
    self.farm_funded += amount
    assert self.farm_funded * BPS <= FARM_FUNDING_BPS * self._merchant_kept(), "FARM_FUNDING_CAP"
    self.merchant_mt -= amount
    extcall Mt(mt).approve(farm, amount)
    extcall Farm(farm).fund(amount)
    log FarmFunded(mt_amount=amount)
