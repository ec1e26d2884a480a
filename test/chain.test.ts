import { type Vitest, describe, expect, it, layer } from "@effect/vitest"
import { Context, Duration, Effect, Either, FastCheck, Layer, Option } from "effect"
import { ChainOnDevChain, DevChain, DevChainDeployment } from "../src/chain/ChainInProcess.js"
import { ChainRpc } from "../src/chain/ChainViem.js"
import { streamingWalletAbi } from "../src/chain/contracts.js"
import { Chain, type Settlement, contentKeyOf, paymentMismatch, settlementKeyBase } from "../src/domain/Chain.js"
import { toAddress } from "../src/domain/Address.js"
import { configFrom } from "./support/app.js"
import { HARDHAT_KEY_0, hardhatNode } from "./support/hardhatNode.js"
import { USDC, fundedViewer, payForSession, randomAddress } from "./support/users.js"

/** Hardhat's well-known account #0, the deployer and operator on a development node. */

/** The hash of a transaction Hardhat mined and then reported as failed, from anywhere on the error's cause chain. */
const minedHashOf = (e: unknown): `0x${string}` | undefined => {
  for (let cur: unknown = e, depth = 0; typeof cur === "object" && cur !== null && depth < 10; depth++) {
    for (const field of ["transactionHash", "txHash"]) {
      const v: unknown = Reflect.get(cur, field)
      if (typeof v === "string" && /^0x[0-9a-f]{64}$/i.test(v)) return `0x${v.slice(2)}`
    }
    const data: unknown = Reflect.get(cur, "data")
    if (typeof data === "object" && data !== null) {
      const v: unknown = Reflect.get(data, "txHash") ?? Reflect.get(data, "transactionHash")
      if (typeof v === "string" && /^0x[0-9a-f]{64}$/i.test(v)) return `0x${v.slice(2)}`
    }
    cur = Reflect.get(cur, "cause")
  }
  return undefined
}

class NodeUrl extends Context.Tag("test/NodeUrl")<NodeUrl, string>() {}

let nextKey = 800_000n
const key = () => nextKey++

