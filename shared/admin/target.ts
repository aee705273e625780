// Where an admin API is and how to authenticate to it: from `--admin URL` (userinfo = basic auth,
// --admin-token = bearer) or from the webServer block of the config file the process runs with.
// `label` is the address without credentials, safe for messages.
import type { AdminConfig } from '../config/index.js'
import { TunnelError } from '../errors.js'
import { formatHostPort } from '../net/index.js'
import { authorizationHeader } from './auth.js'

export interface AdminTarget {
  /** `http://127.0.0.1:7500/` */
  base: string
  authorization: string | undefined
  /** `http://127.0.0.1:7500` (never with credentials). */
  label: string
}

const usage = (m: string): TunnelError => new TunnelError('TUN_USAGE', m)

/** `http://[user:password@]host:port`, `host:port` (http assumed); a token wins over userinfo. */
export function parseAdminUrl (text: string, token?: string): AdminTarget {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw usage(`--admin ${redactUserinfo(text)}: expected http://HOST:PORT (e.g. http://127.0.0.1:7500)`)
  }
  if (url.protocol !== 'http:') throw usage(`--admin: the admin API speaks plain http (${url.protocol} given); put it behind an SSH tunnel or a TLS proxy you trust`)
  // URL drops the default port: an explicit :80 is fine, no port at all is not.
  if (url.port === '' && !/:80(?:[/?#]|$)/.test(text.replace(/^[a-z][a-z0-9+.-]*:\/\/[^@/]*@/i, ''))) throw usage(`--admin ${redactUserinfo(text)}: name the port (webServer.port), e.g. http://127.0.0.1:7500`)
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw usage(`--admin ${redactUserinfo(text)}: give the address only, without a path`)
  let user: string
  let password: string
  try {
    user = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    throw usage(`--admin ${redactUserinfo(text)}: the user or password holds a % that does not start an escape (write %25 for a percent sign)`)
  }
  url.username = ''
  url.password = ''
  const label = url.origin
  return { base: `${label}/`, authorization: authorizationHeader({ user, password, token: token ?? '' }), label }
}

/** The address to dial for a bind address: a wildcard bind is reached on loopback. */
export function dialHost (addr: string): string {
  if (addr === '0.0.0.0' || addr === '') return '127.0.0.1'
  if (addr === '::') return '::1'
  return addr
}

/** The admin API a process started with this config serves, or TUN_ADMIN_NOT_CONFIGURED naming the file. */
export function adminTargetFromConfig (admin: AdminConfig | null, file: string): AdminTarget {
  if (admin === null) {
    throw new TunnelError('TUN_ADMIN_NOT_CONFIGURED', `${file} has no webServer.port, so its process runs no admin API: add webServer: { port: 7400 } (see docs/operations.md) and restart it`)
  }
  if (admin.port === 0) {
    throw new TunnelError('TUN_ADMIN_NOT_CONFIGURED', `${file} has webServer.port 0 (a free port picked at start): pass --admin http://127.0.0.1:PORT with the port from its "admin listening" log line`)
  }
  const label = `http://${formatHostPort(dialHost(admin.addr), admin.port)}`
  return { base: `${label}/`, authorization: authorizationHeader(admin), label }
}

/** `http://***@host:port` for an URL given with credentials (messages must not repeat them). */
export function redactUserinfo (text: string): string {
  // Everything up to the last @ before the host (a password may hold / or @).
  return text.replace(/\/\/.*@/, '//***@')
}
