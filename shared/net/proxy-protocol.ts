// PROXY protocol headers (HAProxy's spec, v1 text and v2 binary) that tell a local service who the
// visitor really is. Pure: the encoder takes endpoints already normalised by normalizeAddress
// (IPv4-mapped IPv6 is IPv4 here); the parser is used by tests and returns normalised endpoints,
// so parse(encode(x)) gives back x. v1 needs one family for both addresses: when they differ,
// TCP6 is used with the IPv4 address in its mapped form, only inside the header. An endpoint that
// is not an IP address (should not happen) gives `PROXY UNKNOWN` (v1) or AF_UNSPEC (v2).
import { isIP } from 'node:net'
import { ipv6Bytes, normalizeAddress } from './address.js'

export type ProxyProtocolVersion = 'v1' | 'v2'
export const PROXY_PROTOCOL_VERSIONS: readonly ProxyProtocolVersion[] = ['v1', 'v2']

export interface ProxyEndpoint {
  address: string
  port: number
}

export interface ProxyHeader {
  /**
   * 'unknown': the sender did not know the addresses (v1 UNKNOWN, v2 AF_UNSPEC or LOCAL).
   * udp4/udp6: v2 only (SOCK_DGRAM), one header at the start of every datagram.
   */
  family: 'tcp4' | 'tcp6' | 'udp4' | 'udp6' | 'unknown'
  source?: ProxyEndpoint
  destination?: ProxyEndpoint
}

export interface ParsedProxyHeader extends ProxyHeader {
  version: ProxyProtocolVersion
  /** Bytes the header took at the start of the buffer; the stream's data follows. */
  length: number
}

export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
/** A v1 line is at most 107 bytes including CRLF. */
export const V1_MAX_BYTES = 107
const V1_PREFIX = Buffer.from('PROXY ', 'latin1')

/** The bare address without an IPv6 zone id (`fe80::1%eth0` → `fe80::1`). */
function stripZone (address: string): string {
  const at = address.indexOf('%')
  return at === -1 ? address : address.slice(0, at)
}

/** The family both endpoints are written in, or undefined when one is not an IP address. */
function familyOf (src: string, dst: string): 4 | 6 | undefined {
  const a = isIP(src)
  const b = isIP(dst)
  if (a === 0 || b === 0) return undefined
  return a === 4 && b === 4 ? 4 : 6
}

/** IPv6 text for the header: IPv4 in its mapped form. */
function asIpv6 (address: string): string {
  return isIP(address) === 4 ? `::ffff:${address}` : address
}

function validPort (port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535
}

/** What the header describes: a TCP connection, or UDP datagrams (v2 only). */
export type ProxyTransport = 'stream' | 'dgram'

export function encodeProxyHeader (version: ProxyProtocolVersion, source: ProxyEndpoint, destination: ProxyEndpoint, transport: ProxyTransport = 'stream'): Buffer {
  if (transport === 'dgram' && version === 'v1') throw new RangeError('PROXY protocol v1 describes TCP connections only; UDP needs v2')
  const src = stripZone(normalizeAddress(source.address))
  const dst = stripZone(normalizeAddress(destination.address))
  const family = validPort(source.port) && validPort(destination.port) ? familyOf(src, dst) : undefined
  return version === 'v1' ? encodeV1(family, src, dst, source.port, destination.port) : encodeV2(family, src, dst, source.port, destination.port, transport)
}

