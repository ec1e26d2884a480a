/**
 * A viewer-signed session kept alive past what its signature was signed for (docs/SECURITY.md point 6):
 * the wallet refuses a settlement mined after the signed deadline, so the sweeper must stop the session
 * while AUTHORIZATION_MARGIN is still left before it. Through the real server, PostgreSQL and the
 * in-process chain deployed with `requireAuthorization`; the app's clock (TimeTravel) and the chain's
 * block time are moved forward together.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { Chain } from "../src/domain/Chain.js"
import { ContentId } from "../src/domain/Content.js"
import { sweepIdle } from "../src/session/Background.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { quoteAndSign, signingViewer } from "./support/signedViewer.js"
import { USDC, settlementsOnChain } from "./support/users.js"

const STEP_S = 15 * 60
const MARGIN_S = 2 * 3600
const SWEEP_EVERY_S = STEP_S

describe("a signed session that stays open up to its deadline", () => {
  it.layer(
    TestApp(
      {
        SESSION_MAX_IDLE: "1 hour",
        HEARTBEAT_GRACE: "1 hour",
        AUTHORIZATION_MARGIN: `${MARGIN_S} seconds`,
        // the background sweep's period; its loop does not come round during the test: the test sweeps at that pace itself
        RECONCILE_INTERVAL: `${SWEEP_EVERY_S} seconds`
      },
      { requireAuthorization: true }
    ),
    { timeout: 180_000 }
  )((it) => {
    it.effect("is stopped by the sweeper with the whole margin left, and settled on chain with the viewer's signature", () =>
      Effect.flatMap(TimeTravel, (time) =>
        time.frozen(
          Effect.gen(function* () {
            const client = yield* apiClient
            const dev = yield* DevChain
            const chain = yield* Chain
            const cid = ContentId.make("intro-to-defi")
            // one viewer keeps the session alive by pausing and resuming, the other by heartbeats
            const viewers = [yield* signingViewer(10), yield* signingViewer(11)]
            const open = yield* Effect.forEach(viewers, (v) =>
              Effect.gen(function* () {
                const signed = yield* quoteAndSign(v, "intro-to-defi")
                const s = yield* client.session.start({ payload: { userAddress: v.user, contentId: cid, authorization: signed.authorization } })
                return { v, sessionId: s.data.sessionId, deadline: signed.quote.deadline, key: BigInt(signed.quote.sessionKey), startedAt: Date.parse(s.data.startTime) }
              })
            )
            const deadline = Math.max(...open.map((o) => o.deadline))
            const stoppedAt = new Map<string, number>()
            let now = Math.min(...open.map((o) => o.startedAt))
            let paused = false
            // until the last deadline has passed, every STEP_S: the viewers act, then the sweep runs
            while (now / 1000 < deadline + STEP_S && stoppedAt.size < open.length) {
              yield* time.advance(`${STEP_S} seconds`)
              yield* Effect.promise(() => dev.testClient.increaseTime({ seconds: STEP_S }))
              yield* Effect.promise(() => dev.testClient.mine({ blocks: 1 }))
              now += STEP_S * 1000
              const [pausing, beating] = open
              if (pausing !== undefined && !stoppedAt.has(pausing.sessionId)) {
                const ref = { payload: { sessionId: pausing.sessionId, userAddress: pausing.v.user } }
                yield* paused ? client.session.resume(ref) : client.session.pause(ref)
                paused = !paused
              }
              if (beating !== undefined && !stoppedAt.has(beating.sessionId)) {
                yield* client.session.heartbeat({ payload: { sessionId: beating.sessionId, userAddress: beating.v.user } })
              }
              yield* sweepIdle
              for (const o of open) {
                const d = yield* client.session.get({ path: { sessionId: o.sessionId }, urlParams: { userAddress: o.v.user } })
                if (!stoppedAt.has(o.sessionId) && d.data.status !== "ACTIVE" && d.data.status !== "PAUSED") stoppedAt.set(o.sessionId, now)
              }
            }

            for (const o of open) {
              const at = stoppedAt.get(o.sessionId)
              // stopped by the sweeper before the deadline, with at least the margin left and no earlier than a sweep's period before that
              expect({ session: o.sessionId, stoppedBeforeDeadline: at !== undefined && at / 1000 < o.deadline }).toEqual({ session: o.sessionId, stoppedBeforeDeadline: true })
              const left = o.deadline - (at ?? Infinity) / 1000
              expect(left).toBeGreaterThanOrEqual(MARGIN_S)
              expect(left).toBeLessThan(MARGIN_S + SWEEP_EVERY_S)

              const d = yield* client.session.get({ path: { sessionId: o.sessionId }, urlParams: { userAddress: o.v.user } })
              expect(d.data).toMatchObject({ status: "COMPLETED", failureReason: null })
              const [event] = yield* settlementsOnChain(o.key)
              expect(event?.args.amount).toBe(d.data.finalCost)
              expect(d.data.finalCost ?? 0n).toBeGreaterThan(0n)
              const tx = yield* Effect.promise(() => dev.publicClient.getTransaction({ hash: event?.transactionHash ?? "0x" }))
              const block = yield* Effect.promise(() => dev.publicClient.getBlock({ blockHash: tx.blockHash ?? "0x" }))
              // the chain mined it before the signed deadline (the wallet refuses it after)
              expect(block.timestamp).toBeLessThanOrEqual(BigInt(o.deadline))
              expect(yield* chain.balancesOf(o.v.user)).toEqual({ yieldBalance: 0n, principal: 50n * USDC - (d.data.finalCost ?? 0n) })
            }
            // the loop ran past the point where the sweeper must act, and no further than needed
            expect(now / 1000).toBeLessThan(deadline)
          })
        )
      ))
  })
})
