import { buildModule } from "@nomicfoundation/hardhat-ignition/modules"

/**
 * Deploys MockUSDC, YieldVault and StreamingWallet and wires the roles, as `deployPaygContracts`
 * (src/chain/deploy.ts) does:
 * - the wallet gets the vault's SPENDER_ROLE;
 * - parameters `operator` (OPERATOR_ROLE: settles, nothing else), `contentManager` (CONTENT_MANAGER_ROLE),
 *   `pauser` (PAUSER_ROLE of both contracts) and `yieldManager` (the vault's YIELD_MANAGER_ROLE), each the
 *   deployer (account 0) when absent;
 * - parameter `admin` (DEFAULT_ADMIN_ROLE of both): when it names another account (ideally a multisig), the
 *   deployer grants it the admin role and renounces every role it was not named for, admin last, in the
 *   `PaygHandover` module (ignition/modules/PaygHandover.cts); with `Payg` alone the deployer stays admin;
 * - parameter `requireAuthorization` (the wallet's immutable flag, default false for now): true refuses
 *   every settlement without the viewer's signed SessionAuthorization (docs/CONTRACTS.md). It becomes the
 *   default once the API carries viewers' signatures;
 * - optional parameter `contents`: catalogue entries listed at deployment (keep it empty and use
 *   `npm run catalogue:sync`, the catalogue's one source).
 *
 *   npx hardhat ignition deploy ignition/modules/Payg.cts --network localhost [--parameters params.json]
 *   e.g. { "Payg": { "operator": "0x...", "contentManager": "0x...", "pauser": "0x...", "requireAuthorization": true },
 *          "PaygHandover": { "admin": "0x<multisig>" } }
 */
const Payg = buildModule("Payg", (m) => {
  const deployer = m.getAccount(0)
  const operator = m.getParameter("operator", deployer)
  const contentManager = m.getParameter("contentManager", deployer)
  const pauser = m.getParameter("pauser", deployer)
  const yieldManager = m.getParameter("yieldManager", deployer)
  const requireAuthorization = m.getParameter("requireAuthorization", false)
  const contents = m.getParameter("contents", [])

  const usdc = m.contract("MockUSDC", [])
  const vault = m.contract("YieldVault", [usdc, deployer])
  const wallet = m.contract("StreamingWallet", [vault, deployer, requireAuthorization])

  const spenderRole = m.staticCall(vault, "SPENDER_ROLE", [], 0, { id: "SPENDER_ROLE" })
  const yieldManagerRole = m.staticCall(vault, "YIELD_MANAGER_ROLE", [], 0, { id: "YIELD_MANAGER_ROLE" })
  const pauserRole = m.staticCall(wallet, "PAUSER_ROLE", [], 0, { id: "PAUSER_ROLE" })
  const operatorRole = m.staticCall(wallet, "OPERATOR_ROLE", [], 0, { id: "OPERATOR_ROLE" })
  const contentManagerRole = m.staticCall(wallet, "CONTENT_MANAGER_ROLE", [], 0, { id: "CONTENT_MANAGER_ROLE" })

  m.call(vault, "grantRole", [spenderRole, wallet], { id: "grant_SPENDER_ROLE_to_StreamingWallet" })
  m.call(vault, "grantRole", [yieldManagerRole, yieldManager], { id: "grant_YIELD_MANAGER_ROLE" })
  m.call(vault, "grantRole", [pauserRole, pauser], { id: "grant_vault_PAUSER_ROLE" })
  m.call(wallet, "grantRole", [pauserRole, pauser], { id: "grant_wallet_PAUSER_ROLE" })
  m.call(wallet, "grantRole", [operatorRole, operator], { id: "grant_OPERATOR_ROLE" })
  // the deployer lists the initial contents, so it holds CONTENT_MANAGER_ROLE until PaygHandover
  const grantDeployer = m.call(wallet, "grantRole", [contentManagerRole, deployer], { id: "grant_CONTENT_MANAGER_ROLE_to_deployer" })
  const listed = m.call(wallet, "listContents", [contents], { id: "list_contents", after: [grantDeployer] })
  m.call(wallet, "grantRole", [contentManagerRole, contentManager], { id: "grant_CONTENT_MANAGER_ROLE", after: [listed] })

  return { usdc, vault, wallet }
})

export default Payg
