# pragma version 0.4.3
# @title pool: the MT/DCEP constant-product pool, its own LP token, and the TWAP oracle
# @notice Written from spec/protocol/pool.imo and its template erc20.imo
#   (docs/protocol.md section 2; Uniswap v2's pair, library and router in one).
#   - The reserves are accounting variables moved only by this contract's
#     actions; tokens are pulled with `transfer_from` for exact amounts. There
#     is no balanceOf, skim or sync: a donation changes no price, share or
#     oracle value.
#   - Only the offering may make the first deposit ("UNAUTHORIZED"); it mints
#     isqrt(mt*dcep) - MINIMUM_LIQUIDITY and locks MINIMUM_LIQUIDITY at the
#     zero address.
#   - 30 bps fee: out = in*997*R_out / (R_in*1000 + in*997); the k-check uses
#     fee-adjusted balances. Reserves fit in 112 bits ("OVERFLOW").
#   - The reentrancy lock is the spec's storage bool `locked` with reason
#     "LOCKED" (not @nonreentrant, whose revert is bare).
#   - Oracle: `price_cumulative` sums spot price times seconds; two
#     observations, the newest rolled once it is a full `twap_window` old.
#     `twap()` averages from the oldest observation to now.
#   Approvals: `add_liquidity` pulls MT and DCEP from the caller; a swap pulls
#   its input token.

interface Token:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256

event Mint:
    sender: indexed(address)
    mt_amount: uint256
    dcep_amount: uint256
    liquidity: uint256
    receiver: indexed(address)

event Burn:
    sender: indexed(address)
    mt_amount: uint256
    dcep_amount: uint256
    liquidity: uint256
    receiver: indexed(address)

event Swap:
    sender: indexed(address)
    mt_in: uint256
    dcep_in: uint256
    mt_out: uint256
    dcep_out: uint256
    receiver: indexed(address)

event Sync:
    reserve_mt: uint256
    reserve_dcep: uint256

event Observation:
    cumulative: uint256
    timestamp: uint256

WAD: constant(uint256) = 10 ** 18
# LP locked forever at the zero address by the first deposit.
MINIMUM_LIQUIDITY: constant(uint256) = 1000
# The fee is 30 bps, left in the pool: 997/1000 of the input trades.
FEE_NUMERATOR: constant(uint256) = 997
FEE_DENOMINATOR: constant(uint256) = 1000
MAX_UINT112: constant(uint256) = 2 ** 112 - 1

# parameter: the shortest TWAP window, in seconds
twap_window: public(immutable(uint256))

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
mt: public(immutable(address))
offering: public(immutable(address))

# ---------------------------------------------------------------- erc20 state (LP)

total_supply: public(uint256)
balance_of: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# ---------------------------------------------------------------- pool state

# The reserves: the MT and DCEP that the pool accounts for.
reserve_mt: public(uint256)
reserve_dcep: public(uint256)
# The reentrancy lock: set while a swap or a liquidity call runs.
locked: public(bool)
# Oracle: sum over time of the spot price (DCEP per MT, WAD) times the seconds
# it held, up to `last_update`.
price_cumulative: public(uint256)
last_update: public(uint256)
# Oracle: the oldest and the newest observation of `price_cumulative`.
obs_old_cumulative: public(uint256)
obs_old_time: public(uint256)
obs_new_cumulative: public(uint256)
obs_new_time: public(uint256)


@deploy
def __init__(_twap_window: uint256, _dcep: address, _mt: address, _offering: address):
    twap_window = _twap_window
    dcep = _dcep
    mt = _mt
    offering = _offering
    assert _twap_window > 0, "INVALID_PARAMETERS"


# ---------------------------------------------------------------- formulas

@internal
@pure
def _get_amount_out(amount_in: uint256, reserve_in: uint256, reserve_out: uint256) -> uint256:
    """in*997*R_out / (R_in*1000 + in*997), rounded down."""
    in_with_fee: uint256 = amount_in * FEE_NUMERATOR
    return in_with_fee * reserve_out // (reserve_in * FEE_DENOMINATOR + in_with_fee)


