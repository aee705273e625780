// A masked holder for secret bytes (a private key, a derived PSK): JSON, String() and
// util.inspect all print "[redacted]", so a config or error object that holds one can be
// logged without leaking it. Only reveal() gives the bytes back.
import { inspect } from 'node:util'

export const REDACTED = '[redacted]'

export class Secret {
  readonly #bytes: Uint8Array

  constructor (bytes: Uint8Array) {
    this.#bytes = Uint8Array.from(bytes)
  }

  get length (): number { return this.#bytes.length }

  reveal (): Uint8Array { return this.#bytes }

  toJSON (): string { return REDACTED }
  toString (): string { return REDACTED }
  [inspect.custom] (): string { return `Secret(${REDACTED})` }
}
