import { FastCheck as fc } from "effect"
import { maxUint256, parseEventLogs } from "viem"
import { beforeAll, describe, expect, it } from "vitest"
import { streamingWalletAbi } from "../../src/chain/contracts.js"
import { accounts, contentIdOf, deployPayg, expectRevert, mined, snapshots, UNSIGNED, USDC, type Payg, type WalletClient } from "./support/fixture.js"

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
