import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Layer, Logger } from "effect"
import { SignJWT } from "jose"
import { type Hex, type PrivateKeyAccount } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { type SiweMessage, createSiweMessage } from "viem/siwe"
import { TestApp } from "./app.js"

/** A JWT_SECRET for tests (long enough for production rules too). */
export const TEST_JWT_SECRET = "payg-test-secret-7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c8e"

/** Fixed, well-known keys (Hardhat's accounts #1 and #2: demo viewers on the in-process chain). */
export const alice: PrivateKeyAccount = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
export const bob: PrivateKeyAccount = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")

/**
 * Collects every log line the app writes, in the exact JSON the production logger prints, so a test
 * can look for what must never be logged. Provide `layer` under the app layer.
 */
export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.map(Logger.jsonLogger, (line) => {
    lines.push(line)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
}

const toAnswer = (res: { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly text: Effect.Effect<string, unknown> }) =>
  Effect.map(Effect.orDie(res.text), (text): Answer => {
    let body: unknown = text
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body }
  })

/** Sends a request and reads the whole answer (never fails on a status). */
export const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.flatMap(HttpClient.HttpClient, (http) => Effect.flatMap(Effect.orDie(http.execute(request)), toAnswer))

export const get = (url: string, headers: Record<string, string> = {}) => send(HttpClientRequest.get(url, { headers }))

export const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  send(HttpClientRequest.post(url, { headers }).pipe(HttpClientRequest.bodyUnsafeJson(body)))

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** `body.data.<key>` of an enveloped answer, as a string. */
export const dataField = (answer: Answer, key: string): string => {
  const body = answer.body
  if (typeof body !== "object" || body === null || !("data" in body)) throw new Error(`not an envelope: ${JSON.stringify(body)}`)
  const data: unknown = body.data
  if (typeof data !== "object" || data === null || !(key in data)) throw new Error(`no data.${key}: ${JSON.stringify(body)}`)
  const value: unknown = Reflect.get(data, key)
  return String(value)
}

export const messageOf = (answer: Answer): string => {
  const body = answer.body
  return typeof body === "object" && body !== null && "message" in body ? String(body.message) : ""
}

/** A fresh nonce from the server. */
export const fetchNonce = Effect.map(get("/api/auth/nonce"), (answer) => dataField(answer, "nonce"))

/** A signed EIP-4361 message for `account` over a fresh nonce (fields may be overridden). */
export const signedMessage = (account: PrivateKeyAccount, overrides: Partial<SiweMessage> = {}) =>
  Effect.gen(function* () {
    const nonce = yield* fetchNonce
    const message = createSiweMessage({
      address: account.address,
      chainId: 31337,
      domain: "localhost:3000",
      nonce,
      uri: "http://localhost:3000/",
      version: "1",
      issuedAt: new Date(),
      statement: "Sign in to payg",
      ...overrides
    })
    const signature: Hex = yield* Effect.promise(() => account.signMessage({ message }))
    return { message, signature }
  })

export const verify = (signed: { readonly message: string; readonly signature: Hex }) => postJson("/api/auth/verify", signed)

/** Signs in `account` through the real flow and returns its bearer token. */
export const signIn = (account: PrivateKeyAccount) =>
  Effect.gen(function* () {
    const answer = yield* verify(yield* signedMessage(account))
    if (answer.status !== 200) throw new Error(`sign-in failed: ${answer.status} ${JSON.stringify(answer.body)}`)
    return dataField(answer, "token")
  })

/** A token minted directly (e.g. already expired, or with another secret). */
export const mintToken = (options: { readonly sub: string; readonly secret?: string; readonly expiresInSeconds?: number }) =>
  Effect.promise(() => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(options.sub.toLowerCase())
      .setIssuer("payg")
      .setAudience("payg-api")
      .setIssuedAt(now - 7200)
      .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
      .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET))
  })

export const withLogs = <A, E, R>(app: Layer.Layer<A, E, R>, logs: ReturnType<typeof captureLogs>) => app.pipe(Layer.provide(logs.layer))

/**
 * `TestApp` isolated from every other layer of the test file. Under @effect/vitest, two `it.layer`s in
 * one file were seen to share memoized module-level layers (the second TestApp got the first one's
 * configuration); `Layer.fresh` builds the whole app in a memo map of its own.
 */
export const IsolatedApp = (vars: Record<string, string>) => Layer.fresh(TestApp(vars))

/** The headers ENABLE_HELMET adds (helmet's defaults). */
export const helmetNames = [
  "content-security-policy",
  "cross-origin-opener-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "referrer-policy",
  "strict-transport-security",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-frame-options",
  "x-permitted-cross-domain-policies",
  "x-xss-protection"
]

/** Raw bytes of an answer (no decoding of any Content-Encoding). */
export const rawGet = (url: string, headers: Record<string, string>) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const res = yield* Effect.orDie(client.execute(HttpClientRequest.get(url, { headers })))
    const bytes = new Uint8Array(yield* Effect.orDie(res.arrayBuffer))
    return { status: res.status, headers: res.headers, bytes }
  })
