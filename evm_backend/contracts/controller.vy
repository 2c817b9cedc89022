# pragma version 0.4.3
# @title controller: the money market's policy (parameters, pause, solvency tests)
# @notice Written from spec/protocol/controller.imo (docs/protocol.md section 7).
#   - The guardian pauses and unpauses ("UNAUTHORIZED" for anyone else).
#   - One controller serves every market (spec/protocol/market.imo): the
#     collateral test takes the market and reads the oracle's report for it.
#   - The governed parameters (collateralisation, reserve ratio, allocation
#     interval, the switch of every market) are constructor arguments, each
#     checked against its bounds ("OUT_OF_BOUNDS"), and change only through
#     `set_parameter`, which only the timelock calls ("UNAUTHORIZED"): the
#     spec's `govern` in timelock.execute. An unknown key is
#     "UNKNOWN_PARAMETER". Each market's allocation cap is the market's own.
#   - Liabilities are WAD-scaled (supply times exchange rate). The projection
#     one year ahead uses the interest model's own accrual rule.

interface Oracle:
    def offchain_value(market: address) -> uint256: view

interface Interest:
    def grow(er_base: uint256, rate: uint256, elapsed: uint256) -> uint256: view

WAD: constant(uint256) = 10**18
HOUR: constant(uint256) = 3600
DAY: constant(uint256) = 86400
SECONDS_PER_YEAR: constant(uint256) = 31536000

event Paused:
    account: address

event Unpaused:
    account: address

guardian: public(immutable(address))
asset_manager: public(immutable(address))

# imported modules (constructor arguments, in the spec's import order)
interest: public(immutable(address))
oracle: public(immutable(address))
# the one caller of `set_parameter`
timelock: public(immutable(address))

# how a timelock transaction names each governed parameter: keccak256("module.name")
MIN_COLLATERALIZATION_KEY: constant(bytes32) = keccak256("controller.min_collateralization")
MIN_RESERVE_RATIO_KEY: constant(bytes32) = keccak256("controller.min_reserve_ratio")
ALLOCATION_INTERVAL_KEY: constant(bytes32) = keccak256("controller.allocation_interval")
MARKET_ENABLED_KEY: constant(bytes32) = keccak256("controller.market_enabled")

# governed parameters
min_collateralization: public(uint256)
min_reserve_ratio: public(uint256)
allocation_interval: public(uint256)
market_enabled: public(uint256)

# The guardian's emergency switch.
paused: public(bool)


@internal
@pure
def _check_bounds(key: bytes32, _value: uint256):
    if key == MIN_COLLATERALIZATION_KEY:
        assert WAD <= _value and _value <= 3 * WAD, "OUT_OF_BOUNDS"
    elif key == MIN_RESERVE_RATIO_KEY:
        assert 5 * 10**16 <= _value and _value <= WAD, "OUT_OF_BOUNDS"
    elif key == ALLOCATION_INTERVAL_KEY:
        assert HOUR <= _value and _value <= 30 * DAY, "OUT_OF_BOUNDS"
    elif key == MARKET_ENABLED_KEY:
        assert _value <= 1, "OUT_OF_BOUNDS"
    else:
        raise "UNKNOWN_PARAMETER"


@deploy
def __init__(_guardian: address, _asset_manager: address, _min_collateralization: uint256,
             _min_reserve_ratio: uint256, _allocation_interval: uint256,
             _market_enabled: uint256, _interest: address, _oracle: address, _timelock: address):
    self._check_bounds(MIN_COLLATERALIZATION_KEY, _min_collateralization)
    self._check_bounds(MIN_RESERVE_RATIO_KEY, _min_reserve_ratio)
    self._check_bounds(ALLOCATION_INTERVAL_KEY, _allocation_interval)
    self._check_bounds(MARKET_ENABLED_KEY, _market_enabled)
    guardian = _guardian
    asset_manager = _asset_manager
    oracle = _oracle
    interest = _interest
    timelock = _timelock
    self.min_collateralization = _min_collateralization
    self.min_reserve_ratio = _min_reserve_ratio
    self.allocation_interval = _allocation_interval
    self.market_enabled = _market_enabled


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter: the timelock's `govern`, inside its bounds."""
    assert msg.sender == timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    if key == MIN_COLLATERALIZATION_KEY:
        self.min_collateralization = _value
    elif key == MIN_RESERVE_RATIO_KEY:
        self.min_reserve_ratio = _value
    elif key == ALLOCATION_INTERVAL_KEY:
        self.allocation_interval = _value
    else:
        self.market_enabled = _value


@external
def pause():
    """Stop minting and allocation to real-world assets."""
    assert msg.sender == guardian, "UNAUTHORIZED"
    self.paused = True
    log Paused(account=msg.sender)


@external
def unpause():
    """Allow minting and allocation again."""
    assert msg.sender == guardian, "UNAUTHORIZED"
    self.paused = False
    log Unpaused(account=msg.sender)


@external
@view
def minting_open() -> bool:
    """Whether new mTokens may be minted at all right now."""
    return self.market_enabled == 1 and not self.paused


@external
@view
def liabilities_next_year(supply: uint256, er_base: uint256, rate: uint256, elapsed: uint256) -> uint256:
    """Liabilities a year ahead (WAD-scaled) by the accrual rule."""
    return supply * staticcall Interest(interest).grow(er_base, rate, elapsed + SECONDS_PER_YEAR)


@external
@view
def is_overcollateralized(market: address, onchain: uint256, next_year: uint256) -> bool:
    """(offchain + onchain)*WAD >= min_collateralization * next_year / WAD,
    with `market`'s off-chain value."""
    return (staticcall Oracle(oracle).offchain_value(market) + onchain) * WAD >= self.min_collateralization * next_year // WAD


@external
@view
def meets_reserve_ratio(onchain: uint256, liabilities: uint256) -> bool:
    """onchain*WAD >= min_reserve_ratio * liabilities / WAD."""
    return onchain * WAD >= self.min_reserve_ratio * liabilities // WAD
