/**
 * Shared fixture of the contract tests: the three contracts deployed on the in-process Hardhat
 * network with the roles wired as the Ignition module does, typed viem handles, snapshot/revert and
 * custom-error assertions.
 */
import "./register-ts.js"
import type {} from "@nomicfoundation/hardhat-ignition-viem"
import hre from "hardhat"
import { revertOf as decodeRevert } from "../../../src/chain/errors.js"
import { deployPaygContracts } from "../../../src/chain/deploy.js"
import { contentKeyOf } from "../../../src/domain/Chain.js"
import { sessionAuthorizationTypedData } from "../../../src/chain/authorization.js"
import { devAccount } from "../../support/devKeys.js"
import {
  BaseError,
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  getContract,
  keccak256,
  maxUint256,
  toBytes,
  toFunctionSelector,
  type Abi,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt
} from "viem"
import { hardhat } from "viem/chains"
import { expect } from "vitest"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "../../../src/chain/contracts.js"

export { hre }

/** One USDC in base units (6 decimals). */
export const USDC = 1_000_000n
export const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000"

/** The on-chain id of a catalogue id: the backend's own derivation. */
export const contentIdOf = contentKeyOf

/** The authorization arguments of an unsigned `settle` (accepted only without requireAuthorization). */
export const UNSIGNED = [0n, 0n, "0x"] as const

/** Batch entries without authorizations (accepted only without requireAuthorization). */
export const unsigned = <R extends { readonly sessionKey: bigint; readonly user: Address; readonly contentId: Hex; readonly amount: bigint }>(
  requests: ReadonlyArray<R>
) => requests.map((r) => ({ sessionKey: r.sessionKey, user: r.user, contentId: r.contentId, amount: r.amount, maxAmount: 0n, deadline: 0n, signature: "0x" as const }))

/** Role ids as the contracts define them (keccak256 of the name). */
export const roles = {
  OPERATOR_ROLE: keccak256(toBytes("OPERATOR_ROLE")),
  CONTENT_MANAGER_ROLE: keccak256(toBytes("CONTENT_MANAGER_ROLE")),
  PAUSER_ROLE: keccak256(toBytes("PAUSER_ROLE")),
  SPENDER_ROLE: keccak256(toBytes("SPENDER_ROLE")),
  YIELD_MANAGER_ROLE: keccak256(toBytes("YIELD_MANAGER_ROLE"))
} as const

// viem over the in-process provider (one viem instance: hardhat-viem's clients come from viem's
// CommonJS build, whose error classes are not the ones this ESM code imports).
const transport = custom(hre.network.provider)
export const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 10 })
export type PublicClient = typeof publicClient
const makeWalletClient = (address: Address) => createWalletClient({ chain: hardhat, transport, account: address })
export type WalletClient = ReturnType<typeof makeWalletClient>
const clients = (await createWalletClient({ chain: hardhat, transport }).getAddresses()).map((a) =>
  makeWalletClient(getAddress(a))
)

const at = (i: number): WalletClient => {
  const c = clients[i]
  if (c === undefined) throw new Error(`no Hardhat account #${i}`)
  return c
}

/** Named accounts: admin deploys and holds every admin role; operator settles; the rest are users. */
export const accounts = {
  admin: at(0),
  operator: at(1),
  contentManager: at(2),
  creatorA: at(3),
  creatorB: at(4),
  alice: at(5),
  bob: at(6),
  carol: at(7),
  outsider: at(8),
  yieldManager: at(9),
  spender: at(10)
} as const

/** A typed contract handle whose writes are sent by `account`. */
export const connect = <const A extends Abi>(abi: A, address: Address, account: WalletClient) =>
  getContract({ address, abi, client: { public: publicClient, wallet: account } })

/** Waits for the receipt and fails if the transaction reverted. */
export const mined = async (hash: Promise<Hash> | Hash): Promise<TransactionReceipt> => {
  // Automine: the transaction is mined when eth_sendTransaction returns.
  const receipt = await publicClient.getTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe("success")
  return receipt
}

/** Hardhat's development key of a named account (they are accounts #0-#10 of the mnemonic, in order). */
const keyIndex = new Map<Address, number>(clients.map((c, i) => [c.account.address, i]))
export const localAccountOf = (client: WalletClient) => {
  const i = keyIndex.get(client.account.address)
  if (i === undefined) throw new Error(`${client.account.address} is not a Hardhat development account`)
  const account = devAccount(i)
  if (getAddress(account.address) !== client.account.address) throw new Error(`development key #${i} does not match ${client.account.address}`)
  return account
}

/** What a viewer signs to authorize one session. */
export interface Terms {
  readonly viewer: Address
  readonly contentId: string
  readonly sessionKey: bigint
  readonly maxAmount: bigint
  readonly deadline: bigint
}

/**
 * `signer`'s signature (viem's `signTypedData` with its Hardhat development key) of the session
 * authorization `terms` for the wallet at `wallet` on chain `chainId` (Hardhat's 31337 by default).
 */
