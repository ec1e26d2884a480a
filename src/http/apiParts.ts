import { OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { AddressFromString } from "../domain/Address.js"
import { AmountString as DomainAmount } from "../domain/Money.js"
import { AmountJsonSchema } from "./envelope.js"
import { ConflictError, NotFoundError, ServiceUnavailableError } from "./errors.js"

/**
 * Pieces the API groups' definitions (src/<feature>/Api.ts) share. Each endpoint still lists its own
 * errors; these name the sets several use cases end with. `addError` with a union declares each member,
 * so the OpenAPI document and the typed client see the same responses as one `addError` a member.
 */

/** Amounts on the wire: digits only (the JSON Schema says so). */
export const AmountString = DomainAmount.annotations(AmountJsonSchema)

/** Unknown fields are refused (400), as every request body of the API refuses them. */
export const strict = { parseOptions: { onExcessProperty: "error" } } as const

/** A path naming a viewer: `/…/:userAddress/…`. */
export const UserPath = Schema.Struct({ userAddress: AddressFromString })

/** A use case about one stored thing: 404 when it is unknown, 503 when the database or chain cannot be reached. */
export const LookupErrors = Schema.Union(NotFoundError, ServiceUnavailableError)

/** A change of one stored thing's state: LookupErrors, and 409 when it is not in a state the change starts from. */
export const TransitionErrors = Schema.Union(NotFoundError, ConflictError, ServiceUnavailableError)

/** An operation's summary (its title in /docs) and description in the OpenAPI document. */
export const documented = (summary: string, description: string) => OpenApi.annotations({ summary, description })
