import { BaseError, ContractFunctionRevertedError, type Hex, decodeErrorResult, isHex } from "viem"
import { ChainUnavailable, SettlementRejected } from "../domain/errors.js"
import { mockUsdcAbi, streamingWalletAbi, yieldVaultAbi } from "./contracts.js"

/** Every custom error the contracts can revert with (the wallet bubbles the vault's up). */
const contractErrorsAbi = [...streamingWalletAbi, ...yieldVaultAbi, ...mockUsdcAbi].filter((item) => item.type === "error")

const hasHexData = (e: unknown): e is { readonly data: Hex } =>
  typeof e === "object" && e !== null && "data" in e && typeof e.data === "string" && isHex(e.data) && e.data.length >= 10

const decode = (data: Hex): { readonly errorName: string; readonly args: ReadonlyArray<unknown> } | undefined => {
  try {
    const decoded = decodeErrorResult({ abi: contractErrorsAbi, data })
    return { errorName: decoded.errorName, args: decoded.args ?? [] }
  } catch {
    return undefined
  }
}

/**
 * The custom error a call reverted with, if the failure is a revert. Over JSON-RPC viem decodes it into a
 * ContractFunctionRevertedError; Hardhat's in-process provider throws an error viem wraps as an
 * UnknownRpcError, with the revert data somewhere on the cause chain, so that is decoded here too.
 */
export const revertOf = (error: unknown): { readonly errorName: string; readonly args: ReadonlyArray<unknown> } | undefined => {
  if (!(error instanceof BaseError)) return undefined
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined) {
    return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] }
  }
  const raw = error.walk(hasHexData)
  if (hasHexData(raw)) {
    const decoded = decode(raw.data)
    if (decoded) return decoded
  }
  if (reverted instanceof ContractFunctionRevertedError) return { errorName: reverted.reason ?? "execution reverted", args: [] }
  if (/revert/i.test(error.details) || /revert/i.test(error.shortMessage)) return { errorName: "execution reverted", args: [] }
  return undefined
}

const shortMessage = (error: unknown): string => {
  if (error instanceof BaseError) return error.shortMessage
  if (error instanceof Error) return error.message.split("\n")[0] ?? "unknown error"
  return String(error)
}

/** A revert is permanent (SettlementRejected); anything else is the chain being unreachable. */
export const classify = (error: unknown): ChainUnavailable | SettlementRejected => {
  const reverted = revertOf(error)
  return reverted !== undefined
    ? new SettlementRejected({ errorName: reverted.errorName, reason: reverted.args.map(String).join(", ") })
    : new ChainUnavailable({ reason: shortMessage(error) })
}

export const unavailable = (error: unknown): ChainUnavailable => new ChainUnavailable({ reason: shortMessage(error) })

/**
 * Whether a node refused a transaction for its nonce: already used, or held in the mempool by another
 * transaction this one does not outbid by enough (geth's and Hardhat's wordings).
 */
export const isNonceRefusal = (error: unknown): boolean => {
  const text = error instanceof BaseError ? `${error.shortMessage} ${error.details}` : error instanceof Error ? error.message : String(error)
  return /nonce too low|nonce has already been used|already known|replacement (transaction )?underpriced|replacement fee too low|could not replace existing tx/i.test(text)
}

/** One line saying why a call failed. */
export const shortReason = (error: unknown): string => (error instanceof BaseError ? error.details || error.shortMessage : shortMessage(error))
