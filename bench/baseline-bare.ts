/**
 * Bench child: the ceiling for Node + PostgreSQL here. A bare `node:http` server answering
 * GET /api/session/:id and GET /api/content with the app's SQL through `pg` (bench/lib/baseline.ts).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { getSession, listContent, makePool, type Reply } from "./lib/baseline.js"
import { send, serveIpc } from "./lib/child.js"

const started = performance.now()
const pool = makePool(process.env.BENCH_DATABASE_URL ?? "", Number(process.env.BENCH_POOL_SIZE ?? "10"))
const SESSION = /^\/api\/session\/([^/?]+)$/

const route = async (method: string, url: URL): Promise<Reply> => {
  if (method === "GET") {
    const m = SESSION.exec(url.pathname)
    if (m?.[1] !== undefined) return getSession(pool, decodeURIComponent(m[1]), url.searchParams.get("userAddress"))
    if (url.pathname === "/api/content") return listContent(pool)
    if (url.pathname === "/health") return { status: 200, body: JSON.stringify({ status: "healthy" }) }
  }
  return { status: 404, body: JSON.stringify({ error: "Not Found", statusCode: 404 }) }
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  route(req.method ?? "GET", new URL(req.url ?? "/", "http://localhost")).then(
    (reply) => {
      res.writeHead(reply.status, { "content-type": "application/json" })
      res.end(reply.body)
    },
    (e: unknown) => {
      res.writeHead(500, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: "Internal Server Error", message: String(e), statusCode: 500 }))
    }
  )
})

server.listen(0, "127.0.0.1", () => {
  // open the pool's connections before the first measured request, as the app's pool is warm
  void Promise.all(Array.from({ length: 10 }, () => pool.query("SELECT 1"))).then(() => {
    const address: AddressInfo | string | null = server.address()
    const port = address !== null && typeof address === "object" ? address.port : 0
    send({ type: "ready", port, viewers: [], bootMs: performance.now() - started, fundMs: 0 })
  })
})

serveIpc(async () => {
  server.close()
  server.closeAllConnections()
  await pool.end()
})
