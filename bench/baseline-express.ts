/**
 * Bench child: the same two routes and SQL as baseline-bare.ts in Express 5 + `pg`.
 */
import express from "express"
import type { AddressInfo } from "node:net"
import { getSession, listContent, makePool, type Reply } from "./lib/baseline.js"
import { send, serveIpc } from "./lib/child.js"

const started = performance.now()
const pool = makePool(process.env.BENCH_DATABASE_URL ?? "", Number(process.env.BENCH_POOL_SIZE ?? "10"))
const app = express()
app.disable("x-powered-by")
app.set("etag", false)

const reply = (res: express.Response, r: Reply): void => {
  res.status(r.status).type("application/json").send(r.body)
}

app.get("/api/session/:sessionId", async (req, res) => {
  const user = req.query.userAddress
  reply(res, await getSession(pool, req.params.sessionId, typeof user === "string" ? user : null))
})
app.get("/api/content", async (_req, res) => {
  reply(res, await listContent(pool))
})
app.get("/health", (_req, res) => {
  res.json({ status: "healthy" })
})

const server = app.listen(0, "127.0.0.1", () => {
  void Promise.all(Array.from({ length: 10 }, () => pool.query("SELECT 1"))).then(() => {
    const address: AddressInfo | string | null = server.address()
    const port = address !== null && typeof address === "object" ? address.port : 0
    send({ type: "ready", port, viewers: [], bootMs: performance.now() - started, fundMs: 0 })
  })
})
server.keepAliveTimeout = 65_000

serveIpc(async () => {
  server.close()
  server.closeAllConnections()
  await pool.end()
})
