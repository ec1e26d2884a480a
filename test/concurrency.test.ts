import { HttpClient } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { it as vitest } from "vitest"
import { Duration, Effect, FastCheck as fc, Fiber, Runtime, Schema } from "effect"
import type { DevChain } from "../src/chain/ChainInProcess.js"
import { demoCatalogue } from "../src/content/catalogue.js"
import type { Address } from "../src/domain/Address.js"
import { ContentId as ContentIdSchema } from "../src/domain/Content.js"
import { SessionId as SessionIdSchema } from "../src/domain/Session.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { USDC, fundedViewer, settlementsOnChain } from "./support/users.js"
import { type Answer, postJson } from "./support/http.js"

/**
 * Races on the session routes, through the real API over the real database and chain:
 * - 100 parallel starts of one user and content open exactly one session;
 * - parallel starts across the catalogue never promise more than the vault holds, never open one
 *   content twice, and refuse only what the balance really cannot cover;
 * - 50 parallel stops of one session pay exactly once, the amount the one winning stop reports;
 * - fast-check generated bursts of concurrent pause/resume/stop, interleaved with jumps of the clock,
 *   keep every session in a legal state: transitions alternate, durations add up, the final cost is
 *   the pricing formula of the billed seconds, and the chain holds at most one settlement per session
 *   (exactly one when a stop answered "completed").
 * No answer, anywhere, is a 5xx.
 */

const catalogue = {
  "intro-to-defi": { price: 10n * USDC, duration: 3600 },
  "yield-farming-101": { price: 5n * USDC, duration: 1800 },
  "inside-the-evm": { price: 25n * USDC, duration: 7200 },
  "stablecoin-economics": { price: 8n * USDC, duration: 2700 },
  "nft-art-stories": { price: 3n * USDC, duration: 900 }
} as const
type ContentKey = keyof typeof catalogue
const isContentKey = (c: string): c is ContentKey => c in catalogue
const contents: ReadonlyArray<ContentKey> = ["intro-to-defi", "yield-farming-101", "inside-the-evm", "stablecoin-economics", "nft-art-stories"]

const SeedError = Schema.Struct({
  error: Schema.String,
  message: Schema.String,
  statusCode: Schema.Number,
  timestamp: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/))
})
const StartedBody = Schema.Struct({
  data: Schema.Struct({
    sessionId: Schema.String,
    settlementKey: Schema.String,
    content: Schema.Struct({ id: Schema.String, fullPrice: Schema.String })
  })
})
const PausedBody = Schema.Struct({ data: Schema.Struct({ status: Schema.Literal("paused"), activeDuration: Schema.Number }) })
const ResumedBody = Schema.Struct({ data: Schema.Struct({ status: Schema.Literal("active") }) })
const StoppedBody = Schema.Struct({
  data: Schema.Struct({
    status: Schema.Literal("completed", "cancelled", "failed", "settling"),
    activeDuration: Schema.Number,
    totalDuration: Schema.Number,
    finalCost: Schema.String
  })
})

const post = postJson

/** Every 4xx must be in the seed's format with its own status, and nothing may be a 5xx. */
const expectWellFormed = (a: Answer) => {
  expect(a.status, JSON.stringify(a.body)).toBeLessThan(500)
  if (a.status >= 400) {
    const error = Schema.decodeUnknownSync(SeedError)(a.body)
    expect(error.statusCode).toBe(a.status)
  }
}

/** The pricing formula (DESIGN.md section 4): min(fullPrice, floor(fullPrice * billed / duration)). */
const costOf = (fullPrice: bigint, billed: number, duration: number): bigint => {
  const pro = (fullPrice * BigInt(billed)) / BigInt(duration)
  return pro < fullPrice ? pro : fullPrice
}

const openSessionsOf = (user: Address) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ readonly contentId: string }>`
      SELECT content_id AS "contentId" FROM sessions WHERE user_address = ${user} AND status IN ('ACTIVE', 'PAUSED')`
  })

const settlementRowsOf = (sessionId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly n: string | number }>`SELECT count(*) AS n FROM settlements WHERE session_id = ${sessionId}`
    return Number(rows[0]?.n ?? -1)
  })

