// STUN messages (RFC 8489, formerly 5389), the part tunnel uses: Binding requests and answers with
// XOR-MAPPED-ADDRESS (and MAPPED-ADDRESS from old servers), and RFC 5780's CHANGE-REQUEST,
// RESPONSE-ORIGIN and OTHER-ADDRESS for classifying a NAT. Pure: bytes in, values out. A parse
// never throws: anything that is not a well-formed STUN message is `undefined` (the relay's STUN
// port is open to the Internet, and a client's hole-punching socket receives stray packets).
import { randomBytes } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { ipv6Bytes, normalizeAddress } from '../net/index.js'

export const STUN_MAGIC_COOKIE = 0x2112a442
export const STUN_HEADER_BYTES = 20
export const STUN_TRANSACTION_ID_BYTES = 12
/** The largest STUN message tunnel reads or writes: far above a Binding answer (< 100 bytes). */
export const MAX_STUN_MESSAGE_BYTES = 548
/** Attributes read from one message at most. */
export const MAX_STUN_ATTRIBUTES = 32

export const StunClass = { REQUEST: 0, INDICATION: 1, SUCCESS: 2, ERROR: 3 } as const
export type StunClass = typeof StunClass[keyof typeof StunClass]
export const STUN_METHOD_BINDING = 0x001

export const StunAttr = {
  MAPPED_ADDRESS: 0x0001,
  CHANGE_REQUEST: 0x0003,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  RESPONSE_PORT: 0x0027,
  SOFTWARE: 0x8022,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const

/** CHANGE-REQUEST flags (RFC 5780 §7.2). */
export const CHANGE_IP = 0x4
export const CHANGE_PORT = 0x2

export interface StunAddress {
  /** Dotted IPv4 or IPv6 text. */
  host: string
  port: number
}

export interface StunMessage {
  cls: StunClass
  method: number
  transactionId: Buffer
  /** XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS. */
  mapped?: StunAddress
  responseOrigin?: StunAddress
  otherAddress?: StunAddress
  /** CHANGE-REQUEST flags (CHANGE_IP | CHANGE_PORT). */
  changeRequest?: number
  /** RFC 5780 §7.5 RESPONSE-PORT: answer to the request's source address at this port (the NAT mapping lifetime test). */
  responsePort?: number
  errorCode?: number
  software?: string
}

export function newTransactionId (): Buffer {
  return randomBytes(STUN_TRANSACTION_ID_BYTES)
}

function messageType (cls: StunClass, method: number): number {
  // The class bits C1 C0 sit at bits 8 and 4 of the 14-bit type (RFC 8489 §5).
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
}

function splitType (type: number): { cls: StunClass, method: number } {
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2)
  const cls = (((type >> 4) & 1) | ((type >> 7) & 2)) as StunClass
  return { cls, method }
}

function addressValue (a: StunAddress, xor: boolean, transactionId: Buffer): Buffer {
  const v6 = isIPv6(a.host)
  const out = Buffer.alloc(v6 ? 20 : 8)
  out.writeUInt8(v6 ? 2 : 1, 1)
  out.writeUInt16BE(xor ? a.port ^ (STUN_MAGIC_COOKIE >>> 16) : a.port, 2)
  const raw = v6 ? Buffer.from(ipv6Bytes(a.host) ?? new Uint8Array(16)) : Buffer.from(a.host.split('.').map(Number))
  if (xor) {
    const pad = Buffer.alloc(16)
    pad.writeUInt32BE(STUN_MAGIC_COOKIE, 0)
    transactionId.copy(pad, 4)
    for (let i = 0; i < raw.length; i++) raw[i] = (raw[i] as number) ^ (pad[i] as number)
  }
  raw.copy(out, 4)
  return out
}

function readAddress (v: Buffer, xor: boolean, transactionId: Buffer): StunAddress | undefined {
  if (v.length < 4) return undefined
  const family = v.readUInt8(1)
  const len = family === 1 ? 4 : family === 2 ? 16 : 0
  if (len === 0 || v.length !== 4 + len) return undefined
  let port = v.readUInt16BE(2)
  const raw = Buffer.from(v.subarray(4, 4 + len))
  if (xor) {
    port ^= STUN_MAGIC_COOKIE >>> 16
    const pad = Buffer.alloc(16)
    pad.writeUInt32BE(STUN_MAGIC_COOKIE, 0)
    transactionId.copy(pad, 4)
    for (let i = 0; i < raw.length; i++) raw[i] = (raw[i] as number) ^ (pad[i] as number)
  }
  // IPv6 text in its shortest form, IPv4-mapped as IPv4 (as the rest of the code names addresses).
  return { host: family === 1 ? [...raw].join('.') : normalizeAddress(ipv6Raw(raw)), port }
}

function ipv6Raw (b: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16))
  return groups.join(':')
}

function attr (type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4)
  padded.writeUInt16BE(type, 0)
  padded.writeUInt16BE(value.length, 2)
  value.copy(padded, 4)
  return padded
}

