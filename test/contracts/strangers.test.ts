/**
 * The contracts as an attacker sees them (issue 13, item 2): a stranger with funds of its own calls
 * every state-changing function of the StreamingWallet and the YieldVault, and nobody's session becomes
 * free and nobody's funds move; a viewer's own underpayment never consumes the operator's key.
 */
import { isHex, maxUint256, parseEventLogs } from "viem"
import { beforeAll, beforeEach, describe, expect, it } from "vitest"
import { streamingWalletAbi, yieldVaultAbi } from "../../src/chain/contracts.js"
import {
  accounts,
  contentIdOf,
  deployPayg,
  mined,
  roles,
  snapshots,
  UNSIGNED,
  unsigned,
  USDC,
  type Payg,
  type WalletClient
} from "./support/fixture.js"
import { writesOf } from "../support/abi.js"

const { operator, contentManager, creatorA, creatorB, alice, bob, outsider: stranger } = accounts
const addr = (c: WalletClient) => c.account.address

const BUNNY = contentIdOf("big-buck-bunny")
const SINTEL = contentIdOf("sintel")
const PRICE = 2n * USDC
/** The viewers' next settlement keys (what the API hands out, so what a stranger can read). */
const NEXT_KEYS = [1001n, 1002n, 1003n, 1004n, 1005n]


