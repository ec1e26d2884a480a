import { Agent, request } from "node:http"

/** The bench's HTTP client on loopback: one request, and the event stream of a session. */

export interface HttpReply {
  readonly status: number
  readonly body: string
  readonly ms: number
}

/** One request; a connection error is a status 0 answer (neither 2xx nor 5xx), never a rejection. */
export const call = (agent: Agent, base: URL, method: string, path: string, payload?: unknown): Promise<HttpReply> =>
  new Promise((resolve) => {
    const body = payload === undefined ? undefined : JSON.stringify(payload)
    const t0 = performance.now()
    const failed = () => resolve({ status: 0, body: "", ms: performance.now() - t0 })
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }))
        res.on("error", failed)
      }
    )
    req.on("error", failed)
    req.end(body)
  })

export interface SseEvent {
  readonly event: string
  readonly data: string
}

/**
 * GET `path` as server-sent events (as the watch page's EventSource reads them): `onEvent` is called
 * with every event as it arrives until it returns true (the request is then closed) or the stream
 * ends. Resolves with the answer's status (0 on a connection error) once done.
 */
export const follow = (agent: Agent, base: URL, path: string, onEvent: (e: SseEvent) => boolean): Promise<number> =>
  new Promise((resolve) => {
    const req = request({ agent, host: base.hostname, port: base.port, method: "GET", path, headers: { accept: "text/event-stream" } }, (res) => {
      let buffer = ""
      let done = false
      res.setEncoding("utf8")
      res.on("data", (text: string) => {
        if (done) return
        const blocks = (buffer + text).split("\n\n")
        buffer = blocks.pop() ?? ""
        for (const block of blocks) {
          const lines = block.split("\n")
          const event = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length)
          const data = lines.find((l) => l.startsWith("data: "))?.slice("data: ".length)
          if (event === undefined || data === undefined) continue
          if (onEvent({ event, data })) {
            done = true
            req.destroy()
            resolve(res.statusCode ?? 0)
            return
          }
        }
      })
      res.on("end", () => resolve(res.statusCode ?? 0))
      // cut (the bench ends it): the answer had begun, so its status stands
      res.on("close", () => resolve(res.statusCode ?? 0))
      res.on("error", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", () => resolve(0))
    req.end()
  })
