// One `ss -n` address column (`127.0.0.1:7000`, `[::ffff:10.0.0.1]:7000`, `*:7000`,
// `127.0.0.53%lo:53`, `[fe80::1%eth0]:22`, and the unbracketed IPv6 of old iproute2,
// `::ffff:127.0.0.1:7000` / `:::7000`) into a normalised host, a port and the wire family.
import { isIP } from 'node:net'
import { normalizeAddress } from '../net/index.js'

export type WireFamily = 'ipv4' | 'ipv6'

export interface SsEndpoint {
  /** Normalised host: dotted IPv4 (also for `::ffff:` mapped), compressed IPv6, or '*' for any. */
  host: string
  /** 0 when ss printed `*` (no port, e.g. the peer of a listener). */
  port: number
  /** The family of the packets on the wire: ipv4 for an IPv4-mapped address; null for '*'. */
  family: WireFamily | null
  /** True when ss printed an IPv4-mapped IPv6 address (a dual-stack socket carrying IPv4). */
  mapped: boolean
  /** True for '*', '0.0.0.0' and '::' (a listener on every address). */
  wildcard: boolean
  /** The device of `addr%dev` (a socket bound to an interface or a zone id), else null. */
  iface: string | null
}

const MAX_PORT = 65_535

export function parseSsEndpoint (token: string): SsEndpoint | undefined {
  const colon = token.lastIndexOf(':')
  if (colon <= 0 || colon === token.length - 1) return undefined
  const port = parsePort(token.slice(colon + 1))
  if (port === undefined) return undefined
  let hostPart = token.slice(0, colon)
  if (hostPart.startsWith('[')) {
    if (!hostPart.endsWith(']')) return undefined
    hostPart = hostPart.slice(1, -1)
  }
  const pct = hostPart.indexOf('%')
  const iface = pct === -1 ? null : hostPart.slice(pct + 1)
  const bare = pct === -1 ? hostPart : hostPart.slice(0, pct)
  if (bare === '*') return { host: '*', port, family: null, mapped: false, wildcard: true, iface }
  const rawFamily = isIP(bare)
  if (rawFamily === 0) return undefined
  const host = normalizeAddress(bare)
  const family: WireFamily = isIP(host) === 4 ? 'ipv4' : 'ipv6'
  return {
    host,
    port,
    family,
    mapped: rawFamily === 6 && family === 'ipv4',
    wildcard: host === '0.0.0.0' || host === '::',
    iface: iface === '' ? null : iface,
  }
}

function parsePort (text: string): number | undefined {
  if (text === '*') return 0
  if (!/^\d{1,5}$/.test(text)) return undefined
  const port = Number(text)
  return port <= MAX_PORT ? port : undefined
}

/** `host:port` for reports: brackets around IPv6, `*` for any. */
export function formatEndpoint (e: SsEndpoint): string {
  const port = e.port === 0 ? '*' : String(e.port)
  return e.family === 'ipv6' ? `[${e.host}]:${port}` : `${e.host}:${port}`
}
