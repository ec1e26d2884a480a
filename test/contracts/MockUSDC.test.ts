import { beforeAll, describe, expect, it } from "vitest"
import { accounts, deployPayg, mined, USDC, type Payg } from "./support/fixture.js"

describe("MockUSDC", () => {
  let p: Payg
  beforeAll(async () => {
    p = await deployPayg()
  })

  it("metadata_isMockUsdcWithSixDecimals", async () => {
    const usdc = p.as(accounts.outsider).usdc
    expect(await usdc.read.name()).toBe("Mock USD Coin")
    expect(await usdc.read.symbol()).toBe("USDC")
    expect(await usdc.read.decimals()).toBe(6)
  })

  it("mint_isOpenToAnyone", async () => {
    const { outsider, bob } = accounts
    const usdc = p.as(outsider).usdc
    const before = await usdc.read.totalSupply()
    await mined(usdc.write.mint([bob.account.address, 7n * USDC]))
    expect(await usdc.read.balanceOf([bob.account.address])).toBe(7n * USDC)
    expect(await usdc.read.totalSupply()).toBe(before + 7n * USDC)
  })
})
