import { type HDAccount, mnemonicToAccount } from "viem/accounts"

/** Hardhat's development mnemonic: accounts #0-#19 of every Hardhat network (public test keys). */
const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk"

const cache = new Map<number, HDAccount>()

/** Hardhat's development account #i as a local viem account (it signs without a node: signTypedData, transactions). */
export const devAccount = (i: number): HDAccount => {
  const known = cache.get(i)
  if (known !== undefined) return known
  const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: i })
  cache.set(i, account)
  return account
}
