import { maxUint256, parseEventLogs, zeroAddress } from "viem"
import { beforeAll, beforeEach, describe, expect, it } from "vitest"
import { yieldVaultAbi, yieldVaultBytecode } from "../../src/chain/contracts.js"
import {
  accounts,
  deployPayg,
  expectRevert,
  mined,
  roles,
  selectorOf,
  snapshots,
  USDC,
  type Payg,
  type WalletClient
} from "./support/fixture.js"

const { admin, alice, bob, outsider, yieldManager, spender } = accounts
const addr = (c: WalletClient) => c.account.address

describe("YieldVault", () => {
  let p: Payg
  const snap = snapshots()

  beforeAll(async () => {
    p = await deployPayg()
    // An EOA spender, to drive spend/release directly (the StreamingWallet is the production spender).
    const vault = p.as(admin).vault
    await mined(vault.write.grantRole([await vault.read.SPENDER_ROLE(), addr(spender)]))
    await snap.capture()
  })
  beforeEach(async () => {
    await snap.restore()
  })

  const balances = (user: WalletClient) => p.balances(user)

  describe("constructor", () => {
    it("constructor_revertsWhen_zeroAddress", async () => {
      await expectRevert(
        admin.deployContract({ abi: yieldVaultAbi, bytecode: yieldVaultBytecode, args: [zeroAddress, addr(admin)] }),
        "ZeroAddress"
      )
      await expectRevert(
        admin.deployContract({ abi: yieldVaultAbi, bytecode: yieldVaultBytecode, args: [p.usdcAddress, zeroAddress] }),
        "ZeroAddress"
      )
    })

    it("constructor_grantsAdminRoles", async () => {
      const vault = p.as(outsider).vault
      expect(await vault.read.asset()).toBe(p.usdcAddress)
      expect(await vault.read.SPENDER_ROLE()).toBe(roles.SPENDER_ROLE)
      expect(await vault.read.YIELD_MANAGER_ROLE()).toBe(roles.YIELD_MANAGER_ROLE)
      expect(await vault.read.PAUSER_ROLE()).toBe(roles.PAUSER_ROLE)
      for (const role of [await vault.read.DEFAULT_ADMIN_ROLE(), await vault.read.PAUSER_ROLE(), await vault.read.YIELD_MANAGER_ROLE()]) {
        expect(await vault.read.hasRole([role, addr(admin)])).toBe(true)
      }
    })
  })

  describe("deposit", () => {
    it("deposit_creditsPrincipal_andPullsTokens", async () => {
      const { usdc, vault } = p.as(alice)
      await mined(usdc.write.mint([addr(alice), 10n * USDC]))
      await mined(usdc.write.approve([p.vaultAddress, 10n * USDC]))
      const receipt = await mined(vault.write.deposit([4n * USDC]))
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 4n * USDC })
      expect(await usdc.read.balanceOf([addr(alice)])).toBe(6n * USDC)
      expect(await usdc.read.balanceOf([p.vaultAddress])).toBe(4n * USDC)
      expect(await vault.read.totalTracked()).toBe(4n * USDC)
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Deposited", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(alice), payer: addr(alice), amount: 4n * USDC })
    })

    it("deposit_revertsWhen_zeroAmount", async () => {
      await expectRevert(p.as(alice).vault.write.deposit([0n]), "ZeroAmount")
    })

    it("deposit_revertsWhen_notApproved", async () => {
      await mined(p.as(alice).usdc.write.mint([addr(alice), USDC]))
      await expectRevert(p.as(alice).vault.write.deposit([USDC]), "ERC20InsufficientAllowance")
    })

    it("depositFor_creditsUser_paidByCaller", async () => {
      const { usdc, vault } = p.as(admin)
      await mined(usdc.write.mint([addr(admin), 5n * USDC]))
      await mined(usdc.write.approve([p.vaultAddress, maxUint256]))
      const receipt = await mined(vault.write.depositFor([addr(bob), 5n * USDC]))
      expect(await balances(bob)).toEqual({ yieldBalance: 0n, principal: 5n * USDC })
      expect(await usdc.read.balanceOf([addr(admin)])).toBe(0n)
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Deposited", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(bob), payer: addr(admin), amount: 5n * USDC })
    })

    it("depositFor_revertsWhen_zeroAddress", async () => {
      await expectRevert(p.as(admin).vault.write.depositFor([zeroAddress, USDC]), "ZeroAddress")
    })
  })

  describe("accrueYield", () => {
    it("accrueYield_creditsYield_pulledFromCaller", async () => {
      await p.fund(alice, 10n * USDC)
      const { usdc, vault } = p.as(yieldManager)
      await mined(usdc.write.mint([addr(yieldManager), 3n * USDC]))
      await mined(usdc.write.approve([p.vaultAddress, 3n * USDC]))
      const receipt = await mined(vault.write.accrueYield([addr(alice), 3n * USDC]))
      expect(await balances(alice)).toEqual({ yieldBalance: 3n * USDC, principal: 10n * USDC })
      expect(await usdc.read.balanceOf([addr(yieldManager)])).toBe(0n)
      expect(await vault.read.totalTracked()).toBe(13n * USDC)
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "YieldAccrued", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(alice), payer: addr(yieldManager), amount: 3n * USDC })
    })

    it("accrueYield_revertsWhen_notYieldManager", async () => {
      const vault = p.as(outsider).vault
      await expectRevert(vault.write.accrueYield([addr(alice), USDC]), "AccessControlUnauthorizedAccount", [
        addr(outsider),
        roles.YIELD_MANAGER_ROLE
      ])
    })

    it("accrueYield_revertsWhen_zeroAmountOrZeroAddress", async () => {
      const vault = p.as(yieldManager).vault
      await expectRevert(vault.write.accrueYield([addr(alice), 0n]), "ZeroAmount")
      await expectRevert(vault.write.accrueYield([zeroAddress, USDC]), "ZeroAddress")
    })

    it("accrueYieldBatch_creditsEveryUser_withOneTransfer", async () => {
      const { usdc, vault } = p.as(yieldManager)
      await mined(usdc.write.mint([addr(yieldManager), 5n * USDC]))
      await mined(usdc.write.approve([p.vaultAddress, maxUint256]))
      const receipt = await mined(vault.write.accrueYieldBatch([[addr(alice), addr(bob), addr(alice)], [USDC, 2n * USDC, 2n * USDC]]))
      expect(await balances(alice)).toEqual({ yieldBalance: 3n * USDC, principal: 0n })
      expect(await balances(bob)).toEqual({ yieldBalance: 2n * USDC, principal: 0n })
      expect(await usdc.read.balanceOf([addr(yieldManager)])).toBe(0n)
      expect(parseEventLogs({ abi: yieldVaultAbi, eventName: "YieldAccrued", logs: receipt.logs })).toHaveLength(3)
    })

    it("accrueYieldBatch_revertsWhen_lengthMismatch", async () => {
      await expectRevert(p.as(yieldManager).vault.write.accrueYieldBatch([[addr(alice)], []]), "LengthMismatch", [1n, 0n])
    })
  })

  describe("withdraw", () => {
    it("withdraw_takesYieldFirst_thenPrincipal", async () => {
      await p.fund(alice, 10n * USDC)
      await p.accrue(alice, 2n * USDC)
      const { usdc, vault } = p.as(alice)
      const receipt = await mined(vault.write.withdraw([3n * USDC]))
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Withdrawn", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(alice), amount: 3n * USDC, fromYield: 2n * USDC, fromPrincipal: USDC })
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 9n * USDC })
      expect(await usdc.read.balanceOf([addr(alice)])).toBe(3n * USDC)
      expect(await vault.read.totalTracked()).toBe(9n * USDC)
    })

    it("withdraw_revertsWhen_insufficientBalance", async () => {
      await p.fund(alice, 2n * USDC)
      await p.accrue(alice, USDC)
      await expectRevert(p.as(alice).vault.write.withdraw([4n * USDC]), "InsufficientBalance", [addr(alice), 4n * USDC, 3n * USDC])
    })

    it("withdraw_revertsWhen_zeroAmount", async () => {
      await expectRevert(p.as(alice).vault.write.withdraw([0n]), "ZeroAmount")
    })
  })

  describe("allowance", () => {
    it("approveSpender_setsAllowance_andEmits", async () => {
      const vault = p.as(alice).vault
      const receipt = await mined(vault.write.approveSpender([addr(spender), 5n * USDC]))
      expect(await vault.read.spendAllowance([addr(alice), addr(spender)])).toBe(5n * USDC)
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "SpenderApproved", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(alice), spender: addr(spender), amount: 5n * USDC })
      await mined(vault.write.approveSpender([addr(spender), 0n]))
      expect(await vault.read.spendAllowance([addr(alice), addr(spender)])).toBe(0n)
    })

    it("approveSpender_revertsWhen_zeroAddress", async () => {
      await expectRevert(p.as(alice).vault.write.approveSpender([zeroAddress, USDC]), "ZeroAddress")
    })
  })

  describe("spend", () => {
    beforeEach(async () => {
      await p.fund(alice, 10n * USDC)
      await p.accrue(alice, 2n * USDC)
    })

    it("spend_takesYieldFirst_thenPrincipal_intoSpenderPool", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const vault = p.as(spender).vault
      const { result } = await vault.simulate.spend([addr(alice), 3n * USDC], { account: spender.account })
      expect(result).toEqual([2n * USDC, USDC])
      const receipt = await mined(vault.write.spend([addr(alice), 3n * USDC]))
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Spent", logs: receipt.logs })
      expect(event?.args).toEqual({ user: addr(alice), spender: addr(spender), amount: 3n * USDC, fromYield: 2n * USDC, fromPrincipal: USDC })
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 9n * USDC })
      expect(await vault.read.pooledOf([addr(spender)])).toBe(3n * USDC)
      // The tokens stay in the vault.
      expect(await p.as(outsider).usdc.read.balanceOf([p.vaultAddress])).toBe(12n * USDC)
      expect(await vault.read.totalTracked()).toBe(12n * USDC)
    })

    it("spend_consumesYieldBeforePrincipal_acrossManySpends", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const vault = p.as(spender).vault
      const parts: Array<readonly [bigint, bigint]> = []
      for (const amount of [USDC / 2n, USDC / 2n, USDC / 2n, USDC, USDC]) {
        const { result } = await vault.simulate.spend([addr(alice), amount], { account: spender.account })
        await mined(vault.write.spend([addr(alice), amount]))
        parts.push(result)
      }
      expect(parts).toEqual([
        [USDC / 2n, 0n],
        [USDC / 2n, 0n],
        [USDC / 2n, 0n],
        [USDC / 2n, USDC / 2n],
        [0n, USDC]
      ])
      expect(await balances(alice)).toEqual({ yieldBalance: 0n, principal: 10n * USDC - (3n * USDC) / 2n })
    })

    it("spend_decrementsBoundedAllowance_andRevertsBeyondIt", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), 3n * USDC]))
      const vault = p.as(spender).vault
      await mined(vault.write.spend([addr(alice), 2n * USDC]))
      expect(await vault.read.spendAllowance([addr(alice), addr(spender)])).toBe(USDC)
      await expectRevert(vault.write.spend([addr(alice), 2n * USDC]), "InsufficientAllowance", [
        addr(alice),
        addr(spender),
        2n * USDC,
        USDC
      ])
      await mined(vault.write.spend([addr(alice), USDC]))
      expect(await vault.read.spendAllowance([addr(alice), addr(spender)])).toBe(0n)
      await expectRevert(vault.write.spend([addr(alice), 1n]), "InsufficientAllowance")
    })

    it("spend_doesNotDecrementUnlimitedAllowance", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const vault = p.as(spender).vault
      await mined(vault.write.spend([addr(alice), 5n * USDC]))
      expect(await vault.read.spendAllowance([addr(alice), addr(spender)])).toBe(maxUint256)
    })

    it("spend_revertsWhen_noAllowance", async () => {
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), USDC]), "InsufficientAllowance", [addr(alice), addr(spender), USDC, 0n])
    })

    it("spend_revertsWhen_insufficientBalance", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), 13n * USDC]), "InsufficientBalance", [
        addr(alice),
        13n * USDC,
        12n * USDC
      ])
    })

    it("spend_revertsWhen_zeroAmount", async () => {
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), 0n]), "ZeroAmount")
    })

    it("spend_revertsWhen_notSpender", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(outsider), maxUint256]))
      const vault = p.as(outsider).vault
      await expectRevert(vault.write.spend([addr(alice), USDC]), "AccessControlUnauthorizedAccount", [
        addr(outsider),
        roles.SPENDER_ROLE
      ])
    })

    it("spend_revertsWhen_spenderRoleRevoked", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const adminVault = p.as(admin).vault
      const role = await adminVault.read.SPENDER_ROLE()
      await mined(adminVault.write.revokeRole([role, addr(spender)]))
      expect(await adminVault.read.hasRole([role, addr(spender)])).toBe(false)
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), USDC]), "AccessControlUnauthorizedAccount")
      await expectRevert(p.as(spender).vault.write.release([addr(spender), 1n]), "AccessControlUnauthorizedAccount")
      // Granted again (also through renounce/grant paths), it works again.
      await mined(adminVault.write.grantRole([role, addr(spender)]))
      await mined(p.as(spender).vault.write.spend([addr(alice), USDC]))
      await mined(p.as(spender).vault.write.renounceRole([role, addr(spender)]))
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), USDC]), "AccessControlUnauthorizedAccount")
    })

    it("spendBatch_skipsFailingEntries_andReportsSelectors", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      await p.fund(bob, USDC)
      await mined(p.as(bob).vault.write.approveSpender([addr(spender), 3n * USDC]))
      const vault = p.as(spender).vault
      const users = [addr(alice), addr(bob), addr(outsider), addr(bob), addr(alice), addr(alice)]
      const amounts = [3n * USDC, 4n * USDC, USDC, USDC / 2n, 0n, 20n * USDC]
      const { result } = await vault.simulate.spendBatch([users, amounts], { account: spender.account })
      const [fromYield, fromPrincipal, failures] = result
      expect(fromYield).toEqual([2n * USDC, 0n, 0n, 0n, 0n, 0n])
      expect(fromPrincipal).toEqual([USDC, 0n, 0n, USDC / 2n, 0n, 0n])
      const none = "0x00000000"
      expect(failures).toEqual([
        none,
        selectorOf("InsufficientAllowance"),
        selectorOf("InsufficientAllowance"),
        none,
        selectorOf("ZeroAmount"),
        selectorOf("InsufficientBalance")
      ])
      const receipt = await mined(vault.write.spendBatch([users, amounts]))
      expect(parseEventLogs({ abi: yieldVaultAbi, eventName: "Spent", logs: receipt.logs })).toHaveLength(2)
      expect(await vault.read.pooledOf([addr(spender)])).toBe(3n * USDC + USDC / 2n)
      expect(await vault.read.spendAllowance([addr(bob), addr(spender)])).toBe(3n * USDC - USDC / 2n)
    })

    it("spendBatch_revertsWhen_lengthMismatchOrNotSpender", async () => {
      await expectRevert(p.as(spender).vault.write.spendBatch([[addr(alice)], []]), "LengthMismatch")
      await expectRevert(p.as(outsider).vault.write.spendBatch([[], []]), "AccessControlUnauthorizedAccount")
    })

    it("release_sendsPooledTokens", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const vault = p.as(spender).vault
      await mined(vault.write.spend([addr(alice), 4n * USDC]))
      const receipt = await mined(vault.write.release([addr(bob), 3n * USDC]))
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Released", logs: receipt.logs })
      expect(event?.args).toEqual({ spender: addr(spender), to: addr(bob), amount: 3n * USDC })
      expect(await p.as(outsider).usdc.read.balanceOf([addr(bob)])).toBe(3n * USDC)
      expect(await vault.read.pooledOf([addr(spender)])).toBe(USDC)
      expect(await vault.read.totalTracked()).toBe(9n * USDC)
    })

    it("release_revertsWhen_exceedsPool", async () => {
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      const vault = p.as(spender).vault
      await mined(vault.write.spend([addr(alice), USDC]))
      await expectRevert(vault.write.release([addr(bob), 2n * USDC]), "InsufficientPool", [addr(spender), 2n * USDC, USDC])
      await expectRevert(vault.write.release([zeroAddress, 1n]), "ZeroAddress")
      await expectRevert(vault.write.release([addr(bob), 0n]), "ZeroAmount")
    })
  })

  describe("pause", () => {
    it("pause_blocksFundMovements_untilUnpaused", async () => {
      await p.fund(alice, 10n * USDC)
      await mined(p.as(alice).vault.write.approveSpender([addr(spender), maxUint256]))
      await mined(p.as(admin).vault.write.pause())
      expect(await p.as(outsider).vault.read.paused()).toBe(true)
      await expectRevert(p.as(alice).vault.write.deposit([USDC]), "EnforcedPause")
      await expectRevert(p.as(alice).vault.write.withdraw([USDC]), "EnforcedPause")
      await expectRevert(p.as(yieldManager).vault.write.accrueYield([addr(alice), USDC]), "EnforcedPause")
      await expectRevert(p.as(spender).vault.write.spend([addr(alice), USDC]), "EnforcedPause")
      await expectRevert(p.as(spender).vault.write.spendBatch([[addr(alice)], [USDC]]), "EnforcedPause")
      await expectRevert(p.as(spender).vault.write.release([addr(alice), USDC]), "EnforcedPause")
      await mined(p.as(admin).vault.write.unpause())
      await mined(p.as(spender).vault.write.spend([addr(alice), USDC]))
      await mined(p.as(alice).vault.write.withdraw([USDC]))
    })

    it("pause_allowedFor_pauserRole_andAdmin_only", async () => {
      const adminVault = p.as(admin).vault
      await expectRevert(p.as(outsider).vault.write.pause(), "AccessControlUnauthorizedAccount", [
        addr(outsider),
        roles.PAUSER_ROLE
      ])
      // The admin without PAUSER_ROLE still may.
      await mined(adminVault.write.renounceRole([await adminVault.read.PAUSER_ROLE(), addr(admin)]))
      await mined(adminVault.write.pause())
      await mined(adminVault.write.unpause())
      // A dedicated pauser may.
      await mined(adminVault.write.grantRole([await adminVault.read.PAUSER_ROLE(), addr(bob)]))
      await mined(p.as(bob).vault.write.pause())
      await expectRevert(p.as(outsider).vault.write.unpause(), "AccessControlUnauthorizedAccount")
      await mined(p.as(bob).vault.write.unpause())
      await expectRevert(p.as(bob).vault.write.unpause(), "ExpectedPause")
    })
  })

  describe("donations and skim", () => {
    it("donation_doesNotChangeBalances_andSkimRecoversIt", async () => {
      await p.fund(alice, 10n * USDC)
      await p.accrue(alice, USDC)
      const vault = p.as(outsider).vault
      const before = { alice: await balances(alice), tracked: await vault.read.totalTracked() }
      // Someone sends tokens straight to the vault.
      const usdc = p.as(bob).usdc
      await mined(usdc.write.mint([addr(bob), 50n * USDC]))
      await mined(usdc.write.transfer([p.vaultAddress, 50n * USDC]))
      expect(await balances(alice)).toEqual(before.alice)
      expect(await balances(bob)).toEqual({ yieldBalance: 0n, principal: 0n })
      expect(await vault.read.totalTracked()).toBe(before.tracked)
      await expectRevert(p.as(bob).vault.write.withdraw([USDC]), "InsufficientBalance")
      await expectRevert(p.as(outsider).vault.write.skim([addr(outsider)]), "AccessControlUnauthorizedAccount")
      const receipt = await mined(p.as(admin).vault.write.skim([addr(admin)]))
      const [event] = parseEventLogs({ abi: yieldVaultAbi, eventName: "Skimmed", logs: receipt.logs })
      expect(event?.args).toEqual({ to: addr(admin), amount: 50n * USDC })
      expect(await usdc.read.balanceOf([addr(admin)])).toBe(50n * USDC)
      expect(await usdc.read.balanceOf([p.vaultAddress])).toBe(11n * USDC)
      expect(await balances(alice)).toEqual(before.alice)
      await expectRevert(p.as(admin).vault.write.skim([addr(admin)]), "NothingToSkim", [11n * USDC, 11n * USDC])
      // Everyone can still take everything out.
      await mined(p.as(alice).vault.write.withdraw([11n * USDC]))
      expect(await usdc.read.balanceOf([p.vaultAddress])).toBe(0n)
    })

    it("skim_revertsWhen_zeroAddress", async () => {
      await expectRevert(p.as(admin).vault.write.skim([zeroAddress]), "ZeroAddress")
    })
  })
})
