# pragma version 0.4.3
# @title interest: the money market's interest-rate model (static)
# @notice Written from spec/protocol/interest.imo (docs/protocol.md section 7).
#   - The rate is a yearly rate in WAD, 6.25e16 (6.25% APY) by default,
#     governed within [0, 25%] ("OUT_OF_BOUNDS" at deployment and on a
#     change, by the same `_check_bounds`). It changes only through `set_parameter`, called by the
#     timelock ("UNAUTHORIZED"); another key is "UNKNOWN_PARAMETER".
#   - A rate change accrues first (the spec's `after govern
#     interest.annual_rate: accrue()` in each market): after setting the
#     rate, `set_parameter` touches every market given at deployment, in
#     order, so each accrues up to now at the rate that was in force and
#     then moves its checkpoint to the new one (as Compound's setter does).
#   - `grow` and `grown` are the one accrual rule: simple interest from a
#     checkpoint, `er_base*(WAD + rate*elapsed/31536000)/WAD`, both divisions
#     rounding down, in the spec's order of operations (so that an overflow
#     is a bare revert exactly where the spec's checked arithmetic has one).
#   - `value` cannot name a Vyper argument: the argument is `_value`.

interface Market:
    def accrue_interest() -> uint256: nonpayable

WAD: constant(uint256) = 10**18
SECONDS_PER_YEAR: constant(uint256) = 31536000
MAX_RATE: constant(uint256) = 25 * 10**16
MAX_MARKETS: constant(uint256) = 16
# keccak256("interest.annual_rate"): how a timelock transaction names the rate
ANNUAL_RATE_KEY: constant(bytes32) = keccak256("interest.annual_rate")

# The one caller of `set_parameter`.
timelock: public(immutable(address))
# The markets that accrue before a rate change (the modules with an
# `after govern interest.annual_rate` hook), in the spec's module order.
markets: public(DynArray[address, MAX_MARKETS])

# The yearly rate paid to holders, WAD (governed).
annual_rate: public(uint256)


@internal
@pure
def _check_bounds(key: bytes32, _value: uint256):
    assert key == ANNUAL_RATE_KEY, "UNKNOWN_PARAMETER"
    assert _value <= MAX_RATE, "OUT_OF_BOUNDS"


@deploy
def __init__(_annual_rate: uint256, _timelock: address, _markets: DynArray[address, MAX_MARKETS]):
    self._check_bounds(ANNUAL_RATE_KEY, _annual_rate)
    timelock = _timelock
    self.annual_rate = _annual_rate
    self.markets = _markets


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set the governed rate (the timelock's `govern`), inside its bounds;
    then every market accrues and moves to the new rate."""
    assert msg.sender == timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    self.annual_rate = _value
    for m: address in self.markets:
        extcall Market(m).accrue_interest()


@external
@view
def current_rate() -> uint256:
    """The yearly rate, WAD, that accrues from now on."""
    return self.annual_rate


@internal
@pure
def _grown(er_base: uint256, accrued: uint256) -> uint256:
    return er_base * (WAD + accrued // SECONDS_PER_YEAR) // WAD


@external
@pure
def grow(er_base: uint256, rate: uint256, elapsed: uint256) -> uint256:
    """`er_base` grown at yearly rate `rate` for `elapsed` seconds."""
    return self._grown(er_base, rate * elapsed)


@external
@pure
def grown(er_base: uint256, accrued: uint256) -> uint256:
    """`er_base` grown by `accrued` rate-seconds (rate times seconds)."""
    return self._grown(er_base, accrued)
