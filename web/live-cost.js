import { costOf } from "./format.js"

/**
 * The running cost of one session. Reads the session (`read`, GET /api/session/:id) every `every`
 * milliseconds and calls `onUpdate({ status, billedSeconds, cost, final })` after each tick; between
 * answers, and while reads are refused (a 429 is waited out for its Retry-After), it counts on from the
 * last answer with the API's own price rule. The page knows only this function, so the session's event
 * stream can replace the polling here without touching the page.
 */
export function liveCost({ read, onUpdate, every = 1000 }) {
  let last = null
  let quietUntil = 0
  let ended = false

  const estimate = () => {
    const d = last.detail
    const running = d.status === "ACTIVE" ? Math.floor((Date.now() - last.at) / 1000) : 0
    const billedSeconds = d.activeDuration + running
    const cost = d.finalCost !== null ? BigInt(d.finalCost) : costOf(d.content.fullPrice, billedSeconds, d.content.totalDuration)
    return { status: d.status, billedSeconds, cost, final: d.finalCost !== null }
  }

  const tick = async () => {
    if (Date.now() >= quietUntil) {
      try {
        last = { detail: await read(), at: Date.now() }
      } catch (error) {
        if (error.retryAfter > 0) quietUntil = Date.now() + error.retryAfter * 1000
      }
    }
    if (!ended && last !== null) onUpdate(estimate())
  }

  const timer = setInterval(tick, every)
  void tick()
  return {
    /** No more reads and no more updates, even from a read still in flight. */
    stop() {
      ended = true
      clearInterval(timer)
    }
  }
}
