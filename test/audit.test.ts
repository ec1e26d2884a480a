import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { type AuditReport, type Mismatch, audit, compareLedgers } from "../src/audit/Audit.js"
import { LedgerLogViem } from "../src/audit/LedgerLog.js"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { AppConfig } from "../src/config.js"
import { PgPool } from "../src/db/Database.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { ContentId } from "../src/domain/Content.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { fundedViewer, payForSession, randomAddress } from "./support/users.js"

const cid = (id: string) => ContentId.make(id)

const runAudit = Effect.gen(function* () {
  const dev = yield* DevChain
  return yield* audit({ fromBlock: dev.deployment.fromBlock, chunkSize: 7n, settlingBoundMs: 15 * 60_000 }).pipe(
    Effect.provide(LedgerLogViem(dev.publicClient, toAddress(dev.deployment.wallet)))
  )
})

/**
 * The in-process chain over HTTP JSON-RPC, for a child process (the audit script): each request is
 * passed to Hardhat's provider of this process.
 */
const rpcOverHttp = Effect.acquireRelease(
  Effect.promise(async () => {
    const { default: hre } = await import("hardhat")
    const provider = hre.network.provider
    const answer = async (call: unknown) => {
      const c = typeof call === "object" && call !== null ? call : {}
      const id = "id" in c ? c.id : null
      const method = "method" in c && typeof c.method === "string" ? c.method : ""
      const params = "params" in c && Array.isArray(c.params) ? c.params : []
      try {
        return { jsonrpc: "2.0", id, result: await provider.request({ method, params }) }
      } catch (e) {
        return { jsonrpc: "2.0", id, error: { code: -32000, message: e instanceof Error ? e.message : String(e) } }
      }
    }
    const server = createServer((req, res) => {
      let body = ""
      req.on("data", (chunk: Buffer) => (body += chunk.toString()))
      req.on("end", () => {
        const parsed: unknown = JSON.parse(body)
        void (Array.isArray(parsed) ? Promise.all(parsed.map(answer)) : answer(parsed)).then((out) =>
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out))
        )
      })
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return server
  }),
  (server) => Effect.promise(() => new Promise((resolve) => server.close(resolve)))
).pipe(
  Effect.map((server) => {
    const address = server.address()
    return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
  })
)

