// Credentials of the admin API: HTTP basic auth (webServer.user / password, frp's keys) and a
// bearer token (webServer.token, our key). A browser can only send basic auth, so with a token
// basic auth also takes the token as its password (any user name): the dashboard's login is the
// browser's own prompt either way. Comparison is constant-time over SHA-256 digests, so neither
// the content nor the length of a secret leaks through timing. Secrets are held here only;
// nothing in this module logs or returns them.
import { createHash, timingSafeEqual } from 'node:crypto'

export const ADMIN_REALM = 'tunnel'
/** Longest Authorization header looked at; anything longer is refused unread. */
export const MAX_AUTHORIZATION_CHARS = 4096

export interface AdminCredentials {
  /** Basic auth user; may be empty (as frp allows): then the client must send an empty user name. */
  user: string
  /** Basic auth password; '' = basic auth off. */
  password: string
  /** Bearer token; '' = bearer off. */
  token: string
}

export type AuthScheme = 'basic' | 'bearer'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** Constant-time string equality (digests have equal length whatever the inputs). */
export function safeEqual (given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

/** The schemes a request may use: basic with a password or a token, bearer with a token. */
export function authSchemes (c: AdminCredentials): AuthScheme[] {
  const out: AuthScheme[] = []
  if (c.password !== '' || c.token !== '') out.push('basic')
  if (c.token !== '') out.push('bearer')
  return out
}

export function authRequired (c: AdminCredentials): boolean {
  return authSchemes(c).length > 0
}

/** True when the request may pass: no credentials configured, or a matching Authorization header. */
export function authorize (header: string | undefined, c: AdminCredentials): boolean {
  const schemes = authSchemes(c)
  if (schemes.length === 0) return true
  if (header === undefined || header.length > MAX_AUTHORIZATION_CHARS) return false
  const space = header.indexOf(' ')
  if (space <= 0) return false
  const scheme = header.slice(0, space).toLowerCase()
  const value = header.slice(space + 1).trim()
  if (scheme === 'bearer' && schemes.includes('bearer')) return safeEqual(value, c.token)
  if (scheme === 'basic' && schemes.includes('basic')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon === -1) return false
    const user = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    // Every comparison always runs, so a wrong user takes as long as a wrong password.
    const userOk = safeEqual(user, c.user)
    const passwordOk = c.password !== '' && safeEqual(password, c.password)
    const tokenOk = c.token !== '' && safeEqual(password, c.token)
    return (userOk && passwordOk) || tokenOk
  }
  return false
}

/** WWW-Authenticate challenges for a 401, one per configured scheme. */
export function challenges (c: AdminCredentials): string[] {
  return authSchemes(c).map((s) => (s === 'basic' ? `Basic realm="${ADMIN_REALM}", charset="UTF-8"` : `Bearer realm="${ADMIN_REALM}"`))
}

/** The Authorization header a client sends, or undefined without credentials. Prefers the token. */
export function authorizationHeader (c: Partial<AdminCredentials>): string | undefined {
  if (c.token !== undefined && c.token !== '') return `Bearer ${c.token}`
  if (c.password !== undefined && c.password !== '') return `Basic ${Buffer.from(`${c.user ?? ''}:${c.password}`, 'utf8').toString('base64')}`
  return undefined
}
