import { FastCheck as fc } from "effect"
import { isHex, maxUint256, parseEventLogs, toHex, type Hex } from "viem"
import { beforeAll, describe, expect, it } from "vitest"
import { streamingWalletAbi } from "../../src/chain/contracts.js"
import {
  accounts,
  contentIdOf,
  deployPayg,
  expectRevert,
  mined,
  publicClient,
  roles,
  signAuthorization,
  snapshots,
  UNSIGNED,
  USDC,
  type Payg,
  type WalletClient
} from "./support/fixture.js"

const { operator, contentManager, creatorA, alice, bob, carol, yieldManager } = accounts
const users = [alice, bob, carol] as const
const CONTENT = contentIdOf("property-content")
const PRICE = 10n * USDC

type Command =
  | { readonly kind: "deposit"; readonly user: number; readonly amount: bigint }
  | { readonly kind: "accrue"; readonly user: number; readonly amount: bigint }
  | { readonly kind: "spend"; readonly user: number; readonly amount: bigint }
  | { readonly kind: "withdraw"; readonly user: number; readonly amount: bigint }
  | { readonly kind: "claim"; readonly user: number; readonly amount: bigint }

const userArb = fc.integer({ min: 0, max: users.length - 1 })
const amountArb = fc.bigInt({ min: 1n, max: 6n * USDC })
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant("deposit" as const), user: userArb, amount: amountArb }),
  fc.record({ kind: fc.constant("accrue" as const), user: userArb, amount: amountArb }),
  fc.record({ kind: fc.constant("spend" as const), user: userArb, amount: amountArb }),
  fc.record({ kind: fc.constant("withdraw" as const), user: userArb, amount: amountArb }),
  // The creator withdraws its earnings (user and amount unused).
  fc.record({ kind: fc.constant("claim" as const), user: userArb, amount: amountArb })
)

interface Position {
  yieldBalance: bigint
  principal: bigint
}