@internal
@pure
def _k_holds(in_after: uint256, out_after: uint256, amount_in: uint256, in_before: uint256,
             out_before: uint256) -> bool:
    """(in_after*1000 - amount_in*3) * (out_after*1000) >= in_before*out_before*1000**2."""
    fee_part: uint256 = amount_in * (FEE_DENOMINATOR - FEE_NUMERATOR)
    return (in_after * FEE_DENOMINATOR - fee_part) * (out_after * FEE_DENOMINATOR) \
        >= in_before * out_before * FEE_DENOMINATOR * FEE_DENOMINATOR


@internal
@view
def _spot_price() -> uint256:
    """The spot price of MT in DCEP (WAD), rounded down."""
    return self.reserve_dcep * WAD // self.reserve_mt


@internal
@view
def _cumulative_price() -> uint256:
    """`price_cumulative` brought up to now with the current reserves."""
    if self.reserve_mt == 0:
        return self.price_cumulative
    return self.price_cumulative + self._spot_price() * (block.timestamp - self.last_update)


@external
@view
def twap() -> uint256:
    """The time-weighted average price of MT in DCEP (WAD) from the oldest
    observation until now, rounded down. Phases, floor redemption and the
    buyback's minimum read this, never the spot price."""
    assert self.total_supply > 0, "NOT_LAUNCHED"
    assert block.timestamp >= self.obs_old_time + twap_window, "TWAP_NOT_READY"
    return (self._cumulative_price() - self.obs_old_cumulative) // (block.timestamp - self.obs_old_time)


# ---------------------------------------------------------------- erc20 actions (LP)

@external
def transfer(receiver: address, amount: uint256) -> bool:
    """Moves `amount` of the caller's LP to `receiver`."""
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """Lets `spender` move up to `amount` of the caller's LP."""
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, amount=amount)
    return True


@external
def transfer_from(sender: address, receiver: address, amount: uint256) -> bool:
    """Moves `amount` of `sender`'s LP to `receiver`, spending the allowance
    that `sender` gave to the caller."""
    self._spend_allowance(sender, msg.sender, amount)
    self._transfer(sender, receiver, amount)
    return True


# ---------------------------------------------------------------- liquidity

