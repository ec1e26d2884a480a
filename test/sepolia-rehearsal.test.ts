import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { type Address, type Hex, createPublicClient, createWalletClient, getAddress, http, keccak256, toBytes } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { mockUsdcBytecode, streamingWalletAbi, yieldVaultAbi } from "../src/chain/contracts.js"
import { deployPaygContracts } from "../src/chain/deploy.js"
import { contentKeyOf } from "../src/domain/Chain.js"
import { freshDatabaseUrl } from "./support/database.js"
import { HARDHAT_KEY_0, hardhatNodeWith } from "./support/hardhatNode.js"
import { serverProcess } from "./support/process.js"

/**
 * The README's "Sepolia" steps, run as written against a `hardhat node` that reports Sepolia's chain
 * id (11155111) and mines a block every 250 ms, as a real chain brings confirmations: deploy, sync the
 * catalogue, fund a viewer, start the server with NETWORK_ID=11155111 and CONFIRMATIONS=3, and one
 * session to a confirmed payment. Each step is the npm script an operator types.
 */

const SEPOLIA = 11155111
/** Hardhat's public test accounts: #0 the deployer (and operator), #1 the viewer, #6 the creator. */
const DEPLOYER_KEY = HARDHAT_KEY_0
const DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
const VIEWER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
const VIEWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
const CREATOR = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"
const USDC = 1_000_000n

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `npm run --silent <script> -- <args>` with exactly `env` (plus PATH and HOME), as an operator's shell would run it. */
const npmRun = (script: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<Run>((resume) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  })

/** The server (`node --import tsx src/main.ts`) expected to refuse to start: its exit code and output. */
const serverExit = (env: Record<string, string>) =>
  Effect.async<Run>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The KEY=value lines a deployment prints (what the README saves as sepolia.env). */
const settingsOf = (stdout: string): Record<string, string> =>
  Object.fromEntries(
    stdout
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
  )

const json = (url: string, body?: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(url, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    const parsed: unknown = await res.json()
    return { status: res.status, body: parsed }
  })

const field = (value: unknown, ...keys: ReadonlyArray<string>): unknown =>
  keys.reduce<unknown>((v, k) => (typeof v === "object" && v !== null ? Reflect.get(v, k) : undefined), value)

/** Deploys raw init code from account #2 (not the deployer, whose transactions the tests count). */
const deployRaw = (rpcUrl: string, bytecode: Hex) =>
  Effect.promise(async () => {
    const transport = http(rpcUrl)
    const account = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")
    const chainId = await createPublicClient({ transport }).getChainId()
    const chain = { id: chainId, name: "rehearsal", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } }
    const hash = await createWalletClient({ chain, transport, account }).deployContract({ abi: [], bytecode })
    const receipt = await createPublicClient({ chain, transport }).waitForTransactionReceipt({ hash })
    if (!receipt.contractAddress) throw new Error("no contract deployed")
    return receipt.contractAddress
  })

/** A hardhat node that calls itself Sepolia, and where the rehearsal keeps its files and database. */
class Rehearsal extends Context.Tag("test/Rehearsal")<
  Rehearsal,
  { readonly rpcUrl: string; readonly dir: string; readonly database: Record<string, string> }
>() {}

const RehearsalLive = Layer.scoped(
  Rehearsal,
  Effect.gen(function* () {
    const node = yield* hardhatNodeWith({ HARDHAT_CHAIN_ID: String(SEPOLIA), HARDHAT_BLOCK_TIME: "250" })
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(path.join(tmpdir(), "payg-sepolia-"))),
      (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
    )
    const url = yield* freshDatabaseUrl
    // a real PostgreSQL database when the suite has one, else the embedded one kept on disk between the steps
    const database = Option.match(url, {
      onSome: (u): Record<string, string> => ({ DATABASE_URL: u }),
      onNone: (): Record<string, string> => ({ PGLITE_DATA_DIR: path.join(dir, "pglite") })
    })
    return { rpcUrl: node.url, dir, database }
  })
)

const catalogue = (price: string) => [
  {
    id: "bbb-0001",
    contentId: "big-buck-bunny",
    title: "Big Buck Bunny",
    description: "A giant rabbit takes revenge",
    fullPrice: price,
    totalDuration: 600,
    category: "Film",
    thumbnailUrl: "https://example.com/bbb.jpg",
    creatorAddress: CREATOR
  }
]

