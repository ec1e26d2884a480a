import type { HttpServerRequest } from "@effect/platform"
import { Option } from "effect"

/**
 * The client's IP for rate limiting: the socket's remote address, or with TRUST_PROXY=N the address
 * N hops back in X-Forwarded-For (each trusted proxy appends the address it saw; anything further
 * left was written by the client and is never trusted). IPv6 clients are keyed by their /64, the
 * block one subscriber usually holds, so rotating addresses inside it gains nothing.
 */

const mappedIpv4 = "::ffff:"

const groupCount = (parts: ReadonlyArray<string>): number => parts.reduce((n, p) => n + (p.includes(".") ? 2 : 1), 0)

/** The /64 prefix of an IPv6 address in a canonical form, e.g. `2001:db8:0:1::/64`. */
export const ipv6Prefix64 = (address: string): string => {
  const zone = address.indexOf("%")
  const ip = zone === -1 ? address : address.slice(0, zone)
  const gap = ip.indexOf("::")
  const parts =
    gap === -1
      ? ip.split(":")
      : (() => {
          const head = gap === 0 ? [] : ip.slice(0, gap).split(":")
          const tailText = ip.slice(gap + 2)
          const tail = tailText.length === 0 ? [] : tailText.split(":")
          const missing = Math.max(0, 8 - groupCount(head) - groupCount(tail))
          return [...head, ...Array.from({ length: missing }, () => "0"), ...tail]
        })()
  const prefix = parts.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16))
  while (prefix.length < 4) prefix.push("0")
  return `${prefix.join(":")}::/64`
}

/** One address in the form used as a rate-limit key. */
export const normalizeIp = (address: string): string => {
  const ip = address.trim().toLowerCase()
  if (ip.startsWith(mappedIpv4) && ip.includes(".")) return ip.slice(mappedIpv4.length)
  return ip.includes(":") ? ipv6Prefix64(ip) : ip
}

/** The rate-limit key from the socket's remote address and the X-Forwarded-For header. */
export const makeClientKey = (trustedHops: number) => {
  return (remote: string, forwarded: string | undefined): string => {
    if (trustedHops === 0 || forwarded === undefined || forwarded.length === 0) return normalizeIp(remote)
    const chain = forwarded.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    chain.push(remote)
    const client = chain[Math.max(0, chain.length - 1 - trustedHops)] ?? remote
    return normalizeIp(client)
  }
}

export const makeClientIp = (trustedHops: number) => {
  const key = makeClientKey(trustedHops)
  return (request: HttpServerRequest.HttpServerRequest): string =>
    key(Option.getOrElse(request.remoteAddress, () => "unknown"), request.headers["x-forwarded-for"])
}
