/**
 * Viewer-signed sessions (issue 14): on a wallet deployed with requireAuthorization, the operator moves a
 * viewer's funds only with the viewer's EIP-712 SessionAuthorization of that key, content, maximum and
 * deadline. Signatures are made with viem's signTypedData and Hardhat's development keys.
 */
import { encodeFunctionData, getAddress, hashTypedData, parseAbi, parseEventLogs, type Address, type Hex } from "viem"
import { beforeAll, beforeEach, describe, expect, it } from "vitest"
import { sessionAuthorizationTypedData } from "../../src/chain/authorization.js"
import { streamingWalletAbi, yieldVaultAbi } from "../../src/chain/contracts.js"
import {
  accounts,
  contentIdOf,
  deployPayg,
  expectRevert,
  hre,
  mined,
  publicClient,
  roles,
  selectorOf,
  signAuthorization,
  snapshots,
  UNSIGNED,
  USDC,
  type Payg,
  type Terms,
  type WalletClient
} from "./support/fixture.js"

const { operator, contentManager, creatorA, creatorB, alice, bob, outsider } = accounts
const addr = (c: WalletClient) => c.account.address

const PRICE = 2n * USDC
const DAY = 86_400n

const mockWalletAbi = parseAbi([
  "constructor(address owner_)",
  "function execute(address target, bytes data)",
  "function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"
])

const now = async (): Promise<bigint> => (await publicClient.getBlock()).timestamp

