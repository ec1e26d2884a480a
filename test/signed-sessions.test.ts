/**
 * Viewer-signed sessions through the API (issue 14), on the in-process chain deployed with
 * `requireAuthorization`: the viewer quotes, signs the typed data with viem's `signTypedData` (Hardhat's
 * development keys) and starts with the signature; every send of the settlement (the stop's own, a
 * batch, the reconciler's resend, a debt's retry) carries it, or the wallet would refuse it.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { type HDAccount } from "viem/accounts"
import { readFileSync } from "node:fs"
import { createWalletClient, isHex, parseAbi } from "viem"
import { yieldVaultAbi } from "../src/chain/contracts.js"
import { DevChain } from "../src/chain/ChainInProcess.js"
import { type Address, toAddress } from "../src/domain/Address.js"
import { Chain } from "../src/domain/Chain.js"
import { ContentId } from "../src/domain/Content.js"
import { SessionId } from "../src/domain/Session.js"
import { SettlementOutbox } from "../src/session/SettlementOutbox.js"
import { TestApp, apiClient } from "./support/app.js"
import { TimeTravel } from "./support/clock.js"
import { devAccount } from "./support/devKeys.js"
import { FlakyTestApp, whileChainDown } from "./support/flakyChain.js"
import { getJson, postJson, seedErrorBody } from "./support/http.js"
import { TEST_JWT_SECRET } from "./support/security.js"
import { USDC, settlementsOnChain } from "./support/users.js"

const cid = (id: string) => ContentId.make(id)

/** A Hardhat development account funded in the vault (its consent to the wallet given), ready to sign. */
const viewer = (index: number, principal = 50n * USDC) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const account = devAccount(index)
    const user = toAddress(account.address)
    yield* dev.fund(user, { principal, yieldAmount: 0n, allowance: 1_000n * USDC })
    return { account, user }
  })

type Viewer = { readonly account: HDAccount; readonly user: Address }

/** test/globalSetup.ts compiles the contracts: the test-only EIP-1271 wallet's creation code. */
const mockWalletBytecode = () => {
  const artifact: unknown = JSON.parse(readFileSync("artifacts/contracts/mocks/MockERC1271Wallet.sol/MockERC1271Wallet.json", "utf8"))
  const bytecode = typeof artifact === "object" && artifact !== null && "bytecode" in artifact ? artifact.bytecode : undefined
  if (typeof bytecode !== "string" || !isHex(bytecode)) throw new Error("MockERC1271Wallet is not compiled")
  return bytecode
}

/** A contract wallet owned by `owner`'s key (it accepts what that key signs), funded in the vault. */
const contractViewer = (owner: HDAccount) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const address = yield* Effect.promise(async () => {
      const hash = await dev.walletClient.deployContract({ abi: parseAbi(["constructor(address owner_)"]), bytecode: mockWalletBytecode(), args: [owner.address] })
      const receipt = await dev.publicClient.waitForTransactionReceipt({ hash })
      if (!receipt.contractAddress) throw new Error("no contract wallet")
      return toAddress(receipt.contractAddress)
    })
    yield* dev.fund(address, { principal: 50n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
    return { account: owner, user: address }
  })

/** Asks for a quote through the typed client. */
const quote = (v: Viewer, contentId: string) =>
  Effect.flatMap(apiClient, (client) => client.session.quote({ payload: { userAddress: v.user, contentId: cid(contentId) } }))

type Quoted = Effect.Effect.Success<ReturnType<typeof quote>>["data"]

/**
 * Signs a quote's typed data as the API gives it (uint256 fields read as bigint), with `changes` to the
 * signed terms for the refusal tests; the `authorization` field of the start request.
 */
