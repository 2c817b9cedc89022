# pragma version 0.4.3
# @title market: one money market (mDCEP, mUSDC, ...): its mToken, mint, redeem and signed requests
# @notice Written from spec/protocol/market.imo and its template erc20.imo
#   (docs/protocol.md section 7), for every module that extends `market`:
#   one source, deployed once per market (mdcep over DCEP, musdc over a
#   6-decimal USDC). What the spec's market modules say apart is given at
#   deployment: the underlying token, `UNIT` (one whole unit of it: 10**18,
#   10**6), and the EIP-712 domain name ("mDCEP", "mUSDC").
#   - The governed parameters (the two minimums and the allocation cap, in
#     the underlying's units; `listed`) are constructor arguments checked
#     against the spec's bounds ("OUT_OF_BOUNDS") by the setter's own
#     `_check_bounds`, and change only through
#     `set_parameter`, which only the timelock calls ("UNAUTHORIZED"): the
#     spec's `govern` in timelock.execute. Their keys are
#     keccak256("<module>.<name>") with the spec module's name given at
#     deployment (mdcep, musdc); an unknown key is "UNKNOWN_PARAMETER".
#     Governance adds a market by listing it.
#   - The oracle's report and the collateral test are this market's own
#     (keyed by its address).
#   - ERC-20 with the standard's camelCase names (`totalSupply`, `balanceOf`,
#     `transferFrom`); the binding maps them to the spec's names.
#   - The exchange rate `er` grows by simple interest from a checkpoint
#     (`interest.grown`); a touch never compounds; the checkpoint moves when
#     the rate in force changes.
#   - Signed requests (mint, redeem, permit) are EIP-712 typed data under the
#     domain (name: the market's, version "1", chainId, verifyingContract =
#     this contract). The domain separator is recomputed when the chain id differs
#     from the one at deployment. Checks, in the spec's order: expiry
#     ("REQUEST_EXPIRED"), the owner's next nonce ("INVALID_NONCE"), the
#     signature ("INVALID_SIGNATURE": 65 bytes r || s || v, s at most
#     secp256k1n/2, the recovered signer not zero and equal to the owner,
#     which is therefore never the zero address); then the nonce is used up.
#     One nonce sequence per owner serves every request type, and each type
#     has its own type hash, so a signature of one type never verifies as
#     another.
#   - Every `require` of the spec is an `assert` with the same reason, in the
#     same order; arithmetic faults are Vyper's bare reverts.

interface Underlying:
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Controller:
    def paused() -> bool: view
    def market_enabled() -> uint256: view
    def asset_manager() -> address: view
    def allocation_interval() -> uint256: view
    def liabilities_next_year(supply: uint256, er_base: uint256, rate: uint256, elapsed: uint256) -> uint256: view
    def is_overcollateralized(market: address, onchain: uint256, next_year: uint256) -> bool: view
    def meets_reserve_ratio(onchain: uint256, liabilities: uint256) -> bool: view

interface Oracle:
    def is_fresh(market: address, t: uint256) -> bool: view
    def reported_at(market: address) -> uint256: view

interface Interest:
    def current_rate() -> uint256: view
    def grown(er_base: uint256, accrued: uint256) -> uint256: view

WAD: constant(uint256) = 10**18
# secp256k1n / 2: a signature with a larger s is the malleated twin of one with a smaller s
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
VERSION_HASH: constant(bytes32) = keccak256("1")
MINT_TYPEHASH: constant(bytes32) = keccak256(
    "MintRequest(address owner,address recipient,uint256 nonce,uint256 expiry,uint256 amount,uint256 fee,address feeRecipient)")
REDEEM_TYPEHASH: constant(bytes32) = keccak256(
    "RedeemRequest(address owner,address recipient,uint256 nonce,uint256 expiry,uint256 amount,uint256 fee,address feeRecipient)")
PERMIT_TYPEHASH: constant(bytes32) = keccak256(
    "PermitRequest(address owner,address spender,uint256 nonce,uint256 expiry,uint256 value,uint256 fee,address feeRecipient)")

