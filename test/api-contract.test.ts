import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  type Answer,
  IsolatedApp,
  TEST_JWT_SECRET,
  alice,
  bearer,
  bob,
  get,
  postJson,
  send,
  signIn
} from "./support/security.js"
import { type HttpClient, HttpClientRequest } from "@effect/platform"

/**
 * The OpenAPI document of the real server is the contract: every operation that declares the bearer
 * scheme refuses a missing token (401) and a token for another address (403) when auth is required,
 * and every operation that does not is on the list of public routes below.
 */

interface Operation {
  readonly security?: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string; readonly required?: boolean }>
  readonly requestBody?: { readonly content: Record<string, { readonly schema: SchemaObject }> }
  readonly responses: Record<string, unknown>
}
interface SchemaObject {
  readonly $ref?: string
  readonly required?: ReadonlyArray<string>
}
interface Document {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: { readonly schemas: Record<string, SchemaObject>; readonly securitySchemes: Record<string, unknown> }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isDocument = (u: unknown): u is Document => isRecord(u) && isRecord(u["paths"]) && isRecord(u["components"])

/** The routes that are public by design: nothing in them is private to a user. */
const PUBLIC = [
  "GET /health",
  "GET /api/status",
  "GET /api/content",
  "GET /api/content/{contentId}",
  "GET /api/user/{userAddress}/balance",
  "GET /api/creator/{creatorAddress}/earnings",
  "GET /api/auth/nonce",
  "POST /api/auth/verify",
  "GET /api/watch/config"
]

/** A valid value for each parameter or body field a route can name (the user is always `user`). */
const valueFor = (name: string, user: string): string => {
  switch (name) {
    case "userAddress":
    case "creatorAddress":
      return user
    case "sessionId":
      return "session_lx7g2h_a1b2c3d4"
    case "contentId":
      return "no-such-content"
    case "title":
    case "category":
      return "x"
    case "fullPrice":
      return "1"
    case "totalDuration":
      return "1"
    default:
      throw new Error(`the contract test does not know how to fill '${name}': add it to valueFor`)
  }
}

const documentOf = Effect.map(get("/openapi.json"), (answer) => {
  if (!isDocument(answer.body)) throw new Error("/openapi.json is not an OpenAPI document")
  return answer.body
})

const operationsOf = (doc: Document) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, op }))
  )

const isSecured = (op: Operation) => (op.security ?? []).some((requirement) => "bearer" in requirement)
/** The operators' routes (src/admin/Operator.ts): a sign-in token of an address in ADMIN_ADDRESSES. */
const isOperatorOnly = (op: Operation) => (op.security ?? []).some((requirement) => "operatorBearer" in requirement)

/** Calls an operation as a client acting for `user` would, with `headers`. */
const call = (doc: Document, entry: ReturnType<typeof operationsOf>[number], user: string, headers: Record<string, string>): Effect.Effect<Answer, never, HttpClient.HttpClient> => {
  const path = entry.path.replace(/\{([^}]+)\}/g, (_, name: string) => valueFor(name, user))
  const query = (entry.op.parameters ?? [])
    .filter((p) => p.in === "query" && p.required === true)
    .map((p) => `${p.name}=${encodeURIComponent(valueFor(p.name, user))}`)
  const url = query.length > 0 ? `${path}?${query.join("&")}` : path
  if (entry.method === "get") return get(url, headers)
  const schema = entry.op.requestBody?.content["application/json"]?.schema
  const resolved = schema?.$ref === undefined ? schema : doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")]
  const body = Object.fromEntries((resolved?.required ?? []).map((name) => [name, valueFor(name, user)]))
  return entry.method === "post" ? postJson(url, body, headers) : send(HttpClientRequest.make("PUT")(url, { headers }))
}

