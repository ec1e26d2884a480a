import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Runtime } from "effect"
import { demoAccounts } from "../src/chain/ChainInProcess.js"
import { TestApp } from "./support/app.js"
import {
  ANSWER_WITHIN_MS,
  type Expectation,
  type RawRequest,
  type RawResponse,
  type StateSnapshot,
  describeRequest,
  describeResponse,
  isInnocent,
  problemsOf,
  rawRequest,
  serverPort,
  snapshotState
} from "./support/fuzz.js"

/**
 * Property-based fuzzing of every route with hostile input. For every answer:
 * - the status is a 4xx, or a 2xx only where the input may be harmlessly valid (each case says which,
 *   see `Expectation`); never a 5xx, never anything else;
 * - every 4xx body is the seed's error `{ error, message, statusCode (= the HTTP status), timestamp (ISO) }`;
 * - no body carries a stack trace, a source path, a JS error prefix or an internal `_tag`.
 * After each batch the database (sessions, settlements, idempotency keys) and the chain's height are
 * exactly as before: hostile traffic changes nothing that matters.
 *
 * Requests go through the Effect HttpClient (`client`) where it sends the bytes as given (bodies,
 * content types, headers), and through node:http (`node`) where exactness matters: request targets
 * (no URL normalisation of `..` or percent escapes), a missing Content-Type, chunked bodies.
 */

// ---------------------------------------------------------------------------------------------
// Inputs

/** A well-formed address that holds nothing: a start with it can never be paid for. */
const unfunded = "0x000000000000000000000000000000000000dEaD"
/** A funded demo viewer: only ever used on read-only routes. */
const funded = demoAccounts[0] ?? unfunded
const unknownSession = "session_abc_00000000"
const demoContent = ["intro-to-defi", "yield-farming-101", "inside-the-evm", "stablecoin-economics", "nft-art-stories"] as const

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`))

/** Values of the right format that refer to nothing: they can reach the handlers, never succeed. */
const harmless = {
  address: fc.oneof(fc.constant(unfunded), hex(40).map((h) => `0x${h}`)),
  contentId: fc.oneof(fc.constantFrom(...demoContent), fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/)),
  sessionId: fc.oneof(fc.constant(unknownSession), fc.stringMatching(/^session_[0-9a-z]{1,12}_[0-9a-f]{8}$/)),
  txHash: hex(64).map((h) => `0x${h}`),
  signature: fc.stringMatching(/^[0-9a-f]{2,200}$/).map((h) => `0x${h}`),
  message: fc.string({ maxLength: 300 })
}

/** Strings that look almost right, and classic injection payloads. */
const nearMiss = fc.constantFrom(
  "",
  " ",
  "0x",
  "0x123",
  "0X000000000000000000000000000000000000dEaD",
  "0x000000000000000000000000000000000000dEaDx",
  " 0x000000000000000000000000000000000000dEaD",
  "0x000000000000000000000000000000000000dEa\u0000",
  "0x00000000000000000000000000000000000０dEaD",
  "0xgggggggggggggggggggggggggggggggggggggggg",
  "session_ABC_00000000",
  "session_abc_0000000",
  "session_abc_00000000\n",
  "intro-to-defi\u0000",
  "-intro-to-defi",
  "../../etc/passwd",
  "' OR 1=1 --",
  "'; DROP TABLE sessions; --",
  "${7*7}",
  "{{7*7}}",
  "<script>alert(1)</script>",
  "\u202e\u0000\uffff",
  "\ud83d",
  "NaN",
  "null",
  "undefined",
  "[object Object]"
)

/** Anything of the wrong type (or a wrong string) for a field. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  nearMiss,
  fc.string({ maxLength: 50, unit: "binary" }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constant({ $gt: "" }),
  // own "__proto__" / "constructor" keys, as JSON.parse makes them
  fc.constant<unknown>(JSON.parse('{"__proto__":{"polluted":true}}')),
  fc.constant<unknown>(JSON.parse('{"constructor":{"prototype":{"polluted":true}}}')),
  fc.bigInt().map((n) => n.toString() + "n")
)

interface PostRoute {
  readonly path: string
  readonly fields: Readonly<Record<string, fc.Arbitrary<unknown>>>
}

/** Every route with a body. Hostile input there is always a 4xx: it never names a session or a balance that exists. */
const postRoutes: ReadonlyArray<PostRoute> = [
  { path: "/api/session/start", fields: { userAddress: harmless.address, contentId: harmless.contentId } },
  { path: "/api/session/pause", fields: { sessionId: harmless.sessionId, userAddress: harmless.address } },
  { path: "/api/session/resume", fields: { sessionId: harmless.sessionId, userAddress: harmless.address } },
  { path: "/api/session/stop", fields: { sessionId: harmless.sessionId, userAddress: harmless.address, txHash: harmless.txHash } },
  { path: "/api/auth/verify", fields: { message: harmless.message, signature: harmless.signature } }
]
const postRoute = fc.constantFrom(...postRoutes)

interface GetRoute {
  readonly name: string
  /** The path with `segment` in place of its parameter (ignored by routes without one). */
  readonly path: (segment: string) => string
  /** A valid value of the path parameter, undefined when the route has none. */
  readonly valid: string | undefined
  /** Query parameters a hostile value of must be refused (4xx). */
  readonly strict: ReadonlyArray<string>
  /** Query parameters that accept almost anything (a hostile value may be a 2xx). */
  readonly lenient: ReadonlyArray<string>
  /** True when no input at all can succeed here (the detail of a session that does not exist). */
  readonly neverSucceeds: boolean
  /** The query string that makes the route valid. */
  readonly baseQuery: string
}

const getRoutes: ReadonlyArray<GetRoute> = [
  { name: "health", path: () => "/health", valid: undefined, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "status", path: () => "/api/status", valid: undefined, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "content list", path: () => "/api/content", valid: undefined, strict: ["limit", "cursor"], lenient: ["category"], neverSucceeds: false, baseQuery: "" },
  { name: "content", path: (s) => `/api/content/${s}`, valid: "intro-to-defi", strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  {
    name: "session detail",
    path: (s) => `/api/session/${s}`,
    valid: unknownSession,
    strict: ["userAddress"],
    lenient: [],
    neverSucceeds: true,
    baseQuery: `userAddress=${funded}`
  },
  { name: "active", path: (s) => `/api/session/user/${s}/active`, valid: funded, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "history", path: (s) => `/api/session/user/${s}/history`, valid: funded, strict: ["limit", "cursor"], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "balance", path: (s) => `/api/user/${s}/balance`, valid: funded, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "stats", path: (s) => `/api/user/${s}/stats`, valid: funded, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" },
  { name: "nonce", path: () => "/api/auth/nonce", valid: undefined, strict: [], lenient: [], neverSucceeds: false, baseQuery: "" }
]
const getRoute = fc.constantFrom(...getRoutes)
const segmentRoutes = getRoutes.filter((r) => r.valid !== undefined)

const validPath = (r: GetRoute): string => {
  const path = r.path(r.valid ?? "")
  return r.baseQuery === "" ? path : `${path}?${r.baseQuery}`
}

/** Percent-encodes every byte of a string's UTF-8 form (lone surrogates become U+FFFD). */
const percentEncodeAll = (s: string): string => [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")

/**
 * Path segments that are never a valid address, session id or content id, however the server
 * decodes them. No `?` or `#` (they would start a query or a fragment: see the query cases), no `/`
 * (that changes the route: see the unknown paths).
 */
