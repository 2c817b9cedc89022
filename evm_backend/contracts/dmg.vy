# pragma version 0.4.3
# @title dmg: the money market's governance token, an ERC-20 with vote checkpoints
# @notice Written from spec/protocol/dmg.imo, its template votes.imo and that
#   template's own template erc20.imo (docs/protocol.md section 8).
#   - The whole supply, 250,000,000 DMG (18 decimals), is minted at
#     deployment: the seed's locked 60% (LOCKED_SUPPLY, 150M) to `vesting`,
#     which holds it on the seed's schedules, and the rest to `treasury`;
#     nothing mints or burns DMG afterwards.
#   - Votes (COMP style), as in mt.vy: an account's balance counts for its
#     delegate (the zero address: nobody); `checkpoints[d]` keeps one entry per
#     block in which `d`'s votes changed, and `prior_votes` finds the one in
#     force by binary search. Only ended blocks may be asked for
#     ("NOT_YET_DETERMINED").
#   - `delegate_by_sig` (COMP's delegateBySig): a delegation signed by its
#     owner as EIP-712 typed data `Delegation(address owner,address
#     delegatee,uint256 nonce,uint256 expiry)` under the domain (name "DMG",
#     version "1", chainId, verifyingContract = this contract), recomputed
#     when the chain id differs from the one at deployment. Checks, in the
#     spec's order: expiry ("REQUEST_EXPIRED"), the owner's next nonce
#     ("INVALID_NONCE"), the signature ("INVALID_SIGNATURE": 65 bytes
#     r || s || v, s at most secp256k1n/2, the recovered signer not zero and
#     equal to the owner); then the nonce is used up.

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256

event DelegateChanged:
    delegator: indexed(address)
    from_delegate: indexed(address)
    to_delegate: indexed(address)

event DelegateVotesChanged:
    delegate: indexed(address)
    previous_votes: uint256
    new_votes: uint256

# The binary search in `prior_votes` takes 32 halving steps; `_write_checkpoint`
# refuses more than 2**32 checkpoints per account.
SEARCH_STEPS: constant(uint256) = 32
MAX_CHECKPOINTS: constant(uint256) = 2 ** 32

# The voting power of a delegate from block `from_block` on.
struct Checkpoint:
    from_block: uint256
    votes: uint256

DMG_SUPPLY: constant(uint256) = 250000000 * 10**18
# vesting's LOCKED_SUPPLY: the seed's locked 60% of the supply
LOCKED_SUPPLY: constant(uint256) = 150000000 * 10**18

# secp256k1n / 2: a signature with a larger s is the malleated twin of one with a smaller s
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
NAME_HASH: constant(bytes32) = keccak256("DMG")
VERSION_HASH: constant(bytes32) = keccak256("1")
DELEGATION_TYPEHASH: constant(bytes32) = keccak256(
    "Delegation(address owner,address delegatee,uint256 nonce,uint256 expiry)")

# A delegation signed by its owner.
struct Delegation:
    owner: address
    delegatee: address
    nonce: uint256
    expiry: uint256

# Receives the unlocked 40% of the supply at deployment.
treasury: public(immutable(address))
# imported module (constructor argument): holds the locked 60%
vesting: public(immutable(address))

# the EIP-712 domain as of deployment (recomputed on another chain)
CACHED_CHAIN_ID: immutable(uint256)
CACHED_DOMAIN: immutable(bytes32)

# ---------------------------------------------------------------- erc20 state

total_supply: public(uint256)
balance_of: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

# ---------------------------------------------------------------- votes state

# delegates[a]: whom `a`'s balance counts for (the zero address: nobody).
delegates: public(HashMap[address, address])
# checkpoints[d][i] for i < num_checkpoints[d]: the history of `d`'s votes.
checkpoints: public(HashMap[address, HashMap[uint256, Checkpoint]])
num_checkpoints: public(HashMap[address, uint256])
# The voting power of each delegate now (the votes of its newest checkpoint).
current_votes: public(HashMap[address, uint256])
# The sum of the balances of every account that has a delegate.
total_delegated: public(uint256)

# ---------------------------------------------------------------- dmg state

# Nonces of signed delegations, per owner.
nonces: public(HashMap[address, uint256])


@deploy
def __init__(_treasury: address, _vesting: address):
    treasury = _treasury
    vesting = _vesting
    CACHED_CHAIN_ID = chain.id
    CACHED_DOMAIN = self._build_domain()
    # init { _mint(treasury, DMG_SUPPLY - vesting.LOCKED_SUPPLY); _mint(vesting, vesting.LOCKED_SUPPLY) }
    self._mint(_treasury, DMG_SUPPLY - LOCKED_SUPPLY)
    self._mint(_vesting, LOCKED_SUPPLY)


# ---------------------------------------------------------------- erc20 actions

@external
def transfer(receiver: address, amount: uint256) -> bool:
    """Moves `amount` of the caller's tokens to `receiver`."""
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """Lets `spender` move up to `amount` of the caller's tokens."""
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, amount=amount)
    return True


@external
def transfer_from(sender: address, receiver: address, amount: uint256) -> bool:
    """Moves `amount` of `sender`'s tokens to `receiver`, spending the
    allowance that `sender` gave to the caller."""
    self._spend_allowance(sender, msg.sender, amount)
    self._transfer(sender, receiver, amount)
    return True