function encodeV1 (family: 4 | 6 | undefined, src: string, dst: string, sport: number, dport: number): Buffer {
  if (family === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1')
  const [s, d] = family === 4 ? [src, dst] : [asIpv6(src), asIpv6(dst)]
  return Buffer.from(`PROXY TCP${family} ${s} ${d} ${sport} ${dport}\r\n`, 'latin1')
}

function encodeV2 (family: 4 | 6 | undefined, src: string, dst: string, sport: number, dport: number, transport: ProxyTransport): Buffer {
  const addrLen = family === 4 ? 12 : family === 6 ? 36 : 0
  const b = Buffer.alloc(16 + addrLen)
  V2_SIGNATURE.copy(b, 0)
  b[12] = 0x21 // version 2, PROXY command
  const proto = transport === 'stream' ? 0x1 : 0x2 // SOCK_STREAM or SOCK_DGRAM
  b[13] = family === 4 ? 0x10 | proto : family === 6 ? 0x20 | proto : 0x00 // AF_INET/AF_INET6, or AF_UNSPEC
  b.writeUInt16BE(addrLen, 14)
  if (family === 4) {
    ipv4Bytes(src).forEach((v, i) => { b[16 + i] = v })
    ipv4Bytes(dst).forEach((v, i) => { b[20 + i] = v })
    b.writeUInt16BE(sport, 24)
    b.writeUInt16BE(dport, 26)
  } else if (family === 6) {
    b.set(ipv6Bytes(asIpv6(src)) ?? new Uint8Array(16), 16)
    b.set(ipv6Bytes(asIpv6(dst)) ?? new Uint8Array(16), 32)
    b.writeUInt16BE(sport, 48)
    b.writeUInt16BE(dport, 50)
  }
  return b
}

function ipv4Bytes (address: string): number[] {
  return address.split('.').map(Number)
}

function ipv6Text (bytes: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return normalizeAddress(groups.join(':'))
}

export class ProxyHeaderError extends Error {}

/**
 * Parses a PROXY header at the start of `buf`: the header, undefined when more bytes are needed,
 * or throws ProxyHeaderError when the bytes are not a valid header.
 */
export function parseProxyHeader (buf: Buffer): ParsedProxyHeader | undefined {
  const sig = Math.min(buf.length, V2_SIGNATURE.length)
  if (sig > 0 && buf.subarray(0, sig).equals(V2_SIGNATURE.subarray(0, sig))) {
    return sig < V2_SIGNATURE.length ? undefined : parseV2(buf)
  }
  const pre = Math.min(buf.length, V1_PREFIX.length)
  if (pre > 0 && buf.subarray(0, pre).equals(V1_PREFIX.subarray(0, pre))) {
    return pre < V1_PREFIX.length ? undefined : parseV1(buf)
  }
  throw new ProxyHeaderError('not a PROXY protocol header')
}

function parseV1 (buf: Buffer): ParsedProxyHeader | undefined {
  const end = buf.indexOf('\r\n', 0, 'latin1')
  if (end === -1) {
    if (buf.length >= V1_MAX_BYTES) throw new ProxyHeaderError('v1 header longer than 107 bytes')
    return undefined
  }
  if (end + 2 > V1_MAX_BYTES) throw new ProxyHeaderError('v1 header longer than 107 bytes')
  const parts = buf.subarray(0, end).toString('latin1').split(' ')
  const length = end + 2
  if (parts[1] === 'UNKNOWN') return { version: 'v1', family: 'unknown', length }
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) throw new ProxyHeaderError('malformed v1 header')
  const want = parts[1] === 'TCP4' ? 4 : 6
  const [, , s = '', d = '', sp = '', dp = ''] = parts
  if (isIP(s) !== want || isIP(d) !== want) throw new ProxyHeaderError(`v1 addresses are not ${parts[1]}`)
  return {
    version: 'v1',
    family: want === 4 ? 'tcp4' : 'tcp6',
    source: { address: normalizeAddress(s), port: v1Port(sp) },
    destination: { address: normalizeAddress(d), port: v1Port(dp) },
    length,
  }
}

function v1Port (text: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(text) || Number(text) > 65535) throw new ProxyHeaderError(`bad v1 port ${text}`)
  return Number(text)
}

function parseV2 (buf: Buffer): ParsedProxyHeader | undefined {
  if (buf.length < 16) return undefined
  const verCmd = buf[12] as number
  const fam = buf[13] as number
  const len = buf.readUInt16BE(14)
  if (verCmd >> 4 !== 2) throw new ProxyHeaderError('v2 header with a version other than 2')
  const cmd = verCmd & 0x0f
  if (cmd > 1) throw new ProxyHeaderError('v2 header with an unknown command')
  if (buf.length < 16 + len) return undefined
  const length = 16 + len
  if (cmd === 0 || fam === 0x00) return { version: 'v2', family: 'unknown', length }
  if (fam === 0x11 || fam === 0x12) {
    if (len < 12) throw new ProxyHeaderError('v2 AF_INET address block too short')
    return {
      version: 'v2',
      family: fam === 0x11 ? 'tcp4' : 'udp4',
      source: { address: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) },
      destination: { address: [...buf.subarray(20, 24)].join('.'), port: buf.readUInt16BE(26) },
      length,
    }
  }
  if (fam === 0x21 || fam === 0x22) {
    if (len < 36) throw new ProxyHeaderError('v2 AF_INET6 address block too short')
    return {
      version: 'v2',
      family: fam === 0x21 ? 'tcp6' : 'udp6',
      source: { address: ipv6Text(buf.subarray(16, 32)), port: buf.readUInt16BE(48) },
      destination: { address: ipv6Text(buf.subarray(32, 48)), port: buf.readUInt16BE(50) },
      length,
    }
  }
  throw new ProxyHeaderError(`v2 header with unsupported family/protocol 0x${fam.toString(16)}`)
}
