# pragma version 0.4.3
# @title phases: the four bands of the MT price (Iron, Bronze, Silver, Gold)
# @notice Written from spec/protocol/phases.imo (docs/protocol.md section 4).
#   - Holds the three thresholds, fixed at creation for every module:
#     floor < bronze_price < issue_price ("BAD_PHASE_ORDER"), floor > 0
#     ("ZERO_FLOOR": the reserve divides by it).
#   - The price is always the pool's TWAP, never its spot price.
#   - A phase is returned as its band's ordinal: Iron 0, Bronze 1, Silver 2,
#     Gold 3 (the order of the spec's `phases Phase` declaration).
#   - `floor` is a Vyper builtin and cannot name a variable: the immutable is
#     `floor_price` (the binding maps it), and `floor()` is the spec-named
#     getter that the reserve, the farm and the buyback call.

interface Pool:
    def twap() -> uint256: view

# The bands, from the lowest price up.
IRON: constant(uint256) = 0
BRONZE: constant(uint256) = 1
SILVER: constant(uint256) = 2
GOLD: constant(uint256) = 3

# The floor price, in DCEP per MT (WAD): the reserve pays it in Iron.
floor_price: public(immutable(uint256))
# The price below which the phase is Bronze.
bronze_price: public(immutable(uint256))
# The issue price, at and above which the phase is Gold.
issue_price: public(immutable(uint256))

# imported module (constructor argument)
pool: public(immutable(address))


@deploy
def __init__(_floor: uint256, _bronze_price: uint256, _issue_price: uint256, _pool: address):
    floor_price = _floor
    bronze_price = _bronze_price
    issue_price = _issue_price
    pool = _pool
    assert _floor > 0, "ZERO_FLOOR"
    assert _floor < _bronze_price and _bronze_price < _issue_price, "BAD_PHASE_ORDER"


@external
@view
def floor() -> uint256:
    """The floor price (the spec's name for `floor_price`)."""
    return floor_price


@internal
@view
def _phase(p: uint256) -> uint256:
    """`Phase(p)`: the first band whose bound `p` is below, or Gold."""
    if p < floor_price:
        return IRON
    if p < bronze_price:
        return BRONZE
    if p < issue_price:
        return SILVER
    return GOLD


@external
@view
def current() -> uint256:
    """The phase now, from the pool's TWAP."""
    return self._phase(staticcall Pool(pool).twap())
