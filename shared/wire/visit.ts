// The visit block: what a stream toward a secret proxy (stcp, sudp) carries after its open
// header (open.ts), so that the relay and the home client can check that the visitor knows the
// proxy's secretKey without the secret crossing the wire (docs/security.md, "Secret proxies").
//   u8 tag = 1 | u8 kind | nonce (16 B) | timestamp ms (u64) | relayMac (32 B) | homeMac (32 B) | u8 userLen | user (UTF-8)
// A visitor sends it with an empty user (the relay uses the user its session logged in with);
// the relay forwards it to the home client with relayMac zeroed and the visitor's user filled in.
// The numbers are wire values, pinned by test/unit/wire-numbers.test.ts and docs/protocol.md.
import { ProtocolError } from '../errors.js'

/** The first byte after the listener endpoint of an open header that carries a visit block. */
export const OPEN_EXTENSION_VISIT = 1

/** What the visitor asks for (frp's visitor types); the proxy's type must match. */
export const VisitKind = {
  STCP: 1,
  SUDP: 2,
} as const
export type VisitKind = typeof VisitKind[keyof typeof VisitKind]

export const VISIT_NONCE_BYTES = 16
export const VISIT_MAC_BYTES = 32
/** A user name in a visit block at most (the login's bound). */
export const MAX_VISIT_USER_BYTES = 128
/** The block's size at most: tag, kind, nonce, timestamp, two MACs, user. */
export const MAX_VISIT_BLOCK_BYTES = 1 + 1 + VISIT_NONCE_BYTES + 8 + 2 * VISIT_MAC_BYTES + 1 + MAX_VISIT_USER_BYTES

export interface VisitBlock {
  kind: VisitKind
  nonce: Buffer
  /** The visitor's wall clock when it made the proof (ms since the epoch). */
  timestampMs: number
  /** The proof for the relay: HMAC under the proxy's relay key (zeros when the relay forwards it). */
  relayMac: Buffer
  /** The proof for the home client: HMAC under the key only the secret's holders have. */
  homeMac: Buffer
  /** '' from a visitor; from the relay, the user the visitor's session logged in with. */
  user: string
}

const KINDS: ReadonlySet<number> = new Set(Object.values(VisitKind))

export function encodeVisit (v: VisitBlock): Buffer {
  const user = Buffer.from(v.user, 'utf8')
  if (user.length > MAX_VISIT_USER_BYTES) throw bad(`user is ${user.length} bytes (at most ${MAX_VISIT_USER_BYTES})`)
  if (v.nonce.length !== VISIT_NONCE_BYTES || v.relayMac.length !== VISIT_MAC_BYTES || v.homeMac.length !== VISIT_MAC_BYTES) throw bad('nonce or MAC of the wrong size')
  if (!Number.isSafeInteger(v.timestampMs) || v.timestampMs < 0) throw bad('timestamp out of range')
  const b = Buffer.allocUnsafe(1 + 1 + VISIT_NONCE_BYTES + 8 + 2 * VISIT_MAC_BYTES + 1 + user.length)
  let off = b.writeUInt8(OPEN_EXTENSION_VISIT, 0)
  off = b.writeUInt8(v.kind, off)
  off += v.nonce.copy(b, off)
  off = b.writeBigUInt64BE(BigInt(v.timestampMs), off)
  off += v.relayMac.copy(b, off)
  off += v.homeMac.copy(b, off)
  off = b.writeUInt8(user.length, off)
  user.copy(b, off)
  return b
}

/** Decodes a block that fills `b` exactly (the rest of an open header); throws ProtocolError. */
export function decodeVisit (b: Buffer): VisitBlock {
  const fixed = 1 + 1 + VISIT_NONCE_BYTES + 8 + 2 * VISIT_MAC_BYTES + 1
  if (b.length < fixed) throw bad('truncated')
  if (b[0] !== OPEN_EXTENSION_VISIT) throw bad(`unknown extension ${b[0] ?? '?'}`)
  const kind = b[1] ?? 0
  if (!KINDS.has(kind)) throw bad(`unknown kind ${kind}`)
  let off = 2
  const nonce = Buffer.from(b.subarray(off, off + VISIT_NONCE_BYTES))
  off += VISIT_NONCE_BYTES
  const ts = b.readBigUInt64BE(off)
  off += 8
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('timestamp out of range')
  const relayMac = Buffer.from(b.subarray(off, off + VISIT_MAC_BYTES))
  off += VISIT_MAC_BYTES
  const homeMac = Buffer.from(b.subarray(off, off + VISIT_MAC_BYTES))
  off += VISIT_MAC_BYTES
  const userLen = b[off] ?? 0
  off += 1
  if (userLen > MAX_VISIT_USER_BYTES) throw bad(`user of ${userLen} bytes`)
  if (off + userLen !== b.length) throw bad(`${b.length - off - userLen} bytes too ${off + userLen > b.length ? 'few' : 'many'}`)
  const user = b.subarray(off, off + userLen).toString('utf8')
  return { kind: kind as VisitKind, nonce, timestampMs: Number(ts), relayMac, homeMac, user }
}

const KIND_NAMES: Readonly<Record<VisitKind, string>> = { [VisitKind.STCP]: 'stcp', [VisitKind.SUDP]: 'sudp' }

/** `stcp` / `sudp` for a kind (logs, messages). */
export function visitKindName (kind: VisitKind): string {
  return KIND_NAMES[kind]
}

function bad (why: string): ProtocolError {
  return new ProtocolError('TUN_FRAME_INVALID', `malformed visit block: ${why}`)
}