const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "%zz",
    "%",
    "%%",
    "%0",
    "%00",
    "a%00b",
    "%ff",
    "%c3%28",
    "%ed%a0%80",
    "%c0%ae%c0%ae",
    "%f4%90%80%80",
    "%2e%2e",
    "..",
    ".",
    "...",
    "%2f",
    "%2F..%2F..%2Fetc%2Fpasswd",
    "..%5c..%5c",
    "%u0041",
    "0x%zz",
    "%E2%80%AE",
    "%F0%9F%92%A9",
    ";",
    "..;",
    "~",
    "'",
    '"',
    "%22%3E%3Cscript%3E",
    "{}",
    "[]",
    "$(id)",
    "`id`",
    "|",
    "\\",
    "\u00e9",
    "\u00ff\u00fe",
    "%2B%2B",
    "-",
    "0x",
    "0X000000000000000000000000000000000000dEaD",
    "session_",
    "__proto__",
    "constructor",
    "prototype"
  ),
  fc.integer({ min: 129, max: 8_000 }).map((n) => "a".repeat(n)),
  fc.integer({ min: 41, max: 4_000 }).map((n) => `0x${"a".repeat(n)}`),
  fc.integer({ min: 13, max: 4_000 }).map((n) => `session_${"a".repeat(n)}_00000000`),
  fc.integer({ min: 1, max: 2_000 }).map((n) => "%zz".repeat(n)),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map(percentEncodeAll),
  fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""))
)

