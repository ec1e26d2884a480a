import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { decodeJwt } from "jose"
import { createHmac } from "node:crypto"
import { getAddress } from "viem"
import {
  type Answer,
  IsolatedApp,
  TEST_JWT_SECRET,
  alice,
  bearer,
  bob,
  captureLogs,
  dataField,
  get,
  helmetNames,
  messageOf,
  mintToken,
  postJson,
  rawGet,
  signIn,
  signedMessage,
  verify,
  withLogs
} from "./support/security.js"

const seedError = (status: number) => ({
  error: expect.any(String),
  message: expect.any(String),
  statusCode: status,
  timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
})

const app = {
  JWT_SECRET: TEST_JWT_SECRET,
  CORS_ORIGIN: "http://localhost:3000,https://app.example.com"
}

/**
 * Every route that acts for or reads a user's private data, as `address` would call it.
 * The session id is well formed but unknown: the ownership check comes first, then 404.
 */
const protectedRoutes = (address: string) => {
  const sessionId = "session_lx7g2h_a1b2c3d4"
  return [
    { name: "GET stats", run: (h: Record<string, string>) => get(`/api/user/${address}/stats`, h) },
    { name: "GET active", run: (h: Record<string, string>) => get(`/api/session/user/${address}/active`, h) },
    { name: "GET history", run: (h: Record<string, string>) => get(`/api/session/user/${address}/history`, h) },
    { name: "GET session", run: (h: Record<string, string>) => get(`/api/session/${sessionId}?userAddress=${address}`, h) },
    { name: "POST start", run: (h: Record<string, string>) => postJson("/api/session/start", { userAddress: address, contentId: "no-such-content" }, h) },
    { name: "POST pause", run: (h: Record<string, string>) => postJson("/api/session/pause", { sessionId, userAddress: address }, h) },
    { name: "POST resume", run: (h: Record<string, string>) => postJson("/api/session/resume", { sessionId, userAddress: address }, h) },
    { name: "POST stop", run: (h: Record<string, string>) => postJson("/api/session/stop", { sessionId, userAddress: address }, h) }
  ]
}

const statusesOf = (address: string, headers: Record<string, string>) =>
  Effect.forEach(protectedRoutes(address), (route) => Effect.map(route.run(headers), (a: Answer) => [route.name, a.status] as const))

/** The routes (of a `statusesOf` result) that refused the request for want of proof of address. */
const refused = (statuses: ReadonlyArray<readonly [string, number]>) => statuses.filter(([, status]) => status === 401 || status === 403)

const everyRoute = (status: number) => protectedRoutes("0x").map((route) => [route.name, status] as const)

const expectRejected = (answer: Answer, status: 401 | 403, pattern: RegExp) => {
  expect(answer.status).toBe(status)
  expect(answer.body).toEqual(seedError(status))
  expect(messageOf(answer)).toMatch(pattern)
}

