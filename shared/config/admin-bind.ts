// Where the admin API may listen: loopback addresses need no credentials; any other address
// (0.0.0.0, ::, a LAN address, a host name) is refused unless a password or a token is set.
// Used by the config checks (file:line:col at load) and again by the server before it binds.
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

/** Why the admin API must not start with these settings, or undefined when it may. */
export function adminBindProblem (s: AdminBindSettings): string | undefined {
  if (isLoopbackHost(s.addr)) return undefined
  if (s.password !== '' || s.token !== '') return undefined
  return `webServer.addr ${s.addr} is not a loopback address and the admin API has no credentials: anyone who can reach it could read its status and reload it. Set webServer.password (basic auth) or webServer.token (bearer), or use addr 127.0.0.1`
}
