// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IYieldVaultErrors} from "./interfaces/IYieldVaultErrors.sol";

/// @title YieldVault
/// @notice Holds users' USDC and tracks, per user, a principal and a yield balance. Spenders (the
/// StreamingWallet) may spend a user's funds within the allowance the user granted them; spending
/// takes yield first, then principal. Spent funds stay in the vault, in the spender's pool, until
/// the spender releases them (e.g. to a creator withdrawing earnings).
/// @dev Not share-based: every balance is tracked internally in token units (no exchange rate, no
/// division, hence no rounding and no ERC-4626 inflation/donation attack). The vault's liabilities
/// are `totalTracked()` (sum of all positions and pools); it is never derived from `balanceOf`.
/// Tokens sent to the vault directly (not through `deposit`/`depositFor`/`accrueYield*`) are
/// ignored by every balance and can be recovered by the admin with `skim`.
/// Yield is simulated: a YIELD_MANAGER_ROLE account pays real tokens in with `accrueYield`, which
/// credit the user's yield balance.
contract YieldVault is IYieldVaultErrors, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to credit yield (`accrueYield`, `accrueYieldBatch`).
    bytes32 public constant YIELD_MANAGER_ROLE = keccak256("YIELD_MANAGER_ROLE");
    /// @notice Role allowed to spend users' funds within their allowance and to release its pool.
    bytes32 public constant SPENDER_ROLE = keccak256("SPENDER_ROLE");
    /// @notice Role allowed to pause and unpause the vault (DEFAULT_ADMIN_ROLE may as well).
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice A user's funds. Packed in one storage slot.
    struct Position {
        uint128 principal;
        uint128 yieldBalance;
    }

    /// @notice The token held by the vault (USDC).
    IERC20 public immutable asset;

    mapping(address user => Position) private _positions;
    mapping(address user => mapping(address spender => uint256)) private _allowances;
    /// @dev A spender's pool and its SPENDER_ROLE membership, packed so that `spend` checks the role
    /// and updates the pool with one storage slot. `authorized` mirrors `hasRole(SPENDER_ROLE, spender)`
    /// (kept in sync by `_grantRole` / `_revokeRole`).
    struct SpenderAccount {
        uint248 pooled;
        bool authorized;
    }

    mapping(address spender => SpenderAccount) private _spenders;
    /// @dev Sum of every position (principal + yield) and every pool: the tokens the vault owes.
    uint256 private _totalTracked;

    /// @notice `payer` paid `amount` in, credited to `user`'s principal.
    event Deposited(address indexed user, address indexed payer, uint256 amount);
    /// @notice `user` withdrew `amount`: `fromYield` from yield, `fromPrincipal` from principal.
    event Withdrawn(address indexed user, uint256 amount, uint256 fromYield, uint256 fromPrincipal);
    /// @notice `payer` paid `amount` in, credited to `user`'s yield.
    event YieldAccrued(address indexed user, address indexed payer, uint256 amount);
    /// @notice `user` allowed `spender` to spend `amount` (type(uint256).max: unlimited).
    event SpenderApproved(address indexed user, address indexed spender, uint256 amount);
    /// @notice `spender` spent `amount` of `user`'s funds (`fromYield` + `fromPrincipal`) into its pool.
    event Spent(address indexed user, address indexed spender, uint256 amount, uint256 fromYield, uint256 fromPrincipal);
    /// @notice `spender` released `amount` of its pool to `to`.
    event Released(address indexed spender, address indexed to, uint256 amount);
    /// @notice The admin recovered `amount` of untracked tokens to `to`.
    event Skimmed(address indexed to, uint256 amount);

    /// @notice Creates the vault.
    /// @param asset_ The token held (USDC).
    /// @param admin Receives DEFAULT_ADMIN_ROLE, PAUSER_ROLE and YIELD_MANAGER_ROLE.
    constructor(IERC20 asset_, address admin) {
        if (address(asset_) == address(0) || admin == address(0)) revert ZeroAddress();
        asset = asset_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(YIELD_MANAGER_ROLE, admin);
    }

    // ---------------------------------------------------------------- users

    /// @notice Pulls `amount` from the caller and credits it to the caller's principal.
    /// @dev The caller must have approved the vault on the token.
    /// @param amount Amount in token units.
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        _deposit(msg.sender, amount);
    }

    /// @notice Pulls `amount` from the caller and credits it to `user`'s principal (e.g. to fund a user).
    /// @param user The account credited.
    /// @param amount Amount in token units.
    function depositFor(address user, uint256 amount) external nonReentrant whenNotPaused {
        if (user == address(0)) revert ZeroAddress();
        _deposit(user, amount);
    }

    /// @notice Sends `amount` of the caller's funds to the caller, taken from yield first, then principal.
    /// @param amount Amount in token units.
    /// @return fromYield Part taken from the yield balance.
    /// @return fromPrincipal Part taken from the principal.
    function withdraw(uint256 amount)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 fromYield, uint256 fromPrincipal)
    {
        if (amount == 0) revert ZeroAmount();
        (fromYield, fromPrincipal) = _debitPosition(msg.sender, amount);
        _totalTracked -= amount;
        emit Withdrawn(msg.sender, amount, fromYield, fromPrincipal);
        asset.safeTransfer(msg.sender, amount);
    }

    /// @notice Sets how much `spender` may spend of the caller's funds. The user's bounded consent.
    /// @dev type(uint256).max means unlimited and is never decremented. Not pausable: it moves no funds.
    /// @param spender The spender (the StreamingWallet).
    /// @param amount The new allowance (replaces the previous one).
    function approveSpender(address spender, uint256 amount) external {
        if (spender == address(0)) revert ZeroAddress();
        _allowances[msg.sender][spender] = amount;
        emit SpenderApproved(msg.sender, spender, amount);
    }

    // ---------------------------------------------------------------- yield

    /// @notice Pulls `amount` from the caller and credits it to `user`'s yield (simulated yield).
    /// @param user The account credited.
    /// @param amount Amount in token units.
    function accrueYield(address user, uint256 amount)
        external
        nonReentrant
        whenNotPaused
        onlyRole(YIELD_MANAGER_ROLE)
    {
        if (user == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[user];
        p.yieldBalance = SafeCast.toUint128(uint256(p.yieldBalance) + amount);
        _totalTracked += amount;
        emit YieldAccrued(user, msg.sender, amount);
        asset.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Credits `amounts[i]` of yield to `users[i]` for every i, pulling the total from the caller.
    /// @param users The accounts credited.
    /// @param amounts The amounts, one per user (each must be positive).
    function accrueYieldBatch(address[] calldata users, uint256[] calldata amounts)
        external
        nonReentrant
        whenNotPaused
        onlyRole(YIELD_MANAGER_ROLE)
    {
        uint256 n = users.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            address user = users[i];
            uint256 amount = amounts[i];
            if (user == address(0)) revert ZeroAddress();
            if (amount == 0) revert ZeroAmount();
            Position storage p = _positions[user];
            p.yieldBalance = SafeCast.toUint128(uint256(p.yieldBalance) + amount);
            total += amount;
            emit YieldAccrued(user, msg.sender, amount);
        }
        if (total == 0) return;
        _totalTracked += total;
        asset.safeTransferFrom(msg.sender, address(this), total);
    }

    // ---------------------------------------------------------------- spenders

    /// @notice Spends `amount` of `user`'s funds into the caller's pool: yield first, then principal.
    /// @dev Only SPENDER_ROLE. Checks and decrements the allowance of (user, caller) unless unlimited.
    /// No token moves: the funds stay in the vault, in `pooledOf(caller)`.
    /// @param user The account charged.
    /// @param amount Amount in token units (positive).
    /// @return fromYield Part taken from the yield balance.
    /// @return fromPrincipal Part taken from the principal.
    function spend(address user, uint256 amount) external returns (uint256 fromYield, uint256 fromPrincipal) {
        SpenderAccount storage account = _spenders[msg.sender];
        (uint256 pooled, bool authorized) = (account.pooled, account.authorized);
        if (!authorized) revert AccessControlUnauthorizedAccount(msg.sender, SPENDER_ROLE);
        _requireNotPaused();
        if (amount == 0) revert ZeroAmount();
        _useAllowance(user, msg.sender, amount);
        (fromYield, fromPrincipal) = _debitPosition(user, amount);
        account.pooled = SafeCast.toUint248(pooled + amount);
        emit Spent(user, msg.sender, amount, fromYield, fromPrincipal);
    }

    /// @notice Spends for many users at once without reverting on an entry that lacks balance or
    /// allowance: such an entry is skipped and reported. The pool is written once.
    /// @dev Only SPENDER_ROLE. Each entry is checked exactly as `spend` would check it (zero amount,
    /// then allowance, then balance), against the state left by the previous entries.
    /// @param users The accounts charged.
    /// @param amounts The amounts, one per user.
    /// @return fromYield Per entry, the part taken from yield (0 for a skipped entry).
    /// @return fromPrincipal Per entry, the part taken from principal (0 for a skipped entry).
    /// @return failures Per entry, bytes4(0) when spent, else the selector of the error `spend`
    /// would have reverted with (ZeroAmount, InsufficientAllowance or InsufficientBalance).
    function spendBatch(address[] calldata users, uint256[] calldata amounts)
        external
        returns (uint256[] memory fromYield, uint256[] memory fromPrincipal, bytes4[] memory failures)
    {
        SpenderAccount storage account = _spenders[msg.sender];
        if (!account.authorized) revert AccessControlUnauthorizedAccount(msg.sender, SPENDER_ROLE);
        _requireNotPaused();
        uint256 n = users.length;
        if (n != amounts.length) revert LengthMismatch(n, amounts.length);
        fromYield = new uint256[](n);
        fromPrincipal = new uint256[](n);
        failures = new bytes4[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            address user = users[i];
            uint256 amount = amounts[i];
            bytes4 failure = _trySpend(user, amount);
            if (failure != bytes4(0)) {
                failures[i] = failure;
                continue;
            }
            (uint256 y, uint256 p) = _debitPosition(user, amount);
            fromYield[i] = y;
            fromPrincipal[i] = p;
            // Cannot overflow: bounded by _totalTracked.
            unchecked {
                total += amount;
            }
            emit Spent(user, msg.sender, amount, y, p);
        }
        if (total != 0) account.pooled = SafeCast.toUint248(account.pooled + total);
    }

    /// @notice Sends `amount` of the caller's pool to `to` as real tokens.
    /// @dev Only SPENDER_ROLE.
    /// @param to Recipient.
    /// @param amount Amount in token units (positive).
    function release(address to, uint256 amount) external nonReentrant {
        SpenderAccount storage account = _spenders[msg.sender];
        (uint256 pooled, bool authorized) = (account.pooled, account.authorized);
        if (!authorized) revert AccessControlUnauthorizedAccount(msg.sender, SPENDER_ROLE);
        _requireNotPaused();
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (amount > pooled) revert InsufficientPool(msg.sender, amount, pooled);
        unchecked {
            account.pooled = uint248(pooled - amount);
            _totalTracked -= amount; // _totalTracked >= pooled >= amount
        }
        emit Released(msg.sender, to, amount);
        asset.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sends the tokens held beyond what the vault owes (e.g. sent to it directly) to `to`.
    /// @dev Only DEFAULT_ADMIN_ROLE. Never touches users' positions or pools.
    /// @param to Recipient.
    /// @return amount The amount recovered.
    function skim(address to) external nonReentrant onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = asset.balanceOf(address(this));
        uint256 tracked = _totalTracked;
        if (balance <= tracked) revert NothingToSkim(balance, tracked);
        unchecked {
            amount = balance - tracked;
        }
        emit Skimmed(to, amount);
        asset.safeTransfer(to, amount);
    }

    /// @notice Pauses deposits, withdrawals, yield accrual, spending and releases.
    /// @dev PAUSER_ROLE or DEFAULT_ADMIN_ROLE.
    function pause() external {
        _checkPauser();
        _pause();
    }

    /// @notice Lifts the pause.
    /// @dev PAUSER_ROLE or DEFAULT_ADMIN_ROLE.
    function unpause() external {
        _checkPauser();
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice A user's funds.
    /// @param user The account.
    /// @return yieldBalance The yield balance (spent and withdrawn first).
    /// @return principal The principal.
    function balancesOf(address user) external view returns (uint256 yieldBalance, uint256 principal) {
        Position storage p = _positions[user];
        return (p.yieldBalance, p.principal);
    }

    /// @notice How much `spender` may still spend of `user`'s funds (type(uint256).max: unlimited).
    /// @param user The account.
    /// @param spender The spender.
    /// @return The allowance.
    function spendAllowance(address user, address spender) external view returns (uint256) {
        return _allowances[user][spender];
    }

    /// @notice The funds spent by `spender` and not released yet.
    /// @param spender The spender.
    /// @return The pool balance.
    function pooledOf(address spender) external view returns (uint256) {
        return _spenders[spender].pooled;
    }

    /// @notice What the vault owes: the sum of all positions and pools.
    /// @return The tracked total, never more than the vault's token balance.
    function totalTracked() external view returns (uint256) {
        return _totalTracked;
    }

    // ---------------------------------------------------------------- internals

    function _deposit(address user, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Position storage p = _positions[user];
        p.principal = SafeCast.toUint128(uint256(p.principal) + amount);
        _totalTracked += amount;
        emit Deposited(user, msg.sender, amount);
        asset.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @dev Takes `amount` from `user`'s position, yield first. Reverts InsufficientBalance.
    function _debitPosition(address user, uint256 amount) private returns (uint256 fromYield, uint256 fromPrincipal) {
        Position memory p = _positions[user];
        uint256 yieldBalance = p.yieldBalance;
        uint256 principal = p.principal;
        unchecked {
            // Both are < 2**128: no overflow.
            uint256 available = yieldBalance + principal;
            if (amount > available) revert InsufficientBalance(user, amount, available);
            if (amount <= yieldBalance) {
                fromYield = amount;
            } else {
                fromYield = yieldBalance;
                fromPrincipal = amount - yieldBalance;
            }
            // fromYield <= yieldBalance and fromPrincipal <= principal: no underflow, values fit in 128 bits.
            _positions[user] = Position({
                principal: uint128(principal - fromPrincipal),
                yieldBalance: uint128(yieldBalance - fromYield)
            });
        }
    }

    /// @dev Checks and decrements the allowance of (user, spender). Reverts InsufficientAllowance.
    function _useAllowance(address user, address spender, uint256 amount) private {
        uint256 allowed = _allowances[user][spender];
        if (allowed != type(uint256).max) {
            if (amount > allowed) revert InsufficientAllowance(user, spender, amount, allowed);
            unchecked {
                _allowances[user][spender] = allowed - amount;
            }
        }
    }

    /// @dev `spend`'s checks without reverting: returns the selector `spend` would revert with, or
    /// bytes4(0) after having decremented the allowance (the position is debited by the caller).
    function _trySpend(address user, uint256 amount) private returns (bytes4) {
        if (amount == 0) return ZeroAmount.selector;
        uint256 allowed = _allowances[user][msg.sender];
        if (amount > allowed) return InsufficientAllowance.selector;
        Position storage p = _positions[user];
        unchecked {
            if (amount > uint256(p.yieldBalance) + uint256(p.principal)) return InsufficientBalance.selector;
            if (allowed != type(uint256).max) _allowances[user][msg.sender] = allowed - amount;
        }
        return bytes4(0);
    }

    /// @dev Keeps SpenderAccount.authorized in sync with SPENDER_ROLE.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == SPENDER_ROLE) _spenders[account].authorized = true;
    }

    /// @dev Keeps SpenderAccount.authorized in sync with SPENDER_ROLE.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == SPENDER_ROLE) _spenders[account].authorized = false;
    }

    function _checkPauser() private view {
        if (!hasRole(PAUSER_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, PAUSER_ROLE);
        }
    }
}
