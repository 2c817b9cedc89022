# pragma version 0.4.3
# @title timelock: the delay between a governance decision and its effect
# @notice Written from spec/protocol/timelock.imo (docs/protocol.md section 8).
#   - Compound's Timelock constants: the delay lies in [2 days, 30 days], a
#     queued transaction stays executable for 14 days after its eta.
#   - A transaction sets one governed parameter: `(target, key, value, eta)`,
#     identified by keccak256(abi_encode(target, key, value, eta)).
#   - Only `admin` (the governor) queues, executes and cancels ("UNAUTHORIZED").
#   - The timelock's own `delay` is governed through itself (its key names
#     the spec's module the contract is, `_name`: `timelock.delay`,
#     `mt_timelock.delay`); any other target
#     must be one of `governed_modules` (set at deployment), whose
#     `set_parameter(key, value)` accepts calls from this contract only and
#     checks the key and the bounds itself. Any other target is
#     "UNKNOWN_PARAMETER", as in the spec's `govern`.
#   - Deployment refuses a delay outside its bounds ("OUT_OF_BOUNDS"), as the
#     spec checks every governed parameter at deployment.
#   - `value` cannot name a Vyper argument: the argument is `_value` (calls
#     are positional).

interface Governed:
    def set_parameter(key: bytes32, _value: uint256): nonpayable

DAY: constant(uint256) = 86400
MIN_DELAY: constant(uint256) = 2 * DAY
MAX_DELAY: constant(uint256) = 30 * DAY
GRACE_PERIOD: constant(uint256) = 14 * DAY
# keccak256("<module>.delay"): how a transaction names this contract's delay
DELAY_KEY: immutable(bytes32)
MAX_GOVERNED: constant(uint256) = 16

event QueueTransaction:
    id: bytes32
    target: address
    key: bytes32
    value: uint256
    eta: uint256

event ExecuteTransaction:
    id: bytes32
    target: address
    key: bytes32
    value: uint256
    eta: uint256

event CancelTransaction:
    id: bytes32
    target: address
    key: bytes32
    value: uint256
    eta: uint256

admin: public(immutable(address))
# the other modules whose governed parameters this timelock sets
governed_modules: public(DynArray[address, MAX_GOVERNED])

# governed
delay: public(uint256)

queued: public(HashMap[bytes32, bool])
eta_of: public(HashMap[bytes32, uint256])
queued_at: public(HashMap[bytes32, uint256])
executed: public(HashMap[bytes32, bool])
executed_at: public(HashMap[bytes32, uint256])
cancelled: public(HashMap[bytes32, bool])


@deploy
def __init__(_admin: address, _delay: uint256, _governed_modules: DynArray[address, MAX_GOVERNED], _name: String[32]):
    assert MIN_DELAY <= _delay and _delay <= MAX_DELAY, "OUT_OF_BOUNDS"
    DELAY_KEY = keccak256(concat(_name, ".delay"))
    admin = _admin
    self.delay = _delay
    self.governed_modules = _governed_modules


@internal
@pure
def _tx_id(target: address, key: bytes32, _value: uint256, eta: uint256) -> bytes32:
    return keccak256(abi_encode(target, key, _value, eta))


@external
def queue(target: address, key: bytes32, _value: uint256, eta: uint256) -> bytes32:
    """Schedule "set parameter `key` of `target` to `_value`" for `eta`."""
    assert msg.sender == admin, "UNAUTHORIZED"
    assert eta >= block.timestamp + self.delay, "ETA_BEFORE_DELAY"
    id: bytes32 = self._tx_id(target, key, _value, eta)
    assert not self.queued[id], "ALREADY_QUEUED"
    assert not self.executed[id] and not self.cancelled[id], "TRANSACTION_SPENT"
    self.queued[id] = True
    self.eta_of[id] = eta
    self.queued_at[id] = block.timestamp
    log QueueTransaction(id=id, target=target, key=key, value=_value, eta=eta)
    return id


@external
def execute(target: address, key: bytes32, _value: uint256, eta: uint256):
    """Run a queued transaction inside [eta, eta + GRACE_PERIOD]."""
    assert msg.sender == admin, "UNAUTHORIZED"
    id: bytes32 = self._tx_id(target, key, _value, eta)
    assert self.queued[id], "NOT_QUEUED"
    assert block.timestamp >= self.eta_of[id], "ETA_NOT_REACHED"
    assert block.timestamp <= self.eta_of[id] + GRACE_PERIOD, "TRANSACTION_STALE"
    self.queued[id] = False
    self.executed[id] = True
    self.executed_at[id] = block.timestamp
    if target == self:
        assert key == DELAY_KEY, "UNKNOWN_PARAMETER"
        assert MIN_DELAY <= _value and _value <= MAX_DELAY, "OUT_OF_BOUNDS"
        self.delay = _value
    else:
        assert target in self.governed_modules, "UNKNOWN_PARAMETER"
        extcall Governed(target).set_parameter(key, _value)
    log ExecuteTransaction(id=id, target=target, key=key, value=_value, eta=eta)


@external
def cancel(target: address, key: bytes32, _value: uint256, eta: uint256):
    """Withdraw a queued transaction for ever."""
    assert msg.sender == admin, "UNAUTHORIZED"
    id: bytes32 = self._tx_id(target, key, _value, eta)
    assert self.queued[id], "NOT_QUEUED"
    self.queued[id] = False
    self.cancelled[id] = True
    log CancelTransaction(id=id, target=target, key=key, value=_value, eta=eta)
