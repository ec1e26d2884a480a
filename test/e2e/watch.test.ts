import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { existsSync } from "node:fs"
import { chromium } from "playwright-core"
import { TestApp } from "../support/app.js"
import { getJson } from "../support/http.js"
import { IsolatedApp, TEST_JWT_SECRET, alice, bearer, get, signIn } from "../support/security.js"

/**
 * The watch page in a real browser (Debian's Chromium, headless) against the real server, database and
 * in-process chain: a demo viewer plays an item for a few seconds, pauses, resumes and stops, and the
 * page shows the final cost the API has for the session. A screenshot of the page goes to
 * docs/watch-page.png. Nothing is installed here: without a browser the test is skipped, saying so.
 */

const BROWSER = "/usr/bin/chromium"
const hasBrowser = existsSync(BROWSER)
if (!hasBrowser) console.warn(`test/e2e/watch.test.ts skipped: no browser at ${BROWSER} (install it with: apt-get install -y chromium)`)

const SCREENSHOT = new URL("../../docs/watch-page.png", import.meta.url)

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

interface Played {
  readonly sessionId: string
  readonly viewer: string
  readonly pageFinalCost: string
  readonly pageFinalText: string
  readonly billedAtPause: number
  readonly billedAfterPause: number
  readonly errors: ReadonlyArray<string>
}

