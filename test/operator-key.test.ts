/**
 * Issue 14, "done when": on a `hardhat node` with the production deployment (viewers' authorizations
 * required, admin, operator, content manager, pauser and yield manager separate accounts), the operator
 * key alone cannot reduce a viewer's vault balance by any of its calls: every state-changing function of
 * both contracts, with the arguments most likely to hurt, forged signatures and the viewer's own
 * signature of a session already settled.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Abi, type Hex, createPublicClient, createWalletClient, defineChain, http, maxUint256 } from "viem"
import { sessionAuthorizationTypedData } from "../src/chain/authorization.js"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { deployPaygContracts } from "../src/chain/deploy.js"
import { contentKeyOf } from "../src/domain/Chain.js"
import { devAccount } from "./support/devKeys.js"
import { hardhatNode } from "./support/hardhatNode.js"
import { writesOf } from "./support/abi.js"

const USDC = 1_000_000n

describe("the operator key on a production deployment", () => {
  it.scopedLive("cannot reduce a viewer's vault balance by any sequence of its calls without the viewer's signature", () =>
    Effect.gen(function* () {
      const node = yield* hardhatNode
      const chain = defineChain({ id: 31337, name: "hardhat node", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [node.url] } } })
      const transport = http(node.url)
      const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 })
      const as = (i: number) => createWalletClient({ chain, transport, account: devAccount(i) })
      const [deployer, admin, operator, contentManager, pauser, yieldManager, viewer] = [0, 15, 16, 17, 18, 19, 10].map(as)
      if (!deployer || !admin || !operator || !contentManager || !pauser || !yieldManager || !viewer) throw new Error("no accounts")
      const addr = (c: typeof deployer) => c.account.address

      yield* Effect.promise(async () => {
        const mined = async (hash: Hex) => {
          const r = await publicClient.waitForTransactionReceipt({ hash })
          return r.status
        }
        const d = await deployPaygContracts(
          publicClient,
          deployer,
          { admin: addr(admin), operator: addr(operator), contentManager: addr(contentManager), pauser: addr(pauser), yieldManager: addr(yieldManager) },
          { requireAuthorization: true }
        )
        const content = contentKeyOf("big-buck-bunny")
        expect(await mined(await contentManager.writeContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "listContent", args: [content, addr(contentManager), 2n * USDC, 3600n] }))).toBe("success")
        // the viewer's deposit and unlimited consent: the worst case
        await mined(await viewer.writeContract({ address: d.usdc, abi: mockUsdcAbi, functionName: "mint", args: [addr(viewer), 100n * USDC] }))
        await mined(await viewer.writeContract({ address: d.usdc, abi: mockUsdcAbi, functionName: "approve", args: [d.vault, maxUint256] }))
        await mined(await viewer.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "deposit", args: [100n * USDC] }))
        await mined(await viewer.writeContract({ address: d.vault, abi: yieldVaultAbi, functionName: "approveSpender", args: [d.wallet, maxUint256] }))
        // one real session, signed by the viewer and settled: the operator has seen that signature
        const deadline = (await publicClient.getBlock()).timestamp + 86_400n
        const terms = { viewer: addr(viewer), contentId: "big-buck-bunny", sessionKey: 1n, maxAmount: 2n * USDC, deadline }
        const seen = await viewer.account.signTypedData(sessionAuthorizationTypedData({ chainId: 31337, wallet: d.wallet }, terms))
        expect(await mined(await operator.writeContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "settle", args: [1n, addr(viewer), content, USDC, 2n * USDC, deadline, seen] }))).toBe("success")
        const own = await operator.account.signTypedData(sessionAuthorizationTypedData({ chainId: 31337, wallet: d.wallet }, { ...terms, sessionKey: 2n }))

        const balance = async () => {
          const [y, p] = await publicClient.readContract({ address: d.vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [addr(viewer)] })
          return y + p
        }
        const before = await balance()
        expect(before).toBe(99n * USDC)
        const o = addr(operator)
        const entry = (sessionKey: bigint, amount: bigint, signature: Hex, maxAmount = 2n * USDC) => ({ sessionKey, user: addr(viewer), contentId: content, amount, maxAmount, deadline, signature })
        const adminRole: Hex = `0x${"00".repeat(32)}`
        const calls: Record<"wallet" | "vault", Record<string, ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>>> = {
          wallet: {
            listContent: [["listContent", [contentKeyOf("evil"), o, 2n ** 87n, 1n]]],
            listContents: [["listContents", [[{ id: "evil", creator: o, price: 2n ** 87n, duration: 1n }]]]],
            updateContent: [["updateContent", [content, o, 2n ** 87n, 1n]]],
            delistContent: [["delistContent", [content]]],
            settle: [
              ["settle", [2n, addr(viewer), content, USDC, 0n, 0n, "0x"]],
              ["settle", [2n, addr(viewer), content, USDC, 2n * USDC, deadline, own]],
              ["settle", [1n, addr(viewer), content, USDC, 2n * USDC, deadline, seen]],
              ["settle", [2n, addr(viewer), content, USDC, 2n * USDC, deadline, seen]],
              ["settle", [1n, addr(viewer), content, 2n * USDC, 2n * USDC, deadline, seen]]
            ],
            settleBatch: [["settleBatch", [[entry(2n, USDC, "0x"), entry(3n, USDC, own), entry(1n, USDC, seen), entry(4n, USDC, seen), entry(5n, 2n * USDC, `0x${"11".repeat(65)}`)]]]],
            payForSession: [["payForSession", [7n, content, USDC]]],
            withdrawEarnings: [["withdrawEarnings", []]],
            pause: [["pause", []]],
            unpause: [["unpause", []]],
            grantRole: [["grantRole", [adminRole, o]]],
            revokeRole: [["revokeRole", [adminRole, addr(admin)]]],
            renounceRole: [["renounceRole", [adminRole, o]]]
          },
          vault: {
            deposit: [["deposit", [USDC]]],
            depositFor: [["depositFor", [o, USDC]]],
            withdraw: [["withdraw", [USDC]]],
            approveSpender: [["approveSpender", [o, maxUint256]]],
            accrueYield: [["accrueYield", [o, USDC]]],
            accrueYieldBatch: [["accrueYieldBatch", [[o], [USDC]]]],
            spend: [["spend", [addr(viewer), USDC]]],
            spendBatch: [["spendBatch", [[addr(viewer)], [USDC]]]],
            release: [["release", [o, USDC]]],
            skim: [["skim", [o]]],
            pause: [["pause", []]],
            unpause: [["unpause", []]],
            grantRole: [["grantRole", [adminRole, o]]],
            revokeRole: [["revokeRole", [adminRole, addr(admin)]]],
            renounceRole: [["renounceRole", [adminRole, o]]]
          }
        }
        // every state-changing function of both contracts is tried: a new one must be added above
        expect(Object.keys(calls.wallet).sort()).toEqual(writesOf(streamingWalletAbi))
        expect(Object.keys(calls.vault).sort()).toEqual(writesOf(yieldVaultAbi))
        // sent without simulation (fixed gas), so a refused call is mined and reverts on chain
        for (const [contract, fns] of Object.entries(calls)) {
          const address = contract === "wallet" ? d.wallet : d.vault
          const abi: Abi = contract === "wallet" ? streamingWalletAbi : yieldVaultAbi
          for (const [name, variants] of Object.entries(fns)) {
            for (const [functionName, args] of variants) {
              await operator
                .writeContract({ address, abi, functionName, args, chain, account: operator.account, gas: 1_000_000n })
                .then(mined, () => undefined)
              expect({ after: `${contract}.${name}`, balance: await balance() }).toEqual({ after: `${contract}.${name}`, balance: before })
            }
          }
        }
        // and the viewer's own signature of a new session is still honoured, for what it allows only
        const next = { ...terms, sessionKey: 9n }
        const consent = await viewer.account.signTypedData(sessionAuthorizationTypedData({ chainId: 31337, wallet: d.wallet }, next))
        await mined(await operator.writeContract({ address: d.wallet, abi: streamingWalletAbi, functionName: "settle", args: [9n, addr(viewer), content, 2n * USDC, 2n * USDC, deadline, consent] }))
        expect(await balance()).toBe(before - 2n * USDC)
      })
    }), { timeout: 300_000 })
})
