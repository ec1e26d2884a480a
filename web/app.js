import { ApiError, api, authHeaders, setToken } from "./api.js"
import { formatClock, formatUsdc } from "./format.js"
import { liveCost } from "./live-cost.js"
import { authorizeSession, signIn } from "./wallet.js"

/**
 * The watch page: a viewer (picked among the demo viewers, or signed in with a wallet), the catalogue,
 * a placeholder player whose play, pause and stop drive a session (signed by the viewer's wallet where
 * the deployment requires it), its live cost, the viewer's balance and history. Heartbeats go out every
 * few seconds while a session is open (playing or paused).
 */

const $ = (id) => document.getElementById(id)

const state = {
  config: null,
  viewer: null,
  catalogue: [],
  content: null,
  /** The open session: `{ id, status }` with status "ACTIVE" or "PAUSED"; null when there is none. */
  session: null,
  meter: null,
  heartbeat: null,
  busy: false
}

function notice(text, kind = "error") {
  $("notice").textContent = text
  $("notice").dataset.kind = kind
}

const explain = (error) => notice(error instanceof Error ? error.message : String(error))

/** Runs one user action at a time; a failure is shown, never thrown into the void. */
const action = (f) => async () => {
  if (state.busy) return
  state.busy = true
  render()
  try {
    await f()
  } catch (error) {
    explain(error)
  } finally {
    state.busy = false
    render()
  }
}

function render() {
  const open = state.session !== null
  $("play").disabled = state.busy || state.viewer === null || state.content === null || state.session?.status === "ACTIVE"
  $("play").textContent = state.session?.status === "PAUSED" ? "Resume" : "Play"
  $("pause").disabled = state.busy || state.session?.status !== "ACTIVE"
  $("stop").disabled = state.busy || !open
  $("screen").dataset.state = state.session === null ? "idle" : state.session.status === "ACTIVE" ? "playing" : "paused"
  for (const button of document.querySelectorAll("#catalogue-list button")) {
    button.setAttribute("aria-pressed", String(button.dataset.contentId === state.content?.contentId))
    button.disabled = open
  }
  $("viewer-select").disabled = open
}

function showMeter({ billedSeconds, cost, status }) {
  $("session-status").textContent = status.toLowerCase()
  $("billed").textContent = `${billedSeconds} s`
  $("cost").textContent = formatUsdc(cost, 6)
  $("cost").dataset.units = cost.toString()
  $("screen-clock").textContent = formatClock(billedSeconds)
  const total = state.content?.totalDuration ?? 0
  $("progress-bar").style.width = total > 0 ? `${Math.min(100, (100 * billedSeconds) / total)}%` : "0"
}

function showFinal(status, finalCost) {
  $("session-status").textContent = status.toLowerCase()
  $("final-cost").textContent = finalCost === null ? "-" : formatUsdc(finalCost, 6)
  $("final-cost").dataset.units = finalCost === null ? "" : String(finalCost)
  if (finalCost !== null) {
    $("cost").textContent = formatUsdc(finalCost, 6)
    $("cost").dataset.units = String(finalCost)
  }
}

const readSession = async (id) =>
  (await api(`/api/session/${id}?userAddress=${state.viewer}`)).data

/** The meter and the heartbeats of the open session. */
function follow(session) {
  state.session = session
  state.meter?.stop()
  state.meter = liveCost({ url: `/api/session/${session.id}/events?userAddress=${state.viewer}`, headers: authHeaders, onUpdate: showMeter })
  clearInterval(state.heartbeat)
  const beat = async () => {
    try {
      await api("/api/session/heartbeat", { method: "POST", body: { sessionId: session.id, userAddress: state.viewer } })
    } catch (error) {
      // 409: the session is over (the server stopped it); anything else is retried on the next beat
      if (error instanceof ApiError && error.status === 409 && state.session?.id === session.id) await ended(session.id)
    }
  }
  void beat()
  state.heartbeat = setInterval(beat, (state.config?.heartbeatEvery ?? 10) * 1000)
  render()
}

function unfollow() {
  state.meter?.stop()
  state.meter = null
  clearInterval(state.heartbeat)
  state.heartbeat = null
  state.session = null
}