describe("the OpenAPI document's security, proven on the real server (AUTH_REQUIRED=true)", () => {
  layer(IsolatedApp({ JWT_SECRET: TEST_JWT_SECRET, AUTH_REQUIRED: "true" }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("the bearer scheme is declared, and every operation without it is on the public list", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        expect(doc.components.securitySchemes["bearer"]).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" })
        const open = operationsOf(doc).filter((e) => !isSecured(e.op) && !isOperatorOnly(e.op)).map((e) => e.key)
        expect(open.sort()).toEqual([...PUBLIC].sort())
        const secured = operationsOf(doc).filter((e) => isSecured(e.op)).map((e) => e.key)
        expect(secured.length).toBe(11)
      }))

    it.effect("every secured operation: no token is 401 with a challenge, another address's token is 403, the owner's passes", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        const bobToken = yield* signIn(bob)
        const aliceToken = yield* signIn(alice)
        for (const entry of operationsOf(doc).filter((e) => isSecured(e.op))) {
          const anonymous = yield* call(doc, entry, alice.address, {})
          expect(anonymous.status, entry.key).toBe(401)
          expect(anonymous.body, entry.key).toMatchObject({ error: "Unauthorized", statusCode: 401, message: expect.stringMatching(/authentication required/) })
          expect(anonymous.headers["www-authenticate"], entry.key).toBe('Bearer realm="payg"')
          expect(Object.keys(entry.op.responses), entry.key).toEqual(expect.arrayContaining(["401", "403"]))

          const foreign = yield* call(doc, entry, alice.address, bearer(bobToken))
          expect(foreign.status, entry.key).toBe(403)
          expect(foreign.body, entry.key).toMatchObject({ error: "Forbidden", statusCode: 403 })

          const own = yield* call(doc, entry, alice.address, bearer(aliceToken))
          expect([401, 403], entry.key).not.toContain(own.status)
        }
      }))

    it.effect("every operator operation: no token is 401, a viewer's token is 403, both documented", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        expect(doc.components.securitySchemes["operatorBearer"]).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" })
        const aliceToken = yield* signIn(alice)
        const operators = operationsOf(doc).filter((e) => isOperatorOnly(e.op))
        expect(operators.map((e) => e.key).sort()).toEqual([
          "POST /api/admin/content",
          "POST /api/admin/content/{contentId}",
          "POST /api/admin/content/{contentId}/activate",
          "POST /api/admin/content/{contentId}/delist"
        ])
        for (const entry of operators) {
          expect(Object.keys(entry.op.responses), entry.key).toEqual(expect.arrayContaining(["401", "403"]))
          const anonymous = yield* call(doc, entry, alice.address, {})
          expect(anonymous.status, entry.key).toBe(401)
          const viewer = yield* call(doc, entry, alice.address, bearer(aliceToken))
          expect(viewer.status, entry.key).toBe(403)
          expect(viewer.body, entry.key).toMatchObject({ error: "Forbidden", statusCode: 403 })
        }
      }))

    it.effect("each operation lists exactly the answers it can give, and is documented well enough to generate a client from", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        const statuses = Object.fromEntries(operationsOf(doc).map((e) => [e.key, Object.keys(e.op.responses).sort()]))
        expect(statuses["GET /health"]).toEqual(["200", "503"])
        expect(statuses["GET /api/content"]).toEqual(["200", "400", "429", "503"])
        expect(statuses["GET /api/content/{contentId}"]).toEqual(["200", "400", "404", "429", "503"])
        expect(statuses["GET /api/user/{userAddress}/balance"]).toEqual(["200", "400", "429", "503"])
        expect(statuses["GET /api/creator/{creatorAddress}/earnings"]).toEqual(["200", "400", "429", "503"])
        expect(statuses["GET /api/user/{userAddress}/stats"]).toEqual(["200", "400", "401", "403", "429", "503"])
        expect(statuses["POST /api/session/start"]).toEqual(["201", "400", "401", "402", "403", "404", "409", "413", "415", "422", "429", "503"])
        expect(statuses["POST /api/session/stop"]).toEqual(["200", "202", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"])
        expect(statuses["POST /api/session/quote"]).toEqual(["200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"])
        expect(statuses["POST /api/session/heartbeat"]).toEqual(["200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"])
        expect(statuses["GET /api/watch/config"]).toEqual(["200", "429", "503"])
        for (const entry of operationsOf(doc)) {
          const op: Record<string, unknown> = { ...entry.op }
          expect(typeof op["summary"], entry.key).toBe("string")
          expect(typeof op["description"], entry.key).toBe("string")
          const ok = Object.entries(entry.op.responses).find(([status]) => status.startsWith("2"))?.[1]
          expect(JSON.stringify(ok), entry.key).toContain('"X-Request-Id"')
          const names = (entry.op.parameters ?? []).map((p) => p.name)
          if (entry.method === "post") expect(names, entry.key).toContain("Idempotency-Key")
          expect(JSON.stringify(entry.op.responses["400"] ?? {}), entry.key).not.toContain("HttpApiDecodeError")
        }
        const text = JSON.stringify(doc)
        // amounts are digit strings, timestamps date-time, integers integers
        const start = JSON.stringify(doc.paths["/api/session/start"]?.["post"]?.responses["201"])
        expect(start).toContain('"estimatedCost":{"type":"string","pattern":"^[0-9]{1,78}$"')
        expect(start).toContain('"startTime":{"type":"string","format":"date-time"')
        expect(JSON.stringify(doc.paths["/api/status"]?.["get"]?.responses["200"])).toContain('"blockNumber":{"$ref":"#/components/schemas/Int"}')
        expect(text).not.toContain('"type":"number"')
        const list = doc.paths["/api/content"]?.["get"]?.parameters ?? []
        expect(JSON.stringify(list.find((p) => p.name === "limit"))).toContain('"pattern":"^([1-9][0-9]?|100)$"')
        expect(JSON.stringify(list.find((p) => p.name === "cursor"))).toContain("ContentCursor")
        expect(JSON.stringify(doc.components.schemas["ContentCursor"])).toContain('"pattern":"^[A-Za-z0-9_-]{1,300}$"')
        expect(text).toContain('"MethodNotAllowed"')
        expect(text).toContain('"Allow"')
        expect(text).toContain('"Retry-After"')
        expect(text).toContain('"RateLimit-Remaining"')
      }))

    it.effect("every public operation answers without a token", () =>
      Effect.gen(function* () {
        const doc = yield* documentOf
        for (const entry of operationsOf(doc).filter((e) => !isSecured(e.op) && !isOperatorOnly(e.op) && e.method === "get")) {
          const answer = yield* call(doc, entry, alice.address, {})
          expect([401, 403], entry.key).not.toContain(answer.status)
        }
      }))
  })
})