/** The same checks for every adapter: the port's contract. */
const portSuite = (it: Vitest.MethodsNonLive<Chain | DevChain, true>) => {
  it.effect("status: chain id 31337 and a block number", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const status = yield* chain.status
      expect(status.chainId).toBe(31337)
      expect(status.blockNumber).toBeGreaterThan(0n)
    }))

  it.effect("balances, allowance and a content listing", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const user = yield* fundedViewer({ principal: 40n * USDC, yieldAmount: 2n * USDC, allowance: 30n * USDC })
      expect(yield* chain.balancesOf(user)).toEqual({ yieldBalance: 2n * USDC, principal: 40n * USDC })
      expect(yield* chain.spendAllowance(user)).toBe(30n * USDC)
      expect(yield* chain.balancesOf(randomAddress())).toEqual({ yieldBalance: 0n, principal: 0n })
      expect(yield* chain.contentListing("intro-to-defi")).toEqual({
        listed: true,
        price: 10n * USDC,
        duration: 3600n,
        creator: toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")
      })
      expect((yield* chain.contentListing("never-listed")).listed).toBe(false)
    }))

  it.effect("settle pays yield first, is found again, and a second settlement of the key is a typed revert", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const user = yield* fundedViewer({ principal: 40n * USDC, yieldAmount: 2n * USDC })
      const k = key()
      expect(Option.isNone(yield* chain.findSettlement(k))).toBe(true)
      const paid = yield* chain.settle({ sessionKey: k, user, contentId: "intro-to-defi", amount: 5n * USDC })
      expect(paid).toMatchObject({ sessionKey: k, user, amount: 5n * USDC, fromYield: 2n * USDC, fromPrincipal: 3n * USDC, batchSize: 1 })
      expect(paid.gasUsed).toBeGreaterThan(21_000n)
      const found = yield* chain.findSettlement(k)
      expect(Option.getOrThrow(found)).toEqual(paid)
      const again = yield* Effect.either(chain.settle({ sessionKey: k, user, contentId: "intro-to-defi", amount: 5n * USDC }))
      expect(Either.isLeft(again) && again.left._tag === "SettlementRejected" && again.left.errorName).toBe("AlreadySettled")
    }))

  it.effect("settleBatch settles the good entries and reports each bad one by name", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const user = yield* fundedViewer()
      const [a, b, c] = [key(), key(), key()]
      const outcomes = yield* chain.settleBatch([
        { sessionKey: a, user, contentId: "intro-to-defi", amount: 1n * USDC },
        { sessionKey: b, user, contentId: "intro-to-defi", amount: 11n * USDC },
        { sessionKey: c, user, contentId: "yield-farming-101", amount: 2n * USDC }
      ])
      expect(outcomes.map((o) => o._tag)).toEqual(["Settled", "Rejected", "Settled"])
      const rejected = outcomes[1]
      expect(rejected?._tag === "Rejected" && rejected.errorName).toBe("AmountExceedsPrice")
      const settled = outcomes[0]
      expect(settled?._tag === "Settled" && settled.settlement.batchSize).toBe(2)
    }))

  it.effect("settleBatch_revertsWhen_walletPaused: the whole batch is refused, by name, and nothing is settled", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const dev = yield* DevChain
      const user = yield* fundedViewer()
      const k = key()
      const setPaused = (paused: boolean) =>
        Effect.promise(() =>
          dev.walletClient
            .writeContract({ address: dev.deployment.wallet, abi: streamingWalletAbi, functionName: paused ? "pause" : "unpause" })
            .then((hash) => dev.publicClient.waitForTransactionReceipt({ hash }))
        )
      yield* setPaused(true)
      const refused = yield* Effect.either(chain.settleBatch([{ sessionKey: k, user, contentId: "intro-to-defi", amount: 1n * USDC }])).pipe(
        Effect.ensuring(setPaused(false))
      )
      expect(Either.isLeft(refused) && refused.left._tag === "SettlementRejected" && refused.left.errorName).toBe("EnforcedPause")
      expect(Option.isNone(yield* chain.findSettlement(k))).toBe(true)
      // and once unpaused the same batch goes through
      const outcomes = yield* chain.settleBatch([{ sessionKey: k, user, contentId: "intro-to-defi", amount: 1n * USDC }])
      expect(outcomes.map((o) => o._tag)).toEqual(["Settled"])
    }))

  it.effect("verifyPayment accepts only the viewer's own payment of this session, content and cost, and rejects everything else", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const dev = yield* DevChain
      const user = yield* fundedViewer()
      const k = key()
      const paid = yield* payForSession(user, k, "yield-farming-101", 2n * USDC)
      const expected = { sessionKey: k, user, contentId: "yield-farming-101", minAmount: 2n * USDC }
      expect(yield* chain.verifyPayment(paid, expected)).toMatchObject({ sessionKey: k, user, amount: 2n * USDC, txHash: paid })

      const reason = (r: Either.Either<unknown, { readonly _tag: string; readonly message: string }>) =>
        Either.isLeft(r) && r.left._tag === "PaymentNotProven" ? r.left.message : "accepted"
      expect(reason(yield* Effect.either(chain.verifyPayment(`0x${"12".repeat(32)}`, expected)))).toMatch(/not found/)
      expect(reason(yield* Effect.either(chain.verifyPayment(paid, { ...expected, sessionKey: key() })))).toMatch(/no SessionPaid/)
      expect(reason(yield* Effect.either(chain.verifyPayment(paid, { ...expected, user: randomAddress() })))).toMatch(/another address/)
      expect(reason(yield* Effect.either(chain.verifyPayment(paid, { ...expected, contentId: "intro-to-defi" })))).toMatch(/other content/)
      expect(reason(yield* Effect.either(chain.verifyPayment(paid, { ...expected, minAmount: 3n * USDC })))).toMatch(/less than/)
      // a stranger's payment of the viewer's key is not the viewer's
      const stranger = yield* fundedViewer()
      const strangers = yield* payForSession(stranger, k, "yield-farming-101", 2n * USDC)
      expect(reason(yield* Effect.either(chain.verifyPayment(strangers, expected)))).toMatch(/another address/)
      // the operator's settlement is not a viewer's own payment
      const k2 = key()
      const operatorPaid = yield* chain.settle({ sessionKey: k2, user, contentId: "yield-farming-101", amount: 2n * USDC })
      expect(reason(yield* Effect.either(chain.verifyPayment(operatorPaid.txHash, { ...expected, sessionKey: k2 })))).toMatch(/no SessionPaid/)
      // a reverted transaction: sent without simulation, with fixed gas, so it is mined and fails (Hardhat
      // still mines it and then throws, naming its hash on the error)
      const failed = yield* Effect.promise(() =>
        dev.walletClient
          .writeContract({
            address: dev.deployment.wallet,
            abi: streamingWalletAbi,
            functionName: "settle",
            args: [k2, user, contentKeyOf("yield-farming-101"), 1n, 0n, 0n, "0x"],
            gas: 300_000n
          })
          .then(
            () => undefined,
            (e: unknown) => minedHashOf(e)
          )
      )
      if (failed === undefined) throw new Error("expected the transaction to fail")
      expect(reason(yield* Effect.either(chain.verifyPayment(failed, expected)))).toMatch(/failed/)
    }))

  it.effect("findSettlement sees only the operator's settlements: a viewer's own payment of the key is not one", () =>
    Effect.gen(function* () {
      const chain = yield* Chain
      const user = yield* fundedViewer()
      const k = key()
      yield* payForSession(user, k, "intro-to-defi", 1n)
      expect(Option.isNone(yield* chain.findSettlement(k))).toBe(true)
      const paid = yield* chain.settle({ sessionKey: k, user, contentId: "intro-to-defi", amount: 4n * USDC })
      expect(Option.getOrThrow(yield* chain.findSettlement(k))).toEqual(paid)
    }))
}