/** The session's detail, once it is no longer SETTLING (a payment in flight is given a few seconds). */
const settledDetail = (sessionId: string, user: Address) =>
  Effect.gen(function* () {
    const client = yield* apiClient
    const read = client.session.get({ path: { sessionId: Schema.decodeSync(SessionIdSchema)(sessionId) }, urlParams: { userAddress: user } })
    let detail = yield* read
    for (let i = 0; i < 100 && detail.data.status === "SETTLING"; i++) {
      yield* Effect.sleep(Duration.millis(100))
      detail = yield* read
    }
    return detail.data
  })

describe("concurrency", () => {
  vitest("the test's price list is the demo catalogue's", () => {
    expect(Object.fromEntries(demoCatalogue.map((c) => [c.contentId, { price: c.fullPrice, duration: c.totalDuration }]))).toEqual(catalogue)
  })

  // the sweeper is kept out of the way: these tests move the clock by hours in total
  it.layer(TestApp({ SESSION_MAX_IDLE: "1000 hours" }), { timeout: 300_000 })((it) => {
    it.effect("100 parallel starts of one user and content: exactly one 201, 99 x 409, no 5xx", () =>
      Effect.gen(function* () {
        const user = yield* fundedViewer()
        const answers = yield* Effect.all(
          Array.from({ length: 100 }, () => post("/api/session/start", { userAddress: user, contentId: "intro-to-defi" })),
          { concurrency: "unbounded" }
        )
        answers.forEach(expectWellFormed)
        const statuses = answers.map((a) => a.status)
        expect(statuses.filter((s) => s === 201)).toHaveLength(1)
        expect(statuses.filter((s) => s === 409)).toHaveLength(99)
        expect(yield* openSessionsOf(user)).toEqual([{ contentId: "intro-to-defi" }])
      }), 120_000)

    it.effect("parallel starts across the catalogue never overspend, never open a content twice, refuse only what cannot be covered", () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<HttpClient.HttpClient | SqlClient.SqlClient | DevChain>()
        const run = Runtime.runPromise(runtime)
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              // the vault balance: 20 USDC most often; always less than the whole catalogue (51 USDC in all)
              fc.constantFrom(20n, 20n, 7n, 13n, 18n, 33n, 50n).map((n) => n * USDC),
              // each content requested 1 to 4 times, all at once, in a random order
              fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 5, maxLength: 5 }).chain((repeats) =>
                fc.shuffledSubarray(
                  contents.flatMap((c, i) => Array.from({ length: repeats[i] ?? 1 }, () => c)),
                  { minLength: contents.length, maxLength: Math.min(20, repeats.reduce((a, b) => a + b, 0)) }
                )
              ),
              (principal, requests) =>
                run(
                  Effect.gen(function* () {
                    const user = yield* fundedViewer({ principal })
                    const answers = yield* Effect.all(
                      requests.map((contentId) => Effect.map(post("/api/session/start", { userAddress: user, contentId }), (a) => ({ contentId, ...a }))),
                      { concurrency: "unbounded" }
                    )
                    answers.forEach(expectWellFormed)
                    for (const a of answers) expect([201, 400, 409], JSON.stringify(a)).toContain(a.status)

                    const open = yield* openSessionsOf(user)
                    const openIds = open.map((s) => s.contentId)
                    // never two open sessions of one content
                    expect(new Set(openIds).size).toBe(openIds.length)
                    // what was answered 201 is exactly what is open
                    const created = answers.filter((a) => a.status === 201).map((a) => a.contentId)
                    expect([...created].sort()).toEqual([...openIds].sort())
                    // never overspend: the full prices of the open sessions fit in the vault
                    const reserved = openIds.reduce((sum, c) => sum + (isContentKey(c) ? catalogue[c].price : 0n), 0n)
                    expect(reserved).toBeLessThanOrEqual(principal)
                    // a 400 only for a real shortfall: reservations only grow during the burst, so at the
                    // refusal the spendable balance was at most what is spendable now
                    for (const a of answers.filter((x) => x.status === 400)) {
                      expect(Schema.decodeUnknownSync(SeedError)(a.body).message).toMatch(/insufficient balance/)
                      expect(catalogue[a.contentId].price).toBeGreaterThan(principal - reserved)
                    }
                    // a 409 only for a content that is open
                    for (const a of answers.filter((x) => x.status === 409)) expect(openIds).toContain(a.contentId)
                  })
                )
            ),
            { numRuns: 8 }
          )
        )
      }), 180_000)

    it.effect("50 parallel stops of one session: one 200 completed, 49 x 409, one settlement on chain of the final cost", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const user = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: user, contentId: Schema.decodeSync(ContentIdSchema)("inside-the-evm") } })
        yield* time.advance("1 hour")
        const ref = { sessionId: s.data.sessionId, userAddress: user }
        const answers = yield* Effect.all(Array.from({ length: 50 }, () => post("/api/session/stop", ref)), { concurrency: "unbounded" })
        answers.forEach(expectWellFormed)
        const winners = answers.filter((a) => a.status === 200)
        expect(winners).toHaveLength(1)
        expect(answers.filter((a) => a.status === 409)).toHaveLength(49)
        const stopped = Schema.decodeUnknownSync(StoppedBody)(winners[0]?.body).data
        expect(stopped.status).toBe("completed")
        // one hour of watching (plus the real milliseconds the test took)
        expect(stopped.activeDuration).toBeGreaterThanOrEqual(3600)
        expect(stopped.activeDuration).toBeLessThan(3660)
        expect(BigInt(stopped.finalCost)).toBe(costOf(25n * USDC, stopped.activeDuration, 7200))

        const events = yield* settlementsOnChain(BigInt(s.data.settlementKey))
        expect(events).toHaveLength(1)
        expect(events[0]?.args.amount).toBe(BigInt(stopped.finalCost))
        expect(yield* settlementRowsOf(s.data.sessionId)).toBe(1)
        const detail = yield* settledDetail(s.data.sessionId, user)
        expect(detail).toMatchObject({ status: "COMPLETED", finalCost: BigInt(stopped.finalCost), activeDuration: stopped.activeDuration })
      }), 120_000)

    it.effect("random concurrent pause/resume/stop bursts with clock jumps keep every session legal and paid at most once", () =>
      Effect.gen(function* () {
        const runtime = yield* Effect.runtime<HttpClient.HttpClient | SqlClient.SqlClient | TimeTravel | DevChain>()
        const run = Runtime.runPromise(runtime)
        // stops are rarer: a stopped session answers everything else with 409, and the races of interest
        // are between pauses and resumes as much as with the stop
        const action = fc.oneof(
          { arbitrary: fc.constant("pause" as const), weight: 5 },
          { arbitrary: fc.constant("resume" as const), weight: 5 },
          { arbitrary: fc.constant("stop" as const), weight: 1 }
        )
        const burst = fc.record({
          // per session: the requests fired at it in this burst
          requests: fc.array(fc.array(action, { minLength: 0, maxLength: 5 }), { minLength: 4, maxLength: 4 }),
          // seconds the clock jumps, during the burst or after it
          advance: fc.integer({ min: 0, max: 900 }),
          advanceDuring: fc.boolean(),
          advanceAfterMs: fc.integer({ min: 0, max: 5 })
        })
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc.shuffledSubarray([...contents], { minLength: 2, maxLength: 4 }),
              fc.array(burst, { minLength: 1, maxLength: 12 }),
              (picked, bursts) => run(interleaving(picked, bursts))
            ),
            { numRuns: 15 }
          )
        )
      }), 240_000)
  })
})