/** Values no strict query parameter (address, limit, cursor) accepts, however decoded. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "%zz",
    "%",
    "%00",
    "%ff%fe",
    "0",
    "-1",
    "101",
    "1.5",
    "abc",
    "NaN",
    "Infinity",
    "-Infinity",
    "99999999999999999999999",
    "null",
    "undefined",
    "[]",
    "{}",
    "true",
    "%20",
    "1%3BDROP%20TABLE%20sessions",
    "%E2%80%AE",
    "0x",
    "0xZZ",
    "__proto__"
  ),
  fc.integer({ min: 201, max: 6_000 }).map((n) => "9".repeat(n)),
  // arbitrary unicode, percent-encoded; the leading U+00A7 keeps it from ever being a valid limit, cursor or address
  fc.string({ unit: "grapheme", minLength: 0, maxLength: 20 }).map((s) => percentEncodeAll(`\u00a7${s}`))
)

const junkKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", "x", "%zz", "%00", "__proto__", "constructor", "toString", "hasOwnProperty", "a[b]", "a[]", "limit[]", "%6c%69%6d%69%74x", "\u00e9"),
  fc.integer({ min: 100, max: 4_000 }).map((n) => "k".repeat(n)),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }).map(percentEncodeAll)
)

// ---------------------------------------------------------------------------------------------
// Cases

interface Case {
  readonly label: string
  readonly request: RawRequest
  readonly expect: Expectation
  readonly via: "client" | "node"
}

const json = (u: unknown): string => JSON.stringify(u) ?? "null"

const post = (
  path: string,
  body: Uint8Array | string,
  contentType: string | undefined,
  via: Case["via"],
  label: string,
  extra: Readonly<Record<string, string>> = {}
): Case => ({
  label,
  via,
  expect: "4xx",
  request: { method: "POST", path, body, headers: { ...(contentType === undefined ? {} : { "content-type": contentType }), ...extra } }
})

/** 1. Arbitrary JSON values as the body of every POST route. */
const jsonValueCase = fc
  .tuple(postRoute, fc.jsonValue({ maxDepth: 4 }))
  .map(([r, v]) => post(r.path, json(v), "application/json", "client", "json value"))

/**
 * 2. The route's keys with wrong types, near misses or harmless values; sometimes extra keys,
 * duplicated keys, prototype keys. Harmless values name nothing that exists, so even a body of
 * only harmless values is a 4xx (404 unknown session/content, 400 insufficient balance).
 */
const wrongTypesCase = postRoute.chain((r) =>
  fc
    .tuple(
      fc.record(Object.fromEntries(Object.entries(r.fields).map(([k, valid]) => [k, fc.option(fc.oneof(valid, wrongValue), { nil: undefined })]))),
      fc.dictionary(fc.constantFrom("extra", "__proto__", "constructor", "_tag", "status", "finalCost"), wrongValue, { maxKeys: 2 }),
      fc.constantFrom("plain", "extra", "duplicate")
    )
    .map(([fields, extra, shape]) => {
      const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))
      const body =
        shape === "plain"
          ? json(defined)
          : shape === "extra"
            ? json({ ...defined, ...extra })
            : // a duplicate key: the first occurrence harmless, the last wrong (or the other way round)
              `{${Object.entries(defined)
                .flatMap(([k, v]) => [`${json(k)}:${json(v)}`, `${json(k)}:${json(extra["extra"] ?? 1)}`])
                .join(",")}}`
      return post(r.path, body, "application/json", "client", `wrong types (${shape})`)
    })
)

/** 3. Huge strings (100 KB to 400 KB): as a field, a key, a bare JSON string, raw text, chunked. */
const hugeCase = fc
  .tuple(
    postRoute,
    fc.integer({ min: 100_000, max: 400_000 }),
    fc.constantFrom("a", "\u00e9", "\ud83d\udca9", "\\", '"', "\u0000", "%zz"),
    fc.constantFrom(...(["field", "key", "string", "raw", "chunked", "array"] as const))
  )
  .map(([r, size, unit, shape]): Case => {
    const big = unit.repeat(Math.ceil(size / unit.length))
    const firstKey = Object.keys(r.fields)[0] ?? "x"
    switch (shape) {
      case "field":
        return post(r.path, json({ [firstKey]: big }), "application/json", "client", "huge field")
      case "key":
        return post(r.path, json({ [big]: 1 }), "application/json", "client", "huge key")
      case "string":
        return post(r.path, json(big), "application/json", "client", "huge JSON string")
      case "raw":
        return post(r.path, big, "text/plain", "client", "huge text")
      case "array":
        return post(r.path, `[${"1,".repeat(size / 2)}1]`, "application/json", "client", "huge array")
      case "chunked": {
        const c = post(r.path, json({ [firstKey]: big }), "application/json", "node", "huge chunked")
        return { ...c, request: { ...c.request, chunked: true } }
      }
    }
  })

/** Bodies just under the 64 KB limit: they reach the decoder, whose message must stay clean. */
const nearLimitCase = fc
  .tuple(postRoute, fc.integer({ min: 40_000, max: 64_000 }))
  .map(([r, size]) => post(r.path, json({ [Object.keys(r.fields)[0] ?? "x"]: "z".repeat(size) }), "application/json", "client", "near-limit field"))

const nest = (depth: number, kind: "array" | "object" | "mixed", leaf: string): string => {
  const open = kind === "array" ? "[" : kind === "object" ? '{"a":' : '[{"a":'
  const close = kind === "array" ? "]" : kind === "object" ? "}" : "}]"
  return open.repeat(depth) + leaf + close.repeat(depth)
}

