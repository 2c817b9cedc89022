# pragma version 0.4.3
# @title interest: the money market's interest-rate model (static)
# @notice Written from spec/protocol/interest.imo (docs/protocol.md section 7).
#   - The rate is a yearly rate in WAD, 6.25e16 (6.25% APY) by default,
#     governed within [0, 25%]. The timelock is not part of this build:
#     nothing here changes `annual_rate` (the spec changes it only through
#     `govern` in its timelock, a module this build does not deploy).
#   - `grow` and `grown` are the one accrual rule: simple interest from a
#     checkpoint, `er_base*(WAD + rate*elapsed/31536000)/WAD`, both divisions
#     rounding down, in the spec's order of operations (so that an overflow
#     is a bare revert exactly where the spec's checked arithmetic has one).

WAD: constant(uint256) = 10**18
SECONDS_PER_YEAR: constant(uint256) = 31536000

# The yearly rate paid to holders, WAD (governed).
annual_rate: public(uint256)


@deploy
def __init__():
    self.annual_rate = 625 * 10**14


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