describe("YieldVault + StreamingWallet properties", () => {
  let p: Payg
  const snap = snapshots()

  beforeAll(async () => {
    p = await deployPayg()
    await mined(p.as(contentManager).wallet.write.listContent([CONTENT, creatorA.account.address, PRICE, 60n]))
    for (const payer of [...users, yieldManager]) {
      const { usdc } = p.as(payer)
      await mined(usdc.write.mint([payer.account.address, 1_000_000n * USDC]))
      await mined(usdc.write.approve([p.vaultAddress, maxUint256]))
    }
    for (const user of users) await p.allow(user)
    await snap.capture()
  })

  const userAt = (i: number): WalletClient => {
    const u = users[i]
    if (u === undefined) throw new Error(`no user ${i}`)
    return u
  }

  it("accounting_invariants_holdAfterEveryStep", async () => {
    let nextKey = 1n
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 20 }), async (commands) => {
        await snap.restore()
        const model: Array<Position> = users.map(() => ({ yieldBalance: 0n, principal: 0n }))
        let pooled = 0n

        for (const command of commands) {
          const user = userAt(command.user)
          const position = model[command.user]
          if (position === undefined) throw new Error("no model position")
          const available = position.yieldBalance + position.principal
          const { amount } = command
          switch (command.kind) {
            case "deposit":
              await mined(p.as(user).vault.write.deposit([amount]))
              position.principal += amount
              break
            case "accrue":
              await mined(p.as(yieldManager).vault.write.accrueYield([user.account.address, amount]))
              position.yieldBalance += amount
              break
            case "spend": {
              const key = nextKey++
              const wallet = p.as(operator).wallet
              if (amount > available) {
                await expectRevert(wallet.write.settle([key, user.account.address, CONTENT, amount, ...UNSIGNED]), "InsufficientBalance", [
                  user.account.address,
                  amount,
                  available
                ])
                break
              }
              const receipt = await mined(wallet.write.settle([key, user.account.address, CONTENT, amount, ...UNSIGNED]))
              const [event] = parseEventLogs({ abi: streamingWalletAbi, eventName: "SessionSettled", logs: receipt.logs })
              if (event === undefined) throw new Error("no SessionSettled")
              const { fromYield, fromPrincipal } = event.args
              // The parts add up to the amount, and yield is consumed before principal.
              expect(fromYield + fromPrincipal).toBe(amount)
              expect(fromYield).toBe(amount < position.yieldBalance ? amount : position.yieldBalance)
              if (fromPrincipal > 0n) expect(fromYield).toBe(position.yieldBalance)
              position.yieldBalance -= fromYield
              position.principal -= fromPrincipal
              pooled += amount
              break
            }
            case "withdraw": {
              if (amount > available) {
                await expectRevert(p.as(user).vault.write.withdraw([amount]), "InsufficientBalance", [user.account.address, amount, available])
                break
              }
              await mined(p.as(user).vault.write.withdraw([amount]))
              const fromYield = amount < position.yieldBalance ? amount : position.yieldBalance
              position.yieldBalance -= fromYield
              position.principal -= amount - fromYield
              break
            }
            case "claim": {
              if (pooled === 0n) {
                await expectRevert(p.as(creatorA).wallet.write.withdrawEarnings(), "NoEarnings")
                break
              }
              const before = await p.as(creatorA).usdc.read.balanceOf([creatorA.account.address])
              await mined(p.as(creatorA).wallet.write.withdrawEarnings())
              expect(await p.as(creatorA).usdc.read.balanceOf([creatorA.account.address])).toBe(before + pooled)
              pooled = 0n
              break
            }
          }

          // No balance is negative, every position matches the model, and the vault is solvent.
          const reader = p.as(operator)
          let sum = 0n
          for (const [i, u] of users.entries()) {
            const [yieldBalance, principal] = await reader.vault.read.balancesOf([u.account.address])
            expect(yieldBalance).toBeGreaterThanOrEqual(0n)
            expect(principal).toBeGreaterThanOrEqual(0n)
            expect({ yieldBalance, principal }).toEqual(model[i])
            sum += yieldBalance + principal
          }
          const pool = await reader.vault.read.pooledOf([p.walletAddress])
          expect(pool).toBe(pooled)
          expect(await reader.wallet.read.earningsOf([creatorA.account.address])).toBe(pooled)
          const tracked = await reader.vault.read.totalTracked()
          expect(tracked).toBe(sum + pool)
          expect(await reader.usdc.read.balanceOf([p.vaultAddress])).toBeGreaterThanOrEqual(sum + pool)
        }
      }),
      { numRuns: 40 }
    )
  })
})

/**
 * Issue 14: on a deployment that requires authorizations, no sequence of the operator's calls without the
 * viewers' signatures lowers any viewer's vault balance. The operator holds every signature the viewers
 * ever gave (for sessions already settled), can sign anything with its own key, and calls with any arguments.
 */