export const signAuthorization = (signer: WalletClient, wallet: Address, terms: Terms, chainId: number = hardhat.id): Promise<Hex> =>
  localAccountOf(signer).signTypedData(sessionAuthorizationTypedData({ chainId, wallet }, terms))

/**
 * Deploys the three contracts and wires the roles (the backend's own deployment, src/chain/deploy.ts);
 * `requireAuthorization` is the wallet's flag (false, the development chain's, by default).
 */
export const deployPayg = async (options: { readonly requireAuthorization?: boolean } = {}) => {
  const { admin, operator, contentManager, yieldManager } = accounts
  const addresses = await deployPaygContracts(
    publicClient,
    admin,
    {
      operator: operator.account.address,
      contentManager: contentManager.account.address,
      yieldManager: yieldManager.account.address
    },
    { requireAuthorization: options.requireAuthorization ?? false }
  )
  const usdcAddress = getAddress(addresses.usdc)
  const vaultAddress = getAddress(addresses.vault)
  const walletAddress = getAddress(addresses.wallet)

  const handles = (account: WalletClient) => ({
    usdc: connect(mockUsdcAbi, usdcAddress, account),
    vault: connect(yieldVaultAbi, vaultAddress, account),
    wallet: connect(streamingWalletAbi, walletAddress, account)
  })

  /** Mints `amount` to `user`, approves the vault and deposits it. */
  const fund = async (user: WalletClient, amount: bigint): Promise<void> => {
    const h = handles(user)
    await mined(h.usdc.write.mint([user.account.address, amount]))
    await mined(h.usdc.write.approve([vaultAddress, maxUint256]))
    await mined(h.vault.write.deposit([amount]))
  }

  /** Credits `amount` of yield to `user` (paid by the yield manager). */
  const accrue = async (user: WalletClient, amount: bigint): Promise<void> => {
    const h = handles(yieldManager)
    await mined(h.usdc.write.mint([yieldManager.account.address, amount]))
    await mined(h.usdc.write.approve([vaultAddress, maxUint256]))
    await mined(h.vault.write.accrueYield([user.account.address, amount]))
  }

  /** The user's consent: allows the wallet to spend `amount` (default unlimited) in the vault. */
  const allow = async (user: WalletClient, amount: bigint = maxUint256): Promise<void> => {
    await mined(handles(user).vault.write.approveSpender([walletAddress, amount]))
  }

  /** The user's position in the vault, as `balancesOf` reports it. */
  const balances = async (user: WalletClient): Promise<{ readonly yieldBalance: bigint; readonly principal: bigint }> => {
    const [yieldBalance, principal] = await publicClient.readContract({
      address: vaultAddress,
      abi: yieldVaultAbi,
      functionName: "balancesOf",
      args: [user.account.address]
    })
    return { yieldBalance, principal }
  }

  return {
    usdcAddress,
    vaultAddress,
    walletAddress,
    as: handles,
    fund,
    accrue,
    allow,
    balances
  }
}

export type Payg = Awaited<ReturnType<typeof deployPayg>>

/** evm_snapshot / evm_revert around each test: `restore()` goes back to the state of `capture()`. */
export const snapshots = () => {
  let id: unknown
  return {
    capture: async (): Promise<void> => {
      id = await hre.network.provider.send("evm_snapshot", [])
    },
    restore: async (): Promise<void> => {
      const reverted: unknown = await hre.network.provider.send("evm_revert", [id])
      expect(reverted).toBe(true)
      id = await hre.network.provider.send("evm_snapshot", [])
    }
  }
}

/** Every custom error of the three contracts (the wallet's ABI already includes the vault's). */
/** The custom error a call reverted with (decoded by the same code the chain adapter uses). */
export const revertOf = async (call: Promise<unknown>): Promise<{ errorName: string; args: ReadonlyArray<unknown> }> => {
  try {
    await call
  } catch (error) {
    const reverted = decodeRevert(error)
    if (reverted) return { errorName: reverted.errorName, args: reverted.args }
    throw new Error(`expected a custom error, got: ${error instanceof BaseError ? error.shortMessage : String(error)}`)
  }
  throw new Error("expected a revert, but the call succeeded")
}

/** Asserts that `call` reverts with the custom error `errorName` (and `args` when given). */
export const expectRevert = async (
  call: Promise<unknown>,
  errorName: string,
  args?: ReadonlyArray<unknown>
): Promise<void> => {
  const reverted = await revertOf(call)
  expect(reverted.errorName).toBe(errorName)
  if (args !== undefined) expect(reverted.args).toEqual(args)
}

/** Selector of a custom error of the wallet's ABI (which includes the vault's errors). */
export const selectorOf = (errorName: string): Hex => {
  for (const item of streamingWalletAbi) {
    if (item.type === "error" && item.name === errorName) {
      const signature = `${item.name}(${item.inputs.map((i) => i.type).join(",")})`
      return toFunctionSelector(signature)
    }
  }
  throw new Error(`no error ${errorName} in the StreamingWallet ABI`)
}