struct MintRequest:
    owner: address
    recipient: address
    nonce: uint256
    expiry: uint256
    amount: uint256
    fee: uint256
    fee_recipient: address

struct RedeemRequest:
    owner: address
    recipient: address
    nonce: uint256
    expiry: uint256
    amount: uint256
    fee: uint256
    fee_recipient: address

struct PermitRequest:
    owner: address
    spender: address
    nonce: uint256
    expiry: uint256
    value: uint256
    fee: uint256
    fee_recipient: address

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256

event Mint:
    payer: address
    recipient: address
    underlying: uint256
    minted: uint256

event Redeem:
    holder: address
    recipient: address
    burned: uint256
    paid: uint256

event InterestAccrued:
    er: uint256
    rate: uint256

event AllocatedToRwa:
    amount: uint256
    to: address

event ReturnedFromRwa:
    amount: uint256
    payer: address

# imported modules (constructor arguments)
controller: public(immutable(address))
# the underlying token (mdcep: dcep; musdc: usdc)
underlying: public(immutable(address))
interest: public(immutable(address))
oracle: public(immutable(address))

# One whole unit of the underlying in its smallest units (the spec's `UNIT`).
UNIT: public(immutable(uint256))

# the one caller of `set_parameter`
timelock: public(immutable(address))

# how a timelock transaction names each governed parameter: keccak256("module.name"),
# with the name of the spec's module this deployment is (a constructor argument)
MIN_MINT_AMOUNT_KEY: immutable(bytes32)
MIN_REDEEM_AMOUNT_KEY: immutable(bytes32)
ALLOCATION_CAP_KEY: immutable(bytes32)
LISTED_KEY: immutable(bytes32)

# the EIP-712 domain as of deployment (recomputed on another chain)
NAME_HASH: immutable(bytes32)
CACHED_CHAIN_ID: immutable(uint256)
CACHED_DOMAIN: immutable(bytes32)

# ---------------------------------------------------------------- erc20 state
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# ---------------------------------------------------------------- market state
min_mint_amount: public(uint256)
min_redeem_amount: public(uint256)
allocation_cap: public(uint256)
listed: public(uint256)
er: public(uint256)
last_accrual: public(uint256)
er_base: public(uint256)
base_time: public(uint256)
accrued: public(uint256)
accrual_rate: public(uint256)
underlying_held: public(uint256)
allocated: public(uint256)
alloc_level: public(uint256)
alloc_updated: public(uint256)
last_return_at: public(uint256)
nonces: public(HashMap[address, uint256])


@internal
@view
def _check_bounds(key: bytes32, _value: uint256):
    if key == MIN_MINT_AMOUNT_KEY or key == MIN_REDEEM_AMOUNT_KEY:
        assert 1 <= _value and _value <= 1000 * UNIT, "OUT_OF_BOUNDS"
    elif key == ALLOCATION_CAP_KEY:
        assert _value <= 100000000 * UNIT, "OUT_OF_BOUNDS"
    elif key == LISTED_KEY:
        assert _value <= 1, "OUT_OF_BOUNDS"
    else:
        raise "UNKNOWN_PARAMETER"