describe("Sign-In with Ethereum (development mode)", () => {
  const logs = captureLogs()
  layer(withLogs(IsolatedApp(app), logs), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("nonce -> signed message -> JWT for the signing address, which then acts for it", () =>
      Effect.gen(function* () {
        const nonceAnswer = yield* get("/api/auth/nonce")
        expect(nonceAnswer.status).toBe(200)
        expect(dataField(nonceAnswer, "nonce")).toMatch(/^[A-Za-z0-9]{8,}$/)
        expect(dataField(nonceAnswer, "chainId")).toBe("31337")
        expect(Date.parse(dataField(nonceAnswer, "expiresAt"))).toBeGreaterThan(Date.now())

        const answer = yield* verify(yield* signedMessage(alice))
        expect(answer.status).toBe(200)
        const token = dataField(answer, "token")
        expect(dataField(answer, "address")).toBe(getAddress(alice.address))
        expect(Date.parse(dataField(answer, "expiresAt"))).toBeGreaterThan(Date.now())
        const claims = decodeJwt(token)
        expect(claims.sub).toBe(alice.address.toLowerCase())
        expect(claims.exp).toBe(Math.floor(Date.parse(dataField(answer, "expiresAt")) / 1000))

        const stats = yield* get(`/api/user/${alice.address}/stats`, bearer(token))
        expect(stats.status).toBe(200)
      }))

    it.effect("a replayed message (its nonce already used) is 401", () =>
      Effect.gen(function* () {
        const signed = yield* signedMessage(alice)
        expect((yield* verify(signed)).status).toBe(200)
        expectRejected(yield* verify(signed), 401, /nonce.*(unknown|already used)/)
      }))

    it.effect("the nonce is single use across concurrent attempts: exactly one succeeds", () =>
      Effect.gen(function* () {
        const signed = yield* signedMessage(alice)
        const answers = yield* Effect.all(Array.from({ length: 5 }, () => verify(signed)), { concurrency: "unbounded" })
        expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401, 401])
      }))

    it.effect("a nonce the server never issued is 401", () =>
      Effect.gen(function* () {
        expectRejected(yield* verify(yield* signedMessage(alice, { nonce: "abcdef0123456789abcdef0123456789" })), 401, /nonce/)
      }))

    it.effect("a message for another domain is 401, whatever Host the request carries", () =>
      Effect.gen(function* () {
        const signed = yield* signedMessage(alice, { domain: "evil.example.com" })
        expectRejected(yield* verify(signed), 401, /domain 'evil\.example\.com'/)
        // the request's own Host header is not a source of trust
        const viaHost = yield* postJson("/api/auth/verify", yield* signedMessage(alice, { domain: "evil.example.com" }), { host: "evil.example.com" })
        expect(viaHost.status).toBe(401)
        // every CORS origin's host is accepted by default
        expect((yield* verify(yield* signedMessage(alice, { domain: "app.example.com" }))).status).toBe(200)
      }))

    it.effect("an expired message is 401, and so is one not yet valid", () =>
      Effect.gen(function* () {
        const expired = yield* signedMessage(alice, { issuedAt: new Date(Date.now() - 120_000), expirationTime: new Date(Date.now() - 60_000) })
        expectRejected(yield* verify(expired), 401, /expired/)
        const early = yield* signedMessage(alice, { notBefore: new Date(Date.now() + 3_600_000) })
        expectRejected(yield* verify(early), 401, /not valid before/)
      }))

    it.effect("a message whose URI is not an http(s) URL on an accepted domain is 401", () =>
      Effect.gen(function* () {
        for (const uri of ["https://evil.example.com/login", "http://localhost:3001/", "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "did:pkh:eip155:1:0x0"]) {
          expectRejected(yield* verify(yield* signedMessage(alice, { uri })), 401, /URI/)
        }
        // any accepted domain's URL, with any path, is fine
        expect((yield* verify(yield* signedMessage(alice, { uri: "https://app.example.com/sign-in?from=nav" }))).status).toBe(200)
      }))

    it.effect("a message with text after its last field, or fields out of place, is 400", () =>
      Effect.gen(function* () {
        const sign = (message: string) => Effect.map(Effect.promise(() => alice.signMessage({ message })), (signature) => ({ message, signature }))
        const base = yield* signedMessage(alice)
        for (const message of [
          `${base.message}\nI also approve the transfer of all my USDC to 0x000000000000000000000000000000000000dEaD`,
          `${base.message}\n`,
          base.message.replace("\nURI: ", "\nExtra: line\nURI: "),
          base.message.replace(alice.address, alice.address.toLowerCase())
        ]) {
          const answer = yield* verify(yield* sign(message))
          expect(answer.status, JSON.stringify(message.slice(-80))).toBe(400)
          expect(answer.body).toEqual(seedError(400))
        }
        // the untouched message still signs in (its nonce was never consumed by the refusals)
        expect((yield* verify(base)).status).toBe(200)
      }))

    it.effect("a message for another chain is 401", () =>
      Effect.gen(function* () {
        expectRejected(yield* verify(yield* signedMessage(alice, { chainId: 1 })), 401, /chain 1/)
      }))

    it.effect("a bad signature is 401: signed by another key, or tampered with after signing", () =>
      Effect.gen(function* () {
        const byBob = yield* signedMessage(alice)
        const forged = { message: byBob.message, signature: yield* Effect.promise(() => bob.signMessage({ message: byBob.message })) }
        expectRejected(yield* verify(forged), 401, /signature/)
        const signed = yield* signedMessage(alice)
        const tampered = { message: signed.message.replace("Sign in to payg", "Sign in to pay"), signature: signed.signature }
        expectRejected(yield* verify(tampered), 401, /signature/)
        const garbage = { message: signed.message, signature: "0xdeadbeef" as const }
        expectRejected(yield* verify(garbage), 401, /signature/)
      }))

    it.effect("a message that is not EIP-4361, or a malformed body, is 400", () =>
      Effect.gen(function* () {
        const notSiwe = yield* postJson("/api/auth/verify", { message: "hello", signature: "0x00" })
        expect(notSiwe.status).toBe(400)
        expect(notSiwe.body).toEqual(seedError(400))
        const noSignature = yield* postJson("/api/auth/verify", { message: "hello" })
        expect(noSignature.status).toBe(400)
        expect(noSignature.body).toEqual(seedError(400))
      }))

    it.effect("nonces live in PostgreSQL and a used one is deleted", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const signed = yield* signedMessage(alice)
        const nonce = /Nonce: ([A-Za-z0-9]+)/.exec(signed.message)?.[1] ?? ""
        expect(yield* sql`SELECT 1 FROM auth_nonces WHERE nonce = ${nonce}`).toHaveLength(1)
        expect((yield* verify(signed)).status).toBe(200)
        expect(yield* sql`SELECT 1 FROM auth_nonces WHERE nonce = ${nonce}`).toHaveLength(0)
      }))

    it.effect("ownership in development: no token acts for the named address; a token is always checked", () =>
      Effect.gen(function* () {
        const aliceToken = yield* signIn(alice)
        const bobToken = yield* signIn(bob)
        const expired = yield* mintToken({ sub: alice.address, expiresInSeconds: -60 })
        const foreign = yield* mintToken({ sub: alice.address, secret: "another-secret-another-secret-another" })

        expect(refused(yield* statusesOf(alice.address, {}))).toEqual([])
        expect(refused(yield* statusesOf(alice.address, bearer(aliceToken)))).toEqual([])
        expect(yield* statusesOf(alice.address, bearer(bobToken))).toEqual(everyRoute(403))
        expect(yield* statusesOf(alice.address, bearer(expired))).toEqual(everyRoute(401))
        expect(yield* statusesOf(alice.address, bearer(foreign))).toEqual(everyRoute(401))
        expect(yield* statusesOf(alice.address, { authorization: "Basic YWxpY2U6c2VjcmV0" })).toEqual(everyRoute(401))

        const other = yield* get(`/api/user/${alice.address}/stats`, bearer(bobToken))
        expectRejected(other, 403, new RegExp(`for ${getAddress(bob.address)}`))
        const stale = yield* get(`/api/user/${alice.address}/stats`, bearer(expired))
        expectRejected(stale, 401, /expired/)
        expect(stale.headers["www-authenticate"]).toMatch(/^Bearer/)
        // the address in the path is compared case-insensitively with the token's
        expect((yield* get(`/api/user/${alice.address.toUpperCase().replace("0X", "0x")}/stats`, bearer(aliceToken))).status).toBe(200)
      }))

    it.effect("a validly signed token whose sub is not an address string is 401 on every route, never 500", () =>
      Effect.gen(function* () {
        // signed by hand: jose's SignJWT types `sub` as a string
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
        const sign = (sub: unknown) =>
          Effect.sync(() => {
            const now = Math.floor(Date.now() / 1000)
            const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, iss: "payg", aud: "payg-api", iat: now, exp: now + 600 })}`
            return `${unsigned}.${createHmac("sha256", TEST_JWT_SECRET).update(unsigned).digest("base64url")}`
          })
        for (const sub of [42, [alice.address.toLowerCase()], { address: alice.address }, true, null, "not-an-address"]) {
          const token = yield* sign(sub)
          expect(yield* statusesOf(alice.address, bearer(token)), JSON.stringify(sub)).toEqual(everyRoute(401))
        }
      }))

    it.effect("no token, JWT_SECRET or Authorization header value ever reaches the logs", () =>
      Effect.gen(function* () {
        const token = yield* signIn(alice)
        yield* get(`/api/user/${alice.address}/stats`, bearer(token))
        yield* get(`/api/user/${bob.address}/stats`, bearer(token))
        yield* get(`/api/user/${alice.address}/stats`, { authorization: "Bearer not.a.jwt" })
        yield* postJson("/api/session/start", { userAddress: alice.address, contentId: "intro-to-defi" }, bearer(token))
        expect(logs.lines.length).toBeGreaterThan(0)
        expect(logs.lines.some((l) => l.includes('"http request"') && l.includes("/api/user/:userAddress/stats"))).toBe(true)
        const all = logs.lines.join("\n")
        expect(all).not.toContain(token)
        expect(all).not.toContain(token.split(".")[2] ?? token)
        expect(all).not.toContain(TEST_JWT_SECRET)
        expect(all).not.toContain("not.a.jwt")
        // no header dump: neither the header's name as a key nor its scheme (a migration may be named for authorizations)
        expect(all).not.toMatch(/"authorization"\s*:/i)
        expect(all).not.toMatch(/bearer\s/i)
      }))
  })
})

describe("Ownership when auth is required (AUTH_REQUIRED=true; security headers, compression and metrics off)", () => {
  const logs = captureLogs()
  const flagsOff = { ENABLE_HELMET: "false", ENABLE_COMPRESSION: "false", ENABLE_METRICS: "false" }
  layer(withLogs(IsolatedApp({ ...app, ...flagsOff, AUTH_REQUIRED: "true" }), logs), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("no token is 401, another address's token is 403, the address's own token passes", () =>
      Effect.gen(function* () {
        const aliceToken = yield* signIn(alice)
        const bobToken = yield* signIn(bob)
        expect(yield* statusesOf(alice.address, {})).toEqual(everyRoute(401))
        expect(yield* statusesOf(alice.address, bearer(bobToken))).toEqual(everyRoute(403))
        expect(refused(yield* statusesOf(alice.address, bearer(aliceToken)))).toEqual([])
        const anonymous = yield* get(`/api/user/${alice.address}/stats`)
        expectRejected(anonymous, 401, /authentication required/)
        expect(anonymous.headers["www-authenticate"]).toBe('Bearer realm="payg"')
      }))

    it.effect("a full session lifecycle works with the owner's token", () =>
      Effect.gen(function* () {
        const token = yield* signIn(alice)
        const started = yield* postJson("/api/session/start", { userAddress: alice.address, contentId: "intro-to-defi" }, bearer(token))
        expect(started.status).toBe(201)
        const sessionId = dataField(started, "sessionId")
        expect((yield* postJson("/api/session/pause", { sessionId, userAddress: alice.address }, bearer(token))).status).toBe(200)
        // bob cannot touch it, even naming alice
        const bobToken = yield* signIn(bob)
        expect((yield* postJson("/api/session/resume", { sessionId, userAddress: alice.address }, bearer(bobToken))).status).toBe(403)
        expect((yield* postJson("/api/session/resume", { sessionId, userAddress: alice.address }, bearer(token))).status).toBe(200)
        expect((yield* get(`/api/session/${sessionId}?userAddress=${alice.address}`, bearer(token))).status).toBe(200)
        const stopped = yield* postJson("/api/session/stop", { sessionId, userAddress: alice.address }, bearer(token))
        expect([200, 202]).toContain(stopped.status)
      }))

    it.effect("public routes need no token", () =>
      Effect.gen(function* () {
        expect((yield* get("/health")).status).toBe(200)
        expect((yield* get("/api/content")).status).toBe(200)
        expect((yield* get(`/api/user/${alice.address}/balance`)).status).toBe(200)
        expect((yield* get("/api/auth/nonce")).status).toBe(200)
      }))

    it.effect("with the flags off: no security headers, no compression, no /metrics", () =>
      Effect.gen(function* () {
        const health = yield* get("/health")
        for (const name of helmetNames) expect(health.headers[name], name).toBeUndefined()
        expect(health.headers["x-request-id"]).toBeDefined()
        const spec = yield* rawGet("/openapi.json", { "accept-encoding": "gzip, br" })
        expect(spec.headers["content-encoding"]).toBeUndefined()
        expect(JSON.parse(new TextDecoder().decode(spec.bytes))).toMatchObject({ openapi: expect.any(String) })
        const metrics = yield* get("/metrics")
        expect(metrics.status).toBe(404)
        expect(metrics.body).toEqual(seedError(404))
      }))
  })
})
