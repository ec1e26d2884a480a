import { Schema } from "effect"
import { getAddress } from "viem"

/**
 * An EVM account address, held lower-cased. Any case is accepted on input
 * (the seed's own example is not EIP-55 checksummed, so the checksum is not
 * enforced); on output it is rendered in EIP-55 form.
 */
export const Address = Schema.TemplateLiteral(Schema.Literal("0x"), Schema.String).pipe(
  Schema.pattern(/^0x[0-9a-f]{40}$/),
  Schema.brand("Address")
)
export type Address = typeof Address.Type

const addressPattern = /^0x[0-9a-fA-F]{40}$/

export const isAddress = (input: string): boolean => addressPattern.test(input)

const toLower = (input: string): `0x${string}` => `0x${input.slice(2).toLowerCase()}`

/** The stored form of an address already known to be well formed. */
export const toAddress = (input: string): Address => Address.make(toLower(input))

/** EIP-55 rendering of a stored address. */
export const checksum = (address: Address): `0x${string}` => getAddress(address)

/** Wire form: accepts any case, decodes to the lower-cased brand, encodes to EIP-55. */
export const AddressFromString = Schema.transform(
  Schema.String.pipe(
    Schema.pattern(addressPattern, {
      message: () => "must be 0x followed by 40 hexadecimal digits"
    })
  ),
  Address,
  {
    strict: true,
    decode: (s) => Address.make(toLower(s)),
    encode: (a) => getAddress(a)
  }
).annotations({
  identifier: "Address",
  description: "EVM address: 0x + 40 hex digits, any case; returned in EIP-55 form"
})
