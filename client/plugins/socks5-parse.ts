// SOCKS5 messages (RFC 1928) and its user/password sub-negotiation (RFC 1929), pure: each parser
// takes the bytes read so far and says "need more", what it found (with how many bytes it used),
// or what is wrong, with the reply code the RFC gives for it. Every message is bounded by its own
// length bytes (a greeting at most 257 bytes, an auth message 513, a request 262).

export const SOCKS_VERSION = 5
export const AUTH_VERSION = 1
export const Method = { NO_AUTH: 0x00, USER_PASSWORD: 0x02, NONE_ACCEPTABLE: 0xff } as const
export const Command = { CONNECT: 0x01, BIND: 0x02, UDP_ASSOCIATE: 0x03 } as const
export const AddressType = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const
/** RFC 1928 section 6 reply codes. */
export const Reply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const

/** The longest message of the handshake: an RFC 1929 request (1 + 1 + 255 + 1 + 255). */
export const MAX_SOCKS_MESSAGE_BYTES = 513

export type Parsed<T> = { need: number } | { ok: T, used: number } | { error: string, reply?: number }

/** Version identifier/method selection message: VER NMETHODS METHODS... */
export function parseGreeting (b: Buffer): Parsed<{ methods: number[] }> {
  if (b.length < 2) return { need: 2 }
  if (b[0] !== SOCKS_VERSION) return { error: `not SOCKS5 (version byte ${b[0] ?? 0})` }
  const n = b[1] ?? 0
  if (n === 0) return { error: 'the greeting offers no authentication method' }
  if (b.length < 2 + n) return { need: 2 + n }
  return { ok: { methods: [...b.subarray(2, 2 + n)] }, used: 2 + n }
}

/** RFC 1929: VER ULEN UNAME PLEN PASSWD (raw bytes; compared as bytes). */
export function parseUserPassword (b: Buffer): Parsed<{ user: Buffer, password: Buffer }> {
  if (b.length < 2) return { need: 2 }
  if (b[0] !== AUTH_VERSION) return { error: `not an RFC 1929 message (version byte ${b[0] ?? 0})` }
  const ulen = b[1] ?? 0
  if (ulen === 0) return { error: 'the user name is empty' }
  if (b.length < 3 + ulen) return { need: 3 + ulen }
  const plen = b[2 + ulen] ?? 0
  if (plen === 0) return { error: 'the password is empty' }
  const total = 3 + ulen + plen
  if (b.length < total) return { need: total }
  return { ok: { user: b.subarray(2, 2 + ulen), password: b.subarray(3 + ulen, total) }, used: total }
}

export interface SocksTarget {
  command: number
  /** An IPv4 or IPv6 address, or a host name as sent. */
  host: string
  port: number
  addressType: number
}

/** VER CMD RSV ATYP DST.ADDR DST.PORT. */
export function parseRequest (b: Buffer): Parsed<SocksTarget> {
  if (b.length < 5) return { need: 5 }
  if (b[0] !== SOCKS_VERSION) return { error: `not SOCKS5 (version byte ${b[0] ?? 0})`, reply: Reply.GENERAL_FAILURE }
  const command = b[1] ?? 0
  const type = b[3] ?? 0
  let host: string
  let at: number
  if (type === AddressType.IPV4) {
    if (b.length < 10) return { need: 10 }
    host = [...b.subarray(4, 8)].join('.')
    at = 8
  } else if (type === AddressType.IPV6) {
    if (b.length < 22) return { need: 22 }
    const words: string[] = []
    for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(4 + i * 2).toString(16))
    host = words.join(':')
    at = 20
  } else if (type === AddressType.DOMAIN) {
    const len = b[4] ?? 0
    if (len === 0) return { error: 'the domain name is empty', reply: Reply.GENERAL_FAILURE }
    if (b.length < 5 + len + 2) return { need: 5 + len + 2 }
    host = b.subarray(5, 5 + len).toString('latin1')
    if (!/^[A-Za-z0-9._-]+$/.test(host)) return { error: 'the domain name has characters a host name cannot have', reply: Reply.HOST_UNREACHABLE }
    at = 5 + len
  } else {
    return { error: `address type ${type} is not one of 1 (IPv4), 3 (domain), 4 (IPv6)`, reply: Reply.ADDRESS_TYPE_NOT_SUPPORTED }
  }
  const port = b.readUInt16BE(at)
  if (command !== Command.CONNECT) return { error: `command ${command} is not CONNECT (BIND and UDP ASSOCIATE are not offered)`, reply: Reply.COMMAND_NOT_SUPPORTED }
  if (port === 0) return { error: 'port 0', reply: Reply.GENERAL_FAILURE }
  return { ok: { command, host, port, addressType: type }, used: at + 2 }
}

/** VER REP RSV ATYP BND.ADDR BND.PORT, with the bound address the connection got (0.0.0.0:0 on failure). */
export function encodeReply (code: number, bound?: { address: string, port: number }): Buffer {
  const address = bound?.address ?? '0.0.0.0'
  const port = bound?.port ?? 0
  const v4 = /^\d+\.\d+\.\d+\.\d+$/.test(address)
  const addr = v4 ? Buffer.from(address.split('.').map(Number)) : ipv6ToBytes(address)
  const out = Buffer.alloc(4 + addr.length + 2)
  out[0] = SOCKS_VERSION
  out[1] = code
  out[3] = v4 ? AddressType.IPV4 : AddressType.IPV6
  addr.copy(out, 4)
  out.writeUInt16BE(port, 4 + addr.length)
  return out
}

/** 16 bytes of an IPv6 address (the zone dropped); :: for anything unparsable. */
function ipv6ToBytes (address: string): Buffer {
  const out = Buffer.alloc(16)
  const bare = address.split('%')[0] ?? ''
  const [head = '', tail] = bare.split('::')
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)))
  const h = words(head)
  const t = tail === undefined ? [] : words(tail)
  if ([...h, ...t].some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff) || h.length + t.length > 8) return out
  h.forEach((w, i) => out.writeUInt16BE(w, i * 2))
  t.forEach((w, i) => out.writeUInt16BE(w, 16 - (t.length - i) * 2))
  return out
}

/** The reply code for an error connecting to the target. */
export function replyForError (err: Error): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ECONNREFUSED': return Reply.CONNECTION_REFUSED
    case 'ENETUNREACH': return Reply.NETWORK_UNREACHABLE
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'TUN_LOCAL_DIAL':
      return Reply.HOST_UNREACHABLE
    default: return Reply.GENERAL_FAILURE
  }
}
