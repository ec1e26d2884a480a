// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {YieldVault} from "./YieldVault.sol";
import {IYieldVaultErrors} from "./interfaces/IYieldVaultErrors.sol";

/// @title StreamingWallet
/// @notice Content registry and exactly-once settlement of streaming sessions. The operator (the
/// backend) settles a finished session by its key: the user's funds in the YieldVault are spent
/// (yield first, then principal) into this contract's pool there, and the content's creator is
/// credited in an internal ledger, from which the creator withdraws (pull payment).
/// @dev Settled markers are a bitmap: key `k` is bit `k & 0xff` of word `k >> 8` (like Permit2's
/// unordered nonces). Keys come from a database sequence (under a random per-process epoch in the
/// high bits), so consecutive sessions share a word and a warm settlement only flips a bit in an
/// already non-zero word. The operator's key space is written by the operator only: a viewer who
/// pays a session itself (`payForSession`) marks the key in a key space of its own, so nobody can
/// consume, or collide with, a key the operator will settle.
/// Viewer consent: on a deployment with `requireAuthorization`, the operator moves a viewer's funds only
/// with the viewer's EIP-712 `SessionAuthorization` for that key, content, maximum amount and deadline
/// (an EOA signature, or an EIP-1271 contract wallet's approval), so the operator key alone charges nobody.
contract StreamingWallet is IYieldVaultErrors, AccessControl, Pausable, ReentrancyGuardTransient, EIP712 {
    /// @notice Role allowed to list, update and delist content.
    bytes32 public constant CONTENT_MANAGER_ROLE = keccak256("CONTENT_MANAGER_ROLE");
    /// @notice Role allowed to settle sessions (the backend's key).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Role allowed to pause and unpause settlement.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The EIP-712 type a viewer signs once per session: the operator may settle `sessionKey` of
    /// `viewer` on `contentId` once, for at most `maxAmount`, until `deadline` (a unix time, inclusive).
    bytes32 public constant SESSION_AUTHORIZATION_TYPEHASH = keccak256(
        "SessionAuthorization(address viewer,bytes32 contentId,uint256 sessionKey,uint256 maxAmount,uint256 deadline)"
    );

    /// @notice One settlement of a batch, with the viewer's authorization (`maxAmount`, `deadline`,
    /// `signature`; an empty signature means none, accepted only when `requireAuthorization` is false).
    struct SettlementRequest {
        uint256 sessionKey;
        address user;
        bytes32 contentId;
        uint256 amount;
        uint256 maxAmount;
        uint256 deadline;
        bytes signature;
    }

    /// @notice One content of `listContents`, by its catalogue id (hashed on chain).
    struct ContentListing {
        string id;
        address creator;
        uint256 price;
        uint256 duration;
    }

    /// @dev Slot 0 (read by every settlement): creator, price, listed. Slot 1: duration.
    struct Content {
        address creator;
        uint88 price;
        bool listed;
        uint256 duration;
    }

    /// @notice The vault whose funds are spent.
    YieldVault public immutable vault;
    /// @notice Whether every settlement needs the viewer's signed authorization (true on every deployment
    /// but the development chain's). Fixed at construction.
    bool public immutable requireAuthorization;

    mapping(bytes32 contentId => Content) private _contents;
    mapping(uint256 word => uint256 bits) private _settledWords;
    mapping(address payer => mapping(uint256 word => uint256 bits)) private _paidWords;
    mapping(address creator => uint256) private _earnings;

    /// @notice `sessionKey` has already been settled by the operator.
    error AlreadySettled(uint256 sessionKey);
    /// @notice `payer` has already paid `sessionKey` itself.
    error AlreadyPaid(address payer, uint256 sessionKey);
    /// @notice `contentId` is not listed.
    error ContentNotListed(bytes32 contentId);
    /// @notice `contentId` has never been listed.
    error UnknownContent(bytes32 contentId);
    /// @notice `contentId` is already listed.
    error ContentAlreadyListed(bytes32 contentId);
    /// @notice `amount` is more than the listed `price` of `contentId`.
    error AmountExceedsPrice(bytes32 contentId, uint256 amount, uint256 price);
    /// @notice A price must be positive and fit in 88 bits.
    error InvalidPrice(uint256 price);
    /// @notice A duration must be positive.
    error InvalidDuration(uint256 duration);
    /// @notice `creator` has no earnings to withdraw.
    error NoEarnings(address creator);
    /// @notice Settling `sessionKey` needs the viewer's signed authorization, and none was given.
    error AuthorizationRequired(uint256 sessionKey);
    /// @notice `amount` is more than the `maxAmount` the viewer signed for `sessionKey`.
    error AmountExceedsAuthorization(uint256 sessionKey, uint256 amount, uint256 maxAmount);
    /// @notice The authorization of `sessionKey` expired at `deadline`; it is now `timestamp`.
    error AuthorizationExpired(uint256 sessionKey, uint256 deadline, uint256 timestamp);
    /// @notice The signature is not `viewer`'s authorization of `sessionKey` with these terms (another
    /// signer, content, key, maximum, deadline, chain or wallet).
    error InvalidAuthorization(uint256 sessionKey, address viewer);

    /// @notice `contentId` was listed.
    event ContentListed(bytes32 indexed contentId, address indexed creator, uint256 price, uint256 duration);
    /// @notice `contentId` was updated.
    event ContentUpdated(bytes32 indexed contentId, address indexed creator, uint256 price, uint256 duration);
    /// @notice `contentId` was delisted.
    event ContentDelisted(bytes32 indexed contentId);
    /// @notice Session `sessionKey` of `user` on `contentId` was settled for `amount`
    /// (`fromYield` + `fromPrincipal`).
    event SessionSettled(
        uint256 indexed sessionKey,
        address indexed user,
        bytes32 indexed contentId,
        uint256 amount,
        uint256 fromYield,
        uint256 fromPrincipal
    );
    /// @notice `payer` paid session `sessionKey` on `contentId` itself, for `amount` (`fromYield` +
    /// `fromPrincipal`). The backend counts it as the session's payment only if `payer` is the session's
    /// viewer, `contentId` its content and `amount` at least its cost.
    event SessionPaid(
        uint256 indexed sessionKey,
        address indexed payer,
        bytes32 indexed contentId,
        uint256 amount,
        uint256 fromYield,
        uint256 fromPrincipal
    );
    /// @notice An entry of `settleBatch` was skipped; `reason` is the selector of the error `settle`
    /// would have reverted with.
    event SettlementRejected(uint256 indexed sessionKey, address indexed user, bytes4 reason);
    /// @notice `creator` withdrew `amount` of earnings.
    event EarningsWithdrawn(address indexed creator, uint256 amount);

    /// @notice Creates the wallet. Its EIP-712 domain is name "StreamingWallet", version "1", this chain's
    /// id and this contract's address.
    /// @param vault_ The YieldVault (this contract needs its SPENDER_ROLE).
    /// @param admin Receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE.
    /// @param requireAuthorization_ Whether settlements need the viewer's signature (false only for a
    /// development chain).
    constructor(YieldVault vault_, address admin, bool requireAuthorization_) EIP712("StreamingWallet", "1") {
        if (address(vault_) == address(0) || admin == address(0)) revert ZeroAddress();
        vault = vault_;
        requireAuthorization = requireAuthorization_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ---------------------------------------------------------------- content

    /// @notice Lists `contentId` (new, or previously delisted).
    /// @dev Only CONTENT_MANAGER_ROLE. contentId is keccak256 of the catalogue id's UTF-8 bytes.
    /// @param contentId The content.
    /// @param creator Who earns what this content is paid.
    /// @param price Maximum amount of one session, in token units (positive, < 2**88).
    /// @param duration Nominal session duration in seconds (positive; informational).
    function listContent(bytes32 contentId, address creator, uint256 price, uint256 duration)
        external
        onlyRole(CONTENT_MANAGER_ROLE)
    {
        if (_contents[contentId].listed) revert ContentAlreadyListed(contentId);
        _setContent(contentId, creator, price, duration, true);
        emit ContentListed(contentId, creator, price, duration);
    }

    /// @notice Lists many contents given by catalogue id: each is listed under
    /// `contentId = keccak256(bytes(id))` exactly as `listContent` would (used by the deployment).
    /// @dev Only CONTENT_MANAGER_ROLE. Reverts (for all) if one is already listed or invalid.
    /// @param listings The contents.
    function listContents(ContentListing[] calldata listings) external onlyRole(CONTENT_MANAGER_ROLE) {
        for (uint256 i; i < listings.length; ++i) {
            ContentListing calldata l = listings[i];
            bytes32 contentId = keccak256(bytes(l.id));
            if (_contents[contentId].listed) revert ContentAlreadyListed(contentId);
            _setContent(contentId, l.creator, l.price, l.duration, true);
            emit ContentListed(contentId, l.creator, l.price, l.duration);
        }
    }

    /// @notice Changes a known content's creator, price and duration; its listed flag is kept (a
    /// delisted content stays delisted: `listContent` lists it again). Past earnings stay with the
    /// creator they were credited to.
    /// @dev Only CONTENT_MANAGER_ROLE.
    /// @param contentId The content (must have been listed once).
    /// @param creator New creator.
    /// @param price New price (positive, < 2**88).
    /// @param duration New duration in seconds (positive).
    function updateContent(bytes32 contentId, address creator, uint256 price, uint256 duration)
        external
        onlyRole(CONTENT_MANAGER_ROLE)
    {
        Content storage c = _contents[contentId];
        if (c.creator == address(0)) revert UnknownContent(contentId);
        _setContent(contentId, creator, price, duration, c.listed);
        emit ContentUpdated(contentId, creator, price, duration);
    }

    /// @notice Delists a content: it can no longer be settled (until listed again).
    /// @dev Only CONTENT_MANAGER_ROLE.
    /// @param contentId The content (must be listed).
    function delistContent(bytes32 contentId) external onlyRole(CONTENT_MANAGER_ROLE) {
        Content storage c = _contents[contentId];
        if (!c.listed) revert ContentNotListed(contentId);
        c.listed = false;
        emit ContentDelisted(contentId);
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Settles session `sessionKey`: spends `amount` of `user`'s vault funds and credits the
    /// content's creator. A key can be settled once only (by `settle` or `settleBatch`).
    /// @dev Only OPERATOR_ROLE, when not paused. Reverts ZeroAmount, AlreadySettled, ContentNotListed,
    /// AmountExceedsPrice, then AuthorizationRequired, AmountExceedsAuthorization, AuthorizationExpired,
    /// InvalidAuthorization, then the vault's InsufficientAllowance / InsufficientBalance. The
    /// authorization is checked whenever a signature is given, and required when `requireAuthorization`.
    /// @param sessionKey The session's settlement key.
    /// @param user The viewer charged (must have allowed this contract in the vault).
    /// @param contentId The content watched.
    /// @param amount Amount charged, in token units (0 < amount <= min(listed price, maxAmount)).
    /// @param maxAmount The maximum the viewer signed for.
    /// @param deadline The last second (unix time) at which the authorization may be used.
    /// @param signature The viewer's signature of the SessionAuthorization (65 bytes for an EOA, anything
    /// its EIP-1271 `isValidSignature` accepts for a contract wallet); empty for none.
    /// @return fromYield Part paid from the user's yield.
    /// @return fromPrincipal Part paid from the user's principal.
    function settle(
        uint256 sessionKey,
        address user,
        bytes32 contentId,
        uint256 amount,
        uint256 maxAmount,
        uint256 deadline,
        bytes calldata signature
    ) external onlyRole(OPERATOR_ROLE) whenNotPaused returns (uint256 fromYield, uint256 fromPrincipal) {
        // Checks
        if (amount == 0) revert ZeroAmount();
        uint256 word = sessionKey >> 8;
        uint256 mask = uint256(1) << (sessionKey & 0xff);
        uint256 bits = _settledWords[word];
        if (bits & mask != 0) revert AlreadySettled(sessionKey);
        address creator = _creatorFor(contentId, amount);
        bytes4 refusal = _authorizationFailure(sessionKey, user, contentId, amount, maxAmount, deadline, signature);
        if (refusal != bytes4(0)) _revertAuthorization(refusal, sessionKey, user, amount, maxAmount, deadline);
        // Effects
        _settledWords[word] = bits | mask;
        _credit(creator, amount);
        // Interaction: reverts (undoing the effects) on insufficient allowance or balance.
        (fromYield, fromPrincipal) = vault.spend(user, amount);
        emit SessionSettled(sessionKey, user, contentId, amount, fromYield, fromPrincipal);
    }

    /// @notice The user-paid path: the caller pays session `sessionKey` itself, from its vault funds.
    /// @dev When not paused. The key is marked in the caller's own key space (`paidBy`), never in the
    /// operator's: a payment by anyone, of any amount, cannot stop the operator from settling the key.
    /// Reverts ZeroAmount, AlreadyPaid (this caller paid this key already), AlreadySettled (the operator
    /// settled it: paying again would pay twice), ContentNotListed, AmountExceedsPrice, or the vault's
    /// InsufficientAllowance / InsufficientBalance. The caller must have allowed this contract in the vault.
    /// @param sessionKey The session's settlement key.
    /// @param contentId The content watched.
    /// @param amount Amount paid (0 < amount <= listed price).
    /// @return fromYield Part paid from the caller's yield.
    /// @return fromPrincipal Part paid from the caller's principal.
    function payForSession(uint256 sessionKey, bytes32 contentId, uint256 amount)
        external
        whenNotPaused
        returns (uint256 fromYield, uint256 fromPrincipal)
    {
        // Checks
        if (amount == 0) revert ZeroAmount();
        mapping(uint256 word => uint256 bits) storage paid = _paidWords[msg.sender];
        uint256 word = sessionKey >> 8;
        uint256 mask = uint256(1) << (sessionKey & 0xff);
        uint256 bits = paid[word];
        if (bits & mask != 0) revert AlreadyPaid(msg.sender, sessionKey);
        if (_settledWords[word] & mask != 0) revert AlreadySettled(sessionKey);
        address creator = _creatorFor(contentId, amount);
        // Effects
        paid[word] = bits | mask;
        _credit(creator, amount);
        // Interaction: reverts (undoing the effects) on insufficient allowance or balance.
        (fromYield, fromPrincipal) = vault.spend(msg.sender, amount);
        emit SessionPaid(sessionKey, msg.sender, contentId, amount, fromYield, fromPrincipal);
    }

    /// @notice Settles many sessions. A bad entry does not block the others: it is skipped and
    /// SettlementRejected is emitted with the selector of the error `settle` would have reverted with
    /// (ZeroAmount, AlreadySettled - also for a key repeated in the batch -, ContentNotListed,
    /// AmountExceedsPrice, AuthorizationRequired, AmountExceedsAuthorization, AuthorizationExpired,
    /// InvalidAuthorization, InsufficientAllowance, InsufficientBalance). Good entries emit
    /// SessionSettled exactly as `settle` does.
    /// @dev Only OPERATOR_ROLE, when not paused. Entries are validated in order against the state left
    /// by the previous ones. The markers of the entries that pass this contract's checks are written
    /// before the single call to `vault.spendBatch`; an entry the vault rejects has its marker cleared
    /// again. Creator credits are aggregated and written after that call (the vault is trusted and
    /// makes no external call; the function is nonReentrant).
    /// @param requests The settlements.
    /// @return ok Per entry, whether it was settled.
    function settleBatch(SettlementRequest[] calldata requests)
        external
        nonReentrant
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
        returns (bool[] memory ok)
    {
        uint256 n = requests.length;
        ok = new bool[](n);
        bytes4[] memory reasons = new bytes4[](n);
        address[] memory creators = new address[](n);
        address[] memory users = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        uint256 m; // entries passed to the vault

        // Checks and effects: this contract's validations, markers written before the vault call.
        {
            bytes32 cachedId;
            address creator;
            uint256 price;
            bool listed;
            bool haveContent;
            uint256 wordIndex;
            uint256 bits;
            bool haveWord;
            bool dirty;
            for (uint256 i; i < n; ++i) {
                SettlementRequest calldata r = requests[i];
                uint256 key = r.sessionKey;
                uint256 amount = r.amount;
                if (amount == 0) {
                    reasons[i] = ZeroAmount.selector;
                    continue;
                }
                uint256 w = key >> 8;
                if (!haveWord || w != wordIndex) {
                    if (dirty) _settledWords[wordIndex] = bits;
                    wordIndex = w;
                    bits = _settledWords[w];
                    haveWord = true;
                    dirty = false;
                }
                uint256 mask = uint256(1) << (key & 0xff);
                if (bits & mask != 0) {
                    reasons[i] = AlreadySettled.selector;
                    continue;
                }
                bytes32 contentId = r.contentId;
                if (!haveContent || contentId != cachedId) {
                    Content storage c = _contents[contentId];
                    (creator, price, listed) = (c.creator, c.price, c.listed);
                    cachedId = contentId;
                    haveContent = true;
                }
                if (!listed) {
                    reasons[i] = ContentNotListed.selector;
                    continue;
                }
                if (amount > price) {
                    reasons[i] = AmountExceedsPrice.selector;
                    continue;
                }
                bytes4 refusal =
                    _authorizationFailure(key, r.user, contentId, amount, r.maxAmount, r.deadline, r.signature);
                if (refusal != bytes4(0)) {
                    reasons[i] = refusal;
                    continue;
                }
                bits |= mask;
                dirty = true;
                creators[i] = creator;
                users[m] = r.user;
                amounts[m] = amount;
                unchecked {
                    ++m;
                }
            }
            if (dirty) _settledWords[wordIndex] = bits;
        }
        if (m == 0) {
            _emitRejections(requests, reasons);
            return ok;
        }

        // Interaction: one vault call for every entry that passed.
        assembly ("memory-safe") {
            mstore(users, m)
            mstore(amounts, m)
        }
        (uint256[] memory fromYield, uint256[] memory fromPrincipal, bytes4[] memory failures) =
            vault.spendBatch(users, amounts);

        // Effects of the outcome: aggregated creator credits, events in request order.
        address pendingCreator;
        uint256 pendingAmount;
        uint256 j;
        for (uint256 i; i < n; ++i) {
            SettlementRequest calldata r = requests[i];
            if (reasons[i] != bytes4(0)) {
                emit SettlementRejected(r.sessionKey, r.user, reasons[i]);
                continue;
            }
            bytes4 failure = failures[j];
            if (failure != bytes4(0)) {
                _unmark(r.sessionKey);
                emit SettlementRejected(r.sessionKey, r.user, failure);
            } else {
                address creator = creators[i];
                uint256 amount = r.amount;
                if (creator != pendingCreator) {
                    if (pendingAmount != 0) _credit(pendingCreator, pendingAmount);
                    pendingCreator = creator;
                    pendingAmount = amount;
                } else {
                    // Cannot overflow: bounded by the tokens held by the vault.
                    unchecked {
                        pendingAmount += amount;
                    }
                }
                ok[i] = true;
                emit SessionSettled(r.sessionKey, r.user, r.contentId, amount, fromYield[j], fromPrincipal[j]);
            }
            unchecked {
                ++j;
            }
        }
        if (pendingAmount != 0) _credit(pendingCreator, pendingAmount);
    }

    // ---------------------------------------------------------------- creators

    /// @notice Sends the caller's earnings to the caller as real tokens (released from the vault pool).
    /// @dev Not pausable here (the vault's pause still applies): creators can always claim what they earned.
    /// @return amount The amount withdrawn.
    function withdrawEarnings() external nonReentrant returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NoEarnings(msg.sender);
        _earnings[msg.sender] = 0;
        emit EarningsWithdrawn(msg.sender, amount);
        vault.release(msg.sender, amount);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Pauses settlement (`settle`, `settleBatch`, `payForSession`).
    /// @dev Only PAUSER_ROLE.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts the pause.
    /// @dev Only PAUSER_ROLE.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @notice A content's record.
    /// @param contentId The content.
    /// @return creator Who earns what it is paid.
    /// @return price Maximum amount of one session.
    /// @return duration Nominal session duration in seconds.
    /// @return listed Whether it can be settled.
    function contentOf(bytes32 contentId)
        external
        view
        returns (address creator, uint256 price, uint256 duration, bool listed)
    {
        Content storage c = _contents[contentId];
        return (c.creator, c.price, c.duration, c.listed);
    }

    /// @notice The on-chain id of a catalogue id: keccak256 of its UTF-8 bytes.
    /// @param id The catalogue id.
    /// @return The contentId.
    function contentIdOf(string calldata id) external pure returns (bytes32) {
        return keccak256(bytes(id));
    }

    /// @notice Whether the operator has settled `sessionKey`.
    /// @param sessionKey The key.
    /// @return True once settled.
    function isSettled(uint256 sessionKey) external view returns (bool) {
        return _settledWords[sessionKey >> 8] & (uint256(1) << (sessionKey & 0xff)) != 0;
    }

    /// @notice Whether `payer` has paid `sessionKey` itself (`payForSession`).
    /// @param payer The account that paid.
    /// @param sessionKey The key.
    /// @return True once paid by `payer`.
    function paidBy(address payer, uint256 sessionKey) external view returns (bool) {
        return _paidWords[payer][sessionKey >> 8] & (uint256(1) << (sessionKey & 0xff)) != 0;
    }

    /// @notice The EIP-712 digest a viewer signs to authorize a session (what `signTypedData` signs with
    /// this wallet's domain and SESSION_AUTHORIZATION_TYPEHASH).
    /// @param viewer The viewer charged.
    /// @param contentId The content.
    /// @param sessionKey The session's settlement key.
    /// @param maxAmount The most the session may cost.
    /// @param deadline The last second at which it may be settled.
    /// @return The digest.
    function authorizationDigest(address viewer, bytes32 contentId, uint256 sessionKey, uint256 maxAmount, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _authorizationDigest(viewer, contentId, sessionKey, maxAmount, deadline);
    }

    /// @notice A creator's withdrawable earnings.
    /// @param creator The creator.
    /// @return The amount.
    function earningsOf(address creator) external view returns (uint256) {
        return _earnings[creator];
    }

    // ---------------------------------------------------------------- internals

    /// @dev The creator to credit for `amount` of `contentId`; reverts unless it is listed and the
    /// amount within its price (one slot read).
    function _creatorFor(bytes32 contentId, uint256 amount) private view returns (address creator) {
        Content storage c = _contents[contentId];
        uint256 price;
        bool listed;
        (creator, price, listed) = (c.creator, c.price, c.listed);
        if (!listed) revert ContentNotListed(contentId);
        if (amount > price) revert AmountExceedsPrice(contentId, amount, price);
    }

    /// @dev Why the authorization does not allow settling `amount` of `sessionKey` from `viewer` on
    /// `contentId` now (the selector of the error), or zero when it does. No signature is accepted only
    /// when `requireAuthorization` is false; a signature given is always checked. The signature is tried
    /// as an EOA's first (ECDSA), and only if that fails against a contract wallet's EIP-1271
    /// `isValidSignature`: an EOA viewer's valid signature costs no EXTCODESIZE of a cold account (2,600
    /// gas per viewer in a batch). An ECDSA signature recovering to a contract's address cannot be made.
    function _authorizationFailure(
        uint256 sessionKey,
        address viewer,
        bytes32 contentId,
        uint256 amount,
        uint256 maxAmount,
        uint256 deadline,
        bytes calldata signature
    ) private view returns (bytes4) {
        if (signature.length == 0) return requireAuthorization ? AuthorizationRequired.selector : bytes4(0);
        if (amount > maxAmount) return AmountExceedsAuthorization.selector;
        if (block.timestamp > deadline) return AuthorizationExpired.selector;
        bytes32 digest = _authorizationDigest(viewer, contentId, sessionKey, maxAmount, deadline);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == viewer) return bytes4(0);
        if (viewer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(viewer, digest, signature)) {
            return bytes4(0);
        }
        return InvalidAuthorization.selector;
    }

    /// @dev Reverts with the error `refusal` names (from `_authorizationFailure`), with its values.
    function _revertAuthorization(
        bytes4 refusal,
        uint256 sessionKey,
        address viewer,
        uint256 amount,
        uint256 maxAmount,
        uint256 deadline
    ) private view {
        if (refusal == AuthorizationRequired.selector) revert AuthorizationRequired(sessionKey);
        if (refusal == AmountExceedsAuthorization.selector) {
            revert AmountExceedsAuthorization(sessionKey, amount, maxAmount);
        }
        if (refusal == AuthorizationExpired.selector) revert AuthorizationExpired(sessionKey, deadline, block.timestamp);
        revert InvalidAuthorization(sessionKey, viewer);
    }

    function _authorizationDigest(
        address viewer,
        bytes32 contentId,
        uint256 sessionKey,
        uint256 maxAmount,
        uint256 deadline
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(SESSION_AUTHORIZATION_TYPEHASH, viewer, contentId, sessionKey, maxAmount, deadline))
        );
    }

    function _credit(address creator, uint256 amount) private {
        // Cannot overflow: unwithdrawn earnings never exceed this contract's vault pool.
        unchecked {
            _earnings[creator] += amount;
        }
    }

    function _unmark(uint256 sessionKey) private {
        _settledWords[sessionKey >> 8] &= ~(uint256(1) << (sessionKey & 0xff));
    }


    function _setContent(bytes32 contentId, address creator, uint256 price, uint256 duration, bool listed) private {
        if (creator == address(0)) revert ZeroAddress();
        if (price == 0 || price > type(uint88).max) revert InvalidPrice(price);
        if (duration == 0) revert InvalidDuration(duration);
        _contents[contentId] = Content({creator: creator, price: uint88(price), listed: listed, duration: duration});
    }

    function _emitRejections(SettlementRequest[] calldata requests, bytes4[] memory reasons) private {
        for (uint256 i; i < requests.length; ++i) {
            emit SettlementRejected(requests[i].sessionKey, requests[i].user, reasons[i]);
        }
    }
}
