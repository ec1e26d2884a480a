import { Effect } from "effect"
import { type Server, createServer } from "node:http"

/**
 * A JSON-RPC proxy on a local port in front of `target` that writes down the method of every request
 * it forwards (each entry of a batch too): what the server behind it asked the chain, and when.
 */
export const countingRpc = (target: string) =>
  Effect.gen(function* () {
    const methods: Array<string> = []
    const server = yield* Effect.acquireRelease(
      Effect.async<Server>((resume) => {
        const s = createServer((req, res) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8")
            const parsed: unknown = JSON.parse(body)
            for (const call of Array.isArray(parsed) ? parsed : [parsed]) {
              const method: unknown = typeof call === "object" && call !== null ? Reflect.get(call, "method") : undefined
              methods.push(typeof method === "string" ? method : "?")
            }
            fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body })
              .then(async (upstream) => {
                const text = await upstream.text()
                res.writeHead(upstream.status, { "content-type": "application/json" }).end(text)
              })
              .catch(() => res.destroy())
          })
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.async<undefined>((resume) => void s.close(() => resume(Effect.succeed(undefined))))
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}`,
      /** How many requests were forwarded so far (a mark for `since`). */
      mark: () => methods.length,
      /** The methods forwarded after a mark. */
      since: (mark: number): ReadonlyArray<string> => methods.slice(mark)
    }
  })