@deploy
def __init__(_name: String[32], _module: String[32], _unit: uint256, _min_mint_amount: uint256,
             _min_redeem_amount: uint256, _allocation_cap: uint256, _listed: uint256, _controller: address,
             _underlying: address, _interest: address, _oracle: address, _timelock: address):
    controller = _controller
    underlying = _underlying
    interest = _interest
    oracle = _oracle
    timelock = _timelock
    UNIT = _unit
    MIN_MINT_AMOUNT_KEY = keccak256(concat(_module, ".min_mint_amount"))
    MIN_REDEEM_AMOUNT_KEY = keccak256(concat(_module, ".min_redeem_amount"))
    ALLOCATION_CAP_KEY = keccak256(concat(_module, ".allocation_cap"))
    LISTED_KEY = keccak256(concat(_module, ".listed"))
    self._check_bounds(MIN_MINT_AMOUNT_KEY, _min_mint_amount)
    self._check_bounds(MIN_REDEEM_AMOUNT_KEY, _min_redeem_amount)
    self._check_bounds(ALLOCATION_CAP_KEY, _allocation_cap)
    self._check_bounds(LISTED_KEY, _listed)
    NAME_HASH = keccak256(_name)
    CACHED_CHAIN_ID = chain.id
    CACHED_DOMAIN = keccak256(abi_encode(DOMAIN_TYPEHASH, keccak256(_name), VERSION_HASH, chain.id, self))
    self.min_mint_amount = _min_mint_amount
    self.min_redeem_amount = _min_redeem_amount
    self.allocation_cap = _allocation_cap
    self.listed = _listed
    self.er = WAD
    self.last_accrual = block.timestamp
    self.er_base = WAD
    self.base_time = block.timestamp
    self.accrual_rate = staticcall Interest(_interest).current_rate()


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter: the timelock's `govern`, inside its bounds.
    Listing the market (`listed` = 1) is how governance adds it."""
    assert msg.sender == timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    if key == MIN_MINT_AMOUNT_KEY:
        self.min_mint_amount = _value
    elif key == MIN_REDEEM_AMOUNT_KEY:
        self.min_redeem_amount = _value
    elif key == ALLOCATION_CAP_KEY:
        self.allocation_cap = _value
    else:
        self.listed = _value


# ---------------------------------------------------------------- EIP-712

@internal
@view
def _build_domain() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """The EIP-712 domain separator for the chain this runs on."""
    return self._domain()


@internal
@view
def _domain() -> bytes32:
    if chain.id == CACHED_CHAIN_ID:
        return CACHED_DOMAIN
    return self._build_domain()


@internal
@view
def _signed_by(struct_hash: bytes32, owner: address, sig: Bytes[65]) -> bool:
    """Whether `sig` is `owner`'s low-s signature over `struct_hash` in this domain."""
    if len(sig) != 65:
        return False
    r: uint256 = convert(extract32(sig, 0), uint256)
    s: uint256 = convert(extract32(sig, 32), uint256)
    v: uint256 = convert(slice(sig, 64, 1), uint256)
    if s > HALF_N:
        return False
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domain(), struct_hash))
    signer: address = ecrecover(digest, v, r, s)
    return signer != empty(address) and signer == owner


@internal
def _check_request(owner: address, nonce: uint256, expiry: uint256, struct_hash: bytes32, sig: Bytes[65]):
    assert block.timestamp <= expiry, "REQUEST_EXPIRED"
    assert nonce == self.nonces[owner], "INVALID_NONCE"
    assert self._signed_by(struct_hash, owner, sig), "INVALID_SIGNATURE"
    self.nonces[owner] += 1


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
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    """Moves `amount` of `sender`'s tokens to `receiver`, spending the
    allowance that `sender` gave to the caller."""
    self._spend_allowance(sender, msg.sender, amount)
    self._transfer(sender, receiver, amount)
    return True


@internal
def _spend_allowance(owner: address, spender: address, amount: uint256):
    allowed: uint256 = self.allowance[owner][spender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "INSUFFICIENT_ALLOWANCE"
        self.allowance[owner][spender] = allowed - amount


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "ZERO_ADDRESS"
    assert self.balanceOf[sender] >= amount, "INSUFFICIENT_BALANCE"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, amount=amount)


@internal
def _mint(receiver: address, amount: uint256):
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=empty(address), receiver=receiver, amount=amount)


@internal
def _burn(holder: address, amount: uint256):
    assert self.balanceOf[holder] >= amount, "INSUFFICIENT_BALANCE"
    self.balanceOf[holder] -= amount
    self.totalSupply -= amount
    log Transfer(sender=holder, receiver=empty(address), amount=amount)


# ---------------------------------------------------------------- views (the spec's functions)

@external
@view
def liabilities() -> uint256:
    """The underlying owed to all holders, times WAD."""
    return self.totalSupply * self.er


@external
@view
def er_at(t: uint256) -> uint256:
    """The exchange rate at time `t` (not before the last touch)."""
    return staticcall Interest(interest).grown(self.er_base, self.accrued + self.accrual_rate * (t - self.last_accrual))