const sign = (
  signer: HDAccount,
  q: Quoted,
  changes: { readonly contentId?: `0x${string}`; readonly sessionKey?: bigint; readonly maxAmount?: bigint; readonly deadline?: bigint } = {}
) =>
  Effect.gen(function* () {
    const t = q.typedData
    const message = {
      viewer: t.message.viewer,
      contentId: changes.contentId ?? t.message.contentId,
      sessionKey: changes.sessionKey ?? BigInt(t.message.sessionKey),
      maxAmount: changes.maxAmount ?? BigInt(t.message.maxAmount),
      deadline: changes.deadline ?? BigInt(t.message.deadline)
    }
    const signature = yield* Effect.promise(() => signer.signTypedData({ domain: t.domain, types: t.types, primaryType: t.primaryType, message }))
    return { sessionKey: message.sessionKey.toString(), maxAmount: message.maxAmount.toString(), deadline: Number(message.deadline), signature }
  })

const start = (v: Viewer, contentId: string, authorization?: unknown) =>
  postJson("/api/session/start", { userAddress: v.user, contentId, ...(authorization === undefined ? {} : { authorization }) })

const stop = (sessionId: string, v: Viewer) => postJson("/api/session/stop", { sessionId, userAddress: v.user })

const dataOf = (body: unknown): Record<string, unknown> => {
  if (typeof body !== "object" || body === null || !("data" in body) || typeof body.data !== "object" || body.data === null) {
    throw new Error(`not an envelope: ${JSON.stringify(body)}`)
  }
  return { ...body.data }
}

const detailOf = (sessionId: string, v: Viewer) =>
  Effect.flatMap(apiClient, (client) => client.session.get({ path: { sessionId: SessionId.make(sessionId) }, urlParams: { userAddress: v.user } }))

/** What the database holds for a viewer: their sessions, and the quote of a key (null when none). */
const stored = (v: Viewer, sessionKey: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sessions = yield* sql<{ readonly id: string }>`SELECT id FROM sessions WHERE user_address = ${v.user} ORDER BY id`
    const quotes = yield* sql<{ readonly sessionId: string | null }>`
      SELECT session_id AS "sessionId" FROM session_quotes WHERE settlement_key = ${sessionKey}::numeric`
    return { sessions: sessions.map((s) => s.id), quote: quotes[0] ?? null }
  })

const signatureOnChain = (sessionKey: bigint) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const [event] = yield* settlementsOnChain(sessionKey)
    if (event === undefined) return null
    const tx = yield* Effect.promise(() => dev.publicClient.getTransaction({ hash: event.transactionHash }))
    return { event, input: tx.input }
  })