describe("the README's Sepolia steps on a node that reports chain id 11155111", () => {
  layer(RehearsalLive, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.scoped(
      "deploy, sync the catalogue, fund a viewer, then one session is paid with 3 confirmations",
      () =>
        Effect.gen(function* () {
          const { rpcUrl, dir, database } = yield* Rehearsal
          const operator = { RPC_URL: rpcUrl, PRIVATE_KEY: DEPLOYER_KEY }

          // step 1: deploy (a MockUSDC, every role to the deployer)
          const deployed = yield* npmRun("deploy:sepolia", [], operator)
          expect(deployed.stderr).toContain(`deploying to chain ${SEPOLIA}`)
          expect(deployed.code).toBe(0)
          const settings = settingsOf(deployed.stdout)
          expect(settings).toMatchObject({ NETWORK_ID: String(SEPOLIA) })
          for (const name of ["MOCK_USDC_ADDRESS", "YIELD_VAULT_ADDRESS", "STREAMING_WALLET_ADDRESS", "DEPLOYMENT_BLOCK"]) {
            expect(settings[name], name).toBeDefined()
          }
          const env = { ...operator, ...settings, ...database }

          // step 2: the catalogue, to chain and database; a second run changes nothing
          const file = path.join(dir, "catalogue.json")
          yield* Effect.promise(() => writeFile(file, JSON.stringify(catalogue("2000000"), null, 2)))
          const synced = yield* npmRun("catalogue:sync", ["--file", file], env)
          expect(synced.stderr).toBe("")
          expect(synced.stdout).toContain("big-buck-bunny: chain listed, database inserted (2.00 USDC, 600 s")
          expect(synced.code).toBe(0)
          const again = yield* npmRun("catalogue:sync", ["--file", file], env)
          expect(again.stdout).toContain("big-buck-bunny: chain unchanged, database unchanged")
          expect(again.stdout).toContain("nothing to change")
          // a new price goes to both
          yield* Effect.promise(() => writeFile(file, JSON.stringify(catalogue("3000000"), null, 2)))
          const repriced = yield* npmRun("catalogue:sync", ["--file", file], env)
          expect(repriced.stdout).toContain("big-buck-bunny: chain updated, database updated (3.00 USDC, 600 s")
          const chain = createPublicClient({ transport: http(rpcUrl) })
          const wallet = getAddress(settings["STREAMING_WALLET_ADDRESS"] ?? "")
          const vault = getAddress(settings["YIELD_VAULT_ADDRESS"] ?? "")
          const listing = yield* Effect.promise(() =>
            chain.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "contentOf", args: [contentKeyOf("big-buck-bunny")] })
          )
          expect(listing).toEqual([CREATOR, 3n * USDC, 600n, true])

          // step 3: a test viewer
          const funded = yield* npmRun("viewer:fund", ["--key", VIEWER_KEY, "--amount", "100"], env)
          expect(funded.stderr).toBe("")
          expect(funded.code).toBe(0)
          expect(funded.stdout).toContain(`viewer ${VIEWER}: vault principal 100 USDC, yield 0 USDC, wallet allowance 100 USDC`)

          // step 4: the server, as README says (NETWORK_ID and CONFIRMATIONS=3)
          const server = yield* serverProcess({ ...env, CONFIRMATIONS: "3", LOG_LEVEL: "warn" })
          const status = yield* json(`${server.url}/api/status`)
          expect(field(status.body, "network", "chainId")).toBe(SEPOLIA)
          const detail = yield* json(`${server.url}/api/content/big-buck-bunny`)
          expect(field(detail.body, "data", "blockchain")).toMatchObject({ available: true, isListed: true, priceMatches: true, durationMatches: true })
          const balance = yield* json(`${server.url}/api/user/${VIEWER}/balance`)
          expect(field(balance.body, "data", "principalBalance")).toBe((100n * USDC).toString())
          expect(field(balance.body, "data", "formatted", "principal")).toBe("100.00 USDC")

          // step 5: one session, to a confirmed payment
          const started = yield* json(`${server.url}/api/session/start`, { userAddress: VIEWER, contentId: "big-buck-bunny" })
          expect(started.status).toBe(201)
          const sessionId = field(started.body, "data", "sessionId")
          yield* Effect.sleep("1200 millis")
          const stopped = yield* json(`${server.url}/api/session/stop`, { sessionId, userAddress: VIEWER })
          expect(stopped.status, JSON.stringify(stopped.body)).toBe(200)
          expect(field(stopped.body, "data", "status")).toBe("completed")
          const cost = BigInt(String(field(stopped.body, "data", "finalCost")))
          expect(cost).toBeGreaterThan(0n)
          const paidIn = BigInt(Number(field(stopped.body, "data", "payment", "blockNumber")))
          const head = yield* Effect.promise(() => chain.getBlockNumber({ cacheTime: 0 }))
          // the answer came once the payment had 3 confirmations (its block and two more)
          expect(head - paidIn + 1n).toBeGreaterThanOrEqual(3n)
          const [, principal] = yield* Effect.promise(() =>
            chain.readContract({ address: vault, abi: yieldVaultAbi, functionName: "balancesOf", args: [VIEWER] })
          )
          expect(principal).toBe(100n * USDC - cost)
          const earned = yield* Effect.promise(() =>
            chain.readContract({ address: wallet, abi: streamingWalletAbi, functionName: "earningsOf", args: [CREATOR] })
          )
          expect(earned).toBe(cost)
        }),
      120_000
    )

    it.scoped("deploy:sepolia refuses a token whose decimals are not 6, and deploys nothing; the server refuses to start on one", () =>
      Effect.gen(function* () {
        const { database, rpcUrl } = yield* Rehearsal
        const chain = createPublicClient({ transport: http(rpcUrl) })
        // a contract answering 18 to every call (decimals() included): runtime PUSH1 18, MSTORE at 0, RETURN 32 bytes
        const eighteen = yield* deployRaw(rpcUrl, "0x600a600c600039600a6000f3601260005260206000f3")
        const before = yield* Effect.promise(() => chain.getTransactionCount({ address: DEPLOYER }))
        const refused = yield* npmRun("deploy:sepolia", ["--token", eighteen], { RPC_URL: rpcUrl, PRIVATE_KEY: DEPLOYER_KEY })
        expect(refused.code).toBe(1)
        expect(refused.stderr).toContain(`has 18 decimals; payg supports 6-decimal tokens (USDC) only; nothing was deployed`)
        expect(yield* Effect.promise(() => chain.getTransactionCount({ address: DEPLOYER }))).toBe(before)

        // a deployment made around such a token anyway: the server refuses to start on it, and on a vault
        // whose token is not MOCK_USDC_ADDRESS
        const d = yield* Effect.promise(async () => {
          const transport = http(rpcUrl)
          const viemChain = { id: SEPOLIA, name: "rehearsal", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } }
          const admin = createWalletClient({ chain: viemChain, transport, account: privateKeyToAccount(DEPLOYER_KEY) })
          const roles = { operator: DEPLOYER, contentManager: DEPLOYER, yieldManager: DEPLOYER } as const
          return deployPaygContracts(createPublicClient({ chain: viemChain, transport, pollingInterval: 50 }), admin, roles, { token: eighteen })
        })
        const start = (usdc: string) =>
          serverExit({
            RPC_URL: rpcUrl,
            PRIVATE_KEY: DEPLOYER_KEY,
            NETWORK_ID: String(SEPOLIA),
            MOCK_USDC_ADDRESS: usdc,
            YIELD_VAULT_ADDRESS: d.vault,
            STREAMING_WALLET_ADDRESS: d.wallet,
            LOG_LEVEL: "warn",
            // refused before the database is bound: the rehearsal's database is left as it is
            ...database
          })
        const wrongDecimals = yield* start(eighteen)
        expect(wrongDecimals.code).toBe(1)
        expect(wrongDecimals.stderr).toContain(`payg: cannot start: the token at ${eighteen} has 18 decimals; payg supports 6-decimal tokens (USDC) only`)
        const notTheVaults = yield* start(DEPLOYER)
        expect(notTheVaults.code).toBe(1)
        expect(notTheVaults.stderr).toContain(`payg: cannot start: the YieldVault at ${d.vault.toLowerCase()} holds ${getAddress(eighteen)}, not MOCK_USDC_ADDRESS ${DEPLOYER.toLowerCase()}`)
      })
    )

    it.scoped("deploy:sepolia uses an existing token by address, gives each role to the address named, and the deployer keeps none it was not named for", () =>
      Effect.gen(function* () {
        const { rpcUrl } = yield* Rehearsal
        const token = yield* deployRaw(rpcUrl, mockUsdcBytecode)
        const [admin, manager, pauser, yieldManager] = [
          "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
          "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
          "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
          "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
        ] as const
        const run = yield* npmRun(
          "deploy:sepolia",
          ["--token", token, "--admin", admin, "--content-manager", manager, "--pauser", pauser, "--yield-manager", yieldManager],
          { RPC_URL: rpcUrl, PRIVATE_KEY: DEPLOYER_KEY }
        )
        expect(run.code, run.stderr).toBe(0)
        const s = settingsOf(run.stdout)
        expect(s["MOCK_USDC_ADDRESS"]).toBe(getAddress(token))
        const chain = createPublicClient({ transport: http(rpcUrl) })
        const wallet = getAddress(s["STREAMING_WALLET_ADDRESS"] ?? "")
        const vault = getAddress(s["YIELD_VAULT_ADDRESS"] ?? "")
        // OpenZeppelin's role ids: keccak256 of the name, DEFAULT_ADMIN_ROLE zero
        const has = (on: Address, abi: typeof streamingWalletAbi | typeof yieldVaultAbi, role: string, who: Address) =>
          Effect.promise(() => {
            const id: Hex = role === "DEFAULT_ADMIN_ROLE" ? `0x${"00".repeat(32)}` : keccak256(toBytes(role))
            return chain.readContract({ address: on, abi, functionName: "hasRole", args: [id, who] })
          })
        const roles = {
          wallet: {
            admin: yield* has(wallet, streamingWalletAbi, "DEFAULT_ADMIN_ROLE", admin),
            manager: yield* has(wallet, streamingWalletAbi, "CONTENT_MANAGER_ROLE", manager),
            pauser: yield* has(wallet, streamingWalletAbi, "PAUSER_ROLE", pauser),
            operator: yield* has(wallet, streamingWalletAbi, "OPERATOR_ROLE", DEPLOYER),
            deployerAdmin: yield* has(wallet, streamingWalletAbi, "DEFAULT_ADMIN_ROLE", DEPLOYER),
            deployerManager: yield* has(wallet, streamingWalletAbi, "CONTENT_MANAGER_ROLE", DEPLOYER),
            deployerPauser: yield* has(wallet, streamingWalletAbi, "PAUSER_ROLE", DEPLOYER)
          },
          vault: {
            admin: yield* has(vault, yieldVaultAbi, "DEFAULT_ADMIN_ROLE", admin),
            pauser: yield* has(vault, yieldVaultAbi, "PAUSER_ROLE", pauser),
            yieldManager: yield* has(vault, yieldVaultAbi, "YIELD_MANAGER_ROLE", yieldManager),
            spender: yield* has(vault, yieldVaultAbi, "SPENDER_ROLE", wallet),
            deployerAdmin: yield* has(vault, yieldVaultAbi, "DEFAULT_ADMIN_ROLE", DEPLOYER),
            deployerPauser: yield* has(vault, yieldVaultAbi, "PAUSER_ROLE", DEPLOYER),
            deployerYield: yield* has(vault, yieldVaultAbi, "YIELD_MANAGER_ROLE", DEPLOYER)
          }
        }
        expect(roles).toEqual({
          wallet: { admin: true, manager: true, pauser: true, operator: true, deployerAdmin: false, deployerManager: false, deployerPauser: false },
          vault: { admin: true, pauser: true, yieldManager: true, spender: true, deployerAdmin: false, deployerPauser: false, deployerYield: false }
        })
      })
    )
  })
})

describe("viewer:fund on a main network", () => {
  layer(Layer.scoped(Rehearsal, Effect.map(hardhatNodeWith({ HARDHAT_CHAIN_ID: "1" }), (n) => ({ rpcUrl: n.url, dir: "", database: {} }))), {
    timeout: 120_000,
    excludeTestServices: true
  })((it) => {
    it.scoped("is refused before anything is sent", () =>
      Effect.gen(function* () {
        const { rpcUrl } = yield* Rehearsal
        const chain = createPublicClient({ transport: http(rpcUrl) })
        const placeholder = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        const run = yield* npmRun("viewer:fund", ["--key", VIEWER_KEY, "--amount", "100"], {
          RPC_URL: rpcUrl,
          MOCK_USDC_ADDRESS: placeholder,
          YIELD_VAULT_ADDRESS: placeholder,
          STREAMING_WALLET_ADDRESS: placeholder
        })
        expect(run.code).toBe(1)
        expect(run.stderr).toContain("chain 1 is a main network: viewer:fund is for test networks only")
        expect(yield* Effect.promise(() => chain.getTransactionCount({ address: VIEWER }))).toBe(0)
      })
    )
  })
})