/** The bytes of `m` (addresses must be IPv4 or IPv6 text). */
export function encodeStun (m: StunMessage): Buffer {
  const attrs: Buffer[] = []
  if (m.mapped !== undefined) attrs.push(attr(StunAttr.XOR_MAPPED_ADDRESS, addressValue(m.mapped, true, m.transactionId)))
  if (m.changeRequest !== undefined) { const v = Buffer.alloc(4); v.writeUInt32BE(m.changeRequest & (CHANGE_IP | CHANGE_PORT)); attrs.push(attr(StunAttr.CHANGE_REQUEST, v)) }
  if (m.responsePort !== undefined) { const v = Buffer.alloc(4); v.writeUInt16BE(m.responsePort & 0xffff); attrs.push(attr(StunAttr.RESPONSE_PORT, v)) }
  if (m.responseOrigin !== undefined) attrs.push(attr(StunAttr.RESPONSE_ORIGIN, addressValue(m.responseOrigin, false, m.transactionId)))
  if (m.otherAddress !== undefined) attrs.push(attr(StunAttr.OTHER_ADDRESS, addressValue(m.otherAddress, false, m.transactionId)))
  if (m.errorCode !== undefined) { const v = Buffer.alloc(4); v.writeUInt8(Math.floor(m.errorCode / 100) & 7, 2); v.writeUInt8(m.errorCode % 100, 3); attrs.push(attr(StunAttr.ERROR_CODE, v)) }
  if (m.software !== undefined) attrs.push(attr(StunAttr.SOFTWARE, Buffer.from(m.software.slice(0, 127), 'utf8')))
  const body = Buffer.concat(attrs)
  const head = Buffer.alloc(STUN_HEADER_BYTES)
  head.writeUInt16BE(messageType(m.cls, m.method), 0)
  head.writeUInt16BE(body.length, 2)
  head.writeUInt32BE(STUN_MAGIC_COOKIE, 4)
  m.transactionId.copy(head, 8, 0, STUN_TRANSACTION_ID_BYTES)
  return Buffer.concat([head, body])
}

/** Whether `b` starts like a STUN message (the first two bits zero, the magic cookie): cheap, to sort packets. */
export function looksLikeStun (b: Buffer): boolean {
  return b.length >= STUN_HEADER_BYTES && (b.readUInt8(0) & 0xc0) === 0 && b.readUInt32BE(4) === STUN_MAGIC_COOKIE
}

/** The message in `b`, or undefined when it is not a well-formed STUN message. Unknown attributes are skipped. */
export function decodeStun (b: Buffer): StunMessage | undefined {
  if (b.length > MAX_STUN_MESSAGE_BYTES || !looksLikeStun(b)) return undefined
  const length = b.readUInt16BE(2)
  if (length % 4 !== 0 || STUN_HEADER_BYTES + length !== b.length) return undefined
  const { cls, method } = splitType(b.readUInt16BE(0))
  const transactionId = Buffer.from(b.subarray(8, STUN_HEADER_BYTES))
  const m: StunMessage = { cls, method, transactionId }
  let off = STUN_HEADER_BYTES
  let count = 0
  let plainMapped: StunAddress | undefined
  while (off < b.length) {
    if (++count > MAX_STUN_ATTRIBUTES || off + 4 > b.length) return undefined
    const type = b.readUInt16BE(off)
    const len = b.readUInt16BE(off + 2)
    const end = off + 4 + len
    if (end > b.length) return undefined
    const v = b.subarray(off + 4, end)
    switch (type) {
      case StunAttr.XOR_MAPPED_ADDRESS:
      case StunAttr.MAPPED_ADDRESS:
      case StunAttr.RESPONSE_ORIGIN:
      case StunAttr.OTHER_ADDRESS: {
        const a = readAddress(v, type === StunAttr.XOR_MAPPED_ADDRESS, transactionId)
        if (a === undefined) return undefined
        if (type === StunAttr.XOR_MAPPED_ADDRESS) m.mapped = a
        else if (type === StunAttr.MAPPED_ADDRESS) plainMapped = a
        else if (type === StunAttr.RESPONSE_ORIGIN) m.responseOrigin = a
        else m.otherAddress = a
        break
      }
      case StunAttr.CHANGE_REQUEST: if (len !== 4) return undefined; m.changeRequest = v.readUInt32BE(0) & (CHANGE_IP | CHANGE_PORT); break
      case StunAttr.RESPONSE_PORT: if (len !== 4) return undefined; m.responsePort = v.readUInt16BE(0); break
      case StunAttr.ERROR_CODE: if (len < 4) return undefined; m.errorCode = (v.readUInt8(2) & 7) * 100 + v.readUInt8(3); break
      case StunAttr.SOFTWARE: m.software = v.toString('utf8'); break
      default: break
    }
    off = off + 4 + Math.ceil(len / 4) * 4
  }
  if (off !== b.length) return undefined
  if (m.mapped === undefined && plainMapped !== undefined) m.mapped = plainMapped
  return m
}

/** Whether `host` is IPv4 or IPv6 text STUN can carry. */
export function stunAddressable (host: string): boolean {
  return isIPv4(host) || isIPv6(host)
}
