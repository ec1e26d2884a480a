import { PGlite } from "@electric-sql/pglite"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/**
 * An empty PGlite cluster, kept on disk so an in-memory database starts from it instead of running
 * initdb. initdb is most of PGlite's start (seconds on a busy machine; loading the template is about
 * half a second), and an in-memory database runs it at every start: `npm start` on the embedded
 * defaults, and every test layer without TEST_DATABASE_URL.
 *
 * The template is the cluster straight after initdb (no schema: migrations run on top, so a new
 * migration never makes it stale), one file per PGlite version under node_modules/.cache/payg/.
 * The first start without it makes it; a template that does not load is made again.
 */

const require = createRequire(import.meta.url)

/** PGlite's package directory (its package.json is not exported: found from its entry point, in dist/). */
const pglitePackage = (): string => dirname(dirname(require.resolve("@electric-sql/pglite")))

const pgliteVersion = (packageDir: string): string => {
  const manifest: unknown = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"))
  return typeof manifest === "object" && manifest !== null && "version" in manifest ? String(manifest.version) : "unknown"
}

/** Where the template of this PGlite version lives. */
export const templatePath = (): string => {
  const packageDir = pglitePackage()
  return join(dirname(dirname(packageDir)), ".cache", "payg", `pglite-${pgliteVersion(packageDir)}.tar`)
}

const fresh = Effect.promise(() => PGlite.create())

/** Saves `db`'s data directory as the template (best effort: a read-only disk only costs the next start). */
const save = (db: PGlite, path: string) =>
  Effect.promise(async () => {
    const dump = await db.dumpDataDir("none")
    await mkdir(dirname(path), { recursive: true })
    const partial = `${path}.${randomBytes(6).toString("hex")}.partial`
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()))
    await rename(partial, path)
  }).pipe(Effect.catchAllDefect(() => Effect.void))

/** An in-memory PGlite, started from the template when there is one (and the template made when not). */
export const pgliteInMemory = Effect.gen(function* () {
  const path = templatePath()
  const bytes = yield* Effect.promise(() => readFile(path).catch(() => undefined))
  if (bytes !== undefined) {
    const loaded = yield* Effect.tryPromise(() => PGlite.create({ loadDataDir: new Blob([bytes]) })).pipe(
      Effect.tapError(() => Effect.promise(() => rm(path, { force: true }))),
      Effect.option
    )
    if (loaded._tag === "Some") return loaded.value
  }
  const db = yield* fresh
  yield* save(db, path)
  return db
})
