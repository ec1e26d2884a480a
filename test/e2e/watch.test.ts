import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { chromium } from "playwright-core"
import { TestApp } from "../support/app.js"
import { getJson } from "../support/http.js"

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

describe.skipIf(!hasBrowser)("the watch page in Chromium", () => {
  it.layer(TestApp(), { timeout: 240_000 })((it) => {
    it.effect("plays, pauses, resumes and stops a session, and shows the final cost the API has", () =>
      Effect.gen(function* () {
        const address = (yield* HttpServer.HttpServer).address
        if (address._tag !== "TcpAddress") throw new Error("the test server is not on TCP")
        const played = yield* Effect.promise(() => play(`http://127.0.0.1:${address.port}`))

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
})
