import { FastCheck as fc } from "effect"
import { inject } from "vitest"
import "./seed.js"

// every property of this test file runs from the run's seed (test/support/seed.ts)
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: inject("fcSeed") })
