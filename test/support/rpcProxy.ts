import { Effect } from "effect"
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http"
import type { Socket } from "node:net"

/**
 * What the proxy does to a request, on command: answer 429 (rate limited), drop the connection
 * without an answer, stall (hold the request until `release`), or answer a JSON-RPC error.
 */
export type RpcFault =
  | { readonly _tag: "RateLimit" }
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Stall" }
  | { readonly _tag: "RpcError"; readonly code: number; readonly message: string }

export interface RpcProxy {
  readonly url: string
  /** Milliseconds added before each request is forwarded. */
  readonly setLatency: (ms: number) => Effect.Effect<void>
  /** Applies `fault` to the next `times` requests (all, when omitted) of `method` (any, when omitted). */
  readonly inject: (fault: RpcFault, options?: { readonly method?: string; readonly times?: number }) => Effect.Effect<void>
  /** Removes every fault and lets stalled requests through. */
  readonly heal: Effect.Effect<void>
  /** How many requests of each method reached the proxy. */
  readonly calls: Effect.Effect<ReadonlyMap<string, number>>
}

interface Rule {
  readonly fault: RpcFault
  readonly method: string | undefined
  left: number
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => (body += chunk))
    req.on("end", () => resolve(body))
    req.on("error", reject)
  })

/** The methods named by a JSON-RPC request or batch (an unreadable body names none). */
const methodsOf = (body: string): ReadonlyArray<string> => {
  try {
    const parsed: unknown = JSON.parse(body)
    const items: ReadonlyArray<unknown> = Array.isArray(parsed) ? parsed : [parsed]
    return items.flatMap((item) =>
      typeof item === "object" && item !== null && "method" in item && typeof item.method === "string" ? [item.method] : []
    )
  } catch {
    return []
  }
}

const idOf = (body: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === "object" && parsed !== null && "id" in parsed ? parsed.id : null
  } catch {
    return null
  }
}

/**
 * An in-process HTTP JSON-RPC proxy on a local port in front of `target` (a node's URL): it adds
 * latency to every request and, on command, injects the faults a remote RPC provider has. Closed with
 * the scope.
 */
export const rpcProxy = (target: string, options: { readonly latencyMs?: number } = {}) =>
  Effect.gen(function* () {
    let latency = options.latencyMs ?? 0
    let rules: Array<Rule> = []
    const stalled = new Set<() => void>()
    const sockets = new Set<Socket>()
    const counts = new Map<string, number>()

    const faultFor = (methods: ReadonlyArray<string>): RpcFault | undefined => {
      const rule = rules.find((r) => r.left > 0 && (r.method === undefined || methods.includes(r.method)))
      if (!rule) return undefined
      rule.left -= 1
      rules = rules.filter((r) => r.left > 0)
      return rule.fault
    }

    const forward = async (body: string, res: ServerResponse) => {
      const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body })
      const text = await upstream.text()
      res.writeHead(upstream.status, { "content-type": "application/json" })
      res.end(text)
    }

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const body = await readBody(req)
      const methods = methodsOf(body)
      for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1)
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency))
      const fault = faultFor(methods)
      switch (fault?._tag) {
        case "RateLimit":
          res.writeHead(429, { "content-type": "application/json", "retry-after": "1" })
          res.end(JSON.stringify({ jsonrpc: "2.0", id: idOf(body), error: { code: 429, message: "Too Many Requests" } }))
          return
        case "Drop":
          req.socket.destroy()
          return
        case "Stall":
          await new Promise<void>((resolve) => stalled.add(resolve))
          return forward(body, res)
        case "RpcError":
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ jsonrpc: "2.0", id: idOf(body), error: { code: fault.code, message: fault.message } }))
          return
        case undefined:
          return forward(body, res)
      }
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<Server>((resume) => {
        const s = createServer((req, res) => {
          handle(req, res).catch(() => req.socket.destroy())
        })
        s.on("connection", (socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<boolean>((resume) => {
          for (const release of stalled) release()
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.succeed(true)))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}`,
      setLatency: (ms) =>
        Effect.sync(() => {
          latency = ms
        }),
      inject: (fault, o) =>
        Effect.sync(() => {
          rules.push({ fault, method: o?.method, left: o?.times ?? Number.POSITIVE_INFINITY })
        }),
      heal: Effect.sync(() => {
        rules = []
        for (const release of stalled) release()
        stalled.clear()
      }),
      calls: Effect.sync(() => new Map(counts))
    } satisfies RpcProxy
  })
