import { api } from "./api.js"

/**
 * Sign-In with Ethereum through the browser's injected wallet (`window.ethereum`, EIP-1193), as
 * docs/API.md describes: a nonce from the server, an EIP-4361 message for this page's host, signed with
 * `personal_sign`, exchanged for a bearer token.
 */

const hexUtf8 = (text) => `0x${Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("")}`

/** The EIP-4361 text, line for line as the server rebuilds it (viem's createSiweMessage). */
export const siweMessage = ({ address, chainId, domain, issuedAt, nonce, uri }) =>
  `${domain} wants you to sign in with your Ethereum account:\n${address}\n\nSign in to payg to watch.\n\n` +
  `URI: ${uri}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${issuedAt}`

/** Signs in the wallet's first account: `{ address, token }`. */
export async function signIn(ethereum) {
  const accounts = await ethereum.request({ method: "eth_requestAccounts" })
  const account = accounts[0]
  if (account === undefined) throw new Error("the wallet offered no account")
  // the message must name the address in its EIP-55 form, which the API returns
  const { data: balance } = await api(`/api/user/${account}/balance`)
  const { data: grant } = await api("/api/auth/nonce")
  const message = siweMessage({
    address: balance.userAddress,
    chainId: grant.chainId,
    domain: window.location.host,
    issuedAt: new Date().toISOString(),
    nonce: grant.nonce,
    uri: window.location.origin
  })
  const signature = await ethereum.request({ method: "personal_sign", params: [hexUtf8(message), account] })
  const { data } = await api("/api/auth/verify", { method: "POST", body: { message, signature } })
  return { address: data.address, token: data.token }
}

/** The EIP-712 domain's own type, which eth_signTypedData_v4 wants listed with the others. */
const EIP712_DOMAIN = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" }
]

/**
 * The viewer's consent to one session: asks the server for a quote (POST /api/session/quote), has the
 * wallet sign its EIP-712 typed data with `eth_signTypedData_v4` (free: no transaction) and returns the
 * `authorization` that POST /api/session/start takes. The message's uint256 fields stay decimal strings
 * (a key is above 2^53, beyond a JSON number), which v4 wallets read as uint256.
 */
export async function authorizeSession(ethereum, { userAddress, contentId }) {
  if (ethereum === undefined) throw new Error("This deployment needs each session signed by your wallet, and no wallet was found in this browser.")
  const { data: quote } = await api("/api/session/quote", { method: "POST", body: { userAddress, contentId } })
  const { domain, types, primaryType, message } = quote.typedData
  const typedData = { domain, types: { EIP712Domain: EIP712_DOMAIN, ...types }, primaryType, message }
  const signature = await ethereum.request({ method: "eth_signTypedData_v4", params: [userAddress, JSON.stringify(typedData)] })
  return { sessionKey: quote.sessionKey, maxAmount: quote.maxAmount, deadline: quote.deadline, signature }
}