@external
def add_liquidity(mt_desired: uint256, dcep_desired: uint256, mt_min: uint256, dcep_min: uint256,
                  receiver: address, deadline: uint256) -> uint256:
    """Deposits MT and DCEP and mints LP to `receiver`; returns the LP minted.
    The first deposit (the offering's launch only) takes the amounts as they
    are; later deposits keep the pool's ratio and mint the smaller pro-rata
    share."""
    assert not self.locked, "LOCKED"
    self.locked = True
    assert block.timestamp <= deadline, "EXPIRED"
    assert receiver != empty(address), "ZERO_ADDRESS"
    mt_amount: uint256 = mt_desired
    dcep_amount: uint256 = dcep_desired
    liquidity: uint256 = 0
    if self.total_supply == 0:
        assert msg.sender == offering, "UNAUTHORIZED"
        assert mt_amount <= MAX_UINT112 and dcep_amount <= MAX_UINT112, "OVERFLOW"
        root: uint256 = isqrt(mt_amount * dcep_amount)
        assert root > MINIMUM_LIQUIDITY, "INSUFFICIENT_LIQUIDITY_MINTED"
        liquidity = root - MINIMUM_LIQUIDITY
        self._mint(empty(address), MINIMUM_LIQUIDITY)
        self._start_oracle()
    else:
        dcep_optimal: uint256 = mt_desired * self.reserve_dcep // self.reserve_mt
        if dcep_optimal <= dcep_desired:
            dcep_amount = dcep_optimal
        else:
            mt_amount = dcep_desired * self.reserve_mt // self.reserve_dcep
        liquidity = min(mt_amount * self.total_supply // self.reserve_mt,
                        dcep_amount * self.total_supply // self.reserve_dcep)
    assert mt_amount >= mt_min, "INSUFFICIENT_MT_AMOUNT"
    assert dcep_amount >= dcep_min, "INSUFFICIENT_DCEP_AMOUNT"
    assert liquidity > 0, "INSUFFICIENT_LIQUIDITY_MINTED"
    extcall Token(mt).transfer_from(msg.sender, self, mt_amount)
    extcall Token(dcep).transfer_from(msg.sender, self, dcep_amount)
    self._mint(receiver, liquidity)
    self._update(self.reserve_mt + mt_amount, self.reserve_dcep + dcep_amount)
    log Mint(sender=msg.sender, mt_amount=mt_amount, dcep_amount=dcep_amount, liquidity=liquidity,
             receiver=receiver)
    self.locked = False
    return liquidity


@external
def remove_liquidity(liquidity: uint256, mt_min: uint256, dcep_min: uint256, receiver: address,
                     deadline: uint256):
    """Burns `liquidity` of the caller's LP and pays its pro-rata share of both
    reserves to `receiver`, each rounded down."""
    assert not self.locked, "LOCKED"
    self.locked = True
    assert block.timestamp <= deadline, "EXPIRED"
    assert liquidity > 0, "INSUFFICIENT_LIQUIDITY_BURNED"
    supply: uint256 = self.total_supply
    self._burn(msg.sender, liquidity)
    mt_amount: uint256 = liquidity * self.reserve_mt // supply
    dcep_amount: uint256 = liquidity * self.reserve_dcep // supply
    assert mt_amount > 0 and dcep_amount > 0, "INSUFFICIENT_LIQUIDITY_BURNED"
    assert mt_amount >= mt_min, "INSUFFICIENT_MT_AMOUNT"
    assert dcep_amount >= dcep_min, "INSUFFICIENT_DCEP_AMOUNT"
    extcall Token(mt).transfer(receiver, mt_amount)
    extcall Token(dcep).transfer(receiver, dcep_amount)
    self._update(self.reserve_mt - mt_amount, self.reserve_dcep - dcep_amount)
    log Burn(sender=msg.sender, mt_amount=mt_amount, dcep_amount=dcep_amount, liquidity=liquidity,
             receiver=receiver)
    self.locked = False


# ---------------------------------------------------------------- swaps

@external
def swap_mt_for_dcep(mt_in: uint256, min_dcep_out: uint256, receiver: address,
                     deadline: uint256) -> uint256:
    """Sells exactly `mt_in` MT for at least `min_dcep_out` DCEP, paid to
    `receiver`, no later than `deadline`; returns the DCEP out."""
    assert not self.locked, "LOCKED"
    self.locked = True
    assert block.timestamp <= deadline, "EXPIRED"
    assert mt_in > 0, "INSUFFICIENT_INPUT_AMOUNT"
    assert self.reserve_mt > 0 and self.reserve_dcep > 0, "INSUFFICIENT_LIQUIDITY"
    dcep_out: uint256 = self._get_amount_out(mt_in, self.reserve_mt, self.reserve_dcep)
    assert dcep_out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    assert dcep_out >= min_dcep_out, "INSUFFICIENT_OUTPUT_AMOUNT"
    extcall Token(mt).transfer_from(msg.sender, self, mt_in)
    extcall Token(dcep).transfer(receiver, dcep_out)
    new_mt: uint256 = self.reserve_mt + mt_in
    new_dcep: uint256 = self.reserve_dcep - dcep_out
    assert self._k_holds(new_mt, new_dcep, mt_in, self.reserve_mt, self.reserve_dcep), "K"
    self._update(new_mt, new_dcep)
    log Swap(sender=msg.sender, mt_in=mt_in, dcep_in=0, mt_out=0, dcep_out=dcep_out, receiver=receiver)
    self.locked = False
    return dcep_out


@external
def swap_dcep_for_mt(dcep_in: uint256, min_mt_out: uint256, receiver: address,
                     deadline: uint256) -> uint256:
    """Buys MT with exactly `dcep_in` DCEP, at least `min_mt_out`, paid to
    `receiver`, no later than `deadline`; returns the MT out."""
    assert not self.locked, "LOCKED"
    self.locked = True
    assert block.timestamp <= deadline, "EXPIRED"
    assert dcep_in > 0, "INSUFFICIENT_INPUT_AMOUNT"
    assert self.reserve_mt > 0 and self.reserve_dcep > 0, "INSUFFICIENT_LIQUIDITY"
    mt_out: uint256 = self._get_amount_out(dcep_in, self.reserve_dcep, self.reserve_mt)
    assert mt_out > 0, "INSUFFICIENT_OUTPUT_AMOUNT"
    assert mt_out >= min_mt_out, "INSUFFICIENT_OUTPUT_AMOUNT"
    extcall Token(dcep).transfer_from(msg.sender, self, dcep_in)
    extcall Token(mt).transfer(receiver, mt_out)
    new_dcep: uint256 = self.reserve_dcep + dcep_in
    new_mt: uint256 = self.reserve_mt - mt_out
    assert self._k_holds(new_dcep, new_mt, dcep_in, self.reserve_dcep, self.reserve_mt), "K"
    self._update(new_mt, new_dcep)
    log Swap(sender=msg.sender, mt_in=0, dcep_in=dcep_in, mt_out=mt_out, dcep_out=0, receiver=receiver)
    self.locked = False
    return mt_out


# ---------------------------------------------------------------- oracle

@external
def observe():
    """Rolls the oracle's observations forward once the newest is a full
    window old. Anyone may call it."""
    assert not self.locked, "LOCKED"
    assert self.total_supply > 0, "NOT_LAUNCHED"
    assert block.timestamp >= self.obs_new_time + twap_window, "WINDOW_NOT_ELAPSED"
    self._accumulate()
    self._roll()


@internal
def _update(new_mt: uint256, new_dcep: uint256):
    """Sets new reserves, after the oracle has accumulated the old price up to now."""
    assert new_mt <= MAX_UINT112 and new_dcep <= MAX_UINT112, "OVERFLOW"
    self._accumulate()
    self._roll()
    self.reserve_mt = new_mt
    self.reserve_dcep = new_dcep
    log Sync(reserve_mt=new_mt, reserve_dcep=new_dcep)


@internal
def _accumulate():
    """Adds the current spot price times the seconds since `last_update`."""
    elapsed: uint256 = block.timestamp - self.last_update
    if elapsed > 0 and self.reserve_mt > 0:
        self.price_cumulative += self._spot_price() * elapsed
    self.last_update = block.timestamp


@internal
def _roll():
    """Once the newest observation is a full window old, it becomes the oldest
    and now is observed."""
    if block.timestamp >= self.obs_new_time + twap_window:
        self.obs_old_cumulative = self.obs_new_cumulative
        self.obs_old_time = self.obs_new_time
        self.obs_new_cumulative = self.price_cumulative
        self.obs_new_time = block.timestamp
        log Observation(cumulative=self.price_cumulative, timestamp=block.timestamp)


@internal
def _start_oracle():
    """Both observations are taken at the launch, so no average includes the
    empty pool before it."""
    self.obs_old_cumulative = self.price_cumulative
    self.obs_old_time = block.timestamp
    self.obs_new_cumulative = self.price_cumulative
    self.obs_new_time = block.timestamp
    log Observation(cumulative=self.price_cumulative, timestamp=block.timestamp)


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


@internal
def _burn(holder: address, amount: uint256):
    assert self.balance_of[holder] >= amount, "INSUFFICIENT_BALANCE"
    self.balance_of[holder] -= amount
    self.total_supply -= amount
    log Transfer(sender=holder, receiver=empty(address), amount=amount)