/** Drives the page like a viewer; what the page showed. */
const play = async (base: string): Promise<Played> => {
  const browser = await chromium.launch({
    executablePath: BROWSER,
    headless: true,
    // the test machine runs as root, where Chromium's sandbox cannot start
    args: ["--no-sandbox"]
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } })
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(e.message))
    page.on("response", (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`)
    })
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text())
    })
    await page.goto(`${base}/watch`)
    const text = async (selector: string) => (await page.textContent(selector)) ?? ""
    const billed = async () => Number((await text("#billed")).replace(" s", ""))
    // conditions are polled from here: the page's CSP (rightly) refuses the evaluated strings of waitForFunction
    const until = async (label: string, condition: () => Promise<boolean>) => {
      const deadline = Date.now() + 60_000
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`the page never showed: ${label}`)
        await page.waitForTimeout(100)
      }
    }
    const statusIs = (status: string) => until(`status ${status}`, async () => (await text("#session-status")) === status)

    // the third demo viewer, then an item of the catalogue
    await until("the demo viewers", async () => (await page.locator("#viewer-select option").count()) >= 3)
    const viewer = (await page.locator("#viewer-select option").nth(2).getAttribute("value")) ?? ""
    await page.selectOption("#viewer-select", viewer)
    await until("the balance", async () => (await text("#balance-total")).endsWith("USDC"))
    await page.click('#catalogue-list button[data-content-id="yield-farming-101"]')

    await page.click("#play")
    await statusIs("active")
    await until("3 s billed", async () => (await billed()) >= 3)

    await page.click("#pause")
    await statusIs("paused")
    await until("the resume button", async () => (await text("#play")) === "Resume" && (await page.isEnabled("#play")))
    const billedAtPause = await billed()
    // several polls while paused: the billed time stands still
    await page.waitForTimeout(2_500)
    const billedAfterPause = await billed()

    await page.click("#play")
    await statusIs("active")
    await until("2 more seconds billed", async () => (await billed()) >= billedAtPause + 2)

    await page.click("#stop")
    await until("the final cost", async () => ((await page.getAttribute("#final-cost", "data-units")) ?? "") !== "")
    await until("the stop notice and the history", async () => (await text("#notice")).startsWith("Stopped") && (await page.locator("#history-rows tr").count()) > 0)
    const sessionId = (await page.locator("#history-rows tr").first().getAttribute("data-session-id")) ?? ""
    const pageFinalCost = (await page.getAttribute("#final-cost", "data-units")) ?? ""
    const pageFinalText = await text("#final-cost")
    await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true })
    return { sessionId, viewer, pageFinalCost, pageFinalText, billedAtPause, billedAfterPause, errors }
  } finally {
    await browser.close()
  }
}

const serverPort = Effect.map(HttpServer.HttpServer, ({ address }) => {
  if (address._tag !== "TcpAddress") throw new Error("the test server is not on TCP")
  return address.port
})

/** The host the wallet test serves the page from: Chromium resolves it to the test server. */
const WALLET_HOST = "payg.test"

/**
 * A wallet injected as `window.ethereum` (EIP-1193), as a browser extension would: it offers `alice`
 * and signs with her key, in the test process, through bindings the page cannot see the key of:
 * `personal_sign` (the sign-in) and `eth_signTypedData_v4` (a session's authorization).
 */
const walletScript = `window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts") return ["${alice.address.toLowerCase()}"]
    if (method === "personal_sign") return window.__paygWalletSign(params[0])
    if (method === "eth_signTypedData_v4") return window.__paygWalletSignTypedData(params[0], params[1])
    throw new Error("unsupported wallet method " + method)
  }
}`

const Hex = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String)
const Field = Schema.Struct({ name: Schema.String, type: Schema.String })

/** The JSON an eth_signTypedData_v4 wallet is handed; the uint256 strings read as bigint, as viem takes them. */
const WalletTypedData = Schema.parseJson(
  Schema.Struct({
    domain: Schema.Struct({ name: Schema.String, version: Schema.String, chainId: Schema.Number, verifyingContract: Hex }),
    types: Schema.Struct({ EIP712Domain: Schema.Array(Field), SessionAuthorization: Schema.Array(Field) }),
    primaryType: Schema.Literal("SessionAuthorization"),
    message: Schema.Struct({ viewer: Hex, contentId: Hex, sessionKey: Schema.BigInt, maxAmount: Schema.BigInt, deadline: Schema.BigInt })
  })
)

/** What the wallet was asked to sign with eth_signTypedData_v4. */
interface TypedDataAsked {
  readonly address: string
  readonly domainFields: ReadonlyArray<string>
  readonly maxAmount: bigint
}

/** alice's signature of the typed data the page handed the wallet, signed with viem in this process. */
const signTypedDataAsAlice = async (asked: Array<TypedDataAsked>, address: string, json: string) => {
  const { domain, types, primaryType, message } = Schema.decodeUnknownSync(WalletTypedData)(json)
  asked.push({ address, domainFields: types.EIP712Domain.map((f) => f.name), maxAmount: message.maxAmount })
  if (address.toLowerCase() !== alice.address.toLowerCase()) throw new Error(`the wallet holds no key for ${address}`)
  return alice.signTypedData({ domain, types: { SessionAuthorization: types.SessionAuthorization }, primaryType, message })
}

interface SignedIn {
  readonly signedIn: string
  readonly pickerHidden: boolean
  readonly sessionId: string
  readonly pageFinalCost: string
  readonly typedDataAsked: ReadonlyArray<TypedDataAsked>
  readonly errors: ReadonlyArray<string>
}

/** Signs in with the injected wallet, plays a few seconds and stops. */
const signInAndPlay = async (port: number): Promise<SignedIn> => {
  const browser = await chromium.launch({
    executablePath: BROWSER,
    headless: true,
    args: ["--no-sandbox", `--host-resolver-rules=MAP ${WALLET_HOST}:80 127.0.0.1:${port}`]
  })
  try {
    const page = await browser.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (e) => errors.push(e.message))
    page.on("response", (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`)
    })
    const typedDataAsked: Array<TypedDataAsked> = []
    await page.exposeFunction("__paygWalletSign", (hex: `0x${string}`) => alice.signMessage({ message: { raw: hex } }))
    await page.exposeFunction("__paygWalletSignTypedData", (address: string, json: string) => signTypedDataAsAlice(typedDataAsked, address, json))
    await page.addInitScript({ content: walletScript })
    await page.goto(`http://${WALLET_HOST}/watch`)
    const text = async (selector: string) => (await page.textContent(selector)) ?? ""
    const until = async (label: string, condition: () => Promise<boolean>) => {
      const deadline = Date.now() + 60_000
      while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`the page never showed: ${label} (notice: ${await text("#notice")})`)
        await page.waitForTimeout(100)
      }
    }
    await until("the sign-in button", () => page.isVisible("#sign-in"))
    const pickerHidden = await page.isHidden("#picker")
    await page.click("#sign-in")
    await until("signed in", async () => (await text("#signed-in")).startsWith("Signed in"))
    await until("the balance", async () => (await text("#balance-total")).endsWith("USDC"))
    await page.click('#catalogue-list button[data-content-id="intro-to-defi"]')
    await page.click("#play")
    await until("2 s billed", async () => Number((await text("#billed")).replace(" s", "")) >= 2)
    await page.click("#stop")
    await until("the stop notice", async () => (await text("#notice")).startsWith("Stopped") && (await page.locator("#history-rows tr").count()) > 0)
    return {
      signedIn: await text("#signed-in"),
      pickerHidden,
      sessionId: (await page.locator("#history-rows tr").first().getAttribute("data-session-id")) ?? "",
      pageFinalCost: (await page.getAttribute("#final-cost", "data-units")) ?? "",
      typedDataAsked,
      errors
    }
  } finally {
    await browser.close()
  }
}

