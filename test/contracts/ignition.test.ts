// The fixture first: it registers the loader Hardhat's .cts config needs.
import { accounts, connect, contentIdOf, hre, roles, USDC } from "./support/fixture.js"
import { getAddress, isAddress, type Address } from "viem"
import { describe, expect, it } from "vitest"
import PaygImport from "../../ignition/modules/Payg.cjs"
import HandoverImport from "../../ignition/modules/PaygHandover.cjs"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "../../src/chain/contracts.js"

// TypeScript sees the CommonJS shape ({ default: module }); vitest hands over the default export itself.
const PaygModule = "default" in PaygImport ? PaygImport.default : PaygImport
const HandoverModule = "default" in HandoverImport ? HandoverImport.default : HandoverImport

// hardhat-ignition-viem types each result from Hardhat's generated artifact types, absent here.
const addressOf = (contract: unknown): Address => {
  if (typeof contract === "object" && contract !== null && "address" in contract && typeof contract.address === "string") {
    if (isAddress(contract.address)) return getAddress(contract.address)
  }
  throw new Error("the deployment result has no contract address")
}

describe("ignition/modules/Payg", () => {
  it("deploy_wiresRoles_andListsContents", async () => {
    const { admin, creatorA, outsider } = accounts
    const deployed = await hre.ignition.deploy(PaygModule, {
      parameters: {
        Payg: {
          contents: [
            { id: "big-buck-bunny", creator: creatorA.account.address, price: 2n * USDC, duration: 3600 },
            { id: "sintel", creator: creatorA.account.address, price: USDC, duration: 900 }
          ]
        }
      }
    })
    const usdc = connect(mockUsdcAbi, addressOf(deployed.usdc), outsider)
    const vault = connect(yieldVaultAbi, addressOf(deployed.vault), outsider)
    const wallet = connect(streamingWalletAbi, addressOf(deployed.wallet), outsider)
    const deployer = admin.account.address

    expect(await usdc.read.decimals()).toBe(6)
    expect(await vault.read.asset()).toBe(usdc.address)
    expect(await wallet.read.vault()).toBe(vault.address)
    expect(await vault.read.hasRole([roles.SPENDER_ROLE, wallet.address])).toBe(true)
    expect(await vault.read.hasRole([await vault.read.DEFAULT_ADMIN_ROLE(), deployer])).toBe(true)
    expect(await vault.read.hasRole([roles.YIELD_MANAGER_ROLE, deployer])).toBe(true)
    expect(await wallet.read.hasRole([await wallet.read.DEFAULT_ADMIN_ROLE(), deployer])).toBe(true)
    expect(await wallet.read.hasRole([roles.OPERATOR_ROLE, deployer])).toBe(true)
    expect(await wallet.read.hasRole([roles.CONTENT_MANAGER_ROLE, deployer])).toBe(true)
    expect(await wallet.read.hasRole([roles.PAUSER_ROLE, deployer])).toBe(true)
    expect(await wallet.read.requireAuthorization()).toBe(false)
    expect(await wallet.read.contentOf([contentIdOf("big-buck-bunny")])).toEqual([creatorA.account.address, 2n * USDC, 3600n, true])
    expect(await wallet.read.contentOf([contentIdOf("sintel")])).toEqual([creatorA.account.address, USDC, 900n, true])
  })

  it("deployHandover_separatesEveryRole_requiresAuthorizations_andTheDeployerKeepsNone", async () => {
    const { admin: deployerClient, operator, contentManager, yieldManager, outsider, carol } = accounts
    const deployer = deployerClient.account.address
    const [multisig, op, cm, pauser, ym] = [carol.account.address, operator.account.address, contentManager.account.address, outsider.account.address, yieldManager.account.address] as const
    const deployed = await hre.ignition.deploy(HandoverModule, {
      parameters: {
        Payg: { operator: op, contentManager: cm, pauser, yieldManager: ym, requireAuthorization: true },
        PaygHandover: { admin: multisig }
      }
    })
    const vault = connect(yieldVaultAbi, addressOf(deployed.vault), outsider)
    const wallet = connect(streamingWalletAbi, addressOf(deployed.wallet), outsider)
    const adminRole = await wallet.read.DEFAULT_ADMIN_ROLE()
    expect(await wallet.read.requireAuthorization()).toBe(true)
    const holders = async (role: `0x${string}`, on: typeof wallet | typeof vault) =>
      (await Promise.all([deployer, multisig, op, cm, pauser, ym].map((a) => on.read.hasRole([role, a])))).map((has, i) => (has ? ["deployer", "admin", "operator", "contentManager", "pauser", "yieldManager"][i] : undefined)).filter((x) => x !== undefined)
    expect(await holders(adminRole, wallet)).toEqual(["admin"])
    expect(await holders(adminRole, vault)).toEqual(["admin"])
    expect(await holders(roles.OPERATOR_ROLE, wallet)).toEqual(["operator"])
    expect(await holders(roles.CONTENT_MANAGER_ROLE, wallet)).toEqual(["contentManager"])
    expect(await holders(roles.PAUSER_ROLE, wallet)).toEqual(["pauser"])
    expect(await holders(roles.PAUSER_ROLE, vault)).toEqual(["pauser"])
    expect(await holders(roles.YIELD_MANAGER_ROLE, vault)).toEqual(["yieldManager"])
    expect(await vault.read.hasRole([roles.SPENDER_ROLE, wallet.address])).toBe(true)
  })
})
