import { Clock, Context, Deferred, Duration, Effect, Exit, FiberId, Layer, Option, Ref, Schedule, Stream, SubscriptionRef } from "effect"
import { AppConfig } from "../config.js"
import type { Address } from "../domain/Address.js"
import { Chain, type ChainActivity, type ChainStatus, type ContentListing, type Funds, type VaultBalances, contentKeyOf } from "../domain/Chain.js"
import { ChainUnavailable } from "../domain/errors.js"

/**
 * The chain as this process last saw it: balances, allowances, listings and the head block. The view
 * follows the chain block by block: the vault's and wallet's events of each new block name whom they
 * changed, and the funds of those it holds are read again, all in one request at that block. A read on
 * the hot path (start, balance, content, status) costs no chain request while the view is fresh: caught
 * up within `CHAIN_VIEW_MAX_AGE`; otherwise (the poller is behind, or its last request failed) a read
 * first catches up, and an unreachable chain fails it as before (503).
 *
 * A viewer's funds are kept with the block they were read at (`fundsOf`). Named only by the operator's
 * settlements, they stay in use while their re-read is in flight (what those settlements spent after
 * that block is in the database: `SessionRepo.reservedFor`); named by anything else (a withdrawal, an
 * allowance cut), they are dropped, and a read waits for the re-read already under way.
 */
export class ChainView extends Context.Tag("payg/ChainView")<
  ChainView,
  {
    readonly status: Effect.Effect<ChainStatus, ChainUnavailable>
    readonly balancesOf: (user: Address) => Effect.Effect<VaultBalances, ChainUnavailable>
    readonly spendAllowance: (user: Address) => Effect.Effect<bigint, ChainUnavailable>
    /**
     * A viewer's balances and allowance and the block they are true at: every event of a later block
     * that named them was an operator's settlement (so `SessionRepo.reservedFor(user, block)` is what
     * they do not show yet).
     */
    readonly fundsOf: (user: Address) => Effect.Effect<FundsSeen, ChainUnavailable>
    readonly contentListing: (contentId: string) => Effect.Effect<ContentListing, ChainUnavailable>
    /** Wall-clock milliseconds per block, as observed by the poller; None until it saw blocks come. */
    readonly blockInterval: Effect.Effect<Option.Option<number>>
    /** The newest head the view has seen, and when it first saw it; None before its first look. */
    readonly lastHead: Effect.Effect<Option.Option<HeadSeen>>
    /**
     * Waits until the view has seen a head above `block`: the poller's next look that finds one (no
     * chain request of its own), or, where no poller runs (the in-process chain), reads of the head.
     */
    readonly headAbove: (block: bigint) => Effect.Effect<HeadSeen, ChainUnavailable>
  }
>() {}

/** A head block and the wall-clock millisecond the view first saw it. */
export interface HeadSeen {
  readonly block: bigint
  readonly at: number
}

/** A viewer's funds and the block they were read at. */
export interface FundsSeen {
  readonly funds: Funds
  readonly block: bigint
}

/** A value and the block it was read at (it stays true until an event of a later block names its key). */
interface Entry<A> {
  readonly value: A
  readonly block: bigint
}

interface Advances {
  readonly last: Option.Option<{ readonly at: number; readonly block: bigint }>
  /** Whether the head moved since the view started. */
  readonly advanced: boolean
  readonly samples: ReadonlyArray<number>
}

/** More blocks than this to catch up on (a long outage): everything is forgotten instead of scanned. */
const MAX_SCAN = 1_000n
/** Block intervals kept for the median. */
const SAMPLES = 8
/** Viewers' drop marks kept before they are forgotten at once (reads begun before that are then not kept). */
const MAX_FLOORS = 10_000

/** A cache of one kind of figure (listings), with a version per key so that a read racing an event never wins. */
const makeCache = <K, A>() => {
  const entries = new Map<K, Entry<A>>()
  const versions = new Map<K, number>()
  return {
    get: (key: K) => entries.get(key),
    version: (key: K) => versions.get(key) ?? 0,
    setIf: (key: K, version: number, entry: Entry<A>) => {
      if ((versions.get(key) ?? 0) === version) entries.set(key, entry)
    },
    touch: (key: K) => {
      versions.set(key, (versions.get(key) ?? 0) + 1)
      entries.delete(key)
    },
    clear: () => {
      for (const key of entries.keys()) versions.set(key, (versions.get(key) ?? 0) + 1)
      entries.clear()
    }
  }
}

/**
 * The upper quartile of the per-block intervals: a node that mines each transaction as it comes as well
 * as on a timer shows bursts of short ones (a deposit, a settlement), and the timer's are the pace.
 */
const upperQuartile = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length * 0.75)] ?? 0
}

