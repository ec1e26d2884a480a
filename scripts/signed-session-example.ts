/**
 * A complete viewer-signed session, as a client would run it (README, "Signed sessions"), with viem
 * and `fetch` only: sign in (SIWE), ask for a quote, sign its EIP-712 typed data with `signTypedData`
 * (free: no transaction, no gas), start with the signature, watch, stop, and print the payment.
 *
 *   npm run example:signed
 *
 * Settings (environment): API_URL (default http://localhost:3001), VIEWER_KEY (the viewer's private
 * key; default Hardhat's public test account #1, a demo viewer of `npm run deploy:local`), CONTENT_ID
 * (default intro-to-defi), WATCH_SECONDS (default 5), SIWE_ORIGIN (the front end the server accepts
 * sign-ins for: default http://localhost:3000, the server's default CORS_ORIGIN).
 */
import { type Hex, isHex } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { createSiweMessage } from "viem/siwe"

const api = process.env.API_URL ?? "http://localhost:3001"
const key = process.env.VIEWER_KEY ?? "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
const contentId = process.env.CONTENT_ID ?? "intro-to-defi"
const watchSeconds = Number(process.env.WATCH_SECONDS ?? "5")
const origin = new URL(process.env.SIWE_ORIGIN ?? "http://localhost:3000")

type Json = Record<string, unknown>

const isJson = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** Calls the API; the envelope's `data`, or throws the seed's error message. */
const call = async (method: "GET" | "POST", path: string, body?: Json, token?: string): Promise<Json> => {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const answer: unknown = await res.json()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${isJson(answer) ? String(answer["message"]) : JSON.stringify(answer)}`)
  if (!isJson(answer)) throw new Error(`${method} ${path}: not JSON`)
  // /api/status answers without the envelope
  return isJson(answer["data"]) ? answer["data"] : answer
}

const field = (o: unknown, name: string): unknown => (isJson(o) ? o[name] : undefined)
const text = (o: unknown, name: string): string => {
  const v = field(o, name)
  if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw new Error(`missing ${name} in ${JSON.stringify(o)}`)
  return String(v)
}
const hex = (o: unknown, name: string): Hex => {
  const v = text(o, name)
  if (!isHex(v)) throw new Error(`${name} is not hex: ${v}`)
  return v
}

const main = async () => {
  if (!isHex(key)) throw new Error("VIEWER_KEY must be 0x followed by 64 hexadecimal digits")
  const viewer = privateKeyToAccount(key)
  const status = await call("GET", "/api/status")
  const chainId = Number(text(field(status, "network"), "chainId"))
  console.log(`server at ${api}: chain ${chainId}, viewers' authorizations ${text(status, "authorizationRequired") === "true" ? "required" : "not required"}`)

  // 1. sign in with Ethereum: the token lets the server act for this address only
  const nonce = text(await call("GET", "/api/auth/nonce"), "nonce")
  const message = createSiweMessage({ address: viewer.address, chainId, domain: origin.host, nonce, uri: origin.href, version: "1", issuedAt: new Date(), statement: "Sign in to payg" })
  const token = text(await call("POST", "/api/auth/verify", { message, signature: await viewer.signMessage({ message }) }), "token")
  console.log(`signed in as ${viewer.address}`)

  // 2. the quote: a settlement key reserved for this viewer and content, and the typed data to sign
  const quote = await call("POST", "/api/session/quote", { userAddress: viewer.address, contentId }, token)
  const typedData = field(quote, "typedData")
  const domain = field(typedData, "domain")
  const m = field(typedData, "message")
  // the uint256 fields come as decimal strings (a key is above 2^127): signTypedData takes them as bigint
  const terms = {
    viewer: hex(m, "viewer"),
    contentId: hex(m, "contentId"),
    sessionKey: BigInt(text(m, "sessionKey")),
    maxAmount: BigInt(text(m, "maxAmount")),
    deadline: BigInt(text(m, "deadline"))
  }
  console.log(`quote: key ${terms.sessionKey}, at most ${terms.maxAmount} units, until ${new Date(Number(terms.deadline) * 1000).toISOString()}`)

  // 3. the viewer's consent, signed once, for free (the wallet shows these terms)
  const signature = await viewer.signTypedData({
    domain: { name: text(domain, "name"), version: text(domain, "version"), chainId: Number(text(domain, "chainId")), verifyingContract: hex(domain, "verifyingContract") },
    types: {
      SessionAuthorization: [
        { name: "viewer", type: "address" },
        { name: "contentId", type: "bytes32" },
        { name: "sessionKey", type: "uint256" },
        { name: "maxAmount", type: "uint256" },
        { name: "deadline", type: "uint256" }
      ]
    },
    primaryType: "SessionAuthorization",
    message: terms
  })

  // 4. start with the signature; the server checks it before anything is stored
  const started = await call(
    "POST",
    "/api/session/start",
    {
      userAddress: viewer.address,
      contentId,
      authorization: { sessionKey: terms.sessionKey.toString(), maxAmount: terms.maxAmount.toString(), deadline: Number(terms.deadline), signature }
    },
    token
  )
  const sessionId = text(started, "sessionId")
  console.log(`started ${sessionId} (settlement key ${text(started, "settlementKey")}); watching ${watchSeconds} s`)
  await new Promise((resolve) => setTimeout(resolve, watchSeconds * 1000))

  // 5. stop: the operator settles with the viewer's signature (202 while it is in flight: then poll)
  let session = await call("POST", "/api/session/stop", { sessionId, userAddress: viewer.address }, token)
  for (let i = 0; text(session, "status").toLowerCase() === "settling" && i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    session = await call("GET", `/api/session/${sessionId}?userAddress=${viewer.address}`, undefined, token)
  }
  const payment = field(session, "payment")
  console.log(`stopped: ${text(session, "status")}, ${text(session, "finalCost")} units for ${text(session, "activeDuration")} s`)
  if (payment === null) {
    console.log(`no payment: ${String(field(session, "failureReason") ?? "nothing to pay")}`)
    return
  }
  console.log(`paid in ${text(payment, "txHash")} (block ${text(payment, "blockNumber")}): ${text(payment, "fromYield")} from yield, ${text(payment, "fromPrincipal")} from principal`)
}

main().catch((e: unknown) => {
  console.error(`example failed: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
})
