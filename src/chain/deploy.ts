import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem"
import { mockUsdcAbi, mockUsdcBytecode, streamingWalletAbi, streamingWalletBytecode, yieldVaultAbi, yieldVaultBytecode } from "./contracts.js"

/** Who gets which role; the deploying account keeps every admin role. */
export interface PaygRoles {
  /** Sends settlements (StreamingWallet's OPERATOR_ROLE). */
  readonly operator: Address
  /** Lists and delists content (StreamingWallet's CONTENT_MANAGER_ROLE). */
  readonly contentManager: Address
  /** Credits yield (YieldVault's YIELD_MANAGER_ROLE). */
  readonly yieldManager: Address
}

export interface PaygAddresses {
  readonly usdc: Address
  readonly vault: Address
  readonly wallet: Address
  /** The block of the first deployment transaction. */
  readonly fromBlock: bigint
}

/**
 * Deploys MockUSDC, YieldVault and StreamingWallet from `admin` and wires them: the wallet may spend
 * from the vault, and the roles go where `roles` says. The one deployment used by the in-process
 * chain, the contract tests and the gas report (Ignition has its own module for real networks).
 */
export const deployPaygContracts = async (
  publicClient: PublicClient<Transport, Chain>,
  admin: WalletClient<Transport, Chain, Account>,
  roles: PaygRoles
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
  const usdc = await deployed(await admin.deployContract({ abi: mockUsdcAbi, bytecode: mockUsdcBytecode, args: [] }))
  const vault = await deployed(
    await admin.deployContract({ abi: yieldVaultAbi, bytecode: yieldVaultBytecode, args: [usdc.address, admin.account.address] })
  )
  const wallet = await deployed(
    await admin.deployContract({ abi: streamingWalletAbi, bytecode: streamingWalletBytecode, args: [vault.address, admin.account.address] })
  )
  const [spender, yieldManager, operator, contentManager] = await Promise.all([
    publicClient.readContract({ address: vault.address, abi: yieldVaultAbi, functionName: "SPENDER_ROLE" }),
    publicClient.readContract({ address: vault.address, abi: yieldVaultAbi, functionName: "YIELD_MANAGER_ROLE" }),
    publicClient.readContract({ address: wallet.address, abi: streamingWalletAbi, functionName: "OPERATOR_ROLE" }),
    publicClient.readContract({ address: wallet.address, abi: streamingWalletAbi, functionName: "CONTENT_MANAGER_ROLE" })
  ])
  const grant = async (abi: typeof yieldVaultAbi | typeof streamingWalletAbi, address: Address, role: Hex, to: Address) =>
    mined(await admin.writeContract({ address, abi, functionName: "grantRole", args: [role, to] }))
  await grant(yieldVaultAbi, vault.address, spender, wallet.address)
  await grant(yieldVaultAbi, vault.address, yieldManager, roles.yieldManager)
  await grant(streamingWalletAbi, wallet.address, operator, roles.operator)
  await grant(streamingWalletAbi, wallet.address, contentManager, roles.contentManager)
  return { usdc: usdc.address, vault: vault.address, wallet: wallet.address, fromBlock: usdc.block }
}