/** 4. Deeply nested arrays and objects (depth 1 000 to 30 000), whole or as a field, balanced or not. */
const deepCase = fc
  .tuple(
    postRoute,
    fc.constantFrom("array" as const, "object" as const, "mixed" as const),
    // uniform over the range (fast-check would otherwise favour depths near 1 000)
    fc.noBias(fc.integer({ min: 1_000, max: 30_000 })),
    fc.constantFrom("whole", "field", "unbalanced")
  )
  .map(([r, kind, requested, shape]) => {
    // stay (mostly) under the 64 KB body limit so the decoder sees it: objects cost more bytes per level
    const depth = kind === "array" ? requested : Math.min(requested, 9_000)
    const firstKey = Object.keys(r.fields)[0] ?? "x"
    const body =
      shape === "whole"
        ? nest(depth, kind, "1")
        : shape === "field"
          ? `{${json(firstKey)}:${nest(depth, kind, '"x"')}}`
          : (kind === "array" ? "[" : '{"a":').repeat(depth)
    return post(r.path, body, "application/json", "client", `deep ${kind} ${shape} depth ${depth}`)
  })

const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xc3, 0x28],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xc3],
  [0xf0, 0x9f, 0x92]
)

/** 5. Invalid UTF-8: inside JSON strings and keys, as the whole body, with a BOM, as UTF-16. */
const utf8Case = fc
  .tuple(
    postRoute,
    invalidUtf8,
    fc.uint8Array({ minLength: 1, maxLength: 2_000 }),
    fc.constantFrom("value", "key", "random", "bom", "utf16"),
    fc.constantFrom("application/json", "application/json; charset=utf-8", "application/json; charset=utf-16")
  )
  .map(([r, bad, random, shape, type]) => {
    const enc = (s: string) => [...Buffer.from(s, "utf8")]
    const keys = Object.keys(r.fields)
    const body: Array<number> =
      shape === "value"
        ? [...enc(`{"${keys[0] ?? "x"}":"`), ...bad, ...enc(`","${keys[1] ?? "y"}":"${unfunded}"}`)]
        : shape === "key"
          ? [...enc('{"'), ...bad, ...enc(`":"x","${keys[1] ?? "y"}":"${unfunded}"}`)]
          : shape === "random"
            ? [...random]
            : shape === "bom"
              ? [0xef, 0xbb, 0xbf, ...enc(json({ [keys[0] ?? "x"]: unfunded })), ...bad]
              : [...Buffer.from(json({ [keys[0] ?? "x"]: unknownSession, [keys[1] ?? "y"]: unfunded }), "utf16le")]
    return post(r.path, new Uint8Array(body), type, "client", `invalid UTF-8 (${shape})`)
  })

const multipartGarbage = fc.constantFrom(
  `--xyz\r\nContent-Disposition: form-data; name="userAddress"\r\n\r\n${unfunded}\r\n--xyz\r\nContent-Disposition: form-data; name="contentId"\r\n\r\nintro-to-defi\r\n--xyz--\r\n`,
  `--xyz\r\nContent-Disposition: form-data; name="file"; filename="../../../../tmp/pwned.txt"\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n--xyz--\r\n`,
  "--xyz\r\nContent-Disposition: form-data\r\n\r\n",
  "--xyz\r\n\r\n\r\n--xyz",
  "--\r\n--\r\n",
  "garbage without any boundary",
  `--xyz\r\n${"Content-Disposition: form-data; name=\"a\"\r\n".repeat(200)}\r\nx\r\n--xyz--\r\n`,
  `${"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n".repeat(300)}--xyz--\r\n`
)

/** 6. Wrong or missing content types, with bodies of every shape. */
const contentTypeCase = fc
  .tuple(
    postRoute,
    fc.constantFrom(
      undefined,
      "",
      "text/plain",
      "text/html; charset=utf-8",
      "text/",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "multipart/form-data; boundary=xyz",
      "multipart/form-data; boundary=",
      "multipart/mixed; boundary=xyz",
      "application/xml",
      "application/octet-stream",
      "application/json; charset=utf-16",
      "application/json; charset=latin1",
      "application/jsonx",
      "APPLICATION/JSON",
      "application/json, text/plain",
      "application/vnd.api+json",
      "*/*",
      "image/png",
      ";;;",
      "\u00e9"
    ),
    fc.oneof(
      postRoute.chain((r) => fc.record(r.fields).map(json)),
      fc.constantFrom(
        `userAddress=${unfunded}&contentId=intro-to-defi`,
        `sessionId=${unknownSession}&userAddress=${unfunded}`,
        "a=%zz&b=%%&=&&&c",
        "userAddress[]=1&userAddress[]=2&contentId[a]=b",
        "__proto__[polluted]=1&constructor[prototype][x]=1",
        "<xml><userAddress>x</userAddress></xml>",
        "\u0000\u0001\u0002"
      ),
      multipartGarbage
    )
  )
  .map(([r, type, body]) => post(r.path, body, type, "node", `content type ${JSON.stringify(type)}`))

