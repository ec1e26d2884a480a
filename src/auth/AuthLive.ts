import { Layer } from "effect"
import { OwnershipLive } from "./Ownership.js"
import { SignInLive } from "./SignIn.js"
import { TokensLive } from "./Tokens.js"

/** Sign-in, tokens and the ownership check, sharing one signing key. Needs the database, the chain and the config. */
export const AuthLive = Layer.mergeAll(OwnershipLive, SignInLive).pipe(Layer.provideMerge(TokensLive))
