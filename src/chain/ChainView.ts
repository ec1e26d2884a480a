import { Clock, Context, Duration, Effect, Layer, Option, Ref, Schedule, Stream, SubscriptionRef } from "effect"
import { AppConfig } from "../config.js"
import type { Address } from "../domain/Address.js"
import { Chain, type ChainActivity, type ChainStatus, type ContentListing, type VaultBalances, contentKeyOf } from "../domain/Chain.js"
import type { ChainUnavailable } from "../domain/errors.js"

/**
 * The chain as this process last saw it: balances, allowances, listings and the head block, each true
 * at the block the view has caught up to. The view follows the chain block by block (the vault's and
 * wallet's events of each new block name whom they changed: those entries are read again), so a read
 * on the hot path (start, balance, content, status) costs no chain request while the view is fresh.
 * Fresh means caught up within `CHAIN_VIEW_MAX_AGE`; otherwise (the poller is behind, or its last
 * request failed) a read first catches up, and an unreachable chain fails it as before (503).
 */
export class ChainView extends Context.Tag("payg/ChainView")<
  ChainView,
  {
    readonly status: Effect.Effect<ChainStatus, ChainUnavailable>
    readonly balancesOf: (user: Address) => Effect.Effect<VaultBalances, ChainUnavailable>
    readonly spendAllowance: (user: Address) => Effect.Effect<bigint, ChainUnavailable>
    readonly contentListing: (contentId: string) => Effect.Effect<ContentListing, ChainUnavailable>
    /** Reads a user's balance and allowance again (a settlement of theirs was just sent): off the request, by the settlement's fiber. */
    readonly refresh: (user: Address) => Effect.Effect<void>
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

/** A cache of one kind of figure, with a version per key so that a read racing an event never wins. */
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
      return entries.delete(key)
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

    const balances = makeCache<Address, VaultBalances>()
    const allowances = makeCache<Address, bigint>()
    const listings = makeCache<string, ContentListing>()
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
      balances.clear()
      allowances.clear()
      listings.clear()
    }

    /** Entries an event named are read again now (by the poller, not by the next request); a failed read forgets them. */
    const refresh = <K, A>(cache: ReturnType<typeof makeCache<K, A>>, key: K, load: Effect.Effect<A, ChainUnavailable>, block: bigint) => {
      if (!cache.touch(key)) return Effect.void
      const version = cache.version(key)
      return load.pipe(
        Effect.map((value) => cache.setIf(key, version, { value, block })),
        Effect.ignore
      )
    }

    const apply = (activity: ChainActivity, block: bigint) =>
      Effect.forEach(
        [
          ...activity.users.flatMap((user) => [
            refresh(balances, user, chain.balancesOf(user), block),
            refresh(allowances, user, chain.spendAllowance(user), block)
          ]),
          ...activity.contentKeys.map((key) => Effect.sync(() => listings.touch(key)))
        ],
        (e) => e,
        { concurrency: 8, discard: true }
      )

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

    /** A figure read again now and kept (a failed read leaves it forgotten: the next request reads it). */
    const reload = <K, A>(cache: ReturnType<typeof makeCache<K, A>>, key: K, load: Effect.Effect<A, ChainUnavailable>) =>
      Effect.gen(function* () {
        cache.touch(key)
        const version = cache.version(key)
        const block = Option.getOrElse(yield* Ref.get(processed), () => 0n)
        const value = yield* load
        cache.setIf(key, version, { value, block })
      }).pipe(Effect.ignore)

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
      balancesOf: (user) => cached(balances, user, chain.balancesOf(user)),
      spendAllowance: (user) => cached(allowances, user, chain.spendAllowance(user)),
      contentListing: (contentId) => cached(listings, contentKeyOf(contentId), chain.contentListing(contentId)),
      refresh: (user) =>
        Effect.all([reload(balances, user, chain.balancesOf(user)), reload(allowances, user, chain.spendAllowance(user))], { concurrency: 2, discard: true }),
      blockInterval: Effect.map(Ref.get(advances), (a) => (a.samples.length < 2 ? Option.none() : Option.some(upperQuartile(a.samples)))),
      lastHead: SubscriptionRef.get(newest),
      headAbove
    })
  })
)
