import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { type Hex, encodeEventTopics, maxUint256 } from "viem"
import { activityOf } from "../src/chain/ChainViem.js"
import { streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { demoCatalogue } from "../src/content/catalogue.js"
import { DatabaseLive } from "../src/db/Database.js"
import { seedCatalogue } from "../src/db/seed.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { type SessionClock, makeSessionId, start } from "../src/domain/Session.js"
import { SessionRepo, SessionRepoPg, pendingSettlement } from "../src/session/SessionRepo.js"
import { spendableOf } from "../src/session/Sessions.js"
import { testConfig } from "./support/app.js"

/**
 * The spendable check of a start (src/session/Sessions.ts): funds the chain view read at block B, less
 * `SessionRepo.reservedFor(user, B)` (real PostgreSQL). Against the truth (the funds at the head, less
 * the open sessions and the stopped ones not mined yet), over every stage each of a viewer's sessions
 * can be in when the check runs: open, stopped (its settlement PENDING, sent or not: the row the rule
 * reads is the same), mined at block M but not recorded yet (PENDING), recorded (CONFIRMED at M), or
 * failed; and any block B at or below the head the view's entry may be from. The rule never says more
 * than the truth, and says less by exactly the settlements already in the funds at B but not recorded.
 */

const Repo = SessionRepoPg.pipe(Layer.provideMerge(DatabaseLive), Layer.provide(testConfig({ DATABASE_POOL_SIZE: "2" })))

type Stage = "open" | "stopped" | "mined" | "recorded" | "failed"

interface Spend {
  readonly fullPrice: bigint
  /** The settlement's amount, at most the full price. */
  readonly share: number
  /** A viewer's own payment is on chain before its stop: only its mined stages exist. */
  readonly mode: "operator" | "user"
  readonly stage: Stage
  /** The block its settlement is mined in (for the mined and recorded stages). */
  readonly minedAt: number
}

const spend = fc.record({
  fullPrice: fc.bigInt({ min: 1n, max: 50_000_000n }),
  share: fc.integer({ min: 1, max: 100 }),
  mode: fc.constantFrom("operator" as const, "user" as const),
  stage: fc.constantFrom<Stage>("open", "stopped", "mined", "recorded", "failed"),
  minedAt: fc.integer({ min: 1, max: 12 })
})

const amountOf = (s: Spend): bigint => (s.fullPrice * BigInt(s.share) + 99n) / 100n
/** A user-mode session is stopped only once its payment is on chain (it is proven at the stop). */
const stageOf = (s: Spend): Stage => (s.mode === "user" && s.stage !== "recorded" ? "mined" : s.stage)
const onChain = (s: Spend) => stageOf(s) === "mined" || stageOf(s) === "recorded"
const sum = (xs: ReadonlyArray<bigint>) => xs.reduce((a, b) => a + b, 0n)

describe("the spendable rule, by block", () => {
  layer(Repo, { timeout: 120_000 })((it) => {
    it.effect.prop(
      "funds at block B less reservedFor(user, B) never exceed the truth, and miss it only by what is mined at or before B and not recorded",
      {
        spends: fc.array(spend, { maxLength: demoCatalogue.length }),
        extraHeld: fc.bigInt({ min: 0n, max: 100_000_000n }),
        extraAllowance: fc.option(fc.bigInt({ min: 0n, max: 100_000_000n }), { nil: undefined }),
        head: fc.integer({ min: 12, max: 15 }),
        viewBlock: fc.integer({ min: 0, max: 15 })
      },
      ({ extraAllowance, extraHeld, head, spends, viewBlock }) =>
        Effect.gen(function* () {
          yield* seedCatalogue()
          const repo = yield* SessionRepo
          const user = toAddress(`0x${randomBytes(20).toString("hex")}`)
          const b = BigInt(Math.min(viewBlock, head))
          const now = Date.UTC(2026, 0, 1)
          for (const [i, s] of spends.entries()) {
            const contentId = demoCatalogue[i]?.contentId ?? "intro-to-defi"
            const id = makeSessionId(now + i, randomBytes(4).toString("hex"))
            const clock = start(now)
            const inserted = yield* repo.insert({ id, userAddress: user, contentId, fullPrice: s.fullPrice, totalDuration: 60, clock })
            const stage = stageOf(s)
            if (stage === "open") continue
            const settling: SessionClock = { ...clock, status: "SETTLING" }
            yield* repo.saveClock(id, settling, now + 1_000, { billedSeconds: 60, finalCost: amountOf(s) })
            const userTxHash: Hex | null = s.mode === "user" ? `0x${randomBytes(32).toString("hex")}` : null
            yield* repo.insertSettlement(pendingSettlement({
              sessionId: id,
              settlementKey: inserted.settlementKey,
              userAddress: user,
              contentId,
              amount: amountOf(s),
              mode: s.mode,
              userTxHash,
              createdAt: now + 1_000,
              authorization: null
            }))
            if (stage === "recorded") {
              const payment = { txHash: `0x${randomBytes(32).toString("hex")}`, blockNumber: BigInt(s.minedAt), gasUsed: 50_000n, batchSize: 1, fromYield: 0n, fromPrincipal: amountOf(s) }
              expect(yield* repo.confirm(id, payment, now + 2_000)).toBe(true)
            }
            if (stage === "failed") expect(yield* repo.fail(id, "refused", now + 2_000)).toBe(true)
          }

          // the chain: whatever was mined was affordable; an unlimited allowance is never decremented
          const mined = spends.filter(onChain)
          const minedBy = (block: bigint) => sum(mined.filter((s) => BigInt(s.minedAt) <= block).map(amountOf))
          const held0 = sum(mined.map(amountOf)) + extraHeld
          const allowance0 = extraAllowance === undefined ? maxUint256 : sum(mined.map(amountOf)) + extraAllowance
          const fundsAt = (block: bigint) => ({
            balances: { yieldBalance: 0n, principal: held0 - minedBy(block) },
            allowance: extraAllowance === undefined ? maxUint256 : allowance0 - minedBy(block)
          })

          const rule = spendableOf(fundsAt(b), yield* repo.reservedFor(user, Option.some(b)))
          const reservedTruly = sum(spends.map((s) => (stageOf(s) === "open" ? s.fullPrice : stageOf(s) === "stopped" ? amountOf(s) : 0n)))
          const truth = spendableOf(fundsAt(BigInt(head)), reservedTruly)
          const inFundsNotRecorded = sum(spends.filter((s) => stageOf(s) === "mined" && BigInt(s.minedAt) <= b).map(amountOf))
          expect(rule <= truth, `rule ${rule} > truth ${truth}`).toBe(true)
          expect(rule).toBe(spendableOf(fundsAt(BigInt(head)), reservedTruly + inFundsNotRecorded))
        }),
      { fastCheck: { numRuns: 40 } }
    )
  })
})

/** An event's topics as a log carries them (viem encodes an unindexed-or-omitted one as null). */
const topics = (...parts: ReadonlyArray<Hex | ReadonlyArray<Hex> | null>): Array<Hex | null> => parts.map((p) => (typeof p === "string" || p === null ? p : (p[0] ?? null)))

describe("activityOf", () => {
  const wallet = toAddress(`0x${"77".repeat(20)}`)
  const vault = toAddress(`0x${"66".repeat(20)}`)
  const a = toAddress(`0x${"a1".repeat(20)}`)
  const b = toAddress(`0x${"b2".repeat(20)}`)
  const c = toAddress(`0x${"c3".repeat(20)}`)
  const contentKey: Hex = `0x${"cc".repeat(32)}`
  const tx = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`
  const settled = (user: Address, hash: Hex) => [
    { address: wallet, transactionHash: hash, topics: topics(...encodeEventTopics({ abi: streamingWalletAbi, eventName: "SessionSettled", args: { sessionKey: 5n, user, contentId: contentKey } })) },
    { address: vault, transactionHash: hash, topics: topics(...encodeEventTopics({ abi: yieldVaultAbi, eventName: "Spent", args: { user, spender: wallet } })) }
  ]

  it("tells viewers named only by the operator's settlements from those another event named; only listing events name listings", () => {
    const logs = [
      ...settled(a, tx(1)),
      ...settled(c, tx(1)),
      { address: vault, transactionHash: tx(2), topics: topics(...encodeEventTopics({ abi: yieldVaultAbi, eventName: "Withdrawn", args: { user: b } })) },
      { address: vault, transactionHash: tx(3), topics: topics(...encodeEventTopics({ abi: yieldVaultAbi, eventName: "SpenderApproved", args: { user: c, spender: wallet } })) }
    ]
    const relisted: Hex = `0x${"dd".repeat(32)}`
    const updated = { address: wallet, transactionHash: tx(5), topics: topics(...encodeEventTopics({ abi: streamingWalletAbi, eventName: "ContentUpdated", args: { contentId: relisted, creator: b } })) }
    const activity = activityOf([...logs, updated], wallet)
    // (a session key below 2^160 reads as an address too: one more name, never a missed one)
    expect(activity.users).toEqual(expect.arrayContaining([b, c, wallet]))
    expect(activity.users).not.toContain(a)
    expect(activity.settled).toContain(a)
    expect(activity.settled).not.toContain(c)
    // a settlement changes no listing; a listing event does
    expect(activity.contentKeys).toEqual([relisted])
  })

  it("a viewer's own payment (SessionPaid) is not the operator's settlement", () => {
    const paid = [
      { address: wallet, transactionHash: tx(4), topics: topics(...encodeEventTopics({ abi: streamingWalletAbi, eventName: "SessionPaid", args: { sessionKey: 6n, payer: a, contentId: contentKey } })) },
      { address: vault, transactionHash: tx(4), topics: topics(...encodeEventTopics({ abi: yieldVaultAbi, eventName: "Spent", args: { user: a, spender: wallet } })) }
    ]
    const activity = activityOf(paid, wallet)
    expect(activity.users).toContain(a)
    expect(activity.settled).not.toContain(a)
  })
})
