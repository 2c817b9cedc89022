# pragma version 0.4.3
# @title governor: token holders (DMG, or MT) propose, vote on and enact parameter changes
# @notice Written from spec/protocol/governor_base.imo (docs/protocol.md section 8):
#   Compound's GovernorAlpha over the timelock, one action per proposal.
#   - A proposer needs strictly more than `proposal_threshold` votes at the
#     previous block; votes count at the proposal's start block.
#   - The quorum and the threshold are copied into each proposal; a cancel by
#     anyone but the guardian needs the proposer's votes at or below the
#     proposal's own threshold, and records who cancelled and those votes.
#   - A passed proposal may be queued for QUEUE_PERIOD blocks after its vote,
#     then it is EXPIRED.
#   - The governed parameters (voting delay and period, threshold, quorum) are
#     constructor arguments checked against their bounds ("OUT_OF_BOUNDS"),
#     and change only through `set_parameter`, called by the timelock.
#   - One contract for every instance of the spec's template `governor_base`
#     (`governor` over DMG, `mt_governor` over MT): the votes token and the
#     timelock are constructor arguments, the keys name the instance
#     (`_name`), and the threshold's and quorum's bounds, in the token's
#     units, are given by the deployment (`_vote_bounds`).
#   - `value` cannot name a Vyper argument: the argument is `_value`.

interface Dmg:
    def prior_votes(account: address, at_block: uint256) -> uint256: view

interface Timelock:
    def delay() -> uint256: view
    def queue(target: address, key: bytes32, _value: uint256, eta: uint256) -> bytes32: nonpayable
    def execute(target: address, key: bytes32, _value: uint256, eta: uint256): nonpayable
    def cancel(target: address, key: bytes32, _value: uint256, eta: uint256): nonpayable

GRACE_PERIOD: constant(uint256) = 14 * 86400
QUEUE_PERIOD: constant(uint256) = 100800

PENDING: constant(uint256) = 0
ACTIVE: constant(uint256) = 1
CANCELED: constant(uint256) = 2
DEFEATED: constant(uint256) = 3
SUCCEEDED: constant(uint256) = 4
QUEUED: constant(uint256) = 5
EXPIRED: constant(uint256) = 6
EXECUTED: constant(uint256) = 7

VOTING_DELAY_KEY: immutable(bytes32)
VOTING_PERIOD_KEY: immutable(bytes32)
PROPOSAL_THRESHOLD_KEY: immutable(bytes32)
QUORUM_VOTES_KEY: immutable(bytes32)

struct Proposal:
    proposer: address
    target: address
    key: bytes32
    value: uint256
    start_block: uint256
    end_block: uint256
    quorum: uint256
    threshold: uint256
    for_votes: uint256
    against_votes: uint256
    eta: uint256
    queued_block: uint256
    cancelled: bool
    cancelled_by: address
    sponsor_votes: uint256
    executed: bool

event ProposalCreated:
    id: uint256
    proposer: address
    target: address
    key: bytes32
    value: uint256
    start_block: uint256
    end_block: uint256

event VoteCast:
    voter: address
    id: uint256
    support: bool
    votes: uint256

event ProposalCanceled:
    id: uint256

event ProposalQueued:
    id: uint256
    eta: uint256

event ProposalExecuted:
    id: uint256

guardian: public(immutable(address))
# The bounds of the proposal threshold and of the quorum, in the votes
# token's units: [threshold low, threshold high, quorum low, quorum high]
# (the spec's bounds of the instance, given by the deployment).
VOTE_BOUNDS: immutable(uint256[4])
# imported modules (constructor arguments, in the spec's import order)
dmg: public(immutable(address))
timelock: public(immutable(address))

# governed
voting_delay: public(uint256)
voting_period: public(uint256)
proposal_threshold: public(uint256)
quorum_votes: public(uint256)

proposal_count: public(uint256)
proposals: public(HashMap[uint256, Proposal])
has_voted: public(HashMap[uint256, HashMap[address, bool]])
latest_proposal_of: public(HashMap[address, uint256])


