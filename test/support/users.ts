import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { createWalletClient } from "viem"
import { streamingWalletAbi } from "../../src/chain/contracts.js"
import { DevChain, type Funding } from "../../src/chain/ChainInProcess.js"
import { type Address, toAddress } from "../../src/domain/Address.js"
import { contentKeyOf } from "../../src/domain/Chain.js"

export const USDC = 1_000_000n

export const randomAddress = (): Address => toAddress(`0x${randomBytes(20).toString("hex")}`)

/** A new viewer with the given vault position and a generous bounded allowance. */
export const fundedViewer = (funding: Partial<Funding> = {}) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const user = randomAddress()
    yield* dev.fund(user, { principal: 100n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC, ...funding })
    return user
  })

/** Every SessionSettled event the wallet emitted for a key. */
export const settlementsOnChain = (sessionKey: bigint) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    return yield* Effect.promise(() =>
      dev.publicClient.getContractEvents({
        address: dev.deployment.wallet,
        abi: streamingWalletAbi,
        eventName: "SessionSettled",
        args: { sessionKey },
        fromBlock: 0n
      })
    )
  })

/** The viewer pays a session itself (`payForSession`, sent from the viewer's impersonated address); the transaction hash. */
export const payForSession = (payer: Address, sessionKey: bigint, contentId: string, amount: bigint) =>
  Effect.gen(function* () {
    const dev = yield* DevChain
    const viewer = createWalletClient({ chain: dev.walletClient.chain, transport: dev.transport, account: payer })
    return yield* Effect.promise(async () => {
      const hash = await viewer.writeContract({
        address: dev.deployment.wallet,
        abi: streamingWalletAbi,
        functionName: "payForSession",
        args: [sessionKey, contentKeyOf(contentId), amount]
      })
      const receipt = await dev.publicClient.waitForTransactionReceipt({ hash })
      if (receipt.status !== "success") throw new Error(`payForSession ${hash} reverted`)
      return hash
    })
  })
