import { maxUint256, parseEventLogs, zeroAddress, type Hex } from "viem"
import { beforeAll, beforeEach, describe, expect, it } from "vitest"
import { streamingWalletAbi, streamingWalletBytecode } from "../../src/chain/contracts.js"
import {
  accounts,
  contentIdOf,
  deployPayg,
  expectRevert,
  mined,
  roles,
  selectorOf,
  snapshots,
  UNSIGNED,
  unsigned,
  USDC,
  type Payg,
  type WalletClient
} from "./support/fixture.js"

const { admin, operator, contentManager, creatorA, creatorB, alice, bob, carol, outsider } = accounts
const addr = (c: WalletClient) => c.account.address

const BUNNY = contentIdOf("big-buck-bunny")
const SINTEL = contentIdOf("sintel")
const UNLISTED = contentIdOf("never-listed")
const BUNNY_PRICE = 2n * USDC
const SINTEL_PRICE = USDC

describe("StreamingWallet", () => {
  let p: Payg
  const snap = snapshots()

  beforeAll(async () => {
    p = await deployPayg()
    const cm = p.as(contentManager).wallet
    await mined(cm.write.listContent([BUNNY, addr(creatorA), BUNNY_PRICE, 3600n]))
    await mined(cm.write.listContent([SINTEL, addr(creatorB), SINTEL_PRICE, 900n]))
    // alice: 10 USDC principal + 1 USDC yield, unlimited consent. bob: 1 USDC, consent bounded to 1.5 USDC.
    await p.fund(alice, 10n * USDC)
    await p.accrue(alice, USDC)
    await p.allow(alice)
    await p.fund(bob, USDC)
    await p.allow(bob, (3n * USDC) / 2n)
    await snap.capture()
  })
  beforeEach(async () => {
    await snap.restore()
  })

  const operatorWallet = () => p.as(operator).wallet
  const balances = (user: WalletClient) => p.balances(user)

  describe("deployment", () => {
    it("constructor_revertsWhen_zeroAddress", async () => {
      await expectRevert(
        admin.deployContract({ abi: streamingWalletAbi, bytecode: streamingWalletBytecode, args: [zeroAddress, addr(admin), false] }),
        "ZeroAddress"
      )
      await expectRevert(
        admin.deployContract({ abi: streamingWalletAbi, bytecode: streamingWalletBytecode, args: [p.vaultAddress, zeroAddress, false] }),
        "ZeroAddress"
      )
    })

    it("roles_areExposed_andGranted", async () => {
      const w = p.as(outsider).wallet
      expect(await w.read.vault()).toBe(p.vaultAddress)
      expect(await w.read.OPERATOR_ROLE()).toBe(roles.OPERATOR_ROLE)
      expect(await w.read.CONTENT_MANAGER_ROLE()).toBe(roles.CONTENT_MANAGER_ROLE)
      expect(await w.read.PAUSER_ROLE()).toBe(roles.PAUSER_ROLE)
      expect(await w.read.hasRole([await w.read.DEFAULT_ADMIN_ROLE(), addr(admin)])).toBe(true)
      expect(await w.read.hasRole([await w.read.PAUSER_ROLE(), addr(admin)])).toBe(true)
      expect(await w.read.hasRole([await w.read.OPERATOR_ROLE(), addr(operator)])).toBe(true)
      expect(await w.read.hasRole([await w.read.CONTENT_MANAGER_ROLE(), addr(contentManager)])).toBe(true)
    })
  })

  describe("content", () => {
    it("listContent_recordsContent_andEmits", async () => {
      const id = contentIdOf("tears-of-steel")
      const receipt = await mined(p.as(contentManager).wallet.write.listContent([id, addr(creatorB), 3n * USDC, 60n]))
      expect(await p.as(outsider).wallet.read.contentOf([id])).toEqual([addr(creatorB), 3n * USDC, 60n, true])
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "ContentListed", logs: receipt.logs })
      expect(event?.args).toEqual({ contentId: id, creator: addr(creatorB), price: 3n * USDC, duration: 60n })
    })

    it("listContent_revertsWhen_alreadyListed", async () => {
      await expectRevert(p.as(contentManager).wallet.write.listContent([BUNNY, addr(creatorA), 1n, 1n]), "ContentAlreadyListed", [BUNNY])
    })

    it("listContent_revertsWhen_invalidParameters", async () => {
      const w = p.as(contentManager).wallet
      const id = contentIdOf("x")
      await expectRevert(w.write.listContent([id, zeroAddress, 1n, 1n]), "ZeroAddress")
      await expectRevert(w.write.listContent([id, addr(creatorA), 0n, 1n]), "InvalidPrice", [0n])
      await expectRevert(w.write.listContent([id, addr(creatorA), 2n ** 88n, 1n]), "InvalidPrice", [2n ** 88n])
      await expectRevert(w.write.listContent([id, addr(creatorA), 1n, 0n]), "InvalidDuration", [0n])
    })

    it("listContent_revertsWhen_notContentManager", async () => {
      const w = p.as(operator).wallet
      await expectRevert(w.write.listContent([contentIdOf("x"), addr(creatorA), 1n, 1n]), "AccessControlUnauthorizedAccount", [
        addr(operator),
        roles.CONTENT_MANAGER_ROLE
      ])
    })

    it("listContents_listsByCatalogueId", async () => {
      const w = p.as(contentManager).wallet
      const receipt = await mined(
        w.write.listContents([
          [
            { id: "elephants-dream", creator: addr(creatorA), price: 5n, duration: 10n },
            { id: "cosmos-laundromat", creator: addr(creatorB), price: 6n, duration: 20n }
          ]
        ])
      )
      expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "ContentListed", logs: receipt.logs })).toHaveLength(2)
      expect(await w.read.contentOf([contentIdOf("elephants-dream")])).toEqual([addr(creatorA), 5n, 10n, true])
      expect(await w.read.contentOf([contentIdOf("cosmos-laundromat")])).toEqual([addr(creatorB), 6n, 20n, true])
      expect(await w.read.contentIdOf(["cosmos-laundromat"])).toBe(contentIdOf("cosmos-laundromat"))
      await expectRevert(
        w.write.listContents([[{ id: "big-buck-bunny", creator: addr(creatorA), price: 5n, duration: 10n }]]),
        "ContentAlreadyListed",
        [BUNNY]
      )
    })

    it("updateContent_changesRecord_keepsListedFlag", async () => {
      const w = p.as(contentManager).wallet
      const receipt = await mined(w.write.updateContent([BUNNY, addr(creatorB), 4n * USDC, 60n]))
      expect(await w.read.contentOf([BUNNY])).toEqual([addr(creatorB), 4n * USDC, 60n, true])
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "ContentUpdated", logs: receipt.logs })
      expect(event?.args).toEqual({ contentId: BUNNY, creator: addr(creatorB), price: 4n * USDC, duration: 60n })
      await mined(w.write.delistContent([BUNNY]))
      await mined(w.write.updateContent([BUNNY, addr(creatorA), USDC, 60n]))
      expect(await w.read.contentOf([BUNNY])).toEqual([addr(creatorA), USDC, 60n, false])
    })

    it("updateContent_revertsWhen_unknown", async () => {
      await expectRevert(p.as(contentManager).wallet.write.updateContent([UNLISTED, addr(creatorA), 1n, 1n]), "UnknownContent", [UNLISTED])
    })

    it("delistContent_blocksSettlement_andListContentRelists", async () => {
      const w = p.as(contentManager).wallet
      const receipt = await mined(w.write.delistContent([BUNNY]))
      expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "ContentDelisted", logs: receipt.logs })[0]?.args).toEqual({
        contentId: BUNNY
      })
      expect(await w.read.contentOf([BUNNY])).toEqual([addr(creatorA), BUNNY_PRICE, 3600n, false])
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "ContentNotListed", [BUNNY])
      await expectRevert(w.write.delistContent([BUNNY]), "ContentNotListed", [BUNNY])
      await mined(w.write.listContent([BUNNY, addr(creatorA), BUNNY_PRICE, 3600n]))
      await mined(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]))
    })
  })

  describe("settle", () => {
    it("settle_spendsYieldFirst_creditsCreator_andEmits", async () => {
      const w = operatorWallet()
      const { result } = await w.simulate.settle([7n, addr(alice), BUNNY, 2n * USDC, ...UNSIGNED], { account: operator.account })
      expect(result).toEqual([USDC, USDC])
      const receipt = await mined(w.write.settle([7n, addr(alice), BUNNY, 2n * USDC, ...UNSIGNED]))
      const events = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
      expect(events.map((e) => e.args)).toEqual([
        { sessionKey: 7n, user: addr(alice), contentId: BUNNY, amount: 2n * USDC, fromYield: USDC, fromPrincipal: USDC }
      ])
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 9n * USDC })
      expect(await w.read.earningsOf([addr(creatorA)])).toBe(2n * USDC)
      expect(await p.as(outsider).vault.read.pooledOf([p.walletAddress])).toBe(2n * USDC)
      expect(await w.read.isSettled([7n])).toBe(true)
      expect(await w.read.isSettled([6n])).toBe(false)
      expect(await w.read.isSettled([8n])).toBe(false)
    })

    it("settle_revertsWhen_alreadySettled", async () => {
      const w = operatorWallet()
      await mined(w.write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]))
      await expectRevert(w.write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "AlreadySettled", [1n])
      await expectRevert(w.write.settle([1n, addr(bob), SINTEL, 1n, ...UNSIGNED]), "AlreadySettled", [1n])
      expect(await w.read.earningsOf([addr(creatorA)])).toBe(USDC)
    })

    it("settle_revertsWhen_contentNotListed", async () => {
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), UNLISTED, USDC, ...UNSIGNED]), "ContentNotListed", [UNLISTED])
    })

    it("settle_revertsWhen_amountExceedsPrice", async () => {
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), SINTEL, SINTEL_PRICE + 1n, ...UNSIGNED]), "AmountExceedsPrice", [
        SINTEL,
        SINTEL_PRICE + 1n,
        SINTEL_PRICE
      ])
    })

    it("settle_revertsWhen_zeroAmount", async () => {
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), SINTEL, 0n, ...UNSIGNED]), "ZeroAmount", [])
    })

    it("settle_revertsWhen_insufficientBalance_fromVault", async () => {
      await mined(operatorWallet().write.settle([1n, addr(bob), SINTEL, USDC, ...UNSIGNED]))
      await expectRevert(operatorWallet().write.settle([2n, addr(bob), SINTEL, 1n, ...UNSIGNED]), "InsufficientBalance", [addr(bob), 1n, 0n])
      expect(await operatorWallet().read.isSettled([2n])).toBe(false)
    })

    it("settle_revertsWhen_insufficientAllowance_fromVault", async () => {
      await p.fund(carol, 10n * USDC)
      await expectRevert(operatorWallet().write.settle([1n, addr(carol), SINTEL, USDC, ...UNSIGNED]), "InsufficientAllowance", [
        addr(carol),
        p.walletAddress,
        USDC,
        0n
      ])
      // bob's bounded consent: 1.5 USDC; balance 1 USDC is enough for 1 USDC only once.
      await p.fund(bob, 10n * USDC)
      await mined(operatorWallet().write.settle([2n, addr(bob), SINTEL, USDC, ...UNSIGNED]))
      expect(await p.as(outsider).vault.read.spendAllowance([addr(bob), p.walletAddress])).toBe(USDC / 2n)
      await expectRevert(operatorWallet().write.settle([3n, addr(bob), SINTEL, USDC, ...UNSIGNED]), "InsufficientAllowance", [
        addr(bob),
        p.walletAddress,
        USDC,
        USDC / 2n
      ])
    })

    it("settle_revertsWhen_notOperator", async () => {
      const w = p.as(outsider).wallet
      await expectRevert(w.write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "AccessControlUnauthorizedAccount", [
        addr(outsider),
        roles.OPERATOR_ROLE
      ])
      // Not even the admin: settling needs OPERATOR_ROLE.
      await expectRevert(p.as(admin).wallet.write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "AccessControlUnauthorizedAccount")
    })

    it("settle_revertsWhen_paused", async () => {
      await mined(p.as(admin).wallet.write.pause())
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "EnforcedPause")
      await expectRevert(p.as(alice).wallet.write.payForSession([2n, BUNNY, USDC]), "EnforcedPause")
      await expectRevert(
        operatorWallet().write.settleBatch([unsigned([{ sessionKey: 3n, user: addr(alice), contentId: BUNNY, amount: USDC }])]),
        "EnforcedPause"
      )
      await expectRevert(p.as(outsider).wallet.write.unpause(), "AccessControlUnauthorizedAccount")
      await mined(p.as(admin).wallet.write.unpause())
      await mined(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]))
    })

    it("pause_revertsWhen_notPauser", async () => {
      const w = p.as(operator).wallet
      await expectRevert(w.write.pause(), "AccessControlUnauthorizedAccount", [addr(operator), roles.PAUSER_ROLE])
    })

    it("settle_revertsWhen_vaultPaused", async () => {
      await mined(p.as(admin).vault.write.pause())
      await expectRevert(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]), "EnforcedPause")
      expect(await operatorWallet().read.isSettled([1n])).toBe(false)
    })

    it("settle_bitmap_keysAcrossWordsAndExtremes", async () => {
      const w = operatorWallet()
      const keys = [0n, 255n, 256n, 2n ** 255n, maxUint256]
      for (const key of keys) await mined(w.write.settle([key, addr(alice), SINTEL, 1n, ...UNSIGNED]))
      for (const key of keys) expect(await w.read.isSettled([key])).toBe(true)
      for (const key of [1n, 254n, 257n, 2n ** 255n - 1n, maxUint256 - 1n]) expect(await w.read.isSettled([key])).toBe(false)
      await expectRevert(w.write.settle([maxUint256, addr(alice), SINTEL, 1n, ...UNSIGNED]), "AlreadySettled", [maxUint256])
    })
  })

  describe("payForSession", () => {
    it("payForSession_userPays_intoOwnKeySpace_andEmitsSessionPaid", async () => {
      const w = p.as(alice).wallet
      const receipt = await mined(w.write.payForSession([42n, SINTEL, USDC / 2n]))
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionPaid", logs: receipt.logs })
      expect(event?.args).toEqual({ sessionKey: 42n, payer: addr(alice), contentId: SINTEL, amount: USDC / 2n, fromYield: USDC / 2n, fromPrincipal: 0n })
      expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })).toHaveLength(0)
      expect(await w.read.earningsOf([addr(creatorB)])).toBe(USDC / 2n)
      expect(await w.read.paidBy([addr(alice), 42n])).toBe(true)
      // the operator's key space is untouched
      expect(await w.read.isSettled([42n])).toBe(false)
    })

    it("payForSession_revertsWhen_alreadyPaidByCaller", async () => {
      await mined(p.as(alice).wallet.write.payForSession([42n, SINTEL, USDC / 2n]))
      await expectRevert(p.as(alice).wallet.write.payForSession([42n, SINTEL, USDC]), "AlreadyPaid", [addr(alice), 42n])
    })

    it("payForSession_revertsWhen_operatorAlreadySettledKey", async () => {
      await mined(operatorWallet().write.settle([42n, addr(alice), SINTEL, USDC, ...UNSIGNED]))
      await expectRevert(p.as(alice).wallet.write.payForSession([42n, SINTEL, USDC]), "AlreadySettled", [42n])
      expect(await p.as(alice).wallet.read.paidBy([addr(alice), 42n])).toBe(false)
    })

    it("settle_afterUserPaidSameKey_stillSettles", async () => {
      await mined(p.as(alice).wallet.write.payForSession([42n, SINTEL, 1n]))
      const receipt = await mined(operatorWallet().write.settle([42n, addr(alice), SINTEL, USDC, ...UNSIGNED]))
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
      expect(event?.args).toMatchObject({ sessionKey: 42n, user: addr(alice), amount: USDC })
      expect(await operatorWallet().read.isSettled([42n])).toBe(true)
    })

    it("payForSession_revertsWhen_checksFail", async () => {
      const w = p.as(carol).wallet
      await expectRevert(w.write.payForSession([1n, SINTEL, USDC]), "InsufficientAllowance")
      await p.allow(carol)
      await expectRevert(w.write.payForSession([1n, SINTEL, USDC]), "InsufficientBalance", [addr(carol), USDC, 0n])
      await expectRevert(w.write.payForSession([1n, UNLISTED, USDC]), "ContentNotListed")
      await expectRevert(w.write.payForSession([1n, SINTEL, SINTEL_PRICE + 1n]), "AmountExceedsPrice")
      await expectRevert(w.write.payForSession([1n, SINTEL, 0n]), "ZeroAmount")
    })
  })

  describe("settleBatch", () => {
    const req = (sessionKey: bigint, user: WalletClient, contentId: Hex, amount: bigint) => ({
      sessionKey,
      user: addr(user),
      contentId,
      amount
    })

    it("settleBatch_settlesGoodEntries_andRejectsBadOnesWithSelectors", async () => {
      const w = operatorWallet()
      await mined(w.write.settle([100n, addr(alice), SINTEL, USDC / 2n, ...UNSIGNED])) // already settled below
      await p.fund(carol, 5n * USDC) // carol never allowed the wallet
      const requests = [
        req(101n, alice, BUNNY, 2n * USDC), // ok: 0.5 yield + 1.5 principal
        req(100n, alice, SINTEL, USDC), // already settled
        req(102n, alice, SINTEL, SINTEL_PRICE + 1n), // over price
        req(103n, alice, UNLISTED, USDC), // unlisted
        req(104n, bob, SINTEL, USDC), // ok: bob's last USDC
        req(105n, bob, SINTEL, 1n), // insufficient balance (bob is empty now)
        req(101n, bob, SINTEL, 1n), // duplicate key inside the batch
        req(106n, carol, SINTEL, USDC), // insufficient allowance
        req(107n, alice, SINTEL, 0n), // zero amount
        req(108n, alice, SINTEL, USDC) // ok
      ]
      const { result } = await w.simulate.settleBatch([unsigned(requests)], { account: operator.account })
      expect(result).toEqual([true, false, false, false, true, false, false, false, false, true])

      const receipt = await mined(w.write.settleBatch([unsigned(requests)]))
      const settled = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
      expect(settled.map((e) => e.args)).toEqual([
        { sessionKey: 101n, user: addr(alice), contentId: BUNNY, amount: 2n * USDC, fromYield: USDC / 2n, fromPrincipal: (3n * USDC) / 2n },
        { sessionKey: 104n, user: addr(bob), contentId: SINTEL, amount: USDC, fromYield: 0n, fromPrincipal: USDC },
        { sessionKey: 108n, user: addr(alice), contentId: SINTEL, amount: USDC, fromYield: 0n, fromPrincipal: USDC }
      ])
      const rejected = parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs })
      expect(rejected.map((e) => e.args)).toEqual([
        { sessionKey: 100n, user: addr(alice), reason: selectorOf("AlreadySettled") },
        { sessionKey: 102n, user: addr(alice), reason: selectorOf("AmountExceedsPrice") },
        { sessionKey: 103n, user: addr(alice), reason: selectorOf("ContentNotListed") },
        { sessionKey: 105n, user: addr(bob), reason: selectorOf("InsufficientBalance") },
        { sessionKey: 101n, user: addr(bob), reason: selectorOf("AlreadySettled") },
        { sessionKey: 106n, user: addr(carol), reason: selectorOf("InsufficientAllowance") },
        { sessionKey: 107n, user: addr(alice), reason: selectorOf("ZeroAmount") }
      ])
      // Markers: settled keys only; keys rejected by the vault stay free.
      for (const [key, settledFlag] of [
        [101n, true],
        [104n, true],
        [108n, true],
        [102n, false],
        [103n, false],
        [105n, false],
        [106n, false],
        [107n, false]
      ] as const) {
        expect(await w.read.isSettled([key])).toBe(settledFlag)
      }
      expect(await w.read.earningsOf([addr(creatorA)])).toBe(2n * USDC)
      expect(await w.read.earningsOf([addr(creatorB)])).toBe(USDC / 2n + 2n * USDC)
      expect(await p.as(outsider).vault.read.pooledOf([p.walletAddress])).toBe(USDC / 2n + 4n * USDC)
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 10n * USDC - (3n * USDC) / 2n - USDC })
      // A key the vault rejected can be settled later.
      await p.fund(bob, USDC)
      await mined(w.write.settle([105n, addr(bob), SINTEL, 1n, ...UNSIGNED]))
    })

    it("settleBatch_matchesSettle_sequentially", async () => {
      // The same entries settled one by one give the same balances, earnings and pool.
      const entries = [
        req(1n, alice, BUNNY, USDC / 2n),
        req(2n, bob, SINTEL, USDC / 3n),
        req(3n, alice, BUNNY, USDC),
        req(4n, alice, SINTEL, USDC),
        req(5n, bob, SINTEL, USDC / 3n)
      ]
      const w = operatorWallet()
      for (const e of entries) await mined(w.write.settle([e.sessionKey, e.user, e.contentId, e.amount, ...UNSIGNED]))
      const sequential = {
        alice: await balances(alice),
        bob: await balances(bob),
        a: await w.read.earningsOf([addr(creatorA)]),
        b: await w.read.earningsOf([addr(creatorB)]),
        pool: await p.as(outsider).vault.read.pooledOf([p.walletAddress])
      }
      await snap.restore()
      await mined(w.write.settleBatch([unsigned(entries)]))
      expect({
        alice: await balances(alice),
        bob: await balances(bob),
        a: await w.read.earningsOf([addr(creatorA)]),
        b: await w.read.earningsOf([addr(creatorB)]),
        pool: await p.as(outsider).vault.read.pooledOf([p.walletAddress])
      }).toEqual(sequential)
    })

    it("settleBatch_detectsDuplicates_acrossBitmapWords", async () => {
      const w = operatorWallet()
      const requests = [
        req(255n, alice, SINTEL, 1n),
        req(256n, alice, SINTEL, 1n),
        req(255n, alice, SINTEL, 1n), // back to the first word: duplicate
        req(512n, alice, BUNNY, 1n),
        req(256n, alice, BUNNY, 1n) // duplicate in the second word
      ]
      const { result } = await w.simulate.settleBatch([unsigned(requests)], { account: operator.account })
      expect(result).toEqual([true, true, false, true, false])
      await mined(w.write.settleBatch([unsigned(requests)]))
      for (const key of [255n, 256n, 512n]) expect(await w.read.isSettled([key])).toBe(true)
      expect(await w.read.isSettled([257n])).toBe(false)
    })

    it("settleBatch_allRejected_emitsOnlyRejections", async () => {
      const w = operatorWallet()
      const requests = [req(1n, alice, UNLISTED, 1n), req(2n, alice, SINTEL, 0n)]
      const receipt = await mined(w.write.settleBatch([unsigned(requests)]))
      expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })).toHaveLength(0)
      expect(
        parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs }).map((e) => e.args.reason)
      ).toEqual([selectorOf("ContentNotListed"), selectorOf("ZeroAmount")])
      const empty = await w.simulate.settleBatch([unsigned([])], { account: operator.account })
      expect(empty.result).toEqual([])
    })

    it("settleBatch_revertsWhen_notOperator", async () => {
      await expectRevert(p.as(outsider).wallet.write.settleBatch([unsigned([req(1n, alice, SINTEL, 1n)])]), "AccessControlUnauthorizedAccount")
    })
  })

  describe("earnings", () => {
    it("withdrawEarnings_paysCreatorRealUsdc", async () => {
      const w = operatorWallet()
      await mined(w.write.settle([1n, addr(alice), BUNNY, 2n * USDC, ...UNSIGNED]))
      await mined(w.write.settle([2n, addr(alice), BUNNY, USDC, ...UNSIGNED]))
      const creator = p.as(creatorA)
      const receipt = await mined(creator.wallet.write.withdrawEarnings())
      const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "EarningsWithdrawn", logs: receipt.logs })
      expect(event?.args).toEqual({ creator: addr(creatorA), amount: 3n * USDC })
      expect(await creator.usdc.read.balanceOf([addr(creatorA)])).toBe(3n * USDC)
      expect(await creator.wallet.read.earningsOf([addr(creatorA)])).toBe(0n)
      expect(await creator.vault.read.pooledOf([p.walletAddress])).toBe(0n)
      expect(await creator.usdc.read.balanceOf([p.vaultAddress])).toBe(11n * USDC + USDC - 3n * USDC)
      await expectRevert(creator.wallet.write.withdrawEarnings(), "NoEarnings", [addr(creatorA)])
    })

    it("withdrawEarnings_worksWhileWalletPaused", async () => {
      await mined(operatorWallet().write.settle([1n, addr(alice), BUNNY, USDC, ...UNSIGNED]))
      await mined(p.as(admin).wallet.write.pause())
      await mined(p.as(creatorA).wallet.write.withdrawEarnings())
      expect(await p.as(creatorA).usdc.read.balanceOf([addr(creatorA)])).toBe(USDC)
    })
  })
})
