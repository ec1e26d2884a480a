import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../config.js"
import { ChainDevLive, ChainFromDev } from "./ChainInProcess.js"
import { ChainViem } from "./ChainViem.js"

/** RPC_URL set: the chain it names (ChainViem). Unset: a fresh in-process chain with demo data. */
export const ChainLive = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) =>
    Option.isSome(config.chain.rpcUrl) ? ChainViem : ChainFromDev.pipe(Layer.provide(ChainDevLive({ demo: true })))
  )
)
