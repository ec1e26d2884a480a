import { buildModule } from "@nomicfoundation/hardhat-ignition/modules"

/**
 * Deploys MockUSDC, YieldVault and StreamingWallet and wires the roles:
 * - the wallet gets the vault's SPENDER_ROLE;
 * - the deployer (account 0) is admin of both, gets the wallet's OPERATOR_ROLE and
 *   CONTENT_MANAGER_ROLE (and, as vault admin, YIELD_MANAGER_ROLE and PAUSER_ROLE);
 * - optional parameter `contents`: catalogue entries listed at deployment, e.g.
 *   { "Payg": { "contents": [{ "id": "big-buck-bunny", "creator": "0x...", "price": "2000000", "duration": 3600 }] } }
 *
 *   npx hardhat ignition deploy ignition/modules/Payg.cts --network localhost [--parameters params.json]
 */
export default buildModule("Payg", (m) => {
  const deployer = m.getAccount(0)
  const contents = m.getParameter("contents", [])

  const usdc = m.contract("MockUSDC", [])
  const vault = m.contract("YieldVault", [usdc, deployer])
  const wallet = m.contract("StreamingWallet", [vault, deployer])

  const spenderRole = m.staticCall(vault, "SPENDER_ROLE", [], 0, { id: "SPENDER_ROLE" })
  const operatorRole = m.staticCall(wallet, "OPERATOR_ROLE", [], 0, { id: "OPERATOR_ROLE" })
  const contentManagerRole = m.staticCall(wallet, "CONTENT_MANAGER_ROLE", [], 0, { id: "CONTENT_MANAGER_ROLE" })

  m.call(vault, "grantRole", [spenderRole, wallet], { id: "grant_SPENDER_ROLE_to_StreamingWallet" })
  m.call(wallet, "grantRole", [operatorRole, deployer], { id: "grant_OPERATOR_ROLE_to_deployer" })
  const grantContentManager = m.call(wallet, "grantRole", [contentManagerRole, deployer], {
    id: "grant_CONTENT_MANAGER_ROLE_to_deployer"
  })
  m.call(wallet, "listContents", [contents], { id: "list_contents", after: [grantContentManager] })

  return { usdc, vault, wallet }
})
