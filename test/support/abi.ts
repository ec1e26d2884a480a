import type { Abi } from "viem"

/** The names of an ABI's state-changing functions, sorted: what an attacker or an operator can call. */
export const writesOf = (abi: Abi): Array<string> =>
  abi.flatMap((item) => (item.type === "function" && item.stateMutability !== "view" && item.stateMutability !== "pure" ? [item.name] : [])).sort()
