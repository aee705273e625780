// Where the admin API may listen: loopback addresses need no credentials. On any other address
// (0.0.0.0, ::, a LAN address, a host name) without a password or a token (frp's monitoring setup)
// it starts, with a warning, but serves only /metrics without per-proxy or per-client series:
// every other route answers 401 (every token holder may be an attacker of other tenants).
// Used by the config checks (a warning at file:line:col) and again by the server when it binds.
import { isIP } from 'node:net'
import { normalizeAddress } from '../net/index.js'

/** The admin API's default address (frp's too). */
export const DEFAULT_ADMIN_ADDR = '127.0.0.1'

/** 127.0.0.0/8, ::1 (and ::ffff:127.x) or the name `localhost`. Other names are not trusted to resolve to loopback. */
export function isLoopbackHost (host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare.toLowerCase() === 'localhost') return true
  const addr = normalizeAddress(bare)
  if (isIP(addr) === 4) return addr.startsWith('127.')
  return isIP(addr) === 6 && addr === '::1'
}

export interface AdminBindSettings {
  addr: string
  password: string
  token: string
}

/** A non-loopback address without credentials: the admin server serves only the public routes (PUBLIC_PATHS, shared/admin/server.ts). */
export function adminOpenWithoutCredentials (s: AdminBindSettings): boolean {
  return !isLoopbackHost(s.addr) && s.password === '' && s.token === ''
}

/** What an admin API on these settings serves less than usual (a warning), or undefined when it serves everything. */
export function adminBindProblem (s: AdminBindSettings): string | undefined {
  if (!adminOpenWithoutCredentials(s)) return undefined
  return `webServer.addr ${s.addr} is not a loopback address and the admin API has no credentials: it serves only /metrics (Prometheus, when enabled, without per-proxy and per-client series) and answers 401 to everything else (the dashboard, /api/*); set webServer.user and webServer.password (basic auth) or webServer.token (bearer) to use them, or use addr 127.0.0.1`
}
