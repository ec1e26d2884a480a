// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title MockUSDC
/// @notice A 6-decimal stand-in for USDC. FOR TEST NETWORKS ONLY: anyone can mint any amount.
/// @dev Never deploy this to a network where the token is supposed to have value.
contract MockUSDC is ERC20 {
    /// @notice Creates the token "Mock USD Coin" (USDC).
    constructor() ERC20("Mock USD Coin", "USDC") {}

    /// @notice USDC uses 6 decimals.
    /// @return The number of decimals (6).
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` tokens to `to`. Open to anyone: test networks only.
    /// @param to Recipient of the new tokens.
    /// @param amount Amount in base units (6 decimals).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
