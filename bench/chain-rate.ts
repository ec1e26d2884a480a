/**
 * Bench child: the raw settlement rate of the in-process chain through the app's Chain port
 * (src/domain/Chain.ts over ChainAndDevInProcess), without HTTP or database: back-to-back `settle` calls,
 * then back-to-back `settleBatch` calls of BENCH_BATCH_SIZE settlements, each for BENCH_SECONDS.
 * Sends are serialised by the port (one operator nonce), so back-to-back is its ceiling.
 * With BENCH_PROFILE_DIR set, each is then run again for 2 s under the CPU profiler.
 */
import { Effect, Logger, LogLevel } from "effect"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { ChainAndDevInProcess, DevChain } from "../src/chain/ChainInProcess.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { Chain, type SettlementRequest } from "../src/domain/Chain.js"
import { send, startProfile, stopProfile } from "./lib/child.js"

const seconds = Number(process.env.BENCH_SECONDS ?? "4")
const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? "50")
const profileDir = process.env.BENCH_PROFILE_DIR
const USDC = 1_000_000n
const contentId = "nft-art-stories"

const program = Effect.gen(function* () {
  const chain = yield* Chain
  const dev = yield* DevChain
  const users: Array<Address> = []
  for (let i = 0; i < batchSize; i++) {
    const user = toAddress(`0x${randomBytes(20).toString("hex")}`)
    yield* dev.fund(user, { principal: 1_000n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
    users.push(user)
  }
  let key = BigInt(`0x${randomBytes(6).toString("hex")}`) << 16n
  const request = (i: number): SettlementRequest => {
    const user = users[i % users.length]
    if (user === undefined) throw new Error("no users")
    key += 1n
    return { sessionKey: key, user, contentId, amount: 1n }
  }
  const one = () => chain.settle(request(0))
  const many = () => chain.settleBatch(Array.from({ length: batchSize }, (_, i) => request(i)))
  // warm both paths (JIT, first-touch storage) before timing
  yield* one()
  yield* many()

  const timed = <A>(f: () => Effect.Effect<A, unknown>, forSeconds: number) =>
    Effect.gen(function* () {
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      let calls = 0
      let last: A | undefined
      while (performance.now() - t0 < forSeconds * 1000) {
        last = yield* f()
        calls++
      }
      const cpu = process.cpuUsage(cpu0)
      return { calls, seconds: (performance.now() - t0) / 1000, cpuMs: (cpu.user + cpu.system) / 1000, last }
    })

  const single = yield* timed(one, seconds)
  const batch = yield* timed(many, seconds)
  if (profileDir !== undefined) {
    const profiled = <A>(name: string, f: () => Effect.Effect<A, unknown>) =>
      Effect.promise(startProfile).pipe(
        Effect.zipRight(timed(f, 2)),
        Effect.zipRight(Effect.promise(() => stopProfile(join(profileDir, `${name}.cpuprofile`))))
      )
    yield* profiled("chain-settle", one)
    yield* profiled("chain-settleBatch", many)
  }
  const firstBatch = batch.last?.[0]
  send({
    type: "chain-rate",
    single: { calls: single.calls, seconds: single.seconds, cpuMs: single.cpuMs },
    batch: { calls: batch.calls, size: batchSize, seconds: batch.seconds, cpuMs: batch.cpuMs },
    gas: {
      single: Number(single.last?.gasUsed ?? 0n),
      batch: firstBatch?._tag === "Settled" ? Number(firstBatch.settlement.gasUsed) : 0
    }
  })
})

Effect.runPromise(program.pipe(Effect.provide(ChainAndDevInProcess({ demo: true })), Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  () => process.exit(0),
  (e: unknown) => {
    send({ type: "failed", reason: String(e) })
    process.exit(1)
  }
)
