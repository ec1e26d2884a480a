/**
 * The Chain port carries a viewer's authorization (issue 14): on a wallet deployed with
 * requireAuthorization, `settle` and `settleBatch` of a request signed by the viewer (viem's
 * signTypedData, a Hardhat development key) settle; an unsigned or wrongly signed one is refused by name.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import { ChainOnDevChain, DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { sessionAuthorizationTypedData } from "../src/chain/authorization.js"
import { toAddress } from "../src/domain/Address.js"
import { Chain, type SettlementRequest } from "../src/domain/Chain.js"
import { devAccount } from "./support/devKeys.js"
import { USDC } from "./support/users.js"

let nextKey = 900_000n

describe("Chain port with viewers' authorizations", () => {
  layer(ChainOnDevChain.pipe(Layer.provideMerge(DevChainDeployment({ demo: true, requireAuthorization: true }))), { timeout: 120_000, excludeTestServices: true })((it) => {
    /** A Hardhat development account funded in the vault, and a signer of its authorizations. */
    const viewer = (index: number) =>
      Effect.gen(function* () {
        const dev = yield* DevChain
        const account = devAccount(index)
        const user = toAddress(account.address)
        yield* dev.fund(user, { principal: 50n * USDC, yieldAmount: 0n, allowance: 1_000n * USDC })
        return { user, account }
      })
    const signed = (signer: ReturnType<typeof devAccount>, request: Omit<SettlementRequest, "authorization">, maxAmount: bigint) =>
      Effect.gen(function* () {
        const chain = yield* Chain
        const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600)
        const signature = yield* Effect.promise(() =>
          signer.signTypedData(
            sessionAuthorizationTypedData(
              { chainId: chain.binding.chainId, wallet: chain.binding.wallet },
              { viewer: request.user, contentId: request.contentId, sessionKey: request.sessionKey, maxAmount, deadline }
            )
          )
        )
        return { ...request, authorization: { maxAmount, deadline, signature } } satisfies SettlementRequest
      })

    it.effect("settle: a request signed by the viewer settles; unsigned or signed by another key is refused by name", () =>
      Effect.gen(function* () {
        const chain = yield* Chain
        const { account, user } = yield* viewer(11)
        const other = devAccount(12)
        const base = { sessionKey: nextKey++, user, contentId: "intro-to-defi", amount: 3n * USDC }
        const refusal = (r: SettlementRequest) =>
          Effect.either(chain.settle(r)).pipe(Effect.map((e) => (Either.isLeft(e) && e.left._tag === "SettlementRejected" ? e.left.errorName : "settled")))
        expect(yield* refusal(base)).toBe("AuthorizationRequired")
        expect(yield* refusal(yield* signed(other, base, 10n * USDC))).toBe("InvalidAuthorization")
        expect(yield* refusal(yield* signed(account, base, 2n * USDC))).toBe("AmountExceedsAuthorization")
        const paid = yield* chain.settle(yield* signed(account, base, 10n * USDC))
        expect(paid).toMatchObject({ sessionKey: base.sessionKey, user, amount: 3n * USDC })
        expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 0n, principal: 47n * USDC })
      }))

    it.effect("settleBatch: signed entries of distinct viewers settle, an unsigned one is rejected by name", () =>
      Effect.gen(function* () {
        const chain = yield* Chain
        const a = yield* viewer(13)
        const b = yield* viewer(14)
        const first = yield* signed(a.account, { sessionKey: nextKey++, user: a.user, contentId: "intro-to-defi", amount: USDC }, 10n * USDC)
        const second = yield* signed(b.account, { sessionKey: nextKey++, user: b.user, contentId: "yield-farming-101", amount: 2n * USDC }, 5n * USDC)
        const bare = { sessionKey: nextKey++, user: a.user, contentId: "intro-to-defi", amount: USDC }
        const outcomes = yield* chain.settleBatch([first, bare, second])
        expect(outcomes.map((o) => (o._tag === "Settled" ? "Settled" : o.errorName))).toEqual(["Settled", "AuthorizationRequired", "Settled"])
        expect(yield* chain.balancesOf(a.user)).toEqual({ yieldBalance: 0n, principal: 49n * USDC })
        expect(yield* chain.balancesOf(b.user)).toEqual({ yieldBalance: 0n, principal: 48n * USDC })
      }))
  })
})

