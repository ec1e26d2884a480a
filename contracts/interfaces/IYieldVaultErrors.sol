// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IYieldVaultErrors
/// @notice Custom errors of the YieldVault. The StreamingWallet inherits them too, so that its ABI
/// decodes a vault error bubbling up through `settle` / `payForSession`.
interface IYieldVaultErrors {
    /// @notice `user` does not have `requested` available (yield + principal = `available`).
    error InsufficientBalance(address user, uint256 requested, uint256 available);
    /// @notice `spender` may spend at most `allowance` of `user`'s funds, `requested` was asked.
    error InsufficientAllowance(address user, address spender, uint256 requested, uint256 allowance);
    /// @notice `spender`'s pool holds `available`, `requested` was asked.
    error InsufficientPool(address spender, uint256 requested, uint256 available);
    /// @notice An amount of zero was given where a positive amount is required.
    error ZeroAmount();
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice Two arrays that must have the same length do not (`a` and `b` elements).
    error LengthMismatch(uint256 a, uint256 b);
    /// @notice `skim` found no untracked tokens (`balance` held, `tracked` owed).
    error NothingToSkim(uint256 balance, uint256 tracked);
}
