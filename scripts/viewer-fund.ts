/**
 * Sets up a test viewer as the frontend would: mints test tokens (MockUSDC only), deposits them into
 * the vault and approves the StreamingWallet to spend the viewer's vault balance, then prints balances.
 * Refused on main networks.
 *
 *   npm run viewer:fund -- --key <viewer's private key> --amount 100
 *
 * Settings as the server's: RPC_URL, NETWORK_ID (checked when set), MOCK_USDC_ADDRESS, YIELD_VAULT_ADDRESS,
 * STREAMING_WALLET_ADDRESS. `--amount` is in whole tokens (decimals allowed: 12.5). With a token that
 * cannot be minted (a real test USDC), the viewer's own balance is deposited: get it from a faucet first.
 */
import { Console, Effect } from "effect"
import { formatUnits, parseUnits } from "viem"
import { mockUsdcAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { MAINNET_CHAIN_IDS, checkDeploymentToken } from "../src/chain/token.js"
import { AppConfig } from "../src/config.js"
import { attempt, clientsFor, fail, flags, keyOf, required, runScript } from "./support/cli.js"

const program = Effect.gen(function* () {
  const f = yield* flags(["key", "amount"])
  if (f.key === undefined || f.amount === undefined) return yield* fail("usage: npm run viewer:fund -- --key <viewer's private key> --amount <tokens>")
  const config = yield* AppConfig
  const usdc = yield* required("MOCK_USDC_ADDRESS", config.chain.usdc)
  const vault = yield* required("YIELD_VAULT_ADDRESS", config.chain.vault)
  const wallet = yield* required("STREAMING_WALLET_ADDRESS", config.chain.wallet)
  const { chainId, publicClient, walletClient } = yield* clientsFor(yield* keyOf("--key", f.key))
  if (MAINNET_CHAIN_IDS.has(chainId)) return yield* fail(`chain ${chainId} is a main network: viewer:fund is for test networks only`)
  const viewer = walletClient.account.address
  const token = yield* attempt("the deployment does not check out", () => checkDeploymentToken(publicClient, { usdc, vault }))
  if (!/^[0-9]+(\.[0-9]+)?$/.test(f.amount)) return yield* fail("--amount must be a positive number of tokens, e.g. 100 or 12.5")
  const amount = parseUnits(f.amount, token.decimals)
  if (amount <= 0n) return yield* fail("--amount must be positive")
  const show = (units: bigint) => `${formatUnits(units, token.decimals)} ${token.symbol}`

  const gas = yield* attempt("cannot read the viewer's ETH balance", () => publicClient.getBalance({ address: viewer }))
  if (gas === 0n) return yield* fail(`the viewer ${viewer} has no ETH to pay gas: get some from a faucet of chain ${chainId} first`)

  const send = (what: string, request: () => Promise<`0x${string}`>) =>
    attempt(what, async () => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await request() })
      if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`)
    })

  // MockUSDC lets anyone mint; a real token refuses, and the viewer's own balance is used instead
  const mintable = yield* Effect.promise(() =>
    publicClient
      .simulateContract({ account: walletClient.account, address: usdc, abi: mockUsdcAbi, functionName: "mint", args: [viewer, amount] })
      .then(() => true, () => false)
  )
  if (mintable) {
    yield* send("mint", () => walletClient.writeContract({ address: usdc, abi: mockUsdcAbi, functionName: "mint", args: [viewer, amount] }))
    yield* Console.log(`minted ${show(amount)} to ${viewer}`)
  } else {
    const held = yield* attempt("cannot read the viewer's balance", () =>
      publicClient.readContract({ address: usdc, abi: mockUsdcAbi, functionName: "balanceOf", args: [viewer] })
    )
    if (held < amount) {
      return yield* fail(`${token.symbol} at ${usdc} cannot be minted here and ${viewer} holds ${show(held)}, less than ${show(amount)}: get test tokens from its faucet`)
    }
  }
  yield* send("approve", () => walletClient.writeContract({ address: usdc, abi: mockUsdcAbi, functionName: "approve", args: [vault, amount] }))
  yield* send("deposit", () => walletClient.writeContract({ address: vault, abi: yieldVaultAbi, functionName: "deposit", args: [amount] }))
  const [yieldBalance, principal] = yield* attempt("cannot read the vault", () =>
    publicClient.readContract({ address: vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [viewer] })
  )
  // as the frontend: the wallet may spend up to what the viewer has in the vault
  const allowance = principal + yieldBalance
  yield* send("approveSpender", () =>
    walletClient.writeContract({ address: vault, abi: yieldVaultAbi, functionName: "approveSpender", args: [wallet, allowance] })
  )
  const held = yield* attempt("cannot read the viewer's balance", () =>
    publicClient.readContract({ address: usdc, abi: mockUsdcAbi, functionName: "balanceOf", args: [viewer] })
  )
  yield* Console.log(`deposited ${show(amount)} into the vault for ${viewer}`)
  yield* Console.log(`viewer ${viewer}: vault principal ${show(principal)}, yield ${show(yieldBalance)}, wallet allowance ${show(allowance)}, tokens held ${show(held)}`)
})

runScript(program)