describe("validation failures (development mode)", () => {
  layer(IsolatedApp({ JWT_SECRET: TEST_JWT_SECRET }), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a decode failure is the seed's 400 in plain words, naming the field, without schema internals", () =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [string, string]> = [
          ["/api/content?limit=0", "invalid request: limit must be an integer from 1 to 100"],
          [`/api/session/user/${alice.address}/history?limit=abc`, "invalid request: limit must be an integer from 1 to 100"],
          ["/api/session/session_lx7g2h_a1b2c3d4", "invalid request: userAddress is required"]
        ]
        for (const [url, message] of cases) {
          const answer = yield* get(url)
          expect(answer.status, url).toBe(400)
          expect(answer.body, url).toEqual({ error: "Bad Request", statusCode: 400, message, timestamp: expect.any(String) })
        }
        const extra = yield* postJson("/api/session/start", { userAddress: alice.address, contentId: "intro-to-defi", extra: 1 })
        expect(extra.body).toMatchObject({ statusCode: 400, message: "invalid request: extra is not a field of this request" })
      }))

    it.effect("an invalid request holding an Idempotency-Key keeps nothing: the key is free again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const key = `contract-${Date.now()}`
        const invalid = yield* postJson("/api/session/start", { userAddress: alice.address }, { "idempotency-key": key })
        expect(invalid.status).toBe(400)
        expect(yield* sql`SELECT 1 FROM idempotency_keys WHERE key = ${key}`).toHaveLength(0)
        const again = yield* postJson("/api/session/start", { userAddress: alice.address }, { "idempotency-key": key })
        expect(again.status).toBe(400)
        expect(again.headers["idempotent-replayed"]).toBeUndefined()
      }))
  })
})