export const ChainViewLive = Layer.scoped(
  ChainView,
  Effect.gen(function* () {
    const chain = yield* Chain
    const config = (yield* AppConfig).slowChain
    const inProcess = chain.binding.kind === "in-process"
    const maxAgeMs = Duration.toMillis(Option.getOrElse(config.viewMaxAge, () => (inProcess ? Duration.zero : Duration.seconds(5))))
    const poll = Option.orElse(config.viewPoll, () =>
      inProcess ? Option.none() : Option.some(chain.binding.chainId === 31337 ? Duration.millis(250) : Duration.seconds(1))
    )

    const listings = makeCache<string, ContentListing>()
    /** Viewers' funds, each with the block it was read at. */
    const funds = new Map<Address, FundsSeen>()
    /**
     * Reads are kept (and shared) only if no event but a settlement named the viewer after their block:
     * per viewer, the last block such an event was applied at; below `floors.all`, no read is kept.
     */
    const floors = { byUser: new Map<Address, bigint>(), all: 0n, generation: 0 }
    /** Funds reads under way, per viewer: a read that finds no entry waits for one (None: it failed). */
    const inflight = new Map<Address, Deferred.Deferred<Option.Option<FundsSeen>>>()
    /** Viewers whose entry was kept but whose re-read failed: read again with the next block. */
    const unread = new Set<Address>()
    /** The last block whose events were applied. */
    const processed = yield* Ref.make(Option.none<bigint>())
    /** When the view was last caught up with the head (None after a failed catch-up). */
    const syncedAt = yield* Ref.make(Option.none<number>())
    /** The head's last advance (time, block) and the recent per-block intervals. */
    const advances = yield* Ref.make<Advances>({ last: Option.none(), advanced: false, samples: [] })
    const lock = yield* Effect.makeSemaphore(1)
    /** The newest head seen (what `headAbove` waits on). */
    const newest = yield* SubscriptionRef.make(Option.none<HeadSeen>())

    const clearAll = () => {
      floors.generation += 1
      floors.byUser.clear()
      funds.clear()
      inflight.clear()
      unread.clear()
      listings.clear()
    }

    /** Whether funds read at `seen.block` (in `generation`) may be kept and shared: nothing but a settlement named the viewer since. */
    const current = (user: Address, seen: FundsSeen, generation: number) =>
      generation === floors.generation && seen.block >= floors.all && seen.block >= (floors.byUser.get(user) ?? 0n)

    const keep = (user: Address, seen: FundsSeen, generation: number) => {
      const held = funds.get(user)
      if (current(user, seen, generation) && (held === undefined || held.block < seen.block)) funds.set(user, seen)
    }

    /**
     * Reads the funds of `users` in one request, at `block` (`exact`) or at the newest block (taken as
     * true at `block`, an earlier one: a settlement between the two is then counted twice, never missed),
     * kept when they land and shared meanwhile with reads that find no entry. `forget` (events other
     * than settlements named them at `block`) are dropped first, and no read of theirs at an earlier
     * block is kept any more.
     */
    const readAt = (users: ReadonlyArray<Address>, block: bigint, exact: boolean, forget: ReadonlyArray<Address> = []) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const generation = floors.generation
          const pending = users.map((user) => ({ user, done: Deferred.unsafeMake<Option.Option<FundsSeen>>(FiberId.none) }))
          for (const p of pending) inflight.set(p.user, p.done)
          if (floors.byUser.size + forget.length > MAX_FLOORS) {
            floors.byUser.clear()
            floors.all = block
          }
          for (const user of forget) {
            floors.byUser.set(user, block)
            funds.delete(user)
          }
          if (users.length === 0) return Effect.succeed(new Map<Address, FundsSeen>())
          return restore(chain.fundsAt(users, exact ? Option.some(block) : Option.none())).pipe(
            Effect.map((all) => {
              const read = new Map<Address, FundsSeen>()
              users.forEach((user, i) => {
                const f = all[i]
                if (f !== undefined) read.set(user, { funds: f, block })
              })
              return read
            }),
            Effect.onExit((exit) =>
              Effect.sync(() => {
                for (const { done, user } of pending) {
                  if (inflight.get(user) === done) inflight.delete(user)
                  const seen = Exit.isSuccess(exit) ? exit.value.get(user) : undefined
                  if (seen !== undefined) keep(user, seen, generation)
                  Deferred.unsafeDone(done, Exit.succeed(seen !== undefined && current(user, seen, generation) ? Option.some(seen) : Option.none()))
                }
              })
            )
          )
        })
      )

    /**
     * A block's events: listings they name are forgotten; viewers' funds held here and named (or left
     * unread by the last failure) are read again at `block`, in one request (by the poller, not by the
     * next request), those named by anything but a settlement dropped meanwhile. A failed re-read
     * leaves a settled viewer's entry in use (still exact with the database's reservations) until the
     * next block's, and a dropped one to the next read.
     */
    const apply = (activity: ChainActivity, block: bigint) =>
      Effect.suspend(() => {
        for (const key of activity.contentKeys) listings.touch(key)
        const reread = [...new Set([...activity.users, ...activity.settled, ...unread])].filter((user) => funds.has(user))
        return readAt(reread, block, true, activity.users).pipe(
          Effect.match({
            onFailure: () => reread.filter((user) => funds.has(user)).forEach((user) => unread.add(user)),
            onSuccess: () => reread.forEach((user) => unread.delete(user))
          })
        )
      })

    const observe = (head: bigint, at: number) =>
      Effect.zipRight(
        SubscriptionRef.update(newest, (seen) => (Option.isSome(seen) && seen.value.block >= head ? seen : Option.some({ block: head, at }))),
        Ref.update(advances, (a) =>
        Option.match(a.last, {
          onNone: () => ({ ...a, last: Option.some({ at, block: head }) }),
          onSome: (last) =>
            head <= last.block
              ? a
              : {
                  last: Option.some({ at, block: head }),
                  // the first advance only bounds the interval (the view started somewhere inside it)
                  advanced: true,
                  samples: a.advanced ? [...a.samples, (at - last.at) / Number(head - last.block)].slice(-SAMPLES) : a.samples
                }
          })
        )
      )

    /** Reads the head and applies the events of every block since the last one applied. */
    const catchUp = Effect.gen(function* () {
      const head = yield* chain.head
      const now = yield* Clock.currentTimeMillis
      const last = yield* Ref.get(processed)
      if (Option.isSome(last) && head !== last.value) {
        if (head < last.value || head - last.value > MAX_SCAN) clearAll()
        else yield* apply(yield* chain.activityBetween(last.value + 1n, head), head)
      }
      yield* Ref.set(processed, Option.some(head))
      yield* Ref.set(syncedAt, Option.some(now))
      yield* observe(head, now)
      return head
    }).pipe(
      Effect.tapError(() => Ref.set(syncedAt, Option.none())),
      lock.withPermits(1),
      Effect.withSpan("ChainView.catchUp")
    )

    /** The block the view is true at: the last one applied, caught up first unless that was within the max age. */
    const head = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const at = yield* Ref.get(syncedAt)
      const last = yield* Ref.get(processed)
      if (Option.isSome(at) && Option.isSome(last) && now - at.value <= maxAgeMs && maxAgeMs > 0) return last.value
      return yield* catchUp
    })

    const cached = <K, A>(cache: ReturnType<typeof makeCache<K, A>>, key: K, load: Effect.Effect<A, ChainUnavailable>) =>
      Effect.gen(function* () {
        const block = yield* head
        const hit = cache.get(key)
        if (hit !== undefined) return hit.value
        const version = cache.version(key)
        const value = yield* load
        cache.setIf(key, version, { value, block })
        return value
      })

    /**
     * A viewer's funds: the entry held, else the read under way, else one read now (at the newest
     * block, so a viewer funded a moment ago sees it; held as of the view's block).
     */
    const fundsOf = (user: Address): Effect.Effect<FundsSeen, ChainUnavailable> =>
      Effect.gen(function* () {
        const block = yield* head
        const held = funds.get(user)
        if (held !== undefined) return held
        const pending = inflight.get(user)
        if (pending !== undefined) {
          const shared = yield* Deferred.await(pending)
          if (Option.isSome(shared)) return shared.value
        }
        const read = yield* readAt([user], block, false)
        const seen = read.get(user)
        if (seen === undefined) return yield* new ChainUnavailable({ reason: "the chain's answer left out the viewer's funds" })
        return seen
      })

    if (Option.isSome(poll)) {
      yield* catchUp.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(poll.value)), Effect.forkScoped)
    }

    const above = (block: bigint) => (seen: Option.Option<HeadSeen>) => Option.filter(seen, (h) => h.block > block)
    const headAbove = (block: bigint): Effect.Effect<HeadSeen, ChainUnavailable> =>
      Option.isSome(poll)
        ? newest.changes.pipe(Stream.filterMap(above(block)), Stream.runHead, Effect.map(Option.getOrThrow))
        : catchUp.pipe(
            Effect.repeat({ until: (h) => h > block, schedule: Schedule.spaced(Duration.millis(50)) }),
            Effect.zipRight(SubscriptionRef.get(newest)),
            Effect.map((seen) => Option.getOrElse(seen, () => ({ block: block + 1n, at: 0 })))
          )

    return ChainView.of({
      status: Effect.map(head, (blockNumber) => ({ chainId: chain.binding.chainId, blockNumber })),
      balancesOf: (user) => Effect.map(fundsOf(user), (seen) => seen.funds.balances),
      spendAllowance: (user) => Effect.map(fundsOf(user), (seen) => seen.funds.allowance),
      fundsOf,
      contentListing: (contentId) => cached(listings, contentKeyOf(contentId), chain.contentListing(contentId)),
      blockInterval: Effect.map(Ref.get(advances), (a) => (a.samples.length < 2 ? Option.none() : Option.some(upperQuartile(a.samples)))),
      lastHead: SubscriptionRef.get(newest),
      headAbove
    })
  })
)