type Action = "pause" | "resume" | "stop"

/** What the API answered for one session: successful pauses and resumes, and every successful stop. */
interface Outcomes {
  pauses: number
  resumes: number
  /** The largest activeDuration a successful pause reported: billed time never goes backwards. */
  billedAtPause: number
  readonly stops: Array<typeof StoppedBody.Type["data"] & { readonly http: number }>
}

interface Burst {
  readonly requests: ReadonlyArray<ReadonlyArray<Action>>
  readonly advance: number
  readonly advanceDuring: boolean
  readonly advanceAfterMs: number
}

/** One run of the interleaving property: a viewer, one session per picked content, the bursts, then the checks. */
const interleaving = (picked: ReadonlyArray<ContentKey>, bursts: ReadonlyArray<Burst>) =>
  Effect.gen(function* () {
    const time = yield* TimeTravel
    const user = yield* fundedViewer({ principal: 100n * USDC })
    const sessions = yield* Effect.forEach(picked, (contentId) =>
      Effect.map(post("/api/session/start", { userAddress: user, contentId }), (a) => {
        expect(a.status, JSON.stringify(a.body)).toBe(201)
        const started = Schema.decodeUnknownSync(StartedBody)(a.body).data
        return { contentId, sessionId: started.sessionId, settlementKey: BigInt(started.settlementKey) }
      })
    )
    const log = sessions.map((): Outcomes => ({ pauses: 0, resumes: 0, billedAtPause: 0, stops: [] }))

    const fire = (i: number, act: Action) =>
      Effect.map(post(`/api/session/${act}`, { sessionId: sessions[i]?.sessionId, userAddress: user }), (a) => {
        expectWellFormed(a)
        expect([200, 202, 409], `${act}: ${a.status} ${JSON.stringify(a.body)}`).toContain(a.status)
        const entry = log[i]
        if (entry === undefined || a.status === 409) return
        if (act === "pause") {
          const paused = Schema.decodeUnknownSync(PausedBody)(a.body).data
          entry.pauses++
          entry.billedAtPause = Math.max(entry.billedAtPause, paused.activeDuration)
        } else if (act === "resume") {
          Schema.decodeUnknownSync(ResumedBody)(a.body)
          entry.resumes++
        } else {
          const stopped = Schema.decodeUnknownSync(StoppedBody)(a.body).data
          expect(a.status === 202, JSON.stringify(a.body)).toBe(stopped.status === "settling")
          entry.stops.push({ ...stopped, http: a.status })
        }
      })

    for (const b of bursts) {
      const requests = b.requests.flatMap((acts, i) => (i < sessions.length ? acts.map((act) => fire(i, act)) : []))
      const jump = time.advance(Duration.seconds(b.advance))
      if (b.advanceDuring) {
        const inFlight = yield* Effect.fork(Effect.all(requests, { concurrency: "unbounded" }))
        yield* Effect.sleep(Duration.millis(b.advanceAfterMs))
        yield* jump
        yield* Fiber.join(inFlight)
      } else {
        yield* Effect.all(requests, { concurrency: "unbounded" })
        yield* jump
      }
    }

    // afterwards: every session still open is stopped once more, alone
    for (const i of sessions.keys()) {
      if ((log[i]?.stops.length ?? 0) === 0) yield* fire(i, "stop")
    }

    for (const [i, s] of sessions.entries()) {
      const entry = log[i]
      if (entry === undefined) continue
      const what = `${s.contentId} ${JSON.stringify({ pauses: entry.pauses, resumes: entry.resumes, stops: entry.stops })}`
      // transitions alternate ACTIVE -> PAUSED -> ACTIVE ...: never two successful pauses in a row
      expect(entry.pauses - entry.resumes, what).toBeGreaterThanOrEqual(0)
      expect(entry.pauses - entry.resumes, what).toBeLessThanOrEqual(1)
      // one stop wins, whatever raced it
      expect(entry.stops, what).toHaveLength(1)
      const stop = entry.stops[0]
      if (stop === undefined) continue

      const detail = yield* settledDetail(s.sessionId, user)
      const price = catalogue[s.contentId]
      expect(["COMPLETED", "CANCELLED", "FAILED"], what).toContain(detail.status)
      expect(detail.activeDuration + detail.pausedDuration, what).toBeLessThanOrEqual(detail.totalDuration)
      expect(detail.activeDuration, what).toBeLessThanOrEqual(detail.totalDuration)
      expect(detail.activeDuration, what).toBe(stop.activeDuration)
      expect(detail.activeDuration, what).toBeGreaterThanOrEqual(entry.billedAtPause)
      expect(detail.finalCost, what).toBe(BigInt(stop.finalCost))
      expect(detail.finalCost, what).toBe(costOf(price.price, detail.activeDuration, price.duration))
      if (detail.status === "CANCELLED") expect(detail.finalCost, what).toBe(0n)

      const events = yield* settlementsOnChain(s.settlementKey)
      expect(events.length, what).toBeLessThanOrEqual(1)
      expect(yield* settlementRowsOf(s.sessionId), what).toBeLessThanOrEqual(1)
      if (stop.status === "completed" || detail.status === "COMPLETED") {
        expect(events, what).toHaveLength(1)
        expect(events[0]?.args.amount, what).toBe(detail.finalCost)
      }
      if (detail.status === "CANCELLED") expect(events, what).toHaveLength(0)
    }
  })
