import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option } from "effect"
import { breakingAbove, chainAction } from "../src/content/ListingOutbox.js"
import { toAddress } from "../src/domain/Address.js"
import type { ContentListing } from "../src/domain/Chain.js"
import { ContentId, type ContentItem } from "../src/domain/Content.js"

/**
 * The rule that keeps open sessions payable (src/content/ListingOutbox.ts): the contract settles a
 * session only while its content is listed at a price of at least the amount, and a session is charged
 * at most the full price it started with.
 */

const creator = toAddress("0x976ea74026e726554db657fa54763abd0c3a0aa9")
const price = fc.bigInt({ min: 1n, max: 20n })

const itemOf = (fullPrice: bigint, isActive: boolean): ContentItem => ({
  id: "row",
  contentId: ContentId.make("item"),
  title: "t",
  description: "",
  fullPrice,
  totalDuration: 60,
  category: "c",
  thumbnailUrl: null,
  isActive,
  creatorAddress: creator,
  createdAt: new Date(0)
})

/** What the chain lists after `action`. */
const after = (action: ReturnType<typeof chainAction>, item: ContentItem, listing: ContentListing): ContentListing =>
  action === "none" ? listing : action === "delist" ? { ...listing, listed: false } : { creator, price: item.fullPrice, duration: 60n, listed: true }

describe("listing changes and the sessions still to settle", () => {
  it.prop(
    "a change that passes the check leaves every unsettled session settleable: listed, at a price of at least its full price",
    {
      wanted: price,
      active: fc.boolean(),
      listing: fc.record({ listed: fc.boolean(), price }),
      sessions: fc.array(price, { maxLength: 5 })
    },
    ({ active, listing, sessions, wanted }) => {
      const item = itemOf(wanted, active)
      const before: ContentListing = { creator, price: listing.price, duration: 60n, listed: listing.listed }
      // the sessions that can be open are those the current listing can settle
      const open = before.listed ? sessions.filter((p) => p <= before.price) : []
      const action = chainAction(item, before)
      if (action === "none") return
      const threshold = breakingAbove(action, item, before)
      const blocked = Option.isSome(threshold) && open.some((p) => p > threshold.value)
      if (blocked) return
      const next = after(action, item, before)
      for (const p of open) {
        expect(next.listed, `session at ${p} after ${action}`).toBe(true)
        expect(next.price >= p, `session at ${p} after ${action} to ${next.price}`).toBe(true)
      }
    }
  )

  it("a raise needs no wait; a cut and a delisting wait for the sessions above the new price", () => {
    const listed: ContentListing = { creator, price: 10n, duration: 60n, listed: true }
    expect(breakingAbove("update", itemOf(12n, true), listed)).toEqual(Option.none())
    expect(breakingAbove("update", itemOf(4n, true), listed)).toEqual(Option.some(4n))
    expect(breakingAbove("delist", itemOf(10n, false), listed)).toEqual(Option.some(-1n))
    expect(chainAction(itemOf(10n, false), listed)).toBe("delist")
    expect(chainAction(itemOf(10n, true), listed)).toBe("none")
    expect(chainAction(itemOf(10n, true), { ...listed, listed: false })).toBe("list")
  })
})
