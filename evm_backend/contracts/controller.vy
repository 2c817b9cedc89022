# pragma version 0.4.3
# @title controller: the money market's policy (parameters, pause, solvency tests)
# @notice Written from spec/protocol/controller.imo (docs/protocol.md section 7).
#   - The guardian pauses and unpauses ("UNAUTHORIZED" for anyone else).
#   - One controller serves every market (spec/protocol/market.imo): the
#     collateral test takes the market and reads the oracle's report for it.
#   - The governed parameters (collateralisation, reserve ratio, allocation
#     interval, the switch of every market) start at the spec's defaults. The
#     timelock is not part of this build, so nothing here changes them. Each
#     market's allocation cap is the market's own.
#   - Liabilities are WAD-scaled (supply times exchange rate). The projection
#     one year ahead uses the interest model's own accrual rule.

interface Oracle:
    def offchain_value(market: address) -> uint256: view

interface Interest:
    def grow(er_base: uint256, rate: uint256, elapsed: uint256) -> uint256: view

WAD: constant(uint256) = 10**18
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

# governed parameters, at the spec's defaults
min_collateralization: public(uint256)
min_reserve_ratio: public(uint256)
allocation_interval: public(uint256)
market_enabled: public(uint256)

# The guardian's emergency switch.
paused: public(bool)


@deploy
def __init__(_guardian: address, _asset_manager: address, _interest: address, _oracle: address):
    guardian = _guardian
    asset_manager = _asset_manager
    oracle = _oracle
    interest = _interest
    self.min_collateralization = 11 * 10**17
    self.min_reserve_ratio = 25 * 10**16
    self.allocation_interval = DAY
    self.market_enabled = 1


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
