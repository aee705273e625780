// The credentials a plugin asks visitors for (http_proxy and static_file: HTTP Basic in
// Proxy-Authorization / Authorization; socks5: RFC 1929). Kept only as SHA-256 digests and
// compared with timingSafeEqual over equal-length digests, user and password both, so the time
// taken says nothing about how much of a guess was right. The password never leaves here.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { PluginCredentials } from '../../shared/config/index.js'

/** Longest (Proxy-)Authorization header value decoded; longer ones are refused as they are. */
export const MAX_AUTHORIZATION_CHARS = 4096

const digest = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest()

/** user and password of `Basic base64(user:password)`, or undefined. */
export function parseBasic (header: string | undefined): { user: string, password: string } | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION_CHARS) return undefined
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m?.[1] === undefined) return undefined
  const text = Buffer.from(m[1], 'base64').toString('utf8')
  const colon = text.indexOf(':')
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) }
}

export class CredentialCheck {
  readonly #user: Buffer
  readonly #password: Buffer

  constructor (credentials: PluginCredentials) {
    this.#user = digest(credentials.user)
    this.#password = digest(credentials.password.reveal())
  }

  /** Exactly the expected user and password (bytes as sent: RFC 1929, or UTF-8 from a Basic header). */
  matches (user: string | Uint8Array, password: string | Uint8Array): boolean {
    const u = timingSafeEqual(digest(user), this.#user)
    const p = timingSafeEqual(digest(password), this.#password)
    return u && p
  }

  /** A `Basic` header carrying the expected credentials; a missing header costs a comparison too. */
  matchesBasic (header: string | undefined): boolean {
    const given = parseBasic(header)
    const ok = this.matches(given?.user ?? '', given?.password ?? '')
    return given !== undefined && ok
  }

  /** Never the credentials. */
  toJSON (): string { return '[credentials]' }
}
