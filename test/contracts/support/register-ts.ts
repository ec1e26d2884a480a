/**
 * Lets Node's CommonJS loader read `hardhat.config.cts`. Hardhat loads its config with `require()`;
 * under vitest nothing compiles TypeScript for `require()`, so the config fails to parse unless a
 * loader is registered first. Import this module before `hardhat`.
 */
import { register } from "tsx/cjs/api"

register()