describe("operator without viewers' signatures", () => {
  const viewers = [alice, bob, carol] as const
  const contents = [CONTENT, contentIdOf("other-content"), contentIdOf("never-listed")] as const
  let p: Payg
  const snap = snapshots()
  /** Signatures the viewers gave for sessions already settled (the operator saw them all). */
  const stolen: Array<{ readonly key: bigint; readonly viewer: number; readonly maxAmount: bigint; readonly deadline: bigint; readonly signature: Hex }> = []
  let future = 0n

  beforeAll(async () => {
    p = await deployPayg({ requireAuthorization: true })
    const cm = p.as(contentManager).wallet
    await mined(cm.write.listContent([CONTENT, creatorA.account.address, PRICE, 60n]))
    await mined(cm.write.listContent([contents[1], contentManager.account.address, PRICE, 60n]))
    for (const viewer of viewers) {
      await p.fund(viewer, 50n * USDC)
      await p.allow(viewer)
    }
    future = (await publicClient.getBlock()).timestamp + 86_400n
    for (const [i, viewer] of viewers.entries()) {
      const key = 10n + BigInt(i)
      const signature = await signAuthorization(viewer, p.walletAddress, { viewer: viewer.account.address, contentId: "property-content", sessionKey: key, maxAmount: PRICE, deadline: future })
      await mined(p.as(operator).wallet.write.settle([key, viewer.account.address, CONTENT, USDC, PRICE, future, signature]))
      stolen.push({ key, viewer: i, maxAmount: PRICE, deadline: future, signature })
    }
    await snap.capture()
  })

  type Sig = { readonly kind: "none" } | { readonly kind: "random"; readonly bytes: Hex } | { readonly kind: "operator" } | { readonly kind: "stolen"; readonly index: number }
  const sigArb: fc.Arbitrary<Sig> = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.uint8Array({ minLength: 65, maxLength: 65 }).map((b) => ({ kind: "random" as const, bytes: toHex(b) })),
    fc.constant({ kind: "operator" as const }),
    fc.record({ kind: fc.constant("stolen" as const), index: fc.integer({ min: 0, max: viewers.length - 1 }) })
  )
  const entryArb = fc.record({
    key: fc.oneof(fc.constantFrom(10n, 11n, 12n), fc.bigInt({ min: 0n, max: 2n ** 128n })),
    viewer: fc.integer({ min: 0, max: viewers.length - 1 }),
    content: fc.integer({ min: 0, max: contents.length - 1 }),
    amount: fc.bigInt({ min: 0n, max: 60n * USDC }),
    maxAmount: fc.oneof(fc.constant(PRICE), fc.bigInt({ min: 0n, max: 2n ** 96n })),
    late: fc.boolean(),
    sig: sigArb
  })
  type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never
  const opArb = fc.oneof(
    fc.record({ kind: fc.constant("settle" as const), entry: entryArb }),
    fc.record({ kind: fc.constant("settleBatch" as const), entries: fc.array(entryArb, { minLength: 1, maxLength: 6 }) }),
    fc.record({ kind: fc.constant("listContent" as const), price: fc.bigInt({ min: 1n, max: 2n ** 87n }) }),
    fc.record({ kind: fc.constant("updateContent" as const), price: fc.bigInt({ min: 1n, max: 2n ** 87n }) }),
    fc.constant({ kind: "delistContent" as const }),
    fc.constant({ kind: "pause" as const }),
    fc.constant({ kind: "grantRole" as const })
  )

  const request = async (e: Entry) => {
    const viewer = viewers[e.viewer] ?? alice
    const deadline = e.late ? 1n : future
    const contentId = contents[e.content] ?? CONTENT
    const s = e.sig
    const signature: Hex =
      s.kind === "none"
        ? "0x"
        : s.kind === "random"
          ? s.bytes
          : s.kind === "stolen"
            ? (stolen[s.index]?.signature ?? "0x")
            : await signAuthorization(operator, p.walletAddress, { viewer: viewer.account.address, contentId: "property-content", sessionKey: e.key, maxAmount: e.maxAmount, deadline })
    return { sessionKey: e.key, user: viewer.account.address, contentId, amount: e.amount, maxAmount: e.maxAmount, deadline, signature }
  }

  const positions = () => Promise.all(viewers.map((v) => p.balances(v)))

  it("operatorCalls_withoutViewerSignatures_neverLowerAViewersBalance", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), async (ops) => {
        await snap.restore()
        const before = await positions()
        const w = p.as(operator).wallet
        for (const op of ops) {
          const attempt = async (): Promise<unknown> => {
            switch (op.kind) {
              case "settle": {
                const r = await request(op.entry)
                return w.write.settle([r.sessionKey, r.user, r.contentId, r.amount, r.maxAmount, r.deadline, r.signature])
              }
              case "settleBatch":
                return w.write.settleBatch([await Promise.all(op.entries.map(request))])
              case "listContent":
                return w.write.listContent([contentIdOf("operator-content"), operator.account.address, op.price, 1n])
              case "updateContent":
                return w.write.updateContent([CONTENT, operator.account.address, op.price, 1n])
              case "delistContent":
                return w.write.delistContent([CONTENT])
              case "pause":
                return w.write.pause()
              case "grantRole":
                return w.write.grantRole([roles.CONTENT_MANAGER_ROLE, operator.account.address])
            }
          }
          await attempt().then(
            (hash) => (isHex(hash) ? mined(hash) : undefined),
            () => undefined // refused: the expected answer for most
          )
          expect(await positions()).toEqual(before)
        }
      }),
      { numRuns: 30 }
    )
  })
})
