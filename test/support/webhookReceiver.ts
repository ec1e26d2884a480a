import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { createServer } from "node:http"
import { type WebhookVerification, verifyWebhook } from "../../src/webhooks/signature.js"

/** One request the receiver got, and what it answered. */
export interface Delivery {
  readonly eventId: string
  readonly type: string
  readonly userAddress: string
  readonly sessionId: string
  readonly body: string
  readonly verification: WebhookVerification
  /** The status answered, or "dropped" when the connection was closed without an answer. */
  readonly answer: number | "dropped"
}

export const RECEIVER_SECRET = "whsec_test_0123456789abcdef"

/**
 * A webhook receiver on a local port (node:http): it answers its first request 500 and drops the
 * connection of its second, then answers 200, except to events of a viewer in `refuse` (always 500).
 * It checks each request's signature on arrival against the app's clock (`now`, set by the test).
 */
export class WebhookReceiver extends Context.Tag("test/WebhookReceiver")<
  WebhookReceiver,
  {
    readonly url: string
    readonly deliveries: ReadonlyArray<Delivery>
    readonly refuse: Set<string>
    readonly setClock: (now: () => number) => void
  }
>() {}

const fieldOf = (body: string): { id: string; type: string; userAddress: string; sessionId: string } => {
  try {
    const parsed: unknown = JSON.parse(body)
    const p = typeof parsed === "object" && parsed !== null ? parsed : {}
    const data = "data" in p && typeof p.data === "object" && p.data !== null ? p.data : {}
    const session = "session" in data && typeof data.session === "object" && data.session !== null ? data.session : {}
    return {
      id: "id" in p && typeof p.id === "string" ? p.id : "",
      type: "type" in p && typeof p.type === "string" ? p.type : "",
      userAddress: "userAddress" in session && typeof session.userAddress === "string" ? session.userAddress.toLowerCase() : "",
      sessionId: "sessionId" in session && typeof session.sessionId === "string" ? session.sessionId : ""
    }
  } catch {
    return { id: "", type: "", userAddress: "", sessionId: "" }
  }
}

export const WebhookReceiverLive = Layer.scoped(
  WebhookReceiver,
  Effect.gen(function* () {
    const deliveries: Array<Delivery> = []
    const refuse = new Set<string>()
    let now = () => Date.now()
    let requests = 0
    const server = yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof createServer>>((resume) => {
        const s = createServer((req, res) => {
          let body = ""
          req.setEncoding("utf8")
          req.on("data", (chunk: string) => (body += chunk))
          req.on("end", () => {
            requests++
            const f = fieldOf(body)
            const header = req.headers["payg-signature"]
            const verification = verifyWebhook(RECEIVER_SECRET, typeof header === "string" ? header : undefined, body, 300, Math.floor(now() / 1000))
            const answer: number | "dropped" = requests === 1 ? 500 : requests === 2 ? "dropped" : refuse.has(f.userAddress) ? 500 : 200
            deliveries.push({ eventId: f.id, type: f.type, userAddress: f.userAddress, sessionId: f.sessionId, body, verification, answer })
            if (answer === "dropped") {
              req.socket.destroy()
              return
            }
            res.writeHead(answer, { "content-type": "text/plain" }).end(answer === 200 ? "ok" : "no")
          })
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.promise(
          () =>
            new Promise((resolve) => {
              s.closeAllConnections()
              s.close(resolve)
            })
        )
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return WebhookReceiver.of({
      url: `http://127.0.0.1:${port}/hooks`,
      deliveries,
      refuse,
      setClock: (f) => {
        now = f
      }
    })
  })
)

/** Waits (polling, up to `within`) until `check` holds. */
export const eventually = (check: () => boolean, within: Duration.DurationInput = "60 seconds") =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(within))),
    Effect.orDie
  )