@internal
@view
def _allocation_level(t: uint256) -> uint256:
    drained: uint256 = self.allocation_cap * (t - self.alloc_updated) // staticcall Controller(controller).allocation_interval()
    return self.alloc_level - min(self.alloc_level, drained)


@external
@view
def allocation_level(t: uint256) -> uint256:
    """How much of the allocation cap is in use at time `t`."""
    return self._allocation_level(t)


@internal
@view
def _report_usable(t: uint256) -> bool:
    if not staticcall Oracle(oracle).is_fresh(self, t):
        return False
    return staticcall Oracle(oracle).reported_at(self) > self.last_return_at


@external
@view
def report_usable(t: uint256) -> bool:
    """Whether minting may rely on the oracle's report at time `t`."""
    return self._report_usable(t)


@internal
@view
def _redeem_size_ok(burned: uint256, amount: uint256, balance: uint256) -> bool:
    return burned >= self.min_redeem_amount or (amount == balance and burned > 0)


@external
@view
def redeem_size_ok(burned: uint256, amount: uint256, balance: uint256) -> bool:
    """At least the minimum, or the holder's whole balance."""
    return self._redeem_size_ok(burned, amount, balance)


# ---------------------------------------------------------------- the market

@internal
def _accrue():
    self.accrued += self.accrual_rate * (block.timestamp - self.last_accrual)
    earned: uint256 = staticcall Interest(interest).grown(self.er_base, self.accrued) - self.er
    self.er += earned
    self.last_accrual = block.timestamp
    rate: uint256 = staticcall Interest(interest).current_rate()
    if rate != self.accrual_rate:
        self.er_base = self.er
        self.base_time = block.timestamp
        self.accrued = 0
        self.accrual_rate = rate
    log InterestAccrued(er=self.er, rate=self.accrual_rate)


@external
def accrue_interest() -> uint256:
    """Bring the exchange rate up to date. Anyone may touch the market."""
    self._accrue()
    return self.er


@internal
def _pay_fee(owner: address, fee: uint256, fee_recipient: address):
    if fee > 0:
        assert fee <= self.balanceOf[owner], "FEE_TOO_LARGE"
        self._transfer(owner, fee_recipient, fee)


@internal
def _mint_for(payer: address, recipient: address, amount: uint256, fee: uint256, fee_recipient: address) -> uint256:
    self._accrue()
    assert not staticcall Controller(controller).paused(), "PAUSED"
    assert staticcall Controller(controller).market_enabled() == 1, "MARKET_DISABLED"
    assert self.listed == 1, "MARKET_NOT_LISTED"
    assert amount >= self.min_mint_amount, "AMOUNT_TOO_SMALL"
    assert self._report_usable(block.timestamp), "STALE_ORACLE"
    minted: uint256 = amount * WAD // self.er
    assert minted > 0, "ZERO_MINT"
    assert fee <= minted, "FEE_TOO_LARGE"
    assert recipient != empty(address), "ZERO_ADDRESS"
    assert fee == 0 or fee_recipient != empty(address), "ZERO_ADDRESS"
    next_year: uint256 = staticcall Controller(controller).liabilities_next_year(
        self.totalSupply + minted, self.er_base, self.accrual_rate, block.timestamp - self.base_time)
    assert staticcall Controller(controller).is_overcollateralized(self, self.underlying_held + amount, next_year), "UNDERCOLLATERALIZED"
    extcall Underlying(underlying).transfer_from(payer, self, amount)
    self.underlying_held += amount
    self._mint(recipient, minted - fee)
    if fee > 0:
        self._mint(fee_recipient, fee)
    log Mint(payer=payer, recipient=recipient, underlying=amount, minted=minted)
    return minted - fee


@internal
def _redeem_for(holder: address, recipient: address, amount: uint256, fee: uint256, fee_recipient: address) -> uint256:
    self._accrue()
    assert fee <= amount, "FEE_TOO_LARGE"
    burned: uint256 = amount - fee
    assert self._redeem_size_ok(burned, amount, self.balanceOf[holder]), "AMOUNT_TOO_SMALL"
    paid: uint256 = burned * self.er // WAD
    assert paid <= self.underlying_held, "INSUFFICIENT_LIQUIDITY"
    self._pay_fee(holder, fee, fee_recipient)
    self._burn(holder, burned)
    self.underlying_held -= paid
    extcall Underlying(underlying).transfer(recipient, paid)
    log Redeem(holder=holder, recipient=recipient, burned=burned, paid=paid)
    return paid


