import { describe, expect, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import { PATIENT, QUICK, defaultWait, preferredWait, stopWait } from "../src/session/stopWait.js"

/** How long a stop waits (src/session/stopWait.ts): the Prefer header, the default by the chain's pace, the cap. */
describe("the stop's wait", () => {
  it("reads RFC 7240's wait preference among others, and ignores what is not one", () => {
    expect(preferredWait("wait=10")).toEqual(Option.some(10))
    expect(preferredWait("respond-async, wait=3")).toEqual(Option.some(3))
    expect(preferredWait('Wait = "7"; foo=bar')).toEqual(Option.some(7))
    expect(preferredWait("wait=soon")).toEqual(Option.none())
    expect(preferredWait("return=minimal")).toEqual(Option.none())
    expect(preferredWait(undefined)).toEqual(Option.none())
  })

  it("waits for a chain that confirms within a second, not at all for a slower one, and STOP_WAIT overrides both", () => {
    // on a slower chain the stop answers 202 as soon as its own transaction is committed
    expect(Duration.toMillis(QUICK)).toBe(0)
    expect(defaultWait(Option.none(), { minesOnSend: true, confirmations: 1, blockInterval: Option.none() })).toEqual(PATIENT)
    // a development node: its blocks come when transactions do, so the pace observed is only its idleness
    expect(defaultWait(Option.none(), { minesOnSend: true, confirmations: 1, blockInterval: Option.some(5_000) })).toEqual(PATIENT)
    expect(defaultWait(Option.none(), { minesOnSend: true, confirmations: 2, blockInterval: Option.some(2_000) })).toEqual(QUICK)
    // no pace observed yet
    expect(defaultWait(Option.none(), { minesOnSend: false, confirmations: 1, blockInterval: Option.none() })).toEqual(PATIENT)
    expect(defaultWait(Option.none(), { minesOnSend: false, confirmations: 3, blockInterval: Option.some(250) })).toEqual(PATIENT)
    expect(defaultWait(Option.none(), { minesOnSend: false, confirmations: 2, blockInterval: Option.some(2_000) })).toEqual(QUICK)
    expect(defaultWait(Option.none(), { minesOnSend: false, confirmations: 3, blockInterval: Option.some(12_000) })).toEqual(QUICK)
    expect(defaultWait(Option.some(Duration.seconds(2)), { minesOnSend: true, confirmations: 1, blockInterval: Option.none() })).toEqual(Duration.seconds(2))
  })

  it("caps every wait one second below the request timeout", () => {
    expect(stopWait(Option.some(60), QUICK, Duration.seconds(30))).toEqual(Duration.seconds(29))
    expect(stopWait(Option.some(0), PATIENT, Duration.seconds(30))).toEqual(Duration.zero)
    expect(stopWait(Option.none(), PATIENT, Duration.seconds(5))).toEqual(Duration.seconds(4))
    expect(stopWait(Option.none(), QUICK, Duration.seconds(30))).toEqual(Duration.zero)
    expect(stopWait(Option.none(), PATIENT, Duration.seconds(30))).toEqual(PATIENT)
  })
})