@internal
@view
def _check_bounds(key: bytes32, _value: uint256):
    if key == VOTING_DELAY_KEY:
        assert 1 <= _value and _value <= 40320, "OUT_OF_BOUNDS"
    elif key == VOTING_PERIOD_KEY:
        assert 5760 <= _value and _value <= 80640, "OUT_OF_BOUNDS"
    elif key == PROPOSAL_THRESHOLD_KEY:
        assert VOTE_BOUNDS[0] <= _value and _value <= VOTE_BOUNDS[1], "OUT_OF_BOUNDS"
    elif key == QUORUM_VOTES_KEY:
        assert VOTE_BOUNDS[2] <= _value and _value <= VOTE_BOUNDS[3], "OUT_OF_BOUNDS"
    else:
        raise "UNKNOWN_PARAMETER"


@deploy
def __init__(_guardian: address, _voting_delay: uint256, _voting_period: uint256, _proposal_threshold: uint256,
             _quorum_votes: uint256, _dmg: address, _timelock: address, _name: String[32], _vote_bounds: uint256[4]):
    VOTING_DELAY_KEY = keccak256(concat(_name, ".voting_delay"))
    VOTING_PERIOD_KEY = keccak256(concat(_name, ".voting_period"))
    PROPOSAL_THRESHOLD_KEY = keccak256(concat(_name, ".proposal_threshold"))
    QUORUM_VOTES_KEY = keccak256(concat(_name, ".quorum_votes"))
    VOTE_BOUNDS = _vote_bounds
    self._check_bounds(VOTING_DELAY_KEY, _voting_delay)
    self._check_bounds(VOTING_PERIOD_KEY, _voting_period)
    self._check_bounds(PROPOSAL_THRESHOLD_KEY, _proposal_threshold)
    self._check_bounds(QUORUM_VOTES_KEY, _quorum_votes)
    guardian = _guardian
    dmg = _dmg
    timelock = _timelock
    self.voting_delay = _voting_delay
    self.voting_period = _voting_period
    self.proposal_threshold = _proposal_threshold
    self.quorum_votes = _quorum_votes


@external
def set_parameter(key: bytes32, _value: uint256):
    """Set a governed parameter: the timelock's `govern`, inside its bounds."""
    assert msg.sender == timelock, "UNAUTHORIZED"
    self._check_bounds(key, _value)
    if key == VOTING_DELAY_KEY:
        self.voting_delay = _value
    elif key == VOTING_PERIOD_KEY:
        self.voting_period = _value
    elif key == PROPOSAL_THRESHOLD_KEY:
        self.proposal_threshold = _value
    else:
        self.quorum_votes = _value


@internal
@pure
def _passed(for_votes: uint256, against_votes: uint256, quorum: uint256) -> bool:
    return for_votes > against_votes and for_votes >= quorum


@internal
@view
def _state_of(id: uint256, blk: uint256, t: uint256) -> uint256:
    p: Proposal = self.proposals[id]
    if p.cancelled:
        return CANCELED
    if p.executed:
        return EXECUTED
    if p.eta != 0:
        if t > p.eta + GRACE_PERIOD:
            return EXPIRED
        return QUEUED
    if blk <= p.start_block:
        return PENDING
    if blk <= p.end_block:
        return ACTIVE
    if not self._passed(p.for_votes, p.against_votes, p.quorum):
        return DEFEATED
    if blk > p.end_block + QUEUE_PERIOD:
        return EXPIRED
    return SUCCEEDED


@external
@view
def state_of(id: uint256, blk: uint256, t: uint256) -> uint256:
    """The state of proposal `id` at block `blk` and time `t`."""
    return self._state_of(id, blk, t)


@external
@pure
def passed(for_votes: uint256, against_votes: uint256, quorum: uint256) -> bool:
    """More for than against, and at least the quorum for."""
    return self._passed(for_votes, against_votes, quorum)