/** GET routes with garbage bodies (a body on a GET is ignored or refused: either is fine). */
const getWithBodyCase = fc
  .tuple(getRoute, fc.oneof(fc.jsonValue({ maxDepth: 3 }).map(json), fc.constant(nest(5_000, "array", "1"))), fc.constantFrom("application/json", "text/plain", undefined))
  .map(([r, body, type]): Case => ({
    label: "GET with a body",
    via: "node",
    expect: r.neverSucceeds ? "4xx" : "2xx|4xx",
    request: { method: "GET", path: validPath(r), body, headers: type === undefined ? {} : { "content-type": type } }
  }))

/** 7. Odd path segments in place of every path parameter: always a 4xx. */
const pathCase = fc.tuple(fc.constantFrom(...segmentRoutes), hostileSegment).map(([r, seg]): Case => {
  const path = r.path(seg)
  return { label: `odd segment on ${r.name}`, via: "node", expect: "4xx", request: { method: "GET", path: r.baseQuery === "" ? path : `${path}?${r.baseQuery}` } }
})

/** Odd segments on the body routes' paths, and the body routes with odd query strings. */
const postPathCase = fc
  .tuple(postRoute, hostileSegment, fc.constantFrom("suffix", "query"))
  .chain(([r, seg, where]) =>
    fc.record(r.fields).map((fields): Case => ({
      label: `odd ${where} on POST ${r.path}`,
      via: "node",
      expect: "4xx",
      request: {
        method: "POST",
        path: where === "suffix" ? `${r.path}/${seg}` : `${r.path}?${seg}=${seg}`,
        body: json(fields),
        headers: { "content-type": "application/json" }
      }
    }))
  )

/** 8. Odd query strings on every GET route: duplicates, empty values, missing `=`, garbage escapes. */
const queryCase = getRoute.chain((r) =>
  fc
    .tuple(
      fc.array(
        fc.tuple(fc.oneof(fc.constantFrom(...r.strict, ...r.lenient, "limit", "cursor", "userAddress"), junkKey), hostileValue, fc.boolean()),
        { maxLength: 5 }
      ),
      // "&#frag": a raw '#' reaches the server as part of the query (clients never send fragments); after
      // an "&" it is a parameter of its own instead of gluing onto the last key (which would rename it)
      fc.constantFrom("", "&", "&&&", "=", "?", "&#frag", "%", "%zz", "=&=", "&=x")
    )
    .map(([pairs, tail]): Case => {
      const params = pairs.map(([k, v, withEquals]) => (withEquals ? `${k}=${v}` : k))
      const base = r.baseQuery === "" ? [] : [r.baseQuery]
      const query = [...base, ...params].join("&") + tail
      // a strict parameter given a hostile value (or no value) must be refused; anything else may be ignored.
      // A tail glued onto a last key without "=" renames that key ("limit" + "%" is "limit%"): not strict.
      const last = pairs[pairs.length - 1]
      const renamed = tail !== "" && !tail.startsWith("&") && !tail.startsWith("=") && last !== undefined && !last[2]
      const strictHit = (renamed ? pairs.slice(0, -1) : pairs).some(([k]) => r.strict.includes(k))
      return {
        label: `odd query on ${r.name}`,
        via: "node",
        expect: r.neverSucceeds || strictHit ? "4xx" : "2xx|4xx",
        request: { method: "GET", path: `${r.path(r.valid ?? "")}?${query}` }
      }
    })
)

/** Duplicate and empty values of the strict parameters: refused or resolved, never a 5xx. */
const duplicateParamCase = fc
  .tuple(
    fc.constantFrom(...getRoutes.filter((r) => r.strict.length > 0)),
    fc.constantFrom(
      (k: string) => `${k}=5&${k}=5`,
      (k: string) => `${k}=&${k}=`,
      (k: string) => `${k}=`,
      (k: string) => k,
      (k: string) => `${k}[]=5`,
      (k: string) => `${k}=5&${k}=abc`
    )
  )
  .chain(([r, shape]) =>
    fc.constantFrom(...r.strict).map((k): Case => ({
      label: `duplicate/empty ${k} on ${r.name}`,
      via: "node",
      // `limit=5&limit=5`: refusing it or taking one of the values are both fine; never a 5xx
      expect: r.neverSucceeds ? "4xx" : "2xx|4xx",
      request: { method: "GET", path: `${r.path(r.valid ?? "")}?${shape(k)}` }
    }))
  )