describe("StreamingWallet: viewer authorizations", () => {
  let p: Payg
  let dev: Payg
  let deadline: bigint
  let nextKey = 1_000n
  const snap = snapshots()

  beforeAll(async () => {
    p = await deployPayg({ requireAuthorization: true })
    dev = await deployPayg()
    for (const d of [p, dev]) {
      const cm = d.as(contentManager).wallet
      await mined(cm.write.listContent([contentIdOf("bunny"), addr(creatorA), PRICE, 3600n]))
      await mined(cm.write.listContent([contentIdOf("sintel"), addr(creatorB), PRICE, 900n]))
      for (const viewer of [alice, bob]) {
        await d.fund(viewer, 10n * USDC)
        await d.allow(viewer)
      }
    }
    deadline = (await now()) + 30n * DAY
    await snap.capture()
  })
  beforeEach(async () => {
    await snap.restore()
  })

  const terms = (overrides: Partial<Terms> = {}): Terms => ({
    viewer: addr(alice),
    contentId: "bunny",
    sessionKey: nextKey++,
    maxAmount: PRICE,
    deadline,
    ...overrides
  })
  /** `settle` arguments for `t`, charging `amount`, with `signature`. */
  const settleArgs = (t: Terms, amount: bigint, signature: Hex) =>
    [t.sessionKey, t.viewer, contentIdOf(t.contentId), amount, t.maxAmount, t.deadline, signature] as const
  const spent = async (d: Payg, viewer: WalletClient, run: () => Promise<unknown>): Promise<bigint> => {
    const before = await d.balances(viewer)
    await run()
    const after = await d.balances(viewer)
    return before.yieldBalance + before.principal - (after.yieldBalance + after.principal)
  }

  it("requireAuthorization_isVisible_andFixedAtConstruction", async () => {
    expect(await p.as(outsider).wallet.read.requireAuthorization()).toBe(true)
    expect(await dev.as(outsider).wallet.read.requireAuthorization()).toBe(false)
  })

  it("authorizationDigest_isWhatViemSignTypedDataSigns", async () => {
    const t = terms()
    const expected = hashTypedData(sessionAuthorizationTypedData({ chainId: 31337, wallet: p.walletAddress }, t))
    expect(await p.as(outsider).wallet.read.authorizationDigest([t.viewer, contentIdOf(t.contentId), t.sessionKey, t.maxAmount, t.deadline])).toBe(
      expected
    )
    const [, name, version, chainId, verifyingContract] = await p.as(outsider).wallet.read.eip712Domain()
    expect({ name, version, chainId, verifyingContract }).toEqual({ name: "StreamingWallet", version: "1", chainId: 31337n, verifyingContract: p.walletAddress })
  })

  it("settle_withTheViewersSignature_chargesUpToTheSignedMaximum", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, p.walletAddress, t)
    const charged = await spent(p, alice, async () => {
      const receipt = await mined(p.as(operator).wallet.write.settle(settleArgs(t, PRICE / 2n, signature)))
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
      expect(event?.args).toMatchObject({ sessionKey: t.sessionKey, user: addr(alice), amount: PRICE / 2n })
    })
    expect(charged).toBe(PRICE / 2n)
  })

  it("settle_revertsWhen_noAuthorization_onARequiringDeployment", async () => {
    const t = terms()
    await expectRevert(p.as(operator).wallet.write.settle([t.sessionKey, addr(alice), contentIdOf("bunny"), USDC, ...UNSIGNED]), "AuthorizationRequired", [t.sessionKey])
  })

  it("settle_revertsWhen_wrongSigner", async () => {
    const t = terms()
    for (const signer of [bob, operator]) {
      const signature = await signAuthorization(signer, p.walletAddress, t)
      await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "InvalidAuthorization", [t.sessionKey, addr(alice)])
    }
  })

  it("settle_revertsWhen_anotherContent", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, p.walletAddress, t)
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs({ ...t, contentId: "sintel" }, USDC, signature)), "InvalidAuthorization", [
      t.sessionKey,
      addr(alice)
    ])
  })

  it("settle_revertsWhen_anotherKey", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, p.walletAddress, t)
    const other = t.sessionKey + 1n
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs({ ...t, sessionKey: other }, USDC, signature)), "InvalidAuthorization", [
      other,
      addr(alice)
    ])
  })

  it("settle_revertsWhen_anotherViewer", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, p.walletAddress, t)
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs({ ...t, viewer: addr(bob) }, USDC, signature)), "InvalidAuthorization", [
      t.sessionKey,
      addr(bob)
    ])
  })

  it("settle_revertsWhen_amountAboveTheSignedMaximum", async () => {
    const t = terms({ maxAmount: USDC })
    const signature = await signAuthorization(alice, p.walletAddress, t)
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC + 1n, signature)), "AmountExceedsAuthorization", [t.sessionKey, USDC + 1n, USDC])
    // and raising the maximum in the call breaks the signature
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs({ ...t, maxAmount: PRICE }, USDC + 1n, signature)), "InvalidAuthorization", [
      t.sessionKey,
      addr(alice)
    ])
  })

  it("settle_revertsWhen_expired_andAcceptsAtTheDeadline", async () => {
    const at = (await now()) + 100n
    const late = terms({ deadline: at })
    const onTime = terms({ deadline: at })
    const lateSig = await signAuthorization(alice, p.walletAddress, late)
    const onTimeSig = await signAuthorization(alice, p.walletAddress, onTime)
    await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(at)])
    await mined(p.as(operator).wallet.write.settle(settleArgs(onTime, USDC, onTimeSig)))
    await hre.network.provider.send("evm_setNextBlockTimestamp", [Number(at + 1n)])
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(late, USDC, lateSig)), "AuthorizationExpired", [late.sessionKey, at, at + 1n])
  })

  it("settle_revertsWhen_replayed", async () => {
    const t = terms({ maxAmount: PRICE })
    const signature = await signAuthorization(alice, p.walletAddress, t)
    await mined(p.as(operator).wallet.write.settle(settleArgs(t, USDC / 2n, signature)))
    // the same authorization again, even for the rest of the maximum: the key is spent
    const charged = await spent(p, alice, () =>
      expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC / 2n, signature)), "AlreadySettled", [t.sessionKey])
    )
    expect(charged).toBe(0n)
    const receipt = await mined(p.as(operator).wallet.write.settleBatch([[{ ...batchEntry(t, USDC / 2n, signature) }]]))
    expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs })[0]?.args.reason).toBe(selectorOf("AlreadySettled"))
  })

  it("settle_revertsWhen_signedForAnotherChainId", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, p.walletAddress, t, 11155111)
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "InvalidAuthorization", [t.sessionKey, addr(alice)])
  })

  it("settle_revertsWhen_signedForAnotherWallet", async () => {
    const t = terms()
    const signature = await signAuthorization(alice, dev.walletAddress, t)
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "InvalidAuthorization", [t.sessionKey, addr(alice)])
  })

  it("settle_revertsWhen_malformedSignature", async () => {
    const t = terms()
    for (const signature of ["0x01", `0x${"ab".repeat(65)}`, `0x${"00".repeat(65)}`] as const) {
      await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "InvalidAuthorization", [t.sessionKey, addr(alice)])
    }
  })

  it("settle_priceChange_cannotRaiseWhatTheViewerSigned", async () => {
    const t = terms({ maxAmount: USDC })
    const signature = await signAuthorization(alice, p.walletAddress, t)
    // the content manager raises the price: the signed maximum still caps the charge
    await mined(p.as(contentManager).wallet.write.updateContent([contentIdOf("bunny"), addr(creatorA), 5n * USDC, 3600n]))
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, 2n * USDC, signature)), "AmountExceedsAuthorization", [t.sessionKey, 2n * USDC, USDC])
    // a lowered price caps it below the signed maximum
    await mined(p.as(contentManager).wallet.write.updateContent([contentIdOf("bunny"), addr(creatorA), USDC / 2n, 3600n]))
    await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "AmountExceedsPrice", [contentIdOf("bunny"), USDC, USDC / 2n])
    expect(await spent(p, alice, () => mined(p.as(operator).wallet.write.settle(settleArgs(t, USDC / 2n, signature))))).toBe(USDC / 2n)
  })

  it("settle_onADevelopmentDeployment_worksUnsigned_butChecksASignatureWhenGiven", async () => {
    const t = terms()
    expect(await spent(dev, alice, () => mined(dev.as(operator).wallet.write.settle([t.sessionKey, addr(alice), contentIdOf("bunny"), USDC, ...UNSIGNED])))).toBe(USDC)
    const u = terms()
    const bobs = await signAuthorization(bob, dev.walletAddress, u)
    await expectRevert(dev.as(operator).wallet.write.settle(settleArgs(u, USDC, bobs)), "InvalidAuthorization", [u.sessionKey, addr(alice)])
    const alices = await signAuthorization(alice, dev.walletAddress, u)
    expect(await spent(dev, alice, () => mined(dev.as(operator).wallet.write.settle(settleArgs(u, USDC, alices))))).toBe(USDC)
  })

  const batchEntry = (t: Terms, amount: bigint, signature: Hex) => ({
    sessionKey: t.sessionKey,
    user: t.viewer,
    contentId: contentIdOf(t.contentId),
    amount,
    maxAmount: t.maxAmount,
    deadline: t.deadline,
    signature
  })

  it("settleBatch_rejectsEachBadAuthorization_andSettlesTheRest", async () => {
    const good = [terms(), terms({ viewer: addr(bob) }), terms()]
    const [g0, g1, g2] = await Promise.all(good.map((t) => signAuthorization(t.viewer === addr(bob) ? bob : alice, p.walletAddress, t)))
    if (g0 === undefined || g1 === undefined || g2 === undefined) throw new Error("no signatures")
    const wrongSigner = terms()
    const otherContent = terms()
    const aboveMax = terms({ maxAmount: USDC })
    const expired = terms({ deadline: (await now()) - 1n })
    const unsignedOne = terms()
    const entries = [
      batchEntry(good[0] as Terms, USDC, g0),
      batchEntry(wrongSigner, USDC, await signAuthorization(bob, p.walletAddress, wrongSigner)),
      batchEntry({ ...otherContent, contentId: "sintel" }, USDC, await signAuthorization(alice, p.walletAddress, otherContent)),
      batchEntry(good[1] as Terms, USDC, g1),
      batchEntry(aboveMax, USDC + 1n, await signAuthorization(alice, p.walletAddress, aboveMax)),
      batchEntry(expired, USDC, await signAuthorization(alice, p.walletAddress, expired)),
      { ...batchEntry(unsignedOne, USDC, "0x"), maxAmount: 0n, deadline: 0n },
      batchEntry(good[2] as Terms, USDC / 2n, g2)
    ]
    const aliceCharged = await spent(p, alice, async () => {
      const receipt = await mined(p.as(operator).wallet.write.settleBatch([entries]))
      const settled = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
      expect(settled.map((e) => e.args.sessionKey)).toEqual(good.map((t) => t.sessionKey))
      const rejected = parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs })
      expect(rejected.map((e) => [e.args.sessionKey, e.args.reason])).toEqual([
        [wrongSigner.sessionKey, selectorOf("InvalidAuthorization")],
        [otherContent.sessionKey, selectorOf("InvalidAuthorization")],
        [aboveMax.sessionKey, selectorOf("AmountExceedsAuthorization")],
        [expired.sessionKey, selectorOf("AuthorizationExpired")],
        [unsignedOne.sessionKey, selectorOf("AuthorizationRequired")]
      ])
      for (const t of [wrongSigner, otherContent, aboveMax, expired, unsignedOne]) expect(await p.as(outsider).wallet.read.isSettled([t.sessionKey])).toBe(false)
    })
    expect(aliceCharged).toBe(USDC + USDC / 2n)
  })

  describe("EIP-1271 contract wallets", () => {
    let contractViewer: Address
    beforeEach(async () => {
      // a contract wallet owned by bob's key, funded in the vault, consenting to the StreamingWallet
      const artifact = await hre.artifacts.readArtifact("MockERC1271Wallet")
      const hash = await bob.deployContract({ abi: mockWalletAbi, bytecode: artifact.bytecode as Hex, args: [addr(bob)] })
      const receipt = await mined(hash)
      if (!receipt.contractAddress) throw new Error("no contract wallet")
      contractViewer = getAddress(receipt.contractAddress)
      await mined(p.as(bob).usdc.write.mint([addr(bob), 5n * USDC]))
      await mined(p.as(bob).vault.write.depositFor([contractViewer, 5n * USDC]))
      const consent = encodeFunctionData({ abi: yieldVaultAbi, functionName: "approveSpender", args: [p.walletAddress, 5n * USDC] })
      await mined(bob.writeContract({ address: contractViewer, abi: mockWalletAbi, functionName: "execute", args: [p.vaultAddress, consent] }))
    })
    const position = async () => {
      const [y, pr] = await p.as(outsider).vault.read.balancesOf([contractViewer])
      return y + pr
    }

    it("settle_acceptsTheContractWalletsApproval", async () => {
      const t = terms({ viewer: contractViewer })
      const signature = await signAuthorization(bob, p.walletAddress, t)
      await mined(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)))
      expect(await position()).toBe(4n * USDC)
    })

    it("settle_revertsWhen_theContractWalletRefuses", async () => {
      const t = terms({ viewer: contractViewer })
      const signature = await signAuthorization(alice, p.walletAddress, t)
      await expectRevert(p.as(operator).wallet.write.settle(settleArgs(t, USDC, signature)), "InvalidAuthorization", [t.sessionKey, contractViewer])
      const receipt = await mined(p.as(operator).wallet.write.settleBatch([[batchEntry(t, USDC, signature)]]))
      expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs })[0]?.args.reason).toBe(selectorOf("InvalidAuthorization"))
      expect(await position()).toBe(5n * USDC)
    })
  })

  describe("the operator role only settles", () => {
    it("operator_revertsWhen_listingUpdatingDelistingPausingOrGranting", async () => {
      const w = p.as(operator).wallet
      const v = p.as(operator).vault
      const unauthorized = async (call: Promise<unknown>, role: Hex) =>
        expectRevert(call, "AccessControlUnauthorizedAccount", [addr(operator), role])
      await unauthorized(w.write.listContent([contentIdOf("evil"), addr(operator), 10n ** 20n, 1n]), roles.CONTENT_MANAGER_ROLE)
      await unauthorized(w.write.listContents([[{ id: "evil", creator: addr(operator), price: 1n, duration: 1n }]]), roles.CONTENT_MANAGER_ROLE)
      await unauthorized(w.write.updateContent([contentIdOf("bunny"), addr(operator), 10n ** 20n, 1n]), roles.CONTENT_MANAGER_ROLE)
      await unauthorized(w.write.delistContent([contentIdOf("bunny")]), roles.CONTENT_MANAGER_ROLE)
      await unauthorized(w.write.pause(), roles.PAUSER_ROLE)
      await unauthorized(v.write.pause(), roles.PAUSER_ROLE)
      const admin = await w.read.DEFAULT_ADMIN_ROLE()
      await unauthorized(w.write.grantRole([roles.CONTENT_MANAGER_ROLE, addr(operator)]), admin)
      await unauthorized(v.write.grantRole([roles.SPENDER_ROLE, addr(operator)]), admin)
      await unauthorized(v.write.spend([addr(alice), USDC]), roles.SPENDER_ROLE)
      await unauthorized(v.write.accrueYield([addr(operator), 1n]), roles.YIELD_MANAGER_ROLE)
      await expectRevert(w.write.withdrawEarnings(), "NoEarnings", [addr(operator)])
    })
  })
})