@external
def propose(target: address, key: bytes32, _value: uint256) -> uint256:
    """Propose to set parameter `key` of module `target` to `_value`."""
    weight: uint256 = staticcall Dmg(dmg).prior_votes(msg.sender, block.number - 1)
    assert weight > self.proposal_threshold, "BELOW_PROPOSAL_THRESHOLD"
    latest: uint256 = self.latest_proposal_of[msg.sender]
    if latest != 0:
        st: uint256 = self._state_of(latest, block.number, block.timestamp)
        assert st != ACTIVE and st != PENDING, "PROPOSAL_IN_FLIGHT"
    self.proposal_count += 1
    id: uint256 = self.proposal_count
    start: uint256 = block.number + self.voting_delay
    end: uint256 = start + self.voting_period
    self.proposals[id] = Proposal(proposer=msg.sender, target=target, key=key, value=_value, start_block=start,
                                  end_block=end, quorum=self.quorum_votes, threshold=self.proposal_threshold,
                                  for_votes=0, against_votes=0, eta=0, queued_block=0, cancelled=False,
                                  cancelled_by=empty(address), sponsor_votes=0, executed=False)
    self.latest_proposal_of[msg.sender] = id
    log ProposalCreated(id=id, proposer=msg.sender, target=target, key=key, value=_value, start_block=start,
                        end_block=end)
    return id


@external
def cast_vote(id: uint256, support: bool) -> uint256:
    """Vote with the weight delegated to the caller at the start block."""
    assert id > 0 and id <= self.proposal_count, "UNKNOWN_PROPOSAL"
    assert self._state_of(id, block.number, block.timestamp) == ACTIVE, "VOTING_CLOSED"
    assert not self.has_voted[id][msg.sender], "ALREADY_VOTED"
    weight: uint256 = staticcall Dmg(dmg).prior_votes(msg.sender, self.proposals[id].start_block)
    if support:
        self.proposals[id].for_votes += weight
    else:
        self.proposals[id].against_votes += weight
    self.has_voted[id][msg.sender] = True
    log VoteCast(voter=msg.sender, id=id, support=support, votes=weight)
    return weight


@external
def queue(id: uint256):
    """Queue a succeeded proposal in the timelock (anyone)."""
    assert id > 0 and id <= self.proposal_count, "UNKNOWN_PROPOSAL"
    assert self._state_of(id, block.number, block.timestamp) == SUCCEEDED, "NOT_SUCCEEDED"
    eta: uint256 = block.timestamp + staticcall Timelock(timelock).delay()
    self.proposals[id].eta = eta
    self.proposals[id].queued_block = block.number
    p: Proposal = self.proposals[id]
    extcall Timelock(timelock).queue(p.target, p.key, p.value, eta)
    log ProposalQueued(id=id, eta=eta)


@external
def execute(id: uint256):
    """Execute a queued proposal through the timelock (anyone)."""
    assert id > 0 and id <= self.proposal_count, "UNKNOWN_PROPOSAL"
    assert self._state_of(id, block.number, block.timestamp) == QUEUED, "NOT_QUEUED"
    self.proposals[id].executed = True
    p: Proposal = self.proposals[id]
    extcall Timelock(timelock).execute(p.target, p.key, p.value, p.eta)
    log ProposalExecuted(id=id)


@external
def cancel(id: uint256):
    """Cancel a proposal not executed: the guardian always; anyone once the
    proposer's votes fell to the proposal's own threshold or below."""
    assert id > 0 and id <= self.proposal_count, "UNKNOWN_PROPOSAL"
    st: uint256 = self._state_of(id, block.number, block.timestamp)
    assert st != EXECUTED, "ALREADY_EXECUTED"
    assert st != CANCELED, "ALREADY_CANCELED"
    p: Proposal = self.proposals[id]
    weight: uint256 = staticcall Dmg(dmg).prior_votes(p.proposer, block.number - 1)
    assert msg.sender == guardian or weight <= p.threshold, "PROPOSER_ABOVE_THRESHOLD"
    self.proposals[id].cancelled = True
    self.proposals[id].cancelled_by = msg.sender
    self.proposals[id].sponsor_votes = weight
    if p.eta != 0:
        extcall Timelock(timelock).cancel(p.target, p.key, p.value, p.eta)
    log ProposalCanceled(id=id)
