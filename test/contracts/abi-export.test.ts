import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { generatedFile, renderContractsModule } from "../../scripts/export-abis.js"
import { hre } from "./support/fixture.js"

describe("src/chain/contracts.ts", () => {
  it("generatedAbis_matchFreshCompilation", async () => {
    await hre.run("compile", { quiet: true })
    const committed = await readFile(generatedFile, "utf8")
    // If this fails: run `npm run compile` and commit src/chain/contracts.ts.
    expect(committed === (await renderContractsModule())).toBe(true)
  })
})
