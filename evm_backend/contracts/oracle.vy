# pragma version 0.4.3
# @title oracle: the reported value of the money market's off-chain collateral
# @notice Written from spec/protocol/oracle.imo (docs/protocol.md section 7).
#   - Only `reporter` reports ("UNAUTHORIZED"); a report may not come from
#     the future ("FUTURE_TIMESTAMP") nor be older than the one it replaces
#     ("OUTDATED_REPORT").
#   - A report older than `max_staleness` (one day by default, governed
#     within [1 hour, 7 days]; the timelock is not part of this build, so it
#     stays at its default) is stale; never reported is stale.
#   - `value` cannot name a Vyper argument: the argument is `_value` (calls
#     are positional).

DAY: constant(uint256) = 86400

event CollateralReported:
    value: uint256
    observed_at: uint256

# The one address allowed to report.
reporter: public(immutable(address))
# How old a report may be before minting stops (governed).
max_staleness: public(uint256)
# The last reported value of the off-chain collateral (DCEP wei).
offchain_value: public(uint256)
# When the last reported value was observed off chain (0: never reported).
reported_at: public(uint256)


@deploy
def __init__(_reporter: address):
    reporter = _reporter
    self.max_staleness = DAY


@external
def report(_value: uint256, observed_at: uint256):
    """Post the off-chain collateral's value as observed at `observed_at`."""
    assert msg.sender == reporter, "UNAUTHORIZED"
    assert observed_at <= block.timestamp, "FUTURE_TIMESTAMP"
    assert observed_at > self.reported_at, "OUTDATED_REPORT"
    self.offchain_value = _value
    self.reported_at = observed_at
    log CollateralReported(value=_value, observed_at=observed_at)


@external
@view
def is_fresh(t: uint256) -> bool:
    """Whether the last report is recent enough to rely on at time `t`."""
    if self.reported_at == 0:
        return False
    return t <= self.reported_at + self.max_staleness
