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
