# pragma version 0.4.3
# @title member: MEMBER, the permanent membership card (ERC-721)
# @notice Written from spec/protocol/member.imo (docs/protocol.md section 5).
#   - A member pays NFT_PRICES[tier - 1] DCEP, to the merchant, to mint a card
#     carrying the tier their stake gives now after decay
#     (`farm.staking_tier`).
#   - A card's tier never changes; its holder's effective tier is never below it.
#   - Cards can be transferred. An address holds at most one card
#     ("ALREADY_MEMBER"), found directly through `token_of`.
#   ERC-721 without the safe-transfer callbacks (the spec has no call to an
#   arbitrary receiver). Token ids start at 1; 0 means "no card".
#   Approvals: `mint` pulls the price in DCEP (approve the member contract on dcep).

interface Dcep:
    def transfer_from(sender: address, receiver: address, amount: uint256) -> bool: nonpayable

interface Farm:
    def staking_tier(user: address) -> uint256: view
    def staking_tier_at(user: address, t: uint256) -> uint256: view

interface Offering:
    def merchant() -> address: view

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    token_id: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    token_id: indexed(uint256)

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

event MemberMinted:
    member: address
    token_id: uint256
    tier: uint256
    price: uint256

WAD: constant(uint256) = 10 ** 18
# The price of a card of tier 1, 2 and 3, in DCEP.
NFT_PRICES: constant(uint256[3]) = [100 * WAD, 500 * WAD, 2000 * WAD]

# imported modules (constructor order: the IR's imports, alphabetical)
dcep: public(immutable(address))
farm: public(immutable(address))
offering: public(immutable(address))

# The holder of each card (the zero address: no such card).
owner_of: public(HashMap[uint256, address])
# The cards each address holds: 0 or 1.
balance_of: public(HashMap[address, uint256])
# ERC-721 getApproved and isApprovedForAll.
get_approved: public(HashMap[uint256, address])
is_approved_for_all: public(HashMap[address, HashMap[address, bool]])
# The tier each card carries, fixed at mint.
tier_of: public(HashMap[uint256, uint256])
# The card an address holds (0: none).
token_of: public(HashMap[address, uint256])
# The id of the next card.
next_id: public(uint256)


@deploy
def __init__(_dcep: address, _farm: address, _offering: address):
    dcep = _dcep
    farm = _farm
    offering = _offering
    self.next_id = 1


# ---------------------------------------------------------------- formulas

@internal
@view
def _effective_tier_at(account: address, t: uint256) -> uint256:
    staking: uint256 = staticcall Farm(farm).staking_tier_at(account, t)
    card: uint256 = self.token_of[account]
    if card == 0:
        return staking
    return max(staking, self.tier_of[card])


@external
@view
def effective_tier_at(account: address, t: uint256) -> uint256:
    """
    @notice The effective tier of `account` at time `t`: the higher of its
        staking tier after decay and the tier of the card it holds.
    """
    return self._effective_tier_at(account, t)


@external
@view
def effective_tier(account: address) -> uint256:
    """
    @notice The effective tier of `account` now.
    """
    return self._effective_tier_at(account, block.timestamp)


# ----------------------------------------------------------------- actions

@external
def mint() -> uint256:
    """
    @notice Mints a card carrying the caller's staking tier now, for that
        tier's price (paid to the merchant); returns its id.
    """
    tier: uint256 = staticcall Farm(farm).staking_tier(msg.sender)
    assert tier > 0, "NO_TIER"
    assert self.token_of[msg.sender] == 0, "ALREADY_MEMBER"
    price: uint256 = NFT_PRICES[tier - 1]
    token_id: uint256 = self.next_id
    self.next_id = token_id + 1
    self.owner_of[token_id] = msg.sender
    self.tier_of[token_id] = tier
    self.token_of[msg.sender] = token_id
    self.balance_of[msg.sender] += 1
    extcall Dcep(dcep).transfer_from(msg.sender, staticcall Offering(offering).merchant(), price)
    log Transfer(sender=empty(address), receiver=msg.sender, token_id=token_id)
    log MemberMinted(member=msg.sender, token_id=token_id, tier=tier, price=price)
    return token_id


@external
def approve(spender: address, token_id: uint256):
    """
    @notice Lets `spender` transfer card `token_id` (the zero address: nobody).
    """
    holder: address = self.owner_of[token_id]
    assert holder != empty(address), "INVALID_TOKEN"
    assert msg.sender == holder or self.is_approved_for_all[holder][msg.sender], "NOT_APPROVED"
    self.get_approved[token_id] = spender
    log Approval(owner=holder, approved=spender, token_id=token_id)


@external
def set_approval_for_all(operator: address, approved: bool):
    """
    @notice Lets `operator` transfer every card of the caller, or stops it.
    """
    self.is_approved_for_all[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def transfer_from(sender: address, receiver: address, token_id: uint256):
    """
    @notice Moves card `token_id` from `sender` to `receiver`. The caller is
        the holder, approved for the card, or the holder's operator. The
        receiver must not hold a card already.
    """
    holder: address = self.owner_of[token_id]
    assert holder != empty(address), "INVALID_TOKEN"
    assert holder == sender, "NOT_OWNER"
    assert msg.sender == holder or self.get_approved[token_id] == msg.sender or self.is_approved_for_all[holder][msg.sender], "NOT_APPROVED"
    assert receiver != empty(address), "ZERO_ADDRESS"
    assert receiver == sender or self.token_of[receiver] == 0, "ALREADY_MEMBER"
    self.get_approved[token_id] = empty(address)
    self.balance_of[sender] -= 1
    self.balance_of[receiver] += 1
    self.token_of[sender] = 0
    self.token_of[receiver] = token_id
    self.owner_of[token_id] = receiver
    log Transfer(sender=sender, receiver=receiver, token_id=token_id)
