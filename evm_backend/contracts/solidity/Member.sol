// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IToken {
    function transfer_from(address from, address to, uint256 value) external returns (bool);
}

interface IFarm {
    function staking_tier(address user) external view returns (uint256);
    function staking_tier_at(address user, uint256 t) external view returns (uint256);
}

interface IOffering {
    function merchant() external view returns (address);
}

/// @title Member: permanent membership cards, an ERC-721 of one card per
/// address (spec/protocol/member.imo).
/// @notice A staker with a tier buys a card carrying that tier, for the
/// tier's price in DCEP paid to the merchant. The card's tier never changes,
/// and its holder's effective tier is never below it. A card's holder and
/// tier share one slot.
contract Member {
    struct Card {
        address holder;
        uint96 tier;
    }

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    event MemberMinted(address indexed member, uint256 tokenId, uint256 tier, uint256 price);

    IFarm public immutable farm;
    IToken public immutable dcep;
    IOffering public immutable offering;

    mapping(uint256 => Card) private cards;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;
    mapping(address => uint256) public tokenOf;
    uint256 public nextId = 1;

    constructor(IFarm farm_, IToken dcep_, IOffering offering_) {
        (farm, dcep, offering) = (farm_, dcep_, offering_);
    }

    function ownerOf(uint256 tokenId) external view returns (address) {
        return cards[tokenId].holder;
    }

    function tierOf(uint256 tokenId) external view returns (uint256) {
        return cards[tokenId].tier;
    }

    function _price(uint256 tier) private pure returns (uint256) {
        uint256[3] memory prices = [uint256(100e18), 500e18, 2000e18];
        return prices[tier - 1];
    }

    /// The higher of `account`'s decayed staking tier at `at` and its card's tier.
    function effective_tier_at(address account, uint256 at) public view returns (uint256) {
        uint256 staking = farm.staking_tier_at(account, at);
        uint256 card = tokenOf[account];
        if (card == 0) return staking;
        uint256 carried = cards[card].tier;
        return staking > carried ? staking : carried;
    }

    function effective_tier(address account) external view returns (uint256) {
        return effective_tier_at(account, block.timestamp);
    }

    function mint() external returns (uint256 tokenId) {
        uint256 tier = farm.staking_tier(msg.sender);
        require(tier > 0, "NO_TIER");
        require(tokenOf[msg.sender] == 0, "ALREADY_MEMBER");
        uint256 price = _price(tier);
        tokenId = nextId++;
        cards[tokenId] = Card(msg.sender, uint96(tier));
        tokenOf[msg.sender] = tokenId;
        balanceOf[msg.sender] += 1;
        dcep.transfer_from(msg.sender, offering.merchant(), price);
        emit Transfer(address(0), msg.sender, tokenId);
        emit MemberMinted(msg.sender, tokenId, tier, price);
    }

    function approve(address spender, uint256 tokenId) external {
        address holder = cards[tokenId].holder;
        require(holder != address(0), "INVALID_TOKEN");
        require(msg.sender == holder || isApprovedForAll[holder][msg.sender], "NOT_APPROVED");
        getApproved[tokenId] = spender;
        emit Approval(holder, spender, tokenId);
    }

    function set_approval_for_all(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transfer_from(address from, address to, uint256 tokenId) external {
        address holder = cards[tokenId].holder;
        require(holder != address(0), "INVALID_TOKEN");
        require(holder == from, "NOT_OWNER");
        require(msg.sender == holder || getApproved[tokenId] == msg.sender || isApprovedForAll[holder][msg.sender],
                "NOT_APPROVED");
        require(to != address(0), "ZERO_ADDRESS");
        require(to == from || tokenOf[to] == 0, "ALREADY_MEMBER");
        getApproved[tokenId] = address(0);
        balanceOf[from] -= 1;
        balanceOf[to] += 1;
        tokenOf[from] = 0;
        tokenOf[to] = tokenId;
        cards[tokenId].holder = to;
        emit Transfer(from, to, tokenId);
    }
}
