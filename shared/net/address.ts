// One normaliser for every address that enters the program: IPv4-mapped IPv6
// (`::ffff:1.2.3.4`, in any spelling) becomes the dotted IPv4; real IPv6 stays IPv6,
// lower-case and compressed. Keep the raw form only where the OS needs it back.
import { isIP, SocketAddress } from 'node:net'

export function normalizeAddress (address: string): string {
  const zoneAt = address.indexOf('%')
  const bare = zoneAt === -1 ? address : address.slice(0, zoneAt)
  if (isIP(bare) !== 6) return address
  const bytes = ipv6Bytes(bare)
  if (bytes === undefined) return address
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  if (mapped) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  return compressIpv6(bytes) + (zoneAt === -1 ? '' : address.slice(zoneAt))
}

/** `host:port`, with brackets around IPv6. */
export function formatHostPort (host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`
}

export function isUnspecified (address: string): boolean {
  return address === '::' || address === '0.0.0.0' || address === ''
}

/** The 16 bytes of an IPv6 literal (no zone id), or undefined when it is not one. */
export function ipv6Bytes (text: string): Uint8Array | undefined {
  if (isIP(text) !== 6) return undefined
  let head = text
  const out = new Uint8Array(16)
  const tail: number[] = []
  // A trailing dotted IPv4 part fills the last 4 bytes.
  const lastColon = head.lastIndexOf(':')
  const last = head.slice(lastColon + 1)
  if (last.includes('.')) {
    const parts = last.split('.').map(Number)
    head = head.slice(0, lastColon + 1) + '0:0'
    tail.push(...parts)
  }
  const [left = '', right] = head.split('::')
  const l = left === '' ? [] : left.split(':')
  const r = right === undefined || right === '' ? [] : right.split(':')
  const groups = right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r]
  if (groups.length !== 8) return undefined
  groups.forEach((g, i) => {
    const v = parseInt(g, 16)
    out[i * 2] = v >> 8
    out[i * 2 + 1] = v & 0xff
  })
  if (tail.length === 4) out.set(tail, 12)
  return out
}

function compressIpv6 (bytes: Uint8Array): string {
  // SocketAddress prints the canonical compressed form (RFC 5952) for us.
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16))
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address
}

export type HostKind = 'ipv4' | 'ipv6' | 'name'

export interface Host {
  /** Without brackets; IPv6 as written (normalise with normalizeAddress where compared). */
  host: string
  kind: HostKind
}

export interface HostPort {
  host: string
  port: number
}

/** The longest DNS name (RFC 1035) and label. */
const MAX_NAME = 253
const MAX_LABEL = 63
/** Letters, digits, hyphens (not first or last); underscores too, as resolvers accept them. */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/

/**
 * A host as a user writes one: IPv4, IPv6 (bare, or in brackets as copied from a URL, with an
 * optional %zone), or a DNS name. Returns why not otherwise; `host:port` is named as such.
 */
export function parseHost (text: string): Host | { error: string } {
  const bracketed = /^\[(.*)\]$/.exec(text)
  if (bracketed !== null) {
    const inner = bracketed[1] ?? ''
    return isIP(inner.split('%')[0] ?? '') === 6 ? { host: inner, kind: 'ipv6' } : { error: `${text} has brackets but no IPv6 address inside` }
  }
  if (isIP(text) === 4) return { host: text, kind: 'ipv4' }
  if (isIP(text.split('%')[0] ?? '') === 6) return { host: text, kind: 'ipv6' }
  if (text === '') return { error: 'the address is empty' }
  const withPort = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(text)
  if (withPort !== null) return { error: `${text} includes a port (${withPort[2] ?? ''}); give the host alone and the port in its own key` }
  if (text.includes(':')) return { error: `${text} is not an IPv4 or IPv6 address or a host name` }
  const name = text.endsWith('.') ? text.slice(0, -1) : text
  if (name.length > MAX_NAME) return { error: `${text.slice(0, 40)}... is longer than ${MAX_NAME} characters` }
  for (const label of name.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL || !LABEL.test(label)) {
      return { error: `${text} is not a valid host name (letters, digits and hyphens between dots)` }
    }
  }
  if (/^[0-9.]+$/.test(name)) return { error: `${text} is not a valid IPv4 address` }
  return { host: text, kind: 'name' }
}

/** `host:port`, `[v6]:port`; a bare IPv6 with a port is ambiguous and refused. */
export function parseHostPort (text: string): HostPort | { error: string } {
  const m = /^\[([^\]]+)\]:(\d*)$/.exec(text)
  let hostText: string
  let portText: string
  if (m !== null) {
    hostText = m[1] ?? ''
    portText = m[2] ?? ''
    if (isIP(hostText.split('%')[0] ?? '') !== 6) return { error: `${hostText} is not an IPv6 address` }
  } else {
    const colon = text.lastIndexOf(':')
    if (colon === -1) return { error: 'no port' }
    hostText = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (hostText.includes(':')) return { error: 'put an IPv6 address in brackets, e.g. [2001:db8::1]:443' }
    const h = parseHost(hostText)
    if ('error' in h) return h
  }
  if (!/^\d+$/.test(portText)) return { error: `port ${portText === '' ? '(empty)' : portText} is not a number` }
  const port = Number(portText)
  if (port < 1 || port > 65_535) return { error: `port ${port} is outside 1-65535` }
  return { host: hostText, port }
}

/** The host without URL brackets: what sockets and DNS take. */
export function unbracket (host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}
