// HTTP basic authentication (RFC 7617) for a proxy with httpUser/httpPassword. The expected
// credentials are kept only as SHA-256 digests and compared with timingSafeEqual over
// equal-length digests, user and password both, so the time taken says nothing about how much
// of a guess was right. The password never leaves this object.
import { createHash, timingSafeEqual } from 'node:crypto'

/** Longest Authorization header value looked at; longer ones are refused without decoding. */
export const MAX_AUTHORIZATION_CHARS = 4096

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

export interface Credentials {
  user: string
  password: string
}

/** user and password of `Authorization: Basic base64(user:password)`, or undefined. */
export function parseBasicAuth (header: string | undefined): Credentials | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION_CHARS) return undefined
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m?.[1] === undefined) return undefined
  const text = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) return undefined
  return { user: text.slice(0, colon), password: text.slice(colon + 1) }
}

export class BasicAuth {
  readonly #user: Buffer
  readonly #password: Buffer

  constructor (user: string, password: string) {
    this.#user = digest(user)
    this.#password = digest(password)
  }

  /** Whether the Authorization header carries exactly the expected user and password. */
  check (header: string | undefined): boolean {
    const given = parseBasicAuth(header)
    // Compare something either way, so a missing header costs the same as a wrong one.
    const user = timingSafeEqual(digest(given?.user ?? ''), this.#user)
    const password = timingSafeEqual(digest(given?.password ?? ''), this.#password)
    return given !== undefined && user && password
  }

  /** Never the credentials. */
  toJSON (): string { return '[basic auth]' }
}

/** The challenge sent with a 401. */
export function basicChallenge (realm: string): string {
  return `Basic realm="${realm.replace(/["\\]/g, '')}", charset="UTF-8"`
}
