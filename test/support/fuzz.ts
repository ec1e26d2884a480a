import { HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import * as http from "node:http"
import { Chain } from "../../src/domain/Chain.js"

/**
 * Helpers for hostile-input tests: a byte-exact HTTP client (node:http, no URL normalisation), the
 * checks every answer to hostile input must pass, and a snapshot of what such input must never change.
 */

export interface RawRequest {
  readonly method: string
  /** Sent verbatim as the request target (no normalisation of `..`, percent-escapes or case). */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Uint8Array | string
  /** Send the body with Transfer-Encoding: chunked (no Content-Length), in a few pieces. */
  readonly chunked?: boolean
}

export interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** The port of the test server. */
export const serverPort = Effect.flatMap(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? Effect.succeed(server.address.port) : Effect.dieMessage("the test server is not on TCP")
)

const bytesOf = (body: Uint8Array | string): Buffer => (typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body))

export const ANSWER_WITHIN_MS = 10_000

/** One request over a fresh connection, exactly as given. Fails (rejects) on a socket error. */
export const rawRequest = (port: number, req: RawRequest): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : bytesOf(req.body)
    const headers: Record<string, string> = { ...req.headers }
    if (body !== undefined && req.chunked !== true) headers["content-length"] = String(body.byteLength)
    const r = http.request({ host: "127.0.0.1", port, method: req.method, path: req.path, headers, agent: false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", reject)
    })
    // hostile input must be answered at once: a request still unanswered after this is a failure (a hang)
    r.setTimeout(ANSWER_WITHIN_MS, () => r.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms to ${req.method} ${req.path.slice(0, 200)}`)))
    r.on("error", reject)
    if (body === undefined) return void r.end()
    if (req.chunked === true) {
      const step = Math.max(1, Math.ceil(body.byteLength / 3))
      for (let i = 0; i < body.byteLength; i += step) r.write(body.subarray(i, i + step))
      return void r.end()
    }
    r.end(body)
  })

/** What may never appear in an answer: traces of a stack, a source path, a JS error, an internal tag. */
export const leakMarkers: ReadonlyArray<string> = ["    at ", "/work/", ".ts:", "node_modules", "_tag"]
const jsErrorPrefix = /(?:^|[^A-Za-z])(?:[A-Z][A-Za-z]*)?Error: /

/** True when a generated input carries none of the leak markers itself (an echo of it would be no leak). */
export const isInnocent = (text: string): boolean => !leakMarkers.some((m) => text.includes(m)) && !jsErrorPrefix.test(text)

const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * What a test expects of an answer: "4xx" (the input is invalid for the route whatever the server
 * makes of it) or "2xx|4xx" (the input may be harmlessly valid, e.g. an unknown query parameter).
 * Never, in either case, a 5xx or anything outside 2xx/4xx.
 */
export type Expectation = "4xx" | "2xx|4xx"

/** Every problem with an answer to hostile input; empty when it is acceptable. */
export const problemsOf = (res: RawResponse, expectation: Expectation): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const s = res.status
  const is2xx = s >= 200 && s < 300
  const is4xx = s >= 400 && s < 500
  if (!(is4xx || (is2xx && expectation === "2xx|4xx"))) problems.push(`status ${s}, expected ${expectation}`)
  for (const m of leakMarkers) if (res.body.includes(m)) problems.push(`body contains ${JSON.stringify(m)}`)
  const jsError = jsErrorPrefix.exec(res.body)
  if (jsError !== null) problems.push(`body contains a JS error prefix ${JSON.stringify(jsError[0])}`)
  if (s >= 400) {
    let parsed: unknown
    try {
      parsed = JSON.parse(res.body)
    } catch {
      problems.push("error body is not JSON")
      return problems
    }
    if (!isRecord(parsed)) {
      problems.push("error body is not a JSON object")
      return problems
    }
    const keys = Object.keys(parsed).sort().join(",")
    if (keys !== "error,message,statusCode,timestamp") problems.push(`error body keys are ${keys}`)
    if (typeof parsed.error !== "string" || parsed.error.length === 0) problems.push("error is not a non-empty string")
    if (typeof parsed.message !== "string" || parsed.message.length === 0) problems.push("message is not a non-empty string")
    if (parsed.statusCode !== s) problems.push(`statusCode ${String(parsed.statusCode)} differs from the HTTP status ${s}`)
    const ts = parsed.timestamp
    if (typeof ts !== "string" || !isoTimestamp.test(ts) || new Date(ts).toISOString() !== ts) {
      problems.push(`timestamp ${String(ts)} is not an ISO instant`)
    }
    const type = res.headers["content-type"] ?? ""
    if (!type.startsWith("application/json")) problems.push(`error content-type is ${type}`)
  } else if (is2xx && res.body.length > 0) {
    try {
      JSON.parse(res.body)
    } catch {
      problems.push("2xx body is not JSON")
    }
  }
  return problems
}

/** A short, printable description of a request for failure messages. */
export const describeRequest = (req: RawRequest): string => {
  const body =
    req.body === undefined
      ? ""
      : typeof req.body === "string"
        ? ` body(${req.body.length} chars)=${JSON.stringify(req.body.slice(0, 160))}`
        : ` body(${req.body.byteLength} bytes)=${Buffer.from(req.body.subarray(0, 80)).toString("hex")}`
  return `${req.method} ${JSON.stringify(req.path.slice(0, 300))} headers=${JSON.stringify(req.headers ?? {})}${req.chunked === true ? " chunked" : ""}${body}`
}

export const describeResponse = (res: RawResponse): string => `${res.status} ${res.body.slice(0, 400)}`

/** The persistent state hostile input must never change: rows that mean money or promises, and the chain's height. */
export interface StateSnapshot {
  readonly sessions: number
  readonly settlements: number
  readonly idempotencyKeys: number
  readonly blockNumber: bigint
}

export const snapshotState = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const chain = yield* Chain
  const count = (table: "sessions" | "settlements" | "idempotency_keys") =>
    Effect.map(sql<{ readonly n: string | number }>`SELECT count(*) AS n FROM ${sql(table)}`, (rows) => Number(rows[0]?.n ?? -1))
  const [sessions, settlements, idempotencyKeys] = yield* Effect.all([count("sessions"), count("settlements"), count("idempotency_keys")])
  const { blockNumber } = yield* chain.status
  return { sessions, settlements, idempotencyKeys, blockNumber } satisfies StateSnapshot
})
