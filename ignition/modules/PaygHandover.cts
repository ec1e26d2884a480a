import { buildModule } from "@nomicfoundation/hardhat-ignition/modules"
import Payg from "./Payg.cjs"

/**
 * The production deployment: `Payg`, then the admin handover. Parameter `admin` (required: ideally a
 * multisig) receives DEFAULT_ADMIN_ROLE of both contracts and the deployer renounces every role it holds
 * (PAUSER_ROLE, YIELD_MANAGER_ROLE, CONTENT_MANAGER_ROLE, DEFAULT_ADMIN_ROLE last), so name every role of
 * `Payg` (operator, contentManager, pauser, yieldManager) with accounts other than the deployer.
 *
 *   npx hardhat ignition deploy ignition/modules/PaygHandover.cts --network sepolia --parameters params.json
 */
export default buildModule("PaygHandover", (m) => {
  const { usdc, vault, wallet } = m.useModule(Payg)
  const deployer = m.getAccount(0)
  const admin = m.getParameter("admin")

  const adminRole = m.staticCall(wallet, "DEFAULT_ADMIN_ROLE", [], 0, { id: "DEFAULT_ADMIN_ROLE" })
  const pauserRole = m.staticCall(wallet, "PAUSER_ROLE", [], 0, { id: "handover_PAUSER_ROLE" })
  const yieldManagerRole = m.staticCall(vault, "YIELD_MANAGER_ROLE", [], 0, { id: "handover_YIELD_MANAGER_ROLE" })
  const contentManagerRole = m.staticCall(wallet, "CONTENT_MANAGER_ROLE", [], 0, { id: "handover_CONTENT_MANAGER_ROLE" })

  const toVault = m.call(vault, "grantRole", [adminRole, admin], { id: "grant_vault_admin" })
  const toWallet = m.call(wallet, "grantRole", [adminRole, admin], { id: "grant_wallet_admin" })
  const renounced = [
    m.call(vault, "renounceRole", [pauserRole, deployer], { id: "renounce_vault_PAUSER_ROLE", after: [toVault] }),
    m.call(vault, "renounceRole", [yieldManagerRole, deployer], { id: "renounce_YIELD_MANAGER_ROLE", after: [toVault] }),
    m.call(wallet, "renounceRole", [pauserRole, deployer], { id: "renounce_wallet_PAUSER_ROLE", after: [toWallet] }),
    m.call(wallet, "renounceRole", [contentManagerRole, deployer], { id: "renounce_CONTENT_MANAGER_ROLE", after: [toWallet] })
  ]
  m.call(vault, "renounceRole", [adminRole, deployer], { id: "renounce_vault_admin", after: renounced })
  m.call(wallet, "renounceRole", [adminRole, deployer], { id: "renounce_wallet_admin", after: renounced })

  return { usdc, vault, wallet }
})
