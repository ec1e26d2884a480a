import { Context, Effect, Layer, Ref } from "effect"
import { ChainOnDevChain } from "../../src/chain/ChainInProcess.js"
import { Chain } from "../../src/domain/Chain.js"
import { ChainUnavailable } from "../../src/domain/errors.js"
import { TestAppWith } from "./app.js"

/** The switch of a `FlakyChain`: while it holds `true`, every Chain operation fails with ChainUnavailable. */
export class ChainOutage extends Context.Tag("test/ChainOutage")<ChainOutage, Ref.Ref<boolean>>() {}

export const ChainOutageLive = Layer.effect(ChainOutage, Ref.make(false))

/** Runs `effect` with the chain down, and brings it back up afterwards whatever happens. */
export const whileChainDown = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(ChainOutage, (down) => Effect.acquireUseRelease(Ref.set(down, true), () => effect, () => Ref.set(down, false)))

/**
 * The real in-process Chain, wrapped: each operation first reads the `ChainOutage` switch and fails as
 * an unreachable chain would when it is on. Operations added to the port later pass through unwrapped
 * (the spread) until they are listed here.
 */
export const FlakyChain = Layer.effect(
  Chain,
  Effect.gen(function* () {
    const chain = yield* Chain
    const down = yield* ChainOutage
    const gate = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | ChainUnavailable> =>
      Effect.zipRight(
        Effect.flatMap(Ref.get(down), (isDown) =>
          isDown ? Effect.fail(new ChainUnavailable({ reason: "connection refused (simulated outage)" })) : Effect.void
        ),
        effect
      )
    return Chain.of({
      ...chain,
      status: gate(chain.status),
      balancesOf: (user) => gate(chain.balancesOf(user)),
      spendAllowance: (user) => gate(chain.spendAllowance(user)),
      fundsAt: (users, block) => gate(chain.fundsAt(users, block)),
      contentListing: (contentId) => gate(chain.contentListing(contentId)),
      settle: (request) => gate(chain.settle(request)),
      settleBatch: (requests) => gate(chain.settleBatch(requests)),
      findSettlement: (sessionKey) => gate(chain.findSettlement(sessionKey)),
      verifyPayment: (txHash, expected) => gate(chain.verifyPayment(txHash, expected)),
      isValidSignature: (signer, hash, signature) => gate(chain.isValidSignature(signer, hash, signature)),
      listContent: (contentId, terms) => gate(chain.listContent(contentId, terms)),
      updateContent: (contentId, terms) => gate(chain.updateContent(contentId, terms)),
      delistContent: (contentId) => gate(chain.delistContent(contentId)),
      suggestFees: gate(chain.suggestFees),
      pendingNonce: gate(chain.pendingNonce),
      head: gate(chain.head),
      broadcast: (call, nonce, fees) => gate(chain.broadcast(call, nonce, fees)),
      sentState: (hashes, requests) => gate(chain.sentState(hashes, requests)),
      explainBatch: (requests) => gate(chain.explainBatch(requests)),
      activityBetween: (fromBlock, toBlock) => gate(chain.activityBetween(fromBlock, toBlock))
    })
  })
).pipe(Layer.provide(ChainOnDevChain))

/** `TestApp` with the chain behind a `ChainOutage` switch, off at start. */
export const FlakyTestApp = (vars: Record<string, string> = {}, deployment: { readonly requireAuthorization?: boolean } = {}) =>
  TestAppWith(FlakyChain, vars, deployment).pipe(Layer.provideMerge(ChainOutageLive))