const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "MKCOL"] as const
const routeKeys = new Set([
  ...getRoutes.map((r) => `GET ${r.path(r.valid ?? "")}`),
  ...postRoutes.map((r) => `POST ${r.path}`),
  "GET /openapi.json",
  "GET /docs",
  "GET /metrics"
])

/** 9. Unknown paths and wrong methods on known ones: always a 4xx. */
const unknownPathCase = fc
  .tuple(
    fc.constantFrom(...methods),
    fc.oneof(
      fc.constantFrom(...getRoutes.map((r) => r.path(r.valid ?? "")), ...postRoutes.map((r) => r.path)),
      fc.array(fc.oneof(hostileSegment, fc.stringMatching(/^[a-z]{1,10}$/)), { minLength: 1, maxLength: 6 }).map((segs) => `/api/${segs.join("/")}`),
      fc.constantFrom(
        "/",
        "/api",
        "/api/",
        "/API/content",
        "/api/session",
        "/api/session/user",
        "/api/session/user//active",
        "/api/user//balance",
        "/api/user/balance",
        "/health/%zz",
        "/api/status/..",
        "/api/auth",
        "/api/auth/nonce/x",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/api/%00",
        "/api/content%00",
        "/\u00e9",
        "/api/content/intro-to-defi/x",
        "/api/session/start/x",
        "/openapi.json/x"
      )
    )
  )
  .filter(([m, p]) => !routeKeys.has(`${m} ${p}`))
  .map(([method, path]): Case => ({
    label: "unknown route",
    via: "node",
    expect: "4xx",
    request: method === "POST" || method === "PUT" || method === "PATCH" ? { method, path, body: "{}", headers: { "content-type": "application/json" } } : { method, path }
  }))

/**
 * Paths that may be normalised to a real route by the server (`//`, `/./`, a trailing slash, `..`):
 * answering them as that route or refusing them are both fine.
 */
const normalisablePathCase = fc
  .constantFrom(
    "/api/content/",
    "//api/content",
    "/api/./content",
    "/api/content/../content",
    "/api/content/%2e",
    "/health/",
    "/api/status?",
    "/api/auth/nonce/",
    `/api/user/${funded}/balance/`,
    `/api/user/${funded}/../${funded}/balance`,
    `/api/session/user/${funded.toUpperCase().replace("0X", "0x")}/active`,
    `/api/content/intro-to-defi/`
  )
  .map((path): Case => ({ label: "normalisable path", via: "node", expect: "2xx|4xx", request: { method: "GET", path } }))

/** Odd headers on body routes: malformed idempotency keys, encodings, request ids, credentials, proxies. */
const headerCase = fc
  .tuple(
    postRoute,
    fc.oneof(fc.jsonValue({ maxDepth: 2 }).map(json), fc.constantFrom("{", "", "null", `{"a":${nest(3_000, "array", "1")}}`)),
    fc.constantFrom<Readonly<Record<string, string>>>(
      { "idempotency-key": "" },
      { "idempotency-key": " " },
      { "idempotency-key": "k".repeat(300) },
      { "idempotency-key": "\u00e9\u00e9" },
      { "idempotency-key": "a b" },
      { "content-encoding": "gzip" },
      { "content-encoding": "br, gzip, deflate" },
      { "accept-encoding": "gzip;q=abc, br;q=-1, *;q=NaN" },
      { accept: "text/html" },
      { "x-request-id": "x".repeat(4_000) },
      { "x-request-id": "../../etc" },
      { authorization: "Bearer" },
      { authorization: "Bearer \u00e9" },
      { authorization: `Bearer ${"a".repeat(5_000)}` },
      { authorization: "Basic Zm9vOmJhcg==" },
      { authorization: "Bearer a.b.c" },
      { "x-forwarded-for": "%zz, 999.999.999.999, ::ffff:garbage" },
      { origin: "null" }
    )
  )
  .map(([r, body, headers]): Case => ({
    label: `odd headers ${JSON.stringify(Object.keys(headers))}`,
    via: "node",
    expect: "4xx",
    request: { method: "POST", path: r.path, body, headers: { "content-type": "application/json", ...headers } }
  }))

/**
 * Idempotency keys on bodies that fail validation (no JSON value is a valid payload of any route), so
 * no endpoint ever starts executing. Stripe, whose semantics idempotency.ts says it follows, saves no
 * result then ("if incoming parameters failed validation ... no idempotent result is saved"): the key
 * table must not grow (checked by the state snapshot).
 */
const idempotentHostileCase = fc
  .tuple(postRoute, fc.jsonValue({ maxDepth: 2 }).map(json), fc.stringMatching(/^[A-Za-z0-9-]{8,40}$/))
  .map(([r, body, key]) => post(r.path, body, "application/json", "node", "hostile body with an Idempotency-Key", { "idempotency-key": key }))

// ---------------------------------------------------------------------------------------------
// Running