describe("signed sessions: a wallet that requires viewers' authorizations", () => {
  it.layer(FlakyTestApp({ RECONCILE_INTERVAL: "24 hours", SETTLEMENT_BATCH_WINDOW: "300 millis" }, { requireAuthorization: true }), { timeout: 240_000 })(
    (it) => {
      it.effect("status says so; quote, sign, start, stop: the settlement carries the viewer's signature and charges the billed cost", () =>
        Effect.gen(function* () {
          const chain = yield* Chain
          const time = yield* TimeTravel
          const status = yield* getJson("/api/status")
          expect(status.body).toMatchObject({ status: "operational", authorizationRequired: true })
          const v = yield* viewer(6)
          const q = yield* quote(v, "intro-to-defi")
          expect(q.data).toMatchObject({ contentId: "intro-to-defi", authorizationRequired: true, maxAmount: 10n * USDC })
          expect(q.data.typedData).toMatchObject({
            domain: { name: "StreamingWallet", version: "1", chainId: 31337, verifyingContract: chain.binding.wallet },
            primaryType: "SessionAuthorization",
            message: { viewer: v.user, sessionKey: q.data.sessionKey, maxAmount: "10000000", deadline: String(q.data.deadline) }
          })
          const authorization = yield* sign(v.account, q.data)
          const started = yield* start(v, "intro-to-defi", authorization)
          expect(started.status).toBe(201)
          const session = dataOf(started.body)
          // the key the viewer signed is the key the session got, and the quote is now used by it
          expect(session["settlementKey"]).toBe(q.data.sessionKey)
          expect(yield* stored(v, q.data.sessionKey)).toEqual({ sessions: [session["sessionId"]], quote: { sessionId: session["sessionId"] } })
          yield* time.advance("18 minutes")
          const stopped = yield* stop(String(session["sessionId"]), v)
          expect(stopped.status).toBe(200)
          expect(stopped.body).toMatchObject({ data: { status: "completed" } })
          const paid = yield* signatureOnChain(BigInt(q.data.sessionKey))
          expect(toAddress(String(paid?.event.args.user))).toBe(v.user)
          expect(paid?.event.args.amount).toBe(BigInt(String(dataOf(stopped.body)["finalCost"])))
          expect(paid?.input).toContain(authorization.signature.slice(2).toLowerCase())
          expect(yield* chain.balancesOf(v.user)).toEqual({ yieldBalance: 0n, principal: 50n * USDC - (paid?.event.args.amount ?? 0n) })
        }))

      it.effect("the unsigned flow is refused with 400 and nothing is stored", () =>
        Effect.gen(function* () {
          const v = yield* viewer(7)
          const refused = yield* start(v, "intro-to-defi")
          expect(refused.status).toBe(400)
          expect(refused.body).toEqual(seedErrorBody(400, "Bad Request"))
          expect(refused.body).toMatchObject({ message: expect.stringContaining("POST /api/session/quote") })
          expect((yield* stored(v, "0")).sessions).toEqual([])
        }))

      it.effect("each bad authorization is 400 in the seed's format, and neither the sessions nor the quote change", () =>
        Effect.gen(function* () {
          const time = yield* TimeTravel
          const v = yield* viewer(8)
          const q = yield* quote(v, "intro-to-defi")
          const other = yield* quote(v, "yield-farming-101")
          const unquotedKey = BigInt(other.data.sessionKey) + 1_000n
          const cases: ReadonlyArray<readonly [string, Effect.Effect<{ readonly contentId: string; readonly authorization: unknown }>]> = [
            ["wrong signer", Effect.map(sign(devAccount(9), q.data), (a) => ({ contentId: "intro-to-defi", authorization: a }))],
            // signed for another content, sent for this one
            ["another content (signature)", Effect.map(sign(v.account, q.data, { contentId: other.data.typedData.message.contentId }), (a) => ({ contentId: "intro-to-defi", authorization: a }))],
            // a valid signature of another content's terms, with this content's quoted key
            ["another content (quote)", Effect.map(sign(v.account, q.data, { contentId: other.data.typedData.message.contentId }), (a) => ({ contentId: "yield-farming-101", authorization: a }))],
            ["another key", Effect.map(sign(v.account, q.data, { sessionKey: BigInt(other.data.sessionKey) }), (a) => ({ contentId: "intro-to-defi", authorization: { ...a, sessionKey: q.data.sessionKey } }))],
            ["unknown quote", Effect.map(sign(v.account, q.data, { sessionKey: unquotedKey }), (a) => ({ contentId: "intro-to-defi", authorization: a }))],
            ["maxAmount below the price", Effect.map(sign(v.account, q.data, { maxAmount: 10n * USDC - 1n }), (a) => ({ contentId: "intro-to-defi", authorization: a }))],
            ["deadline too early", Effect.map(sign(v.account, q.data, { deadline: BigInt(Math.floor(Date.now() / 1000) + 3_600) }), (a) => ({ contentId: "intro-to-defi", authorization: a }))],
            ["malformed signature", Effect.map(sign(v.account, q.data), (a) => ({ contentId: "intro-to-defi", authorization: { ...a, signature: `0x${"11".repeat(65)}` } }))]
          ]
          const before = yield* stored(v, q.data.sessionKey)
          expect(before).toEqual({ sessions: [], quote: { sessionId: null } })
          for (const [name, request] of cases) {
            const r = yield* request
            const refused = yield* start(v, r.contentId, r.authorization)
            expect({ name, status: refused.status, body: refused.body }).toEqual({ name, status: 400, body: seedErrorBody(400, "Bad Request") })
            expect({ name, message: refused.body }).toMatchObject({ name, message: { message: expect.stringContaining("authorization is refused") } })
            expect({ name, stored: yield* stored(v, q.data.sessionKey) }).toEqual({ name, stored: before })
          }
          // an expired quote, even with a good signature
          const good = yield* sign(v.account, q.data)
          yield* time.advance("11 minutes")
          const expired = yield* start(v, "intro-to-defi", good)
          expect(expired.status).toBe(400)
          expect(expired.body).toMatchObject({ message: expect.stringContaining("expired") })
          expect(yield* stored(v, q.data.sessionKey)).toEqual(before)
        }))

      it.effect("a quote is used once: the same signed authorization replayed after the session is refused", () =>
        Effect.gen(function* () {
          const time = yield* TimeTravel
          const v = yield* viewer(10)
          const q = yield* quote(v, "yield-farming-101")
          const authorization = yield* sign(v.account, q.data)
          const first = yield* start(v, "yield-farming-101", authorization)
          expect(first.status).toBe(201)
          const sessionId = String(dataOf(first.body)["sessionId"])
          // while it is open, and after it is over
          const whileOpen = yield* start(v, "yield-farming-101", authorization)
          expect(whileOpen.status).toBe(400)
          expect(whileOpen.body).toMatchObject({ message: expect.stringContaining("already used") })
          yield* time.advance("3 minutes")
          expect((yield* stop(sessionId, v)).status).toBe(200)
          const replayed = yield* start(v, "yield-farming-101", authorization)
          expect(replayed.status).toBe(400)
          expect(replayed.body).toMatchObject({ message: expect.stringContaining(`already used by session ${sessionId}`) })
          expect(yield* stored(v, q.data.sessionKey)).toEqual({ sessions: [sessionId], quote: { sessionId } })
          expect(yield* settlementsOnChain(BigInt(q.data.sessionKey))).toHaveLength(1)
        }))

      it.effect("the chain is unreachable at stop: 202, then the reconciler's resend carries the signature and completes it", () =>
        Effect.gen(function* () {
          const time = yield* TimeTravel
          const outbox = yield* SettlementOutbox
          const v = yield* viewer(11)
          const q = yield* quote(v, "intro-to-defi")
          const started = yield* start(v, "intro-to-defi", yield* sign(v.account, q.data))
          expect(started.status).toBe(201)
          const sessionId = String(dataOf(started.body)["sessionId"])
          yield* time.advance("6 minutes")
          const stopped = yield* whileChainDown(stop(sessionId, v))
          expect(stopped.status).toBe(202)
          expect(yield* outbox.reconcile(0)).toEqual({ confirmed: 1, failed: 0, stillPending: 0, debts: 0 })
          const detail = yield* detailOf(sessionId, v)
          expect(detail.data.status).toBe("COMPLETED")
          expect((yield* signatureOnChain(BigInt(q.data.sessionKey)))?.event.args.amount).toBe(detail.data.finalCost)
        }))

      it.effect("a debt's retry carries the signature: refused for lack of funds, paid once the viewer can pay", () =>
        Effect.gen(function* () {
          const dev = yield* DevChain
          const time = yield* TimeTravel
          const outbox = yield* SettlementOutbox
          const v = yield* viewer(12, 20n * USDC)
          const q = yield* quote(v, "intro-to-defi")
          const started = yield* start(v, "intro-to-defi", yield* sign(v.account, q.data))
          const sessionId = String(dataOf(started.body)["sessionId"])
          yield* time.advance("36 minutes")
          const asViewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: v.account })
          const withdraw = (amount: bigint) =>
            Effect.promise(async () => {
              const hash = await asViewer.writeContract({ address: dev.deployment.vault, abi: yieldVaultAbi, functionName: "withdraw", args: [amount] })
              await dev.publicClient.waitForTransactionReceipt({ hash })
            })
          yield* withdraw(20n * USDC)
          const stopped = yield* stop(sessionId, v)
          expect(stopped.body).toMatchObject({ data: { status: "unpaid", failureReason: expect.stringContaining("InsufficientBalance") } })
          yield* dev.fund(v.user, { principal: 20n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
          const report = yield* outbox.reconcile(0)
          expect(report.confirmed).toBe(1)
          expect((yield* detailOf(sessionId, v)).data.status).toBe("COMPLETED")
          expect(yield* settlementsOnChain(BigInt(q.data.sessionKey))).toHaveLength(1)
        }))

      it.effect("a contract wallet's viewer: its EIP-1271 approval opens the session and settles it; another key's signature is 400", () =>
        Effect.gen(function* () {
          const time = yield* TimeTravel
          const v = yield* contractViewer(devAccount(18))
          const q = yield* quote(v, "intro-to-defi")
          const stranger = yield* start(v, "intro-to-defi", yield* sign(devAccount(19), q.data))
          expect(stranger.status).toBe(400)
          expect(yield* stored(v, q.data.sessionKey)).toEqual({ sessions: [], quote: { sessionId: null } })
          const started = yield* start(v, "intro-to-defi", yield* sign(v.account, q.data))
          expect(started.status).toBe(201)
          yield* time.advance("6 minutes")
          const stopped = yield* stop(String(dataOf(started.body)["sessionId"]), v)
          expect(stopped.body).toMatchObject({ data: { status: "completed" } })
          expect(yield* settlementsOnChain(BigInt(q.data.sessionKey))).toHaveLength(1)
        }))

      it.effect("a batch of several viewers' signed sessions settles in one transaction, every signature checked", () =>
        Effect.gen(function* () {
          const time = yield* TimeTravel
          const viewers = yield* Effect.forEach([13, 14, 15, 16], (i) => viewer(i))
          const sessions = yield* Effect.forEach(viewers, (v) =>
            Effect.gen(function* () {
              const q = yield* quote(v, "yield-farming-101")
              const started = yield* start(v, "yield-farming-101", yield* sign(v.account, q.data))
              expect(started.status).toBe(201)
              return { v, sessionId: String(dataOf(started.body)["sessionId"]), key: BigInt(q.data.sessionKey) }
            })
          )
          yield* time.advance("9 minutes")
          const stops = yield* Effect.forEach(sessions, (s) => stop(s.sessionId, s.v), { concurrency: "unbounded" })
          expect(stops.map((r) => r.status)).toEqual([200, 200, 200, 200])
          const payments = stops.map((r) => dataOf(r.body)["payment"])
          expect(payments.every((p) => typeof p === "object" && p !== null && "batchSize" in p && p.batchSize === 4)).toBe(true)
          const txs = yield* Effect.forEach(sessions, (s) => Effect.map(signatureOnChain(s.key), (p) => p?.event.transactionHash))
          expect(new Set(txs).size).toBe(1)
        }))
    }
  )
})

