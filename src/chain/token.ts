import type { Address, Chain, PublicClient, Transport } from "viem"
import { mockUsdcAbi, yieldVaultAbi } from "./contracts.js"

/**
 * The token amounts are counted in. The backend's amounts are bigints of the token's smallest unit
 * everywhere, but the API's `formatted` fields are written for 6 decimals (USDC): a token with
 * another number of decimals is refused where a deployment is made or started, not mis-displayed.
 */
const SUPPORTED_DECIMALS = 6

export interface TokenInfo {
  readonly address: Address
  readonly symbol: string
  readonly decimals: number
}

/** Reads the token's decimals (and symbol); fails naming the address when it is not an ERC-20. */
export const readToken = async (publicClient: PublicClient<Transport, Chain | undefined>, address: Address): Promise<TokenInfo> => {
  const code = await publicClient.getCode({ address })
  if (code === undefined || code === "0x") throw new Error(`no contract at ${address}: the token must be an ERC-20 deployed on this chain`)
  const decimals = await publicClient.readContract({ address, abi: mockUsdcAbi, functionName: "decimals" }).catch((e: unknown) => {
    throw new Error(`${address} does not answer ERC-20 decimals(): ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
  })
  // symbol() is optional in ERC-20 (and a bytes32 in some old tokens): only used in messages
  const symbol = await publicClient.readContract({ address, abi: mockUsdcAbi, functionName: "symbol" }).catch(() => "token")
  return { address, symbol, decimals }
}

/** Why a token cannot be used, or undefined when it can. */
export const unsupportedToken = (token: TokenInfo): string | undefined =>
  token.decimals === SUPPORTED_DECIMALS
    ? undefined
    : `the token at ${token.address} has ${token.decimals} decimals; payg supports ${SUPPORTED_DECIMALS}-decimal tokens (USDC) only`

/**
 * Chain ids of main networks where test tokens must never be minted: Ethereum, Optimism, BNB Chain,
 * Gnosis, Polygon, Base, Arbitrum One, Avalanche C-Chain, Linea, Scroll, zkSync Era.
 */
export const MAINNET_CHAIN_IDS: ReadonlySet<number> = new Set([1, 10, 56, 100, 137, 324, 8453, 42161, 43114, 59144, 534352])

/**
 * Refuses a deployment the backend would mis-handle: a vault whose asset is not `usdc` (the addresses
 * do not belong together) or a token with unsupported decimals. Returns the token.
 */
export const checkDeploymentToken = async (
  publicClient: PublicClient<Transport, Chain | undefined>,
  deployment: { readonly usdc: Address; readonly vault: Address }
): Promise<TokenInfo> => {
  const asset = await publicClient.readContract({ address: deployment.vault, abi: yieldVaultAbi, functionName: "asset" })
  if (asset.toLowerCase() !== deployment.usdc.toLowerCase()) {
    throw new Error(`the YieldVault at ${deployment.vault} holds ${asset}, not MOCK_USDC_ADDRESS ${deployment.usdc}`)
  }
  const token = await readToken(publicClient, deployment.usdc)
  const refusal = unsupportedToken(token)
  if (refusal !== undefined) throw new Error(refusal)
  return token
}