const clientRequest = (req: RawRequest): HttpClientRequest.HttpClientRequest => {
  const headers = req.headers ?? {}
  const base = req.method === "POST" ? HttpClientRequest.post(req.path) : HttpClientRequest.get(req.path)
  const { "content-type": contentType, ...rest } = headers
  const withHeaders = HttpClientRequest.setHeaders(base, rest)
  if (req.body === undefined) return withHeaders
  return typeof req.body === "string"
    ? HttpClientRequest.bodyText(withHeaders, req.body, contentType)
    : HttpClientRequest.bodyUint8Array(withHeaders, req.body, contentType)
}

const viaClient = (req: RawRequest) =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const res = yield* http.execute(clientRequest(req))
    const body = yield* res.text
    return { status: res.status, headers: { "content-type": res.headers["content-type"] }, body } satisfies RawResponse
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: ANSWER_WITHIN_MS, onTimeout: () => new Error(`no answer within ${ANSWER_WITHIN_MS} ms`) })
  )

/** Sends a case and fails with a full description of it when the answer has any problem. */
const checkCase = (port: number, runtime: Runtime.Runtime<HttpClient.HttpClient>) => async (c: Case) => {
  const res = await (c.via === "client" && (c.request.method === "GET" || c.request.method === "POST")
    ? Runtime.runPromise(runtime)(viaClient(c.request))
    : rawRequest(port, c.request)
  ).catch((e: unknown) => {
    throw new Error(`[${c.label}] ${describeRequest(c.request)}\n  -> no answer: ${e instanceof Error ? e.message : String(e)}`)
  })
  const problems = problemsOf(res, c.expect)
  if (problems.length > 0) {
    throw new Error(`[${c.label}] ${describeRequest(c.request)}\n  -> ${describeResponse(res)}\n  problems: ${problems.join("; ")}`)
  }
}

/** Whether no input of a case carries a leak marker itself (the server may echo input in a message). */
const innocent = (c: Case): boolean => {
  const body = c.request.body
  const text = body === undefined ? "" : typeof body === "string" ? body : Buffer.from(body).toString("latin1")
  return isInnocent(c.request.path) && isInnocent(text) && isInnocent(json(c.request.headers ?? {}))
}

/** Counterexamples are printed as one short line, not as their (possibly 400 KB) bodies. */
const summarised = (c: Case): Case => Object.assign({ ...c }, { [fc.toStringMethod]: () => `[${c.label}] ${describeRequest(c.request)}` })

/**
 * Runs a property over `arb` and checks that the state snapshot is the same before and after.
 * Bounded: `numRuns` requests (plus shrinking on a failure, cut at 40 s).
 */
const fuzz = (arb: fc.Arbitrary<Case>, numRuns: number) =>
  Effect.gen(function* () {
    const port = yield* serverPort
    const runtime = yield* Effect.runtime<HttpClient.HttpClient>()
    const before: StateSnapshot = yield* snapshotState
    yield* Effect.promise(() =>
      fc.assert(fc.asyncProperty(arb.filter(innocent).map(summarised), checkCase(port, runtime)), { numRuns, interruptAfterTimeLimit: 40_000 })
    )
    const after: StateSnapshot = yield* snapshotState
    expect(after, "hostile traffic changed the database or the chain").toEqual(before)
  })