/** Waits until a stopped session's payment is settled; its final view. */
async function settled(id) {
  for (;;) {
    const detail = await readSession(id)
    if (detail.status !== "SETTLING") return detail
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** The session ended elsewhere (the sweeper, another tab): shows how it ended. */
async function ended(id) {
  unfollow()
  const detail = await settled(id)
  showFinal(detail.status, detail.finalCost)
  notice("This session was stopped by the server.", "info")
  await refreshAccount()
  render()
}

const play = action(async () => {
  const ref = { userAddress: state.viewer }
  if (state.session?.status === "PAUSED") {
    await api("/api/session/resume", { method: "POST", body: { ...ref, sessionId: state.session.id } })
    state.session = { ...state.session, status: "ACTIVE" }
    notice("")
    return
  }
  const contentId = state.content.contentId
  // where the wallet settles only signed sessions, the viewer's wallet signs this one's terms first
  const authorization = state.config.authorizationRequired ? { authorization: await authorizeSession(window.ethereum, { ...ref, contentId }) } : {}
  const { data } = await api("/api/session/start", { method: "POST", body: { ...ref, contentId, ...authorization } })
  showFinal("ACTIVE", null)
  notice("")
  follow({ id: data.sessionId, status: "ACTIVE" })
  await refreshAccount()
})

const pause = action(async () => {
  const { data } = await api("/api/session/pause", { method: "POST", body: { userAddress: state.viewer, sessionId: state.session.id } })
  state.session = { ...state.session, status: "PAUSED" }
  showMeter({ status: "PAUSED", billedSeconds: data.activeDuration, cost: BigInt(data.currentCost) })
})

/** Stop: 200 when the session is over, 202 while its payment settles (then read until it is final). */
const stop = action(async () => {
  const id = state.session.id
  unfollow()
  const answer = await api("/api/session/stop", { method: "POST", body: { userAddress: state.viewer, sessionId: id } })
  let status = answer.data.status
  let finalCost = answer.data.finalCost
  showFinal(status, finalCost)
  if (answer.status === 202 || status === "settling") {
    notice("Payment sent; waiting for the chain to confirm it.", "info")
    const detail = await settled(id)
    status = detail.status
    finalCost = detail.finalCost
    showFinal(status, finalCost)
  }
  notice(`Stopped: ${formatUsdc(finalCost, 6)} (${status.toLowerCase()}).`, "info")
  await refreshAccount()
})

async function refreshBalance() {
  const { data } = await api(`/api/user/${state.viewer}/balance`)
  $("balance-yield").textContent = data.formatted.yield
  $("balance-principal").textContent = data.formatted.principal
  $("balance-total").textContent = data.formatted.total
  $("balance-reserved").textContent = data.formatted.reserved
  $("balance-debt").textContent = data.formatted.debt
  $("balance-spendable").textContent = data.formatted.spendable
}

async function refreshHistory() {
  const { data } = await api(`/api/session/user/${state.viewer}/history?limit=10`)
  const rows = data.map((s) => {
    const tr = document.createElement("tr")
    tr.dataset.sessionId = s.sessionId
    const cells = [
      new Date(s.startTime).toLocaleString(),
      s.content.title,
      s.status.toLowerCase(),
      formatClock(s.totalDuration),
      s.finalCost === null ? "-" : formatUsdc(s.finalCost, 6)
    ]
    for (const text of cells) {
      const td = document.createElement("td")
      td.textContent = text
      tr.append(td)
    }
    return tr
  })
  $("history-rows").replaceChildren(...rows)
}

const refreshAccount = () => Promise.all([refreshBalance(), refreshHistory()])

function selectContent(item) {
  state.content = item
  $("now-playing").textContent = item.title
  $("screen-title").textContent = `${item.title} · ${formatUsdc(item.fullPrice)} for ${formatClock(item.totalDuration)}`
  $("screen-clock").textContent = formatClock(0)
  $("progress-bar").style.width = "0"
  render()
}

/** A viewer's open session (from an earlier visit) is picked up where it is. */
async function adoptOpenSession() {
  const { data } = await api(`/api/session/user/${state.viewer}/active`)
  const open = data[0]
  if (open === undefined) return
  const item = state.catalogue.find((c) => c.contentId === open.content.id)
  if (item !== undefined) selectContent(item)
  showFinal(open.status, null)
  follow({ id: open.sessionId, status: open.status })
  notice(`Picked up your open session of ${open.content.title}.`, "info")
}

const setViewer = action(async () => {
  unfollow()
  await refreshAccount()
  await adoptOpenSession()
})

async function loadCatalogue() {
  const { data } = await api("/api/content?limit=100")
  state.catalogue = data
  const items = data.map((item) => {
    const li = document.createElement("li")
    const button = document.createElement("button")
    button.type = "button"
    button.dataset.contentId = item.contentId
    button.textContent = item.title
    const small = document.createElement("small")
    small.textContent = `${formatUsdc(item.fullPrice)} · ${formatClock(item.totalDuration)} · ${item.category}`
    button.append(small)
    button.addEventListener("click", () => selectContent(item))
    li.append(button)
    return li
  })
  $("catalogue-list").replaceChildren(...items)
}

function setupPicker(viewers) {
  const select = $("viewer-select")
  select.replaceChildren(
    ...viewers.map((address) => {
      const option = document.createElement("option")
      option.value = address
      option.textContent = `${address.slice(0, 6)}…${address.slice(-4)}`
      return option
    })
  )
  select.addEventListener("change", () => {
    state.viewer = select.value
    void setViewer()
  })
  $("picker").hidden = false
  if (viewers.length === 0) {
    notice("No demo viewers on this chain: sign-in is off, so set a viewer with ?viewer=0x… in the address.", "info")
  }
  const fromUrl = new URLSearchParams(window.location.search).get("viewer")
  state.viewer = fromUrl ?? viewers[0] ?? null
  if (fromUrl !== null && !viewers.includes(fromUrl)) select.append(new Option(fromUrl, fromUrl))
  if (state.viewer !== null) {
    select.value = state.viewer
    void setViewer()
  }
}

function setupWallet() {
  $("wallet").hidden = false
  const button = $("sign-in")
  if (window.ethereum === undefined) {
    button.disabled = true
    notice("Sign-in is required and no wallet was found in this browser: install one (it injects window.ethereum).")
    return
  }
  button.addEventListener(
    "click",
    action(async () => {
      const { address, token } = await signIn(window.ethereum)
      setToken(token)
      state.viewer = address
      $("signed-in").textContent = `Signed in as ${address.slice(0, 6)}…${address.slice(-4)}`
      button.hidden = true
      notice("")
      unfollow()
      await refreshAccount()
      await adoptOpenSession()
    })
  )
}

async function main() {
  $("play").addEventListener("click", play)
  $("pause").addEventListener("click", pause)
  $("stop").addEventListener("click", stop)
  const { data: config } = await api("/api/watch/config")
  state.config = config
  await loadCatalogue()
  if (config.authRequired) setupWallet()
  else setupPicker(config.demoViewers)
  render()
}

main().catch(explain)