# ---------------------------------------------------------------- votes actions

@external
def delegate(delegatee: address):
    """The caller's balance, now and in future, counts for `delegatee` (the
    zero address: for nobody)."""
    self._delegate(msg.sender, delegatee)


@external
def delegate_by_sig(req: Delegation, sig: Bytes[65]):
    """Anyone submits a delegation signed by its owner."""
    assert block.timestamp <= req.expiry, "REQUEST_EXPIRED"
    assert req.nonce == self.nonces[req.owner], "INVALID_NONCE"
    assert self._signed_by(keccak256(abi_encode(DELEGATION_TYPEHASH, req.owner, req.delegatee, req.nonce,
                                                req.expiry)), req.owner, sig), "INVALID_SIGNATURE"
    self.nonces[req.owner] += 1
    self._delegate(req.owner, req.delegatee)


@internal
def _delegate(delegator: address, delegatee: address):
    previous: address = self.delegates[delegator]
    held: uint256 = self.balance_of[delegator]
    self.delegates[delegator] = delegatee
    log DelegateChanged(delegator=delegator, from_delegate=previous, to_delegate=delegatee)
    if previous == empty(address) and delegatee != empty(address):
        self.total_delegated += held
    if previous != empty(address) and delegatee == empty(address):
        self.total_delegated -= held
    self._move_delegates(previous, delegatee, held)


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


@external
@view
def prior_votes(account: address, at_block: uint256) -> uint256:
    """The votes of `account` at the end of block `at_block` (an ended block only)."""
    assert at_block < block.number, "NOT_YET_DETERMINED"
    n: uint256 = self.num_checkpoints[account]
    if n == 0:
        return 0
    # The newest checkpoint, then the oldest, answer most queries at once.
    if self.checkpoints[account][n - 1].from_block <= at_block:
        return self.checkpoints[account][n - 1].votes
    if self.checkpoints[account][0].from_block > at_block:
        return 0
    # Binary search for the last checkpoint at or before `at_block`.
    lower: uint256 = 0
    upper: uint256 = n - 1
    for step: uint256 in range(SEARCH_STEPS):
        if upper > lower:
            center: uint256 = upper - (upper - lower) // 2
            found: Checkpoint = self.checkpoints[account][center]
            if found.from_block == at_block:
                lower = center
                upper = center
            elif found.from_block < at_block:
                lower = center
            else:
                upper = center - 1
    return self.checkpoints[account][lower].votes


# ---------------------------------------------------------------- erc20 internals


@internal
def _spend_allowance(owner: address, spender: address, amount: uint256):
    allowed: uint256 = self.allowance[owner][spender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "INSUFFICIENT_ALLOWANCE"
        self.allowance[owner][spender] = allowed - amount


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "ZERO_ADDRESS"
    assert self.balance_of[sender] >= amount, "INSUFFICIENT_BALANCE"
    self.balance_of[sender] -= amount
    self.balance_of[receiver] += amount
    self._after_transfer(sender, receiver, amount)
    log Transfer(sender=sender, receiver=receiver, amount=amount)


@internal
def _mint(receiver: address, amount: uint256):
    self.total_supply += amount
    self.balance_of[receiver] += amount
    self._after_transfer(empty(address), receiver, amount)
    log Transfer(sender=empty(address), receiver=receiver, amount=amount)


@internal
@view
def _delegate_of(account: address) -> address:
    """Whom `account`'s balance counts for; the zero address (mint and burn
    side) counts for nobody."""
    if account == empty(address):
        return empty(address)
    return self.delegates[account]


@internal
def _after_transfer(sender: address, receiver: address, amount: uint256):
    """Tokens moving from `sender` to `receiver` take their votes with them."""
    src: address = self._delegate_of(sender)
    dst: address = self._delegate_of(receiver)
    if dst != empty(address):
        self.total_delegated += amount
    if src != empty(address):
        self.total_delegated -= amount
    self._move_delegates(src, dst, amount)


@internal
def _move_delegates(src: address, dst: address, amount: uint256):
    if src != dst and amount > 0:
        if src != empty(address):
            self._write_checkpoint(src, self.current_votes[src] - amount)
        if dst != empty(address):
            self._write_checkpoint(dst, self.current_votes[dst] + amount)


@internal
def _write_checkpoint(delegatee: address, new_votes: uint256):
    """Records `new_votes` for `delegatee` in the current block; a second
    change in the same block rewrites that block's checkpoint."""
    previous: uint256 = self.current_votes[delegatee]
    n: uint256 = self.num_checkpoints[delegatee]
    same_block: bool = False
    if n > 0:
        same_block = self.checkpoints[delegatee][n - 1].from_block == block.number
    if same_block:
        self.checkpoints[delegatee][n - 1] = Checkpoint(from_block=block.number, votes=new_votes)
    else:
        assert n < MAX_CHECKPOINTS, "TOO_MANY_CHECKPOINTS"
        assert n == 0 or self.checkpoints[delegatee][n - 1].from_block < block.number, "BLOCK_IN_PAST"
        self.checkpoints[delegatee][n] = Checkpoint(from_block=block.number, votes=new_votes)
        self.num_checkpoints[delegatee] = n + 1
    self.current_votes[delegatee] = new_votes
    log DelegateVotesChanged(delegate=delegatee, previous_votes=previous, new_votes=new_votes)