describe("strangers and underpaying viewers", () => {
  let p: Payg
  const snap = snapshots()

  beforeAll(async () => {
    p = await deployPayg()
    const cm = p.as(contentManager).wallet
    await mined(cm.write.listContent([BUNNY, addr(creatorA), PRICE, 3600n]))
    await mined(cm.write.listContent([SINTEL, addr(creatorB), PRICE, 900n]))
    for (const viewer of [alice, bob]) {
      await p.fund(viewer, 10n * USDC)
      await p.allow(viewer)
    }
    await p.accrue(alice, USDC)
    // the stranger has money and consent of its own: the worst case
    await p.fund(stranger, 10n * USDC)
    await p.allow(stranger)
    // creatorA has earnings the stranger could try to take
    await mined(p.as(operator).wallet.write.settle([1n, addr(bob), BUNNY, USDC, ...UNSIGNED]))
    await snap.capture()
  })
  beforeEach(async () => {
    await snap.restore()
  })

  /** What a stranger may add to but never take from: creators' earnings and the wallet's pool backing them. */
  const owedToCreators = async () => {
    const reader = p.as(stranger)
    const earnings = await Promise.all([creatorA, creatorB].map((c) => reader.wallet.read.earningsOf([addr(c)])))
    return { earnings, walletPool: await reader.vault.read.pooledOf([p.walletAddress]) }
  }

  /** Everything a stranger must not change at all: viewers' funds and consent, the operator's keys, roles, pauses, contents. */
  const victimsState = async () => {
    const reader = p.as(stranger)
    return {
      positions: await Promise.all([alice, bob].map((u) => p.balances(u))),
      allowances: await Promise.all([alice, bob].map((u) => reader.vault.read.spendAllowance([addr(u), p.walletAddress]))),
      settled: await Promise.all(NEXT_KEYS.map((k) => reader.wallet.read.isSettled([k]))),
      paused: [await reader.wallet.read.paused(), await reader.vault.read.paused()],
      walletRoles: await Promise.all(
        [roles.OPERATOR_ROLE, roles.CONTENT_MANAGER_ROLE, roles.PAUSER_ROLE].map((r) => reader.wallet.read.hasRole([r, addr(stranger)]))
      ),
      vaultRoles: await Promise.all(
        [roles.SPENDER_ROLE, roles.YIELD_MANAGER_ROLE].map((r) => reader.vault.read.hasRole([r, addr(stranger)]))
      ),
      contents: await Promise.all([BUNNY, SINTEL].map((c) => reader.wallet.read.contentOf([c])))
    }
  }

  /** Each state-changing function, called by the stranger with the arguments most likely to hurt someone. */
  const strangerCalls = (): Record<"wallet" | "vault", Record<string, () => Promise<unknown>>> => {
    const { wallet, vault } = p.as(stranger)
    const key = NEXT_KEYS[0] ?? 0n
    const victimRequest = { sessionKey: key, user: addr(alice), contentId: BUNNY, amount: 1n }
    return {
      wallet: {
        listContent: () => wallet.write.listContent([contentIdOf("mine"), addr(stranger), 1n, 1n]),
        listContents: () => wallet.write.listContents([[{ id: "mine", creator: addr(stranger), price: 1n, duration: 1n }]]),
        updateContent: () => wallet.write.updateContent([BUNNY, addr(stranger), PRICE, 3600n]),
        delistContent: () => wallet.write.delistContent([BUNNY]),
        settle: () => wallet.write.settle([key, addr(alice), BUNNY, 1n, ...UNSIGNED]),
        settleBatch: () => wallet.write.settleBatch([unsigned([victimRequest])]),
        // the stranger's own money, on every one of the viewers' next keys
        payForSession: async () => {
          for (const k of NEXT_KEYS) await mined(wallet.write.payForSession([k, BUNNY, 1n]))
        },
        withdrawEarnings: () => wallet.write.withdrawEarnings(),
        pause: () => wallet.write.pause(),
        unpause: () => wallet.write.unpause(),
        grantRole: () => wallet.write.grantRole([roles.OPERATOR_ROLE, addr(stranger)]),
        revokeRole: () => wallet.write.revokeRole([roles.OPERATOR_ROLE, addr(operator)]),
        renounceRole: () => wallet.write.renounceRole([roles.OPERATOR_ROLE, addr(stranger)])
      },
      vault: {
        deposit: () => vault.write.deposit([USDC]),
        depositFor: () => vault.write.depositFor([addr(stranger), USDC]),
        withdraw: () => vault.write.withdraw([USDC]),
        approveSpender: () => vault.write.approveSpender([addr(stranger), maxUint256]),
        accrueYield: () => vault.write.accrueYield([addr(stranger), USDC]),
        accrueYieldBatch: () => vault.write.accrueYieldBatch([[addr(stranger)], [USDC]]),
        spend: () => vault.write.spend([addr(alice), USDC]),
        spendBatch: () => vault.write.spendBatch([[addr(alice), addr(bob)], [USDC, USDC]]),
        release: () => vault.write.release([addr(stranger), USDC]),
        skim: () => vault.write.skim([addr(stranger)]),
        pause: () => vault.write.pause(),
        unpause: () => vault.write.unpause(),
        grantRole: () => vault.write.grantRole([roles.SPENDER_ROLE, addr(stranger)]),
        revokeRole: () => vault.write.revokeRole([roles.SPENDER_ROLE, p.walletAddress]),
        renounceRole: () => vault.write.renounceRole([roles.SPENDER_ROLE, addr(stranger)])
      }
    }
  }

  it("stranger_callingEveryWriteFunction_movesNoOnesFunds_andConsumesNoOperatorKey", async () => {
    const calls = strangerCalls()
    // the list above is every state-changing function: a new one must be added here
    expect(Object.keys(calls.wallet).sort()).toEqual(writesOf(streamingWalletAbi))
    expect(Object.keys(calls.vault).sort()).toEqual(writesOf(yieldVaultAbi))
    const before = await victimsState()
    for (const [contract, fns] of Object.entries(calls)) {
      for (const [name, call] of Object.entries(fns)) {
        const owed = await owedToCreators()
        await call().then(
          (hash) => (isHex(hash) ? mined(hash) : undefined),
          () => undefined // a refusal is the expected answer for most of them
        )
        expect({ after: `${contract}.${name}`, state: await victimsState() }).toEqual({ after: `${contract}.${name}`, state: before })
        const now = await owedToCreators()
        now.earnings.forEach((e, i) => expect(e).toBeGreaterThanOrEqual(owed.earnings[i] ?? 0n))
        expect(now.walletPool).toBeGreaterThanOrEqual(owed.walletPool)
      }
    }
    // and the operator still settles every one of the viewers' next keys, charging them in full
    const w = p.as(operator).wallet
    const aliceBefore = await p.balances(alice)
    for (const k of NEXT_KEYS) await mined(w.write.settle([k, addr(alice), BUNNY, USDC / 5n, ...UNSIGNED]))
    const aliceAfter = await p.balances(alice)
    expect(aliceBefore.yieldBalance + aliceBefore.principal - (aliceAfter.yieldBalance + aliceAfter.principal)).toBe(USDC)
  })

  it("payForSession_byStranger_onViewersNextKeys_leavesThemToTheOperator", async () => {
    const s = p.as(stranger).wallet
    for (const k of NEXT_KEYS) await mined(s.write.payForSession([k, BUNNY, 1n]))
    for (const k of NEXT_KEYS) expect(await s.read.isSettled([k])).toBe(false)
    const receipt = await mined(
      p.as(operator).wallet.write.settleBatch([unsigned(NEXT_KEYS.map((k) => ({ sessionKey: k, user: addr(bob), contentId: BUNNY, amount: USDC / 10n })))])
    )
    const settled = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
    expect(settled.map((e) => e.args.sessionKey)).toEqual(NEXT_KEYS)
    expect(parseEventLogs({ abi: streamingWalletAbi, eventName: "SettlementRejected", logs: receipt.logs })).toHaveLength(0)
  })

  it("payForSession_byViewer_underpayingOwnKey_doesNotConsumeTheOperatorKey", async () => {
    const key = NEXT_KEYS[0] ?? 0n
    await mined(p.as(alice).wallet.write.payForSession([key, BUNNY, 1n]))
    expect(await p.as(alice).wallet.read.isSettled([key])).toBe(false)
    const before = await p.balances(alice)
    const receipt = await mined(p.as(operator).wallet.write.settle([key, addr(alice), BUNNY, PRICE, ...UNSIGNED]))
    const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
    expect(event?.args).toMatchObject({ sessionKey: key, user: addr(alice), contentId: BUNNY, amount: PRICE })
    const after = await p.balances(alice)
    expect(before.yieldBalance + before.principal - (after.yieldBalance + after.principal)).toBe(PRICE)
  })

  it("payForSession_keysArePerPayer_soAStrangerCannotBlockTheViewersOwnPayment", async () => {
    const key = NEXT_KEYS[1] ?? 0n
    await mined(p.as(stranger).wallet.write.payForSession([key, BUNNY, 1n]))
    const receipt = await mined(p.as(alice).wallet.write.payForSession([key, BUNNY, PRICE]))
    const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionPaid", logs: receipt.logs })
    expect(event?.args).toMatchObject({ sessionKey: key, payer: addr(alice), contentId: BUNNY, amount: PRICE })
    expect(await p.as(stranger).wallet.read.paidBy([addr(alice), key])).toBe(true)
    expect(await p.as(stranger).wallet.read.paidBy([addr(stranger), key])).toBe(true)
    expect(await p.as(stranger).wallet.read.paidBy([addr(bob), key])).toBe(false)
  })
})
