// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

interface IToken {
    function approve(address spender, uint256 value) external returns (bool);
    function transfer(address to, uint256 value) external returns (bool);
    function transfer_from(address from, address to, uint256 value) external returns (bool);
}

interface IPool is IToken {
    function add_liquidity(uint256 mtDesired, uint256 dcepDesired, uint256 mtMin, uint256 dcepMin, address receiver,
                           uint256 deadline) external returns (uint256);
    function swap_mt_for_dcep(uint256 mtIn, uint256 minDcepOut, address receiver, uint256 deadline)
        external returns (uint256);
}

interface IPhases {
    function floor() external view returns (uint256);
}

interface IReserve {
    function top_up(uint256 amount) external returns (uint256);
}

interface IFarm {
    function fund(uint256 amount) external;
}

/// @title Offering: the merchant's initial offering (spec/protocol/offering.imo).
/// @notice Contributors pay DCEP inside [start, start + duration), up to the
/// hard cap. At or above the soft cap, finalizing sends the reserve its share
/// (rounded up) and launches the pool with the rest and the pool's MT seed;
/// contributors then claim LP pro rata (rounded down, the dust stays here).
/// Below it, contributors take their DCEP back. The merchant sells its MT
/// into the pool only through here, and never cashes out more DCEP, in all,
/// than `cashout_cap_bps` of the raise; it moves into the farm, in all, at
/// most 30% (FARM_FUNDING_BPS) of the MT it kept. The terms are refused if
/// the pool could open below the floor: the opening price is lowest at a
/// raise of exactly the soft cap, so that is where the constructor checks it.
contract Offering {
    event Contribute(address contributor, uint256 amount);
    event Finalize(bool success, uint256 raised, uint256 lpMinted);
    event Claim(address contributor, uint256 amount, uint256 lpAmount);
    event Refund(address contributor, uint256 amount);
    event MerchantSale(uint256 mtAmount, uint256 dcepAmount, uint256 cashedOut);
    event FarmFunded(uint256 mtAmount);

    uint256 private constant BPS = 10_000;
    uint256 private constant WAD = 1e18;
    uint256 private constant MINIMUM_LIQUIDITY = 1_000;
    uint256 private constant FARM_FUNDING_BPS = 3_000;

    address public immutable merchant;
    uint256 public immutable mt_total;
    uint256 public immutable poolMtBps;
    uint256 public immutable start;
    uint256 public immutable duration;
    uint256 public immutable softCap;
    uint256 public immutable hardCap;
    uint256 public immutable reserveBps;
    uint256 public immutable cashoutCapBps;
    IToken public immutable mt;
    IToken public immutable dcep;
    IPhases public immutable phases;
    IPool public immutable pool;
    IReserve public immutable reserve;
    IFarm public immutable farm;

    uint256 public raised;
    mapping(address => uint256) public contributed;
    uint256 public claimedTotal;
    uint256 public refunded;
    bool public finalized;
    bool public succeeded;
    uint256 public lpTotal;
    uint256 public lpClaimed;
    uint256 public merchantMt;
    uint256 public cashedOut;
    uint256 public mtSold;
    uint256 public farmFunded;

    struct Terms {
        address merchant;
        uint256 mtTotal;
        uint256 poolMtBps;
        uint256 start;
        uint256 duration;
        uint256 softCap;
        uint256 hardCap;
        uint256 reserveBps;
        uint256 cashoutCapBps;
    }

    constructor(Terms memory t, IToken mt_, IToken dcep_, IPhases phases_, IPool pool_, IReserve reserve_,
                IFarm farm_) {
        require(t.poolMtBps > 0 && t.poolMtBps <= BPS, "INVALID_PARAMETERS");
        require(t.reserveBps < BPS && t.cashoutCapBps <= BPS, "INVALID_PARAMETERS");
        require(t.duration > 0, "INVALID_PARAMETERS");
        require(t.softCap > 0 && t.softCap <= t.hardCap, "INVALID_PARAMETERS");
        require(t.hardCap <= type(uint112).max && t.mtTotal <= type(uint112).max, "INVALID_PARAMETERS");
        uint256 seedMt = t.mtTotal * t.poolMtBps / BPS;
        uint256 seedDcep = t.softCap - _divUp(t.softCap * t.reserveBps, BPS);
        require(_sqrt(seedMt * seedDcep) > MINIMUM_LIQUIDITY, "INVALID_PARAMETERS");
        require(seedDcep * WAD >= phases_.floor() * seedMt, "OPENS_BELOW_FLOOR");
        (merchant, mt_total, poolMtBps, start, duration) = (t.merchant, t.mtTotal, t.poolMtBps, t.start, t.duration);
        (softCap, hardCap, reserveBps, cashoutCapBps) = (t.softCap, t.hardCap, t.reserveBps, t.cashoutCapBps);
        (mt, dcep, phases, pool, reserve, farm) = (mt_, dcep_, phases_, pool_, reserve_, farm_);
    }

    function _divUp(uint256 a, uint256 b) private pure returns (uint256) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /// The floor of the square root of `x` (Newton's method from above).
    function _sqrt(uint256 x) private pure returns (uint256 r) {
        if (x == 0) return 0;
        r = x;
        uint256 next = x / 2 + 1;
        while (next < r) {
            r = next;
            next = (x / next + next) / 2;
        }
    }

    modifier onlyMerchant() {
        require(msg.sender == merchant, "UNAUTHORIZED");
        _;
    }

    function end_time() public view returns (uint256) {
        return start + duration;
    }

    function pool_seed_mt() public view returns (uint256) {
        return mt_total * poolMtBps / BPS;
    }

    /// The MT the merchant keeps after the launch: mt_total less the pool seed.
    function merchant_kept() public view returns (uint256) {
        return mt_total - pool_seed_mt();
    }

    function reserve_share(uint256 amount) public view returns (uint256) {
        return _divUp(amount * reserveBps, BPS);
    }

    function pool_seed_dcep(uint256 amount) external view returns (uint256) {
        return amount - reserve_share(amount);
    }

    function contribute(uint256 amount) external {
        require(block.timestamp >= start && block.timestamp < end_time(), "OUTSIDE_WINDOW");
        require(!finalized, "FINALIZED");
        require(amount > 0, "ZERO_AMOUNT");
        require(raised + amount <= hardCap, "HARD_CAP");
        raised += amount;
        contributed[msg.sender] += amount;
        dcep.transfer_from(msg.sender, address(this), amount);
        emit Contribute(msg.sender, amount);
    }

    function finalize() external {
        require(block.timestamp >= end_time(), "OFFERING_OPEN");
        require(!finalized, "ALREADY_FINALIZED");
        finalized = true;
        uint256 total = raised;
        if (total < softCap) {
            emit Finalize(false, total, 0);
            return;
        }
        succeeded = true;
        uint256 toReserve = reserve_share(total);
        uint256 toPool = total - toReserve;
        uint256 seed = pool_seed_mt();
        merchantMt = mt_total - seed;
        dcep.approve(address(reserve), toReserve);
        reserve.top_up(toReserve);
        mt.approve(address(pool), seed);
        dcep.approve(address(pool), toPool);
        uint256 minted = pool.add_liquidity(seed, toPool, seed, toPool, address(this), block.timestamp);
        lpTotal = minted;
        emit Finalize(true, total, minted);
    }

    function claim() external returns (uint256 lpAmount) {
        require(succeeded, "NOT_SUCCEEDED");
        uint256 amount = contributed[msg.sender];
        require(amount > 0, "NOTHING_TO_CLAIM");
        lpAmount = amount * lpTotal / raised;
        contributed[msg.sender] = 0;
        claimedTotal += amount;
        lpClaimed += lpAmount;
        pool.transfer(msg.sender, lpAmount);
        emit Claim(msg.sender, amount, lpAmount);
    }

    function refund() external returns (uint256 amount) {
        require(finalized && !succeeded, "NOT_FAILED");
        amount = contributed[msg.sender];
        require(amount > 0, "NOTHING_TO_CLAIM");
        contributed[msg.sender] = 0;
        refunded += amount;
        dcep.transfer(msg.sender, amount);
        emit Refund(msg.sender, amount);
    }

    function merchant_sell(uint256 mtAmount, uint256 minDcepOut, uint256 deadline)
        external onlyMerchant returns (uint256 dcepAmount)
    {
        require(succeeded, "NOT_SUCCEEDED");
        require(mtAmount <= merchantMt, "EXCEEDS_MERCHANT_MT");
        merchantMt -= mtAmount;
        mt.approve(address(pool), mtAmount);
        dcepAmount = pool.swap_mt_for_dcep(mtAmount, minDcepOut, merchant, deadline);
        uint256 total = cashedOut + dcepAmount;
        cashedOut = total;
        mtSold += mtAmount;
        require(total * BPS <= cashoutCapBps * raised, "CASHOUT_CAP");
        emit MerchantSale(mtAmount, dcepAmount, total);
    }

    function fund_farm(uint256 amount) external onlyMerchant {
        require(succeeded, "NOT_SUCCEEDED");
        require(amount <= merchantMt, "EXCEEDS_MERCHANT_MT");
        uint256 total = farmFunded + amount;
        farmFunded = total;
        require(total * BPS <= FARM_FUNDING_BPS * merchant_kept(), "FARM_FUNDING_CAP");
        merchantMt -= amount;
        mt.approve(address(farm), amount);
        farm.fund(amount);
        emit FarmFunded(amount);
    }
}
