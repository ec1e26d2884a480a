import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { ContentRepo, ContentRepoPg } from "../src/content/ContentRepo.js"
import { DatabaseLive } from "../src/db/Database.js"
import { seedCatalogue } from "../src/db/seed.js"
import { toAddress } from "../src/domain/Address.js"
import { type SessionClock, makeSessionId, start } from "../src/domain/Session.js"
import { SessionRepo, SessionRepoPg, pendingSettlement } from "../src/session/SessionRepo.js"
import { testConfig } from "./support/app.js"

/**
 * The repositories reach the database one way, the SqlClient: inside `sql.withTransaction` every
 * statement of theirs runs on the transaction's connection (it sees the transaction's own writes and
 * is rolled back with it), and every row is decoded by its schema.
 */

const Repos = Layer.mergeAll(SessionRepoPg, ContentRepoPg).pipe(
  Layer.provideMerge(DatabaseLive),
  Layer.provide(testConfig({ DATABASE_POOL_SIZE: "4" }))
)

class RolledBack extends Data.TaggedError("RolledBack") {}

const CONTENT = "intro-to-defi"

describe("repositories, one way to the database", () => {
  layer(Repos, { timeout: 120_000 })((it) => {
    it.effect("a session written in a transaction is read, compare-and-set and confirmed on that transaction, and gone after its rollback", () =>
      Effect.gen(function* () {
        yield* seedCatalogue()
        const sql = yield* SqlClient.SqlClient
        const repo = yield* SessionRepo
        const now = Date.UTC(2026, 0, 1)
        const id = makeSessionId(now, randomBytes(4).toString("hex"))
        const user = toAddress(`0x${randomBytes(20).toString("hex")}`)
        const clock = start(now)
        // what the repository saw inside the transaction, which is then rolled back
        const observed: Array<unknown> = []
        const program = Effect.gen(function* () {
          const inserted = yield* repo.insert({ id, userAddress: user, contentId: CONTENT, fullPrice: 10n, totalDuration: 60, clock })
          const found = yield* repo.find(id)
          observed.push(Option.map(found, (s) => [s.id, s.clock.status]))
          const paused: SessionClock = { ...clock, status: "PAUSED", activeMs: 1_000, segmentStartedAt: now + 1_000 }
          observed.push(yield* repo.saveClockIf(id, paused, now + 1_000, clock))
          observed.push(yield* repo.saveClockIf(id, paused, now + 1_000, clock))
          observed.push(Option.map(yield* repo.find(id), (s) => s.clock.status))
          observed.push(yield* repo.reservedFor(user, Option.none()))
          yield* repo.insertSettlement(pendingSettlement({
            sessionId: id,
            settlementKey: inserted.settlementKey,
            userAddress: user,
            contentId: CONTENT,
            amount: 7n,
            mode: "operator",
            userTxHash: null,
            createdAt: now,
            authorization: null
          }))
          const payment = { txHash: `0x${"ab".repeat(32)}`, blockNumber: 12n, gasUsed: 21_000n, batchSize: 1, fromYield: 0n, fromPrincipal: 7n }
          observed.push(yield* repo.confirm(id, payment, now + 2_000))
          observed.push(Option.flatMap(yield* repo.find(id), (s) => Option.map(s.settlement, (t) => [t.status, t.blockNumber])))
          return yield* Effect.fail(new RolledBack())
        })
        const exit = yield* Effect.exit(sql.withTransaction(program))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(observed).toStrictEqual([
          Option.some([id, "ACTIVE"]),
          true,
          false,
          Option.some("PAUSED"),
          10n,
          true,
          Option.some(["CONFIRMED", 12n])
        ])
        // rolled back with the transaction
        expect(yield* repo.find(id)).toStrictEqual(Option.none())
      })
    )

    it.effect("the catalogue is read on the transaction's connection too", () =>
      Effect.gen(function* () {
        yield* seedCatalogue()
        const sql = yield* SqlClient.SqlClient
        const repo = yield* ContentRepo
        const contentId = `tx-only-${randomBytes(3).toString("hex")}`
        const inside = yield* Effect.gen(function* () {
          yield* sql`INSERT INTO content (id, content_id, title, full_price, total_duration, category, creator_address)
                     VALUES (${contentId}, ${contentId}, 'Only in this transaction', 5, 60, 'TxOnly', ${`0x${"1".repeat(40)}`})`
          const one = yield* repo.findByContentId(contentId)
          const page = yield* repo.listActive({ category: "TxOnly", limit: 10 })
          return { one: Option.map(one, (c) => [c.contentId, c.fullPrice]), page: page.map((c) => c.contentId) }
        }).pipe(sql.withTransaction)
        expect(inside).toStrictEqual({ one: Option.some([contentId, 5n]), page: [contentId] })
      })
    )

    it.effect("a row its schema does not decode is a defect, never handed on as if it were well formed", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const repo = yield* ContentRepo
        // a catalogue id the ContentId schema refuses (it must start with a letter or digit)
        const bad = `-bad-${randomBytes(3).toString("hex")}`
        yield* sql`INSERT INTO content (id, content_id, title, full_price, total_duration, category, creator_address)
                   VALUES (${bad}, ${bad}, 'Bad id', 5, 60, 'Broken', ${`0x${"2".repeat(40)}`})`
        const exit = yield* Effect.exit(repo.findByContentId(bad))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      })
    )
  })
})
