import { BaseError, ContractFunctionRevertedError } from "viem"
import { ChainUnavailable, SettlementRejected } from "../domain/errors.js"

/** The custom error name of a revert, if the failure is one. */
export const revertName = (error: unknown): string | undefined => {
  if (!(error instanceof BaseError)) return undefined
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    return reverted.data?.errorName ?? reverted.reason ?? "execution reverted"
  }
  return undefined
}

const shortMessage = (error: unknown): string => {
  if (error instanceof BaseError) return error.shortMessage
  if (error instanceof Error) return error.message.split("\n")[0] ?? "unknown error"
  return String(error)
}

/** A revert is permanent (SettlementRejected); anything else is the chain being unreachable. */
export const classify = (error: unknown): ChainUnavailable | SettlementRejected => {
  const name = revertName(error)
  return name !== undefined
    ? new SettlementRejected({ errorName: name, reason: "" })
    : new ChainUnavailable({ reason: shortMessage(error) })
}

export const unavailable = (error: unknown): ChainUnavailable => new ChainUnavailable({ reason: shortMessage(error) })