/** `npm run audit` as an operator runs it, with the app's database and chain: exit code and output. */
const auditProcess = Effect.gen(function* () {
  const config = yield* AppConfig
  const dev = yield* DevChain
  const rpcUrl = yield* rpcOverHttp
  const databaseUrl = yield* Option.match(config.database.url, {
    onSome: (u) => Effect.succeed(Redacted.value(u)),
    // the embedded database of the app is served on a private Unix socket: the script reaches it there
    onNone: () => Effect.map(PgPool, (pool) => `postgres://postgres@localhost:5432/postgres?host=${encodeURIComponent(String(pool.options.host))}`)
  })
  return yield* Effect.async<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = spawn("npm", ["run", "--silent", "audit", "--", "--chunk", "5"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATABASE_URL: databaseUrl,
        RPC_URL: rpcUrl,
        STREAMING_WALLET_ADDRESS: dev.deployment.wallet,
        DEPLOYMENT_BLOCK: dev.deployment.fromBlock.toString(),
        LOG_LEVEL: "warn"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
}).pipe(Effect.scoped)

const kinds = (r: AuditReport) => r.mismatches.map((m) => m.kind).sort()
const about = (r: AuditReport, sessionId: string) => r.mismatches.filter((m) => m.sessionId === sessionId).map((m) => m.kind).sort()

describe("compareLedgers (pure)", () => {
  it("a SETTLING session whose event is already mined is in flight, not a mismatch, until the bound", () => {
    const user = randomAddress()
    const session = {
      sessionId: "session_x",
      settlementKey: 7n,
      status: "SETTLING",
      userAddress: user,
      contentId: "intro-to-defi",
      finalCost: 5n,
      updatedAt: 1_000,
      settlement: Option.some({ mode: "operator" as const, status: "PENDING", amount: 5n, paid: null, txHash: null, creator: null })
    }
    const event = { _tag: "SessionSettled" as const, sessionKey: 7n, user, contentKey: "0x00" as const, amount: 5n, txHash: "0x01" as const, blockNumber: 1n, logIndex: 0 }
    expect(compareLedgers([event], [], [session], 1_000 + 59_000, 60_000)).toEqual([])
    const late: ReadonlyArray<Mismatch> = compareLedgers([event], [], [session], 1_000 + 61_000, 60_000)
    expect(late.map((m) => m.kind).sort()).toEqual(["event-without-completed-session", "stuck-settling", "user-sum-differs"])
  })
})

describe("the ledger audit", () => {
  it.layer(TestApp({ RECONCILE_INTERVAL: "24 hours", SESSION_MAX_IDLE: "24 hours" }), { timeout: 240_000 })((it) => {
    it.effect("a clean run after a few sessions (operator-paid and viewer-paid) passes, also as `npm run audit` (exit 0)", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        for (const contentId of ["intro-to-defi", "yield-farming-101", "inside-the-evm"]) {
          const user = yield* fundedViewer()
          const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid(contentId) } })
          yield* time.advance("4 minutes")
          expect((yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })).data.status).toBe("completed")
        }
        // a viewer who pays the session itself (payForSession), a little more than the cost
        const self = yield* fundedViewer()
        const s = yield* client.session.start({ payload: { userAddress: self, contentId: cid("nft-art-stories") } })
        yield* time.advance("5 minutes")
        const hash = yield* payForSession(self, BigInt(s.data.settlementKey), "nft-art-stories", 1_100_000n)
        const paid = yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: self, txHash: hash } })
        expect(paid.data.status).toBe("completed")

        const report = yield* runAudit
        expect(report.mismatches).toEqual([])
        expect(report.events).toBe(4)
        const run = yield* auditProcess
        expect(run.stderr).toBe("")
        expect(run.code).toBe(0)
        expect(run.stdout.trim()).toMatch(/^audit clean: 4 payment event\(s\) in blocks \d+-\d+ agree with 4 session\(s\) of \d+ user\(s\)$/)
      }))

    it.effect("after tampering with the database, each mismatch is reported and the exit code is 1", () =>
      Effect.gen(function* () {
        const client = yield* apiClient
        const time = yield* TimeTravel
        const sql = yield* SqlClient.SqlClient
        /** A paid session of a new viewer. */
        const paidSession = (contentId: string) =>
          Effect.gen(function* () {
            const user = yield* fundedViewer()
            const s = yield* client.session.start({ payload: { userAddress: user, contentId: cid(contentId) } })
            yield* time.advance("3 minutes")
            yield* client.session.stop({ payload: { sessionId: s.data.sessionId, userAddress: user } })
            return { user, sessionId: s.data.sessionId, key: BigInt(s.data.settlementKey) }
          })
        const amount = yield* paidSession("intro-to-defi")
        const deleted = yield* paidSession("intro-to-defi")
        const user = yield* paidSession("yield-farming-101")
        const content = yield* paidSession("yield-farming-101")
        const creator = yield* paidSession("inside-the-evm")

        // a key paid twice: a stranger pays the session's key before the operator settles it
        const viewer = yield* fundedViewer()
        const stranger = yield* fundedViewer()
        const twice = yield* client.session.start({ payload: { userAddress: viewer, contentId: cid("nft-art-stories") } })
        yield* time.advance("3 minutes")
        yield* payForSession(stranger, BigInt(twice.data.settlementKey), "nft-art-stories", 500_000n)
        expect((yield* client.session.stop({ payload: { sessionId: twice.data.sessionId, userAddress: viewer } })).data.status).toBe("completed")

        // a session that never paid, marked COMPLETED with a confirmed settlement; another left SETTLING for two hours
        const ghostUser = yield* fundedViewer()
        const ghost = yield* client.session.start({ payload: { userAddress: ghostUser, contentId: cid("stablecoin-economics") } })
        const stuckUser = yield* fundedViewer()
        const stuck = yield* client.session.start({ payload: { userAddress: stuckUser, contentId: cid("stablecoin-economics") } })
        const now = Date.now() + time.offsetMs()
        const other: Address = randomAddress()

        yield* sql`UPDATE settlements SET amount = amount + 1 WHERE session_id = ${amount.sessionId}`
        yield* sql`DELETE FROM settlements WHERE session_id = ${deleted.sessionId}`
        yield* sql`UPDATE sessions SET user_address = ${other} WHERE id = ${user.sessionId}`
        yield* sql`UPDATE settlements SET user_address = ${other} WHERE session_id = ${user.sessionId}`
        yield* sql`UPDATE sessions SET content_id = 'nft-art-stories' WHERE id = ${content.sessionId}`
        yield* sql`UPDATE settlements SET creator_address = ${randomAddress()} WHERE session_id = ${creator.sessionId}`
        yield* sql`UPDATE sessions SET status = 'COMPLETED', final_cost = 1000, ended_at = now() WHERE id = ${ghost.data.sessionId}`
        yield* sql`
          INSERT INTO settlements (session_id, settlement_key, user_address, content_id, amount, mode, status, created_at, updated_at,
                                   tx_hash, from_yield, from_principal)
          SELECT id, settlement_key, user_address, content_id, 1000, 'operator', 'CONFIRMED', now(), now(), '0x00', 0, 1000
          FROM sessions WHERE id = ${ghost.data.sessionId}`
        yield* sql`UPDATE sessions SET status = 'SETTLING', updated_at = ${new Date(now - 2 * 3_600_000)} WHERE id = ${stuck.data.sessionId}`

        const report = yield* runAudit
        expect(about(report, amount.sessionId)).toEqual(["amount-differs", "amount-differs"])
        expect(report.mismatches.find((m) => m.kind === "amount-differs" && m.sessionId === amount.sessionId)?.detail).toMatch(/recorded \d+ .*paid on chain \d+/)
        expect(about(report, deleted.sessionId)).toEqual(["completed-without-settlement"])
        expect(about(report, user.sessionId)).toEqual(["user-differs"])
        expect(about(report, content.sessionId)).toEqual(["content-differs"])
        expect(about(report, creator.sessionId)).toEqual(["creator-differs"])
        expect(about(report, ghost.data.sessionId)).toEqual(["completed-without-event"])
        expect(about(report, stuck.data.sessionId)).toEqual(["stuck-settling"])
        expect(report.mismatches.filter((m) => m.kind === "key-settled-twice").map((m) => m.settlementKey)).toEqual([BigInt(twice.data.settlementKey)])
        // the sums per user that differ: the tampered amount, the deleted row, the moved payment (both users), the ghost, the stranger's payment
        const sums = report.mismatches.filter((m) => m.kind === "user-sum-differs").map((m) => m.user).sort()
        expect(sums).toEqual([amount.user, deleted.user, user.user, other, ghostUser, stranger].sort())
        expect(new Set(kinds(report))).toEqual(
          new Set([
            "amount-differs",
            "completed-without-settlement",
            "user-differs",
            "content-differs",
            "creator-differs",
            "completed-without-event",
            "stuck-settling",
            "key-settled-twice",
            "user-sum-differs"
          ])
        )

        const run = yield* auditProcess
        expect(run.code).toBe(1)
        const lines = run.stdout.trim().split("\n")
        expect(lines).toHaveLength(report.mismatches.length)
        expect(lines.every((l) => l.startsWith("MISMATCH "))).toBe(true)
        expect(run.stdout).toContain(`MISMATCH stuck-settling key=${BigInt(stuck.data.settlementKey)} session=${stuck.data.sessionId}`)
        expect(run.stderr).toMatch(new RegExp(`audit found ${report.mismatches.length} mismatch\\(es\\)`))
      }))
  })
})
