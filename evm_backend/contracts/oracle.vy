# pragma version 0.4.3
# @title oracle: the reported value of each money market's off-chain collateral
# @notice Written from spec/protocol/oracle.imo (docs/protocol.md section 7).
#   - One report per market, keyed by the market's address, in that
#     market's units; a report for one market leaves the others alone.
#   - Only `reporter` reports ("UNAUTHORIZED"); a report may not come from
#     the future ("FUTURE_TIMESTAMP") nor be older than the one it replaces
#     ("OUTDATED_REPORT").
#   - A report older than `max_staleness` (one day by default, governed
#     within [1 hour, 7 days]: a constructor argument checked against its
#     bounds by the setter's own `_check_bounds`, "OUT_OF_BOUNDS", changed only through `set_parameter`, which only
#     the timelock calls, "UNAUTHORIZED") is stale; never reported is stale.
#   - The reporter is governed too: a constructor argument, replaced only
#     through `set_parameter` by any address but zero ("OUT_OF_BOUNDS": the
#     uint256 the timelock passes must be an address other than 0).
#   - `value` cannot name a Vyper argument: the argument is `_value` (calls
#     are positional).

HOUR: constant(uint256) = 3600
DAY: constant(uint256) = 86400
# keccak256("oracle.max_staleness"): how a timelock transaction names it
MAX_STALENESS_KEY: constant(bytes32) = keccak256("oracle.max_staleness")
# keccak256("oracle.reporter"): how a timelock transaction names the reporter
REPORTER_KEY: constant(bytes32) = keccak256("oracle.reporter")

event CollateralReported:
    market: address
    value: uint256
    observed_at: uint256

# The one address allowed to report (governed).
reporter: public(address)
# The one caller of `set_parameter`.
timelock: public(immutable(address))
# How old a report may be before minting stops (governed).
max_staleness: public(uint256)
# The last reported value of each market's off-chain collateral (its units).
offchain_value: public(HashMap[address, uint256])
# When each market's last value was observed off chain (0: never reported).
reported_at: public(HashMap[address, uint256])


@internal
@pure
def _check_bounds(key: bytes32, _value: uint256):
    if key == MAX_STALENESS_KEY:
        assert HOUR <= _value and _value <= 7 * DAY, "OUT_OF_BOUNDS"
    elif key == REPORTER_KEY:
        assert 1 <= _value and _value <= convert(max_value(uint160), uint256), "OUT_OF_BOUNDS"
    else:
        raise "UNKNOWN_PARAMETER"


@deploy
def __init__(_reporter: address, _max_staleness: uint256, _timelock: address):
    self._check_bounds(REPORTER_KEY, convert(convert(_reporter, uint160), uint256))
    self._check_bounds(MAX_STALENESS_KEY, _max_staleness)
    self.reporter = _reporter
    timelock = _timelock
    self.max_staleness = _max_staleness


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter (the timelock's `govern`), inside its bounds."""
    assert msg.sender == timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    if key == MAX_STALENESS_KEY:
        self.max_staleness = _value
    else:
        self.reporter = convert(convert(_value, uint160), address)


@external
def report(market: address, _value: uint256, observed_at: uint256):
    """Post `market`'s off-chain collateral value as observed at `observed_at`."""
    assert msg.sender == self.reporter, "UNAUTHORIZED"
    assert observed_at <= block.timestamp, "FUTURE_TIMESTAMP"
    assert observed_at > self.reported_at[market], "OUTDATED_REPORT"
    self.offchain_value[market] = _value
    self.reported_at[market] = observed_at
    log CollateralReported(market=market, value=_value, observed_at=observed_at)


@external
@view
def is_fresh(market: address, t: uint256) -> bool:
    """Whether `market`'s last report is recent enough to rely on at time `t`."""
    if self.reported_at[market] == 0:
        return False
    return t <= self.reported_at[market] + self.max_staleness
