import { Layer } from "effect"
import { AuthenticationLive, OwnershipLive } from "./Ownership.js"
import { SignInLive } from "./SignIn.js"
import { TokensLive } from "./Tokens.js"

/**
 * Sign-in, tokens, the ownership check and the `Authentication` middleware over it, sharing one signing
 * key. Needs the database, the chain and the config.
 */
export const AuthLive = Layer.mergeAll(AuthenticationLive, SignInLive).pipe(Layer.provideMerge(OwnershipLive), Layer.provideMerge(TokensLive))
