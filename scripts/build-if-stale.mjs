// `npm start` runs the compiled server (dist/main.js): loading ~1,000 modules through tsx's loader
// thread cost about 1.5 s of every start. This script (prestart and postinstall) compiles src/ into
// dist/ when dist/ is missing or older than any source file or compiler setting, and does nothing
// otherwise (a few ms). Plain JavaScript on purpose: it must run before anything is compiled.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

const root = process.cwd()
const stamp = join(root, "dist", ".built")
const inputs = ["package.json", "tsconfig.json", "tsconfig.build.json"]

/** The newest modification time under `dir` (files only), in ms. */
const newestIn = (dir) => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs)
  }
  return newest
}

const newestSource = Math.max(newestIn(join(root, "src")), ...inputs.map((f) => statSync(join(root, f)).mtimeMs))
if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource) process.exit(0)

let tsc
try {
  tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc")
} catch {
  console.error("payg: dist/ is missing or older than src/, and TypeScript is not installed to build it: run `npm install`")
  process.exit(1)
}
console.error("payg: compiling src/ into dist/ (src/ changed since the last build)")
rmSync(join(root, "dist"), { recursive: true, force: true })
const built = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
if (built.status !== 0) {
  console.error("payg: the build failed (see above); `npm run dev` runs the sources directly")
  process.exit(built.status ?? 1)
}
writeFileSync(stamp, `${new Date().toISOString()}\n`)
