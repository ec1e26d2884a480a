// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title MockERC1271Wallet
/// @notice Test only: a minimal contract wallet whose EIP-1271 `isValidSignature` accepts what its
/// owner's key signed, and which forwards its owner's calls (to deposit and consent in the vault).
contract MockERC1271Wallet is IERC1271 {
    /// @notice The key whose signatures this wallet accepts.
    address public immutable owner;

    /// @notice Only the owner may make the wallet call out.
    error NotOwner(address caller);
    /// @notice The forwarded call reverted with `reason`.
    error CallFailed(bytes reason);

    /// @param owner_ The owning key.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    /// @notice Calls `target` with `data` as this wallet.
    /// @param target The contract called.
    /// @param data The calldata.
    function execute(address target, bytes calldata data) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) revert CallFailed(reason);
    }
}