/** Every route once with one representative of every kind of hostile input, whatever fast-check picks. */
const corpus: ReadonlyArray<Case> = [
  ...postRoutes.flatMap((r): ReadonlyArray<Case> => [
    post(r.path, "{", "application/json", "client", "truncated JSON"),
    post(r.path, "", "application/json", "client", "empty body"),
    post(r.path, "null", "application/json", "client", "null"),
    post(r.path, json(Object.fromEntries(Object.keys(r.fields).map((k) => [k, 42]))), "application/json", "client", "numbers"),
    post(r.path, json({ [Object.keys(r.fields)[0] ?? "x"]: "a".repeat(150_000) }), "application/json", "client", "150 KB field"),
    post(r.path, nest(30_000, "array", "1"), "application/json", "client", "30 000 nested arrays"),
    post(r.path, `{"a":${nest(9_000, "object", "1")}}`, "application/json", "client", "9 000 nested objects"),
    post(r.path, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), "application/json", "client", "invalid UTF-8 key"),
    post(r.path, json({ a: 1 }), undefined, "node", "no content type"),
    post(r.path, json({ a: 1 }), "text/plain", "node", "text/plain"),
    post(r.path, "a=%zz&&=", "application/x-www-form-urlencoded", "node", "form garbage"),
    post(r.path, "garbage", "multipart/form-data", "node", "multipart without boundary"),
    { label: "odd query", via: "node", expect: "4xx", request: { method: "POST", path: `${r.path}?%zz=%00&a&a=&=`, body: "{}", headers: { "content-type": "application/json" } } }
  ]),
  ...segmentRoutes.flatMap((r): ReadonlyArray<Case> =>
    // ";" and "x;y": the router reads a ";" as the start of a query string (src/http/middleware/PathGuard.ts)
    ["%zz", "%00", "..", "%2e%2e", ";", "x;y", "\u00e9", "%F0%9F%92%A9", "a".repeat(6_000)].map((seg) => ({
      label: `segment ${JSON.stringify(seg.slice(0, 10))} on ${r.name}`,
      via: "node",
      expect: "4xx",
      request: { method: "GET", path: `${r.path(seg)}${r.baseQuery === "" ? "" : `?${r.baseQuery}`}` }
    }))
  ),
  ...getRoutes.flatMap((r): ReadonlyArray<Case> => [
    { label: `harmless unknown param on ${r.name}`, via: "node", expect: r.neverSucceeds ? "4xx" : "2xx|4xx", request: { method: "GET", path: `${validPath(r)}${r.baseQuery === "" ? "?" : "&"}utm_source=x` } },
    { label: `garbage query on ${r.name}`, via: "node", expect: r.neverSucceeds ? "4xx" : "2xx|4xx", request: { method: "GET", path: `${validPath(r)}${r.baseQuery === "" ? "?" : "&"}%zz=%00&&=&x` } },
    ...r.strict.map((k): Case => ({ label: `${k}=%zz on ${r.name}`, via: "node", expect: "4xx", request: { method: "GET", path: `${r.path(r.valid ?? "")}?${k}=%zz` } })),
    ...r.strict.map((k): Case => ({ label: `duplicate ${k} on ${r.name}`, via: "node", expect: r.neverSucceeds ? "4xx" : "2xx|4xx", request: { method: "GET", path: `${r.path(r.valid ?? "")}?${k}=1&${k}=2` } }))
  ]),
  // one route only for each of these: a hang costs ANSWER_WITHIN_MS
  // a multipart body that ends inside its first part
  post("/api/session/start", "--xyz\r\ngarbage", "multipart/form-data; boundary=xyz", "node", "truncated multipart"),
  // a structured-syntax JSON media type (RFC 6839), with a body that would be valid for its route
  post("/api/session/stop", json({ sessionId: unknownSession, userAddress: unfunded }), "application/vnd.api+json", "node", "+json media type"),
  { label: "session detail without userAddress", via: "node", expect: "4xx", request: { method: "GET", path: `/api/session/${unknownSession}` } },
  { label: "unknown path", via: "node", expect: "4xx", request: { method: "GET", path: "/api/%zz/%00/.." } },
  { label: "wrong method", via: "node", expect: "4xx", request: { method: "DELETE", path: "/api/content" } }
]

describe("hostile input", () => {
  it.layer(TestApp(), { timeout: 300_000 })((it) => {
    it.effect("a corpus of hostile requests to every route: 4xx (or a harmless 2xx) in the seed's format, nothing changed", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const runtime = yield* Effect.runtime<HttpClient.HttpClient>()
        const before = yield* snapshotState
        const failures: Array<string> = []
        for (const c of corpus) {
          yield* Effect.promise(() => checkCase(port, runtime)(c).catch((e: unknown) => void failures.push(e instanceof Error ? e.message : String(e))))
        }
        expect(failures, failures.join("\n\n")).toEqual([])
        expect(yield* snapshotState).toEqual(before)
      }), 120_000)

    it.effect("arbitrary JSON values as bodies", () => fuzz(jsonValueCase, 30), 120_000)
    it.effect("the right keys with wrong types, extra and duplicate keys", () => fuzz(wrongTypesCase, 40), 120_000)
    it.effect("huge strings (100 KB to 400 KB) and bodies near the limit", () => fuzz(fc.oneof(hugeCase, nearLimitCase), 16), 120_000)
    it.effect("deep nesting (depth 1 000 to 30 000)", () => fuzz(deepCase, 16), 120_000)
    it.effect("invalid UTF-8 bodies", () => fuzz(utf8Case, 20), 120_000)
    it.effect("wrong or missing content types, GET with bodies", () => fuzz(fc.oneof(contentTypeCase, getWithBodyCase), 30), 120_000)
    it.effect("odd path segments on every route", () => fuzz(fc.oneof(pathCase, postPathCase), 30), 120_000)
    it.effect("odd, duplicate and empty query parameters", () => fuzz(fc.oneof(queryCase, duplicateParamCase), 30), 120_000)
    it.effect("unknown paths, wrong methods, normalisable paths", () => fuzz(fc.oneof(unknownPathCase, normalisablePathCase), 25), 120_000)
    it.effect("odd headers", () => fuzz(headerCase, 20), 120_000)
    it.effect("hostile bodies with an Idempotency-Key leave no key behind", () => fuzz(idempotentHostileCase, 10), 120_000)
  })
})
