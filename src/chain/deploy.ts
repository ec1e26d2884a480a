import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem"
import { mockUsdcAbi, mockUsdcBytecode, streamingWalletAbi, streamingWalletBytecode, yieldVaultAbi, yieldVaultBytecode } from "./contracts.js"

/**
 * Who gets which role. The deploying account is the constructors' admin (DEFAULT_ADMIN_ROLE, PAUSER_ROLE,
 * YIELD_MANAGER_ROLE); when `admin` names another account, the deployer hands DEFAULT_ADMIN_ROLE over and
 * renounces every role it is not named for.
 */
export interface PaygRoles {
  /** Sends settlements (StreamingWallet's OPERATOR_ROLE). */
  readonly operator: Address
  /** Lists and delists content (StreamingWallet's CONTENT_MANAGER_ROLE). */
  readonly contentManager: Address
  /** Credits yield (YieldVault's YIELD_MANAGER_ROLE). */
  readonly yieldManager: Address
  /** Pauses both contracts (PAUSER_ROLE); the deploying account when absent. */
  readonly pauser?: Address
  /** Grants and revokes every role of both contracts (DEFAULT_ADMIN_ROLE); the deploying account when absent. */
  readonly admin?: Address
}

/**
 * `token`: an ERC-20 already deployed (e.g. Circle's test USDC) instead of a new MockUSDC.
 * `requireAuthorization`: the StreamingWallet's immutable flag; when true no settlement moves a viewer's
 * funds without the viewer's signed SessionAuthorization (docs/CONTRACTS.md). False when absent: only the
 * development chain should keep it so.
 */
export interface PaygDeployOptions {
  readonly token?: Address
  readonly requireAuthorization?: boolean
}

export interface PaygAddresses {
  readonly usdc: Address
  readonly vault: Address
  readonly wallet: Address
  /** The block of the first deployment transaction. */
  readonly fromBlock: bigint
}

/**
 * Deploys MockUSDC, YieldVault and StreamingWallet from `admin` (or uses `options.token` instead of a MockUSDC) and wires them: the wallet may spend
 * from the vault, and the roles go where `roles` says. The one deployment used by the in-process
 * chain, the contract tests, the gas report and `npm run deploy:sepolia` (scripts/deploy.ts).
 */
export const deployPaygContracts = async (
  publicClient: PublicClient<Transport, Chain>,
  admin: WalletClient<Transport, Chain, Account>,
  roles: PaygRoles,
  options: PaygDeployOptions = {}
): Promise<PaygAddresses> => {
  const mined = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== "success") throw new Error(`deployment transaction ${hash} reverted`)
    return receipt
  }
  const deployed = async (hash: Hex) => {
    const receipt = await mined(hash)
    if (!receipt.contractAddress) throw new Error(`deployment transaction ${hash} created no contract`)
    return { address: receipt.contractAddress, block: receipt.blockNumber }
  }
  const usdc =
    options.token !== undefined
      ? { address: options.token, block: await publicClient.getBlockNumber({ cacheTime: 0 }) }
      : await deployed(await admin.deployContract({ abi: mockUsdcAbi, bytecode: mockUsdcBytecode, args: [] }))
  const vault = await deployed(
    await admin.deployContract({ abi: yieldVaultAbi, bytecode: yieldVaultBytecode, args: [usdc.address, admin.account.address] })
  )
  const wallet = await deployed(
    await admin.deployContract({
      abi: streamingWalletAbi,
      bytecode: streamingWalletBytecode,
      args: [vault.address, admin.account.address, options.requireAuthorization ?? false]
    })
  )
  const [spender, yieldManager, operator, contentManager, pauser] = await Promise.all([
    publicClient.readContract({ address: vault.address, abi: yieldVaultAbi, functionName: "SPENDER_ROLE" }),
    publicClient.readContract({ address: vault.address, abi: yieldVaultAbi, functionName: "YIELD_MANAGER_ROLE" }),
    publicClient.readContract({ address: wallet.address, abi: streamingWalletAbi, functionName: "OPERATOR_ROLE" }),
    publicClient.readContract({ address: wallet.address, abi: streamingWalletAbi, functionName: "CONTENT_MANAGER_ROLE" }),
    publicClient.readContract({ address: wallet.address, abi: streamingWalletAbi, functionName: "PAUSER_ROLE" })
  ])
  const both = [
    { abi: yieldVaultAbi, address: vault.address },
    { abi: streamingWalletAbi, address: wallet.address }
  ] as const
  const grant = async (on: (typeof both)[number], role: Hex, to: Address) =>
    mined(await admin.writeContract({ address: on.address, abi: on.abi, functionName: "grantRole", args: [role, to] }))
  const [onVault, onWallet] = both
  await grant(onVault, spender, wallet.address)
  await grant(onVault, yieldManager, roles.yieldManager)
  await grant(onWallet, operator, roles.operator)
  await grant(onWallet, contentManager, roles.contentManager)
  const deployer = admin.account.address
  const same = (a: Address | undefined) => a === undefined || a.toLowerCase() === deployer.toLowerCase()
  // PAUSER_ROLE has the same hash on both contracts
  if (!same(roles.pauser)) for (const on of both) await grant(on, pauser, roles.pauser ?? deployer)
  if (!same(roles.admin)) {
    // the deployer keeps only what it is named for, DEFAULT_ADMIN_ROLE (0x00...) last
    const renounce = async (on: (typeof both)[number], role: Hex) =>
      mined(await admin.writeContract({ address: on.address, abi: on.abi, functionName: "renounceRole", args: [role, deployer] }))
    const adminRole: Hex = `0x${"00".repeat(32)}`
    for (const on of both) await grant(on, adminRole, roles.admin ?? deployer)
    if (!same(roles.pauser)) for (const on of both) await renounce(on, pauser)
    if (!same(roles.yieldManager)) await renounce(onVault, yieldManager)
    for (const on of both) await renounce(on, adminRole)
  }
  return { usdc: usdc.address, vault: vault.address, wallet: wallet.address, fromBlock: usdc.block }
}
