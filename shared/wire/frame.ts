// The mux frame vocabulary: a fixed 12-byte big-endian header (yamux layout) and the wire
// numbers. Every number here is pinned by test/unit/wire-numbers.test.ts: changing one is a
// change of the wire protocol and must bump PROTOCOL_VERSION.
//
//  0       1       2               4                       8                       12
//  | ver=1 | type  | flags (u16)   | stream / flow id (u32) | length (u32)          | payload…
import { MAX_UDP_PAYLOAD_BYTES } from '../net/index.js'


export const PROTOCOL_VERSION = 1
export const HEADER_BYTES = 12

export const FrameType = {
  /** Stream bytes; `length` = payload bytes. SYN opens the stream (payload = open header). */
  DATA: 0x0,
  /** `length` = credit increment in bytes; ACK accepts an opened stream. */
  WINDOW_UPDATE: 0x1,
  /** `length` = opaque value echoed back; SYN = request, ACK = reply. Id 0. */
  PING: 0x2,
  /** `length` = GoAwayCode. Id 0. */
  GOAWAY: 0x3,
  /** `length` = ResetCode. */
  RESET: 0x4,
  /**
   * One whole UDP datagram of a flow; `length` = payload bytes. SYN: the payload starts with a
   * flow-open block (proxy name, visitor address; see dgram.ts). FIN (length 0): the flow is closed.
   */
  DGRAM: 0x5,
  /** `length` = payload bytes of a UTF-8 JSON control message. Id 0. */
  CONTROL: 0x6,
} as const
export type FrameType = typeof FrameType[keyof typeof FrameType]

export const Flag = {
  SYN: 0x1,
  ACK: 0x2,
  FIN: 0x4,
} as const
export const KNOWN_FLAGS = Flag.SYN | Flag.ACK | Flag.FIN

export const GoAwayCode = {
  NORMAL: 0,
  PROTOCOL: 1,
  INTERNAL: 2,
  AUTH: 3,
  RESTARTING: 4,
  REPLACED: 5,
  HEARTBEAT_TIMEOUT: 6,
} as const
export type GoAwayCode = typeof GoAwayCode[keyof typeof GoAwayCode]

export const ResetCode = {
  CANCEL: 0,
  /** The client could not connect to the local service. */
  REFUSED: 1,
  FLOW_CONTROL: 2,
  TIMEOUT: 3,
  TOO_MANY_STREAMS: 4,
  INTERNAL: 5,
  /** The visitor's or local socket ended with an error. */
  SOCKET_ERROR: 6,
  /**
   * A visit (a stream a visitor opens toward a secret proxy) was refused: no such proxy online, a
   * wrong proof, or a user the proxy does not allow. The relay does not say which.
   */
  FORBIDDEN: 7,
  /** A visit was refused without being checked: the visitor's session failed too many visits lately. */
  RATE_LIMITED: 8,
} as const
export type ResetCode = typeof ResetCode[keyof typeof ResetCode]

/** Largest DATA payload we send and accept (equals Node's 64 KiB read chunk). */
export const MAX_DATA_BYTES = 64 * 1024
/** Largest open header (DATA+SYN payload). */
export const MAX_OPEN_BYTES = 1024
/** Largest CONTROL payload. */
export const MAX_CONTROL_BYTES = 64 * 1024
/** Largest datagram a DGRAM frame carries: the largest UDP payload (net/udp.ts). */
export const MAX_DATAGRAM_BYTES = MAX_UDP_PAYLOAD_BYTES
/** Largest flow-open block: u8 name length, 255 B name, u8 family, 16 B address, u16 port. */
export const MAX_FLOW_OPEN_BYTES = 1 + 255 + 1 + 16 + 2
/** Largest DGRAM payload: a whole datagram plus (on SYN) its flow-open block. */
export const MAX_DGRAM_BYTES = MAX_DATAGRAM_BYTES + MAX_FLOW_OPEN_BYTES

export interface FrameHeader {
  type: number
  flags: number
  id: number
  length: number
}

export function encodeHeader (type: FrameType, flags: number, id: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES)
  b[0] = PROTOCOL_VERSION
  b[1] = type
  b.writeUInt16BE(flags, 2)
  b.writeUInt32BE(id >>> 0, 4)
  b.writeUInt32BE(length >>> 0, 8)
  return b
}

/** Writes a header into `b` at `off` (for batching many frames into one buffer); returns the end. */
export function writeHeader (b: Buffer, off: number, type: FrameType, flags: number, id: number, length: number): number {
  b[off] = PROTOCOL_VERSION
  b[off + 1] = type
  b.writeUInt16BE(flags, off + 2)
  b.writeUInt32BE(id >>> 0, off + 4)
  b.writeUInt32BE(length >>> 0, off + 8)
  return off + HEADER_BYTES
}

/** Types whose `length` counts payload bytes that follow the header (DATA+SYN carries only the open header). */
export function hasPayload (type: number): boolean {
  return type === FrameType.DATA || type === FrameType.DGRAM || type === FrameType.CONTROL
}

/** The payload limit for a frame, checked before any byte of the payload is buffered. */
export function maxPayloadBytes (type: number, flags: number): number {
  switch (type) {
    case FrameType.DATA: return (flags & Flag.SYN) !== 0 ? MAX_OPEN_BYTES : MAX_DATA_BYTES
    case FrameType.DGRAM: return (flags & Flag.SYN) !== 0 ? MAX_DGRAM_BYTES : MAX_DATAGRAM_BYTES
    case FrameType.CONTROL: return MAX_CONTROL_BYTES
    default: return 0
  }
}

const TYPE_NAMES = Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k])) as Record<number, string>

/** `CONTROL`, `DATA`, ... or `0x9` for a type this version does not know. */
export function frameTypeName (type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16)}`
}

/** For logs and tests: `DATA[SYN|FIN] id=3 len=10`. */
export function formatHeader (h: FrameHeader): string {
  const flags = Object.entries(Flag).filter(([, v]) => (h.flags & v) !== 0).map(([k]) => k).join('|')
  return `${frameTypeName(h.type)}${flags === '' ? '' : `[${flags}]`} id=${h.id} len=${h.length}`
}