@external
def mint(amount: uint256) -> uint256:
    """Deposit `amount` underlying; receive mTokens. Returns the mTokens minted."""
    return self._mint_for(msg.sender, msg.sender, amount, 0, empty(address))


@external
def redeem(amount: uint256) -> uint256:
    """Burn `amount` mTokens; receive underlying. Returns the underlying paid."""
    return self._redeem_for(msg.sender, msg.sender, amount, 0, empty(address))


@external
def mint_from_gasless_request(req: MintRequest, sig: Bytes[65]) -> uint256:
    """A relayer submits a mint signed by its owner."""
    self._check_request(req.owner, req.nonce, req.expiry, keccak256(abi_encode(
        MINT_TYPEHASH, req.owner, req.recipient, req.nonce, req.expiry, req.amount, req.fee, req.fee_recipient)), sig)
    return self._mint_for(req.owner, req.recipient, req.amount, req.fee, req.fee_recipient)


@external
def redeem_from_gasless_request(req: RedeemRequest, sig: Bytes[65]) -> uint256:
    """A relayer submits a redemption signed by its owner."""
    self._check_request(req.owner, req.nonce, req.expiry, keccak256(abi_encode(
        REDEEM_TYPEHASH, req.owner, req.recipient, req.nonce, req.expiry, req.amount, req.fee, req.fee_recipient)), sig)
    return self._redeem_for(req.owner, req.recipient, req.amount, req.fee, req.fee_recipient)


@external
def permit(req: PermitRequest, sig: Bytes[65]):
    """A relayer submits an allowance signed by its owner (the fee in mTokens)."""
    self._check_request(req.owner, req.nonce, req.expiry, keccak256(abi_encode(
        PERMIT_TYPEHASH, req.owner, req.spender, req.nonce, req.expiry, req.value, req.fee, req.fee_recipient)), sig)
    self._pay_fee(req.owner, req.fee, req.fee_recipient)
    self.allowance[req.owner][req.spender] = req.value
    log Approval(owner=req.owner, spender=req.spender, amount=req.value)


@external
def allocate_to_rwa(amount: uint256):
    """Send `amount` underlying to the asset manager (rolling cap, reserve ratio)."""
    manager: address = staticcall Controller(controller).asset_manager()
    assert msg.sender == manager, "UNAUTHORIZED"
    self._accrue()
    assert not staticcall Controller(controller).paused(), "PAUSED"
    assert staticcall Controller(controller).market_enabled() == 1, "MARKET_DISABLED"
    assert self.listed == 1, "MARKET_NOT_LISTED"
    assert amount > 0, "ZERO_AMOUNT"
    level: uint256 = self._allocation_level(block.timestamp)
    assert level + amount <= self.allocation_cap, "ALLOCATION_CAP_EXCEEDED"
    assert amount <= self.underlying_held, "INSUFFICIENT_LIQUIDITY"
    assert staticcall Controller(controller).meets_reserve_ratio(self.underlying_held - amount, self.totalSupply * self.er), "RESERVE_RATIO_BREACHED"
    self.alloc_level = level + amount
    self.alloc_updated = block.timestamp
    self.underlying_held -= amount
    self.allocated += amount
    extcall Underlying(underlying).transfer(manager, amount)
    log AllocatedToRwa(amount=amount, to=manager)


@external
def return_from_rwa(amount: uint256):
    """Bring underlying back from real-world assets (principal and income)."""
    assert amount > 0, "ZERO_AMOUNT"
    extcall Underlying(underlying).transfer_from(msg.sender, self, amount)
    self.underlying_held += amount
    self.allocated -= min(amount, self.allocated)
    self.last_return_at = block.timestamp
    log ReturnedFromRwa(amount=amount, payer=msg.sender)