const finalCostOf = (body: unknown) => (isRecord(body) && isRecord(body["data"]) ? body["data"]["finalCost"] : undefined)

describe.skipIf(!hasBrowser)("the watch page in Chromium", () => {
  it.layer(IsolatedApp({}), { timeout: 240_000 })((it) => {
    it.effect("plays, pauses, resumes and stops a session, and shows the final cost the API has", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const played = yield* Effect.promise(() => play(`http://127.0.0.1:${port}`))

        expect(played.errors).toEqual([])
        expect(played.billedAtPause).toBeGreaterThanOrEqual(3)
        expect(played.billedAfterPause).toBe(played.billedAtPause)
        expect(played.sessionId).toMatch(/^session_[0-9a-z]+_[0-9a-f]{8}$/)

        const detail = yield* getJson(`/api/session/${played.sessionId}?userAddress=${played.viewer}`)
        expect(detail.status).toBe(200)
        const data = isRecord(detail.body) && isRecord(detail.body["data"]) ? detail.body["data"] : {}
        expect(data["status"]).toBe("COMPLETED")
        expect(typeof data["finalCost"]).toBe("string")
        expect(played.pageFinalCost).toBe(data["finalCost"])
        // 5 USDC for 1800 s: at least the 5 s played, in six decimals
        expect(BigInt(played.pageFinalCost)).toBeGreaterThanOrEqual(5n * 2_777n)
        // shown in USDC with six decimals: the same amount
        expect(played.pageFinalText).toBe(`0.${played.pageFinalCost.padStart(6, "0")} USDC`)
        expect(existsSync(SCREENSHOT)).toBe(true)
      }))
  })

  it.layer(IsolatedApp({ AUTH_REQUIRED: "true", JWT_SECRET: TEST_JWT_SECRET, SIWE_DOMAIN: `${WALLET_HOST},localhost:3000` }), { timeout: 240_000 })((it) => {
    it.effect("with sign-in required, the page signs in with the injected wallet (SIWE) and plays as that viewer", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const played = yield* Effect.promise(() => signInAndPlay(port))
        expect(played.errors).toEqual([])
        expect(played.pickerHidden).toBe(true)
        expect(played.signedIn).toBe(`Signed in as ${alice.address.slice(0, 6)}…${alice.address.slice(-4)}`)
        // the session is alice's: read with her own token, it has the cost the page showed
        const token = yield* signIn(alice)
        const detail = yield* get(`/api/session/${played.sessionId}?userAddress=${alice.address}`, bearer(token))
        expect(detail.status).toBe(200)
        expect(played.pageFinalCost).toBe(finalCostOf(detail.body))
        // the development chain's wallet settles unsigned sessions: the page asked for no signature
        expect(played.typedDataAsked).toEqual([])
      }))
  })

  const signedDeployment = Layer.fresh(
    TestApp({ AUTH_REQUIRED: "true", JWT_SECRET: TEST_JWT_SECRET, SIWE_DOMAIN: `${WALLET_HOST},localhost:3000` }, { requireAuthorization: true })
  )
  it.layer(signedDeployment, { timeout: 240_000 })((it) => {
    it.effect("on a wallet that settles only signed sessions, the page has the wallet sign the quote (eth_signTypedData_v4) and the session settles", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const config = yield* getJson("/api/watch/config")
        expect(config.body).toMatchObject({ data: { authRequired: true, authorizationRequired: true } })
        const played = yield* Effect.promise(() => signInAndPlay(port))
        expect(played.errors).toEqual([])
        // one signature, for alice, with the domain type wallets expect and the item's full price as the maximum
        expect(played.typedDataAsked).toEqual([
          { address: alice.address, domainFields: ["name", "version", "chainId", "verifyingContract"], maxAmount: 10_000_000n }
        ])
        const token = yield* signIn(alice)
        const detail = yield* get(`/api/session/${played.sessionId}?userAddress=${alice.address}`, bearer(token))
        expect(detail.status).toBe(200)
        const data = isRecord(detail.body) && isRecord(detail.body["data"]) ? detail.body["data"] : {}
        expect(played.pageFinalCost).toBe(data["finalCost"])
        expect(BigInt(played.pageFinalCost)).toBeGreaterThan(0n)
        expect(data["status"]).toBe("COMPLETED")
        const payment = isRecord(data["payment"]) ? data["payment"] : {}
        expect(payment["txHash"]).toMatch(/^0x[0-9a-f]{64}$/)
        expect(BigInt(String(payment["fromYield"])) + BigInt(String(payment["fromPrincipal"]))).toBe(BigInt(played.pageFinalCost))
      }))
  })
})