describe("settlementKeyBase: a process's keys", () => {
  it.prop(
    "lie in [2^127, 2^128), consecutive ones share a bitmap word, and two epochs never give the same key",
    { a: FastCheck.bigInt({ min: 0n, max: 2n ** 64n - 1n }), b: FastCheck.bigInt({ min: 0n, max: 2n ** 64n - 1n }), n: FastCheck.bigInt({ min: 1n, max: 2n ** 63n - 1n }) },
    ({ a, b, n }) => {
      const ka = settlementKeyBase(a) + n
      expect(ka).toBeGreaterThanOrEqual(2n ** 127n)
      expect(ka).toBeLessThan(2n ** 128n)
      // consecutive keys of one epoch share a 256-bit bitmap word unless they cross its boundary
      if (n % 256n !== 255n) expect((ka + 1n) >> 8n).toBe(ka >> 8n)
      if ((a | (1n << 63n)) !== (b | (1n << 63n))) expect(settlementKeyBase(b) + n).not.toBe(ka)
    }
  )
})

describe("paymentMismatch: the one rule for a viewer's payment and for adopting a settled key", () => {
  const user = toAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
  const paid: Settlement = {
    sessionKey: 7n,
    user,
    contentKey: contentKeyOf("intro-to-defi"),
    amount: 5n,
    fromYield: 0n,
    fromPrincipal: 5n,
    txHash: `0x${"ab".repeat(32)}`,
    blockNumber: 1n,
    gasUsed: 1n,
    batchSize: 1
  }
  const expected = { sessionKey: 7n, user, contentId: "intro-to-defi", minAmount: 5n }
  it("accepts a payment matching every field, or paying more than the cost", () => {
    expect(paymentMismatch(paid, expected)).toEqual(Option.none())
    expect(paymentMismatch(paid, { ...expected, minAmount: 4n })).toEqual(Option.none())
  })
  it.prop(
    "accepts exactly the payments that match in key, payer and content and pay at least the cost",
    {
      key: FastCheck.bigInt({ min: 0n, max: 3n }),
      payer: FastCheck.constantFrom(user, toAddress("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc")),
      content: FastCheck.constantFrom("intro-to-defi", "yield-farming-101"),
      amount: FastCheck.bigInt({ min: 1n, max: 10n })
    },
    ({ amount, content, key, payer }) => {
      const candidate = { ...paid, sessionKey: key, user: payer, contentKey: contentKeyOf(content), amount }
      const matches = key === expected.sessionKey && payer === expected.user && content === expected.contentId && amount >= expected.minAmount
      expect(Option.isNone(paymentMismatch(candidate, expected))).toBe(matches)
    }
  )
  it("rejects a payment that differs in key, payer, content or pays less", () => {
    expect(Option.getOrNull(paymentMismatch(paid, { ...expected, sessionKey: 8n }))).toMatch(/another session/)
    expect(Option.getOrNull(paymentMismatch(paid, { ...expected, user: randomAddress() }))).toMatch(/another address/)
    expect(Option.getOrNull(paymentMismatch(paid, { ...expected, contentId: "yield-farming-101" }))).toMatch(/other content/)
    expect(Option.getOrNull(paymentMismatch(paid, { ...expected, minAmount: 6n }))).toMatch(/less than/)
  })
})