describe("signed sessions on the development chain and in production", () => {
  // fresh: a second it.layer of a file would otherwise share the first one's memoized chain layers
  it.layer(Layer.fresh(TestApp()), { timeout: 120_000 })((it) => {
    it.effect("the development chain does not require them: status says so and the seed's unsigned start works", () =>
      Effect.gen(function* () {
        const status = yield* getJson("/api/status")
        expect(status.body).toMatchObject({ authorizationRequired: false })
        const v = yield* viewer(17)
        const started = yield* start(v, "intro-to-defi")
        expect(started.status).toBe(201)
        const q = yield* quote(v, "yield-farming-101")
        expect(q.data.authorizationRequired).toBe(false)
      }))
  })

  const production = { NODE_ENV: "production", JWT_SECRET: TEST_JWT_SECRET }
  it.scoped("production refuses to start against a wallet that does not require authorizations", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Layer.build(TestApp(production)))
      expect(Exit.isFailure(exit)).toBe(true)
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.getOrUndefined(failure)).toMatchObject({ _tag: "StartupError", reason: expect.stringContaining("does not require viewers' authorizations") })
    }), { timeout: 120_000 })

  it.scoped("production starts against a wallet that requires them", () =>
    Effect.gen(function* () {
      const context = yield* Layer.build(TestApp(production, { requireAuthorization: true }))
      const chain = yield* Effect.provide(Chain, context)
      expect(chain.binding.requireAuthorization).toBe(true)
    }), { timeout: 120_000 })
})
