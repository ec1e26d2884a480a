/**
 * The running cost of one session, from its event stream (GET /api/session/:id/events): the server
 * sends a `cost` event every second while the session is ACTIVE (billed seconds and cost, priced by the
 * server's own rule) and a `status` event on every change, the last one with the final cost. Calls
 * `onUpdate({ status, billedSeconds, cost, final })` on each event. The stream is read with fetch, not
 * EventSource, so that the sign-in token goes in the Authorization header; a dropped stream is opened
 * again after a second (a 429 after its Retry-After).
 */
export function liveCost({ url, headers, onUpdate }) {
  const controller = new AbortController()
  let ended = false
  let last = { status: "ACTIVE", billedSeconds: 0, cost: 0n, final: false }

  const handle = (name, data) => {
    if (name === "cost") last = { ...last, status: "ACTIVE", billedSeconds: data.billedSeconds, cost: BigInt(data.currentCost) }
    else if (name === "status") {
      last = { ...last, status: data.status }
      if (data.finalCost !== null) last = { ...last, cost: BigInt(data.finalCost), final: true }
    } else return
    if (!ended) onUpdate(last)
  }

  /** One server-sent event block: `event:` and `data:` lines (comments, the keep-alives, start with ':'). */
  const parse = (block) => {
    let name = "message"
    const data = []
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim()
      else if (line.startsWith("data:")) data.push(line.slice(5).trim())
    }
    if (data.length > 0) handle(name, JSON.parse(data.join("\n")))
  }

  const read = async () => {
    const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers() }, signal: controller.signal })
    if (!response.ok) return Number(response.headers.get("retry-after") ?? "1")
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return last.final ? null : 1
      buffer += value
      let end = buffer.indexOf("\n\n")
      while (end >= 0) {
        parse(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
      }
    }
  }

  const run = async () => {
    while (!ended) {
      let retryAfter = 1
      try {
        retryAfter = await read()
      } catch {
        // a dropped connection (or our own abort): try again below unless stopped
      }
      if (retryAfter === null || ended) return
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, retryAfter) * 1000))
    }
  }
  void run()
  return {
    /** No more events and no more updates. */
    stop() {
      ended = true
      controller.abort()
    }
  }
}