describe("Chain port", () => {
  describe("in-process (Hardhat EDR)", () => {
    layer(ChainOnDevChain.pipe(Layer.provideMerge(DevChainDeployment({ demo: true }))), { timeout: 120_000, excludeTestServices: true })((it) => portSuite(it))
  })

  describe("ChainRpc over HTTP to `hardhat node`", () => {
    const OverHttp = Layer.unwrapScoped(
      Effect.gen(function* () {
        const node = yield* hardhatNode
        const dev = DevChainDeployment({ demo: true, rpcUrl: node.url })
        const viem = Layer.unwrapEffect(
          Effect.map(DevChain, (d) =>
            ChainRpc.pipe(
              Layer.provide(
                configFrom({
                  RPC_URL: node.url,
                  PRIVATE_KEY: HARDHAT_KEY_0,
                  NETWORK_ID: "31337",
                  MOCK_USDC_ADDRESS: d.deployment.usdc,
                  YIELD_VAULT_ADDRESS: d.deployment.vault,
                  STREAMING_WALLET_ADDRESS: d.deployment.wallet
                })
              )
            )
          )
        )
        return viem.pipe(Layer.provideMerge(dev), Layer.merge(Layer.succeed(NodeUrl, node.url)))
      })
    )
    layer(OverHttp, { timeout: 180_000, excludeTestServices: true })((it) => {
      portSuite(it)

      it.effect("a wrong NETWORK_ID refuses to start with a clear line", () =>
        Effect.gen(function* () {
          const dev = yield* DevChain
          const url = yield* NodeUrl
          const result = yield* Effect.either(
            Layer.build(
              ChainRpc.pipe(
                Layer.provide(
                  configFrom({
                    RPC_URL: url,
                    PRIVATE_KEY: HARDHAT_KEY_0,
                    NETWORK_ID: "11155111",
                    MOCK_USDC_ADDRESS: dev.deployment.usdc,
                    YIELD_VAULT_ADDRESS: dev.deployment.vault,
                    STREAMING_WALLET_ADDRESS: dev.deployment.wallet
                  })
                )
              )
            )
          )
          expect(Either.isLeft(result) && result.left.message).toBe("NETWORK_ID is 11155111 but RPC_URL serves chain 31337")
        }).pipe(Effect.scoped))
    })
  })

  it.scoped("an unreachable RPC fails fast and clearly", () =>
    Effect.gen(function* () {
      const started = Date.now()
      const result = yield* Effect.either(
        Layer.build(
          ChainRpc.pipe(
            Layer.provide(
              configFrom({
                RPC_URL: "http://127.0.0.1:9",
                PRIVATE_KEY: HARDHAT_KEY_0,
                MOCK_USDC_ADDRESS: `0x${"1".repeat(40)}`,
                YIELD_VAULT_ADDRESS: `0x${"2".repeat(40)}`,
                STREAMING_WALLET_ADDRESS: `0x${"3".repeat(40)}`,
                CHAIN_TIMEOUT: "3 seconds"
              })
            )
          )
        )
      )
      expect(Either.isLeft(result) && result.left.message).toMatch(/^RPC_URL: cannot reach the chain/)
      expect(Date.now() - started).toBeLessThan(Duration.toMillis("15 seconds"))
    }))
})
