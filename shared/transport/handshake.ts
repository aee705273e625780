// The handshake's bytes on the wire around the Noise messages, and its wire numbers (pinned by
// test/unit/wire-numbers.test.ts). Pure: encoders, and parsers that take a growing buffer and
// say "need more", "here it is" or throw HandshakeError: lengths are checked before anything
// is sliced, and garbage is refused at its first wrong byte.
//
// Client → relay, the hello (the Noise "negotiation data" of §13, bound as the prologue, §6):
//   magic "TUNL" | version u8 | flags u8 | keyId 4 B | idLen u8 | clientId (1-128 B UTF-8)
//   | noiseLen u16 | Noise message 1 (noiseLen B) | mac1 16 B
//   prologue = "tunnel/2" ‖ every byte before the Noise message
//   mac1     = HMAC-SHA256(mac1Key(pinned relay key, token), every byte before mac1)[0..16]
// Noise message 1 is IKpsk1 (the client pinned the relay's key) or INpsk1: e, the client's
// static key (encrypted), the payload. mac1 needs the token: the relay checks it with one HMAC
// before any Diffie-Hellman, so nobody without the token can make it do DH work.
// Relay → client:
//   accept:  magic | 1 | len u16 | Noise message 2 (len B)
//   refuse:  magic | 2 | code u8 | the relay's keyId 4 B    (unauthenticated: a hint only)
import { createHmac, timingSafeEqual } from 'node:crypto'
import { HandshakeError } from '../errors.js'
import { DH_BYTES, TAG_BYTES } from './noise.js'
import { KEY_ID_BYTES } from './keys.js'

export const HANDSHAKE_MAGIC = Buffer.from('TUNL', 'ascii')
export const HANDSHAKE_VERSION = 2
export const PROLOGUE_LABEL = Buffer.from('tunnel/2', 'ascii')

export const HelloFlag = {
  /** The client pinned auth.serverKey: Noise IKpsk1 (else INpsk1). */
  PINNED: 0x01,
  /** transport.insecurePlaintext: after the handshake, bytes travel unencrypted. */
  PLAINTEXT: 0x02,
} as const
const KNOWN_HELLO_FLAGS = HelloFlag.PINNED | HelloFlag.PLAINTEXT

export const ResponseKind = { ACCEPT: 1, REFUSE: 2 } as const

/** Why a relay refused: in a cleartext refusal, or (CLOCK, REPLAY, VERSION) inside message 2. */
export const Refusal = {
  OK: 0,
  /** Message 1 did not decrypt: wrong auth.token. */
  AUTH: 1,
  /** The pinned key is not the relay's (key id differs). */
  KEY: 2,
  /** The client pinned a key but the relay has none. */
  NO_KEY: 3,
  /** The ephemeral key was seen before, or the timestamp is not newer than the client's last login. */
  REPLAY: 4,
  /** Too many handshakes in progress. */
  BUSY: 5,
  /** Another handshake version. */
  VERSION: 6,
  /** transport.insecurePlaintext differs. */
  TRANSPORT: 7,
  /** The timestamp is outside the relay's freshness window. */
  CLOCK: 8,
  /** The client's static key is not among the relay's auth.clientKeys (or not for this clientID or user). */
  CLIENT_KEY: 9,
  /** The relay accepts only clients that speak TLS under the handshake (transport.tls.force). */
  TLS_REQUIRED: 10,
} as const
export type Refusal = typeof Refusal[keyof typeof Refusal]

export const MAC_BYTES = 16
export const MAX_CLIENT_ID_BYTES = 128
/** Message-1 and message-2 payloads are exactly this long. */
export const PAYLOAD_BYTES = 16
/** Message 1: e, the client's static key with its tag, the payload with its tag. */
export const MESSAGE1_BYTES = DH_BYTES + (DH_BYTES + TAG_BYTES) + PAYLOAD_BYTES + TAG_BYTES
/** Message 2: e, the payload with its tag. */
export const MESSAGE2_BYTES = DH_BYTES + PAYLOAD_BYTES + TAG_BYTES
const HELLO_FIXED_BYTES = 4 + 1 + 1 + KEY_ID_BYTES + 1
export const MAX_HELLO_BYTES = HELLO_FIXED_BYTES + MAX_CLIENT_ID_BYTES + 2 + MESSAGE1_BYTES + MAC_BYTES
export const REFUSAL_BYTES = 4 + 1 + 1 + KEY_ID_BYTES
export const ACCEPT_BYTES = 4 + 1 + 2 + MESSAGE2_BYTES

export interface Hello {
  version: number
  flags: number
  keyId: Buffer
  clientId: string
  /** The prologue both sides mix in: label ‖ header. */
  prologue: Buffer
  noise: Buffer
  /** Every byte before mac1, and mac1 itself. */
  macInput: Buffer
  mac1: Buffer
  /** The whole hello as received. */
  bytes: Buffer
}

function invalid (message: string, reason: string): HandshakeError {
  return new HandshakeError('TUN_HANDSHAKE_INVALID', message, { reason })
}

export function computeMac1 (key: Uint8Array, input: Uint8Array): Buffer {
  return createHmac('sha256', key).update(input).digest().subarray(0, MAC_BYTES)
}

export function mac1Matches (key: Uint8Array, hello: Hello): boolean {
  return timingSafeEqual(computeMac1(key, hello.macInput), hello.mac1)
}

/** The header (everything before the Noise message) for a client id, flags and key id. */
export function encodeHelloHeader (flags: number, keyId: Buffer, clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8')
  if (id.length < 1 || id.length > MAX_CLIENT_ID_BYTES) throw new RangeError(`clientID must be 1-${MAX_CLIENT_ID_BYTES} bytes of UTF-8`)
  const b = Buffer.alloc(HELLO_FIXED_BYTES + id.length + 2)
  HANDSHAKE_MAGIC.copy(b, 0)
  b[4] = HANDSHAKE_VERSION
  b[5] = flags
  keyId.copy(b, 6)
  b[10] = id.length
  id.copy(b, 11)
  b.writeUInt16BE(MESSAGE1_BYTES, 11 + id.length)
  return b
}

export function prologueOf (header: Buffer): Buffer {
  return Buffer.concat([PROLOGUE_LABEL, header])
}

/** Refuses at the first byte that cannot start a hello (port scanners, other protocols). */
function checkMagic (buf: Buffer): void {
  const n = Math.min(buf.length, HANDSHAKE_MAGIC.length)
  if (!buf.subarray(0, n).equals(HANDSHAKE_MAGIC.subarray(0, n))) throw invalid('the peer does not speak the tunnel handshake', 'magic')
}

/** A whole hello from the start of `buf`, undefined when more bytes are needed. */
export function parseHello (buf: Buffer): { hello: Hello, used: number } | undefined {
  checkMagic(buf)
  if (buf.length < HELLO_FIXED_BYTES) return undefined
  const version = buf[4] as number
  if (version !== HANDSHAKE_VERSION) {
    throw new HandshakeError('TUN_PROTOCOL', `the client speaks handshake version ${version}, this relay ${HANDSHAKE_VERSION}: upgrade the older side`, { reason: 'version' })
  }
  const flags = buf[5] as number
  if ((flags & ~KNOWN_HELLO_FLAGS) !== 0) throw invalid('unknown handshake flags', 'flags')
  const idLen = buf[10] as number
  if (idLen < 1 || idLen > MAX_CLIENT_ID_BYTES) throw invalid('bad client id length', 'client id')
  const headerLen = HELLO_FIXED_BYTES + idLen + 2
  if (buf.length < headerLen) return undefined
  const noiseLen = buf.readUInt16BE(headerLen - 2)
  if (noiseLen !== MESSAGE1_BYTES) throw invalid('bad handshake message length', 'length')
  const total = headerLen + noiseLen + MAC_BYTES
  if (buf.length < total) return undefined
  const idBytes = buf.subarray(11, 11 + idLen)
  const clientId = idBytes.toString('utf8')
  if (!Buffer.from(clientId, 'utf8').equals(idBytes)) throw invalid('the client id is not UTF-8', 'client id')
  const bytes = Buffer.from(buf.subarray(0, total))
  return {
    used: total,
    hello: {
      version,
      flags,
      keyId: bytes.subarray(6, 10),
      clientId,
      prologue: prologueOf(bytes.subarray(0, headerLen)),
      noise: bytes.subarray(headerLen, headerLen + noiseLen),
      macInput: bytes.subarray(0, total - MAC_BYTES),
      mac1: bytes.subarray(total - MAC_BYTES),
      bytes,
    },
  }
}

export function encodeAccept (message2: Buffer): Buffer {
  const b = Buffer.alloc(7)
  HANDSHAKE_MAGIC.copy(b, 0)
  b[4] = ResponseKind.ACCEPT
  b.writeUInt16BE(message2.length, 5)
  return Buffer.concat([b, message2])
}

export function encodeRefusal (code: Refusal, relayKeyId: Buffer): Buffer {
  const b = Buffer.alloc(REFUSAL_BYTES)
  HANDSHAKE_MAGIC.copy(b, 0)
  b[4] = ResponseKind.REFUSE
  b[5] = code
  relayKeyId.copy(b, 6)
  return b
}

export type Response =
  | { kind: 'accept', message2: Buffer }
  | { kind: 'refuse', code: number, relayKeyId: Buffer }

export function parseResponse (buf: Buffer): { response: Response, used: number } | undefined {
  const n = Math.min(buf.length, HANDSHAKE_MAGIC.length)
  if (!buf.subarray(0, n).equals(HANDSHAKE_MAGIC.subarray(0, n))) {
    // A wrong port or an older relay: a deployment problem, final at the first login like any TUN_PROTOCOL.
    throw new HandshakeError('TUN_PROTOCOL', 'the relay did not answer with the tunnel handshake (an older tunnel version, or not a tunnel relay: check serverAddr and serverPort)', { reason: 'magic' })
  }
  if (buf.length < 5) return undefined
  const kind = buf[4]
  if (kind === ResponseKind.REFUSE) {
    if (buf.length < REFUSAL_BYTES) return undefined
    return { used: REFUSAL_BYTES, response: { kind: 'refuse', code: buf[5] as number, relayKeyId: Buffer.from(buf.subarray(6, 10)) } }
  }
  if (kind !== ResponseKind.ACCEPT) throw invalid('the relay sent an unknown handshake answer', 'kind')
  if (buf.length < 7) return undefined
  const len = buf.readUInt16BE(5)
  if (len !== MESSAGE2_BYTES) throw invalid('the relay sent a handshake answer of the wrong length', 'length')
  if (buf.length < ACCEPT_BYTES) return undefined
  return { used: ACCEPT_BYTES, response: { kind: 'accept', message2: Buffer.from(buf.subarray(7, ACCEPT_BYTES)) } }
}

// ---- payloads (inside the Noise messages) ----

export interface HelloPayload {
  timestampMs: number
  controlVersion: number
}

export function encodeHelloPayload (p: HelloPayload): Buffer {
  const b = Buffer.alloc(PAYLOAD_BYTES)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(p.timestampMs))), 0)
  b.writeUInt16BE(p.controlVersion, 8)
  return b
}

export function decodeHelloPayload (b: Buffer): HelloPayload {
  if (b.length !== PAYLOAD_BYTES) throw invalid('bad hello payload length', 'payload')
  return { timestampMs: Number(b.readBigUInt64BE(0)), controlVersion: b.readUInt16BE(8) }
}

export interface AcceptPayload {
  result: Refusal
  relayTimeMs: number
  /** The relay's control protocol version (0 from a relay that predates the field). */
  controlVersion: number
}

/** result u8 | reserved u8 | controlVersion u16 | reserved 4 B | relayTimeMs u64. */
export function encodeAcceptPayload (p: AcceptPayload): Buffer {
  const b = Buffer.alloc(PAYLOAD_BYTES)
  b[0] = p.result
  b.writeUInt16BE(p.controlVersion, 2)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(p.relayTimeMs))), 8)
  return b
}

export function decodeAcceptPayload (b: Buffer): { result: number, relayTimeMs: number, controlVersion: number } {
  if (b.length !== PAYLOAD_BYTES) throw invalid('bad answer payload length', 'payload')
  return { result: b[0] as number, relayTimeMs: Number(b.readBigUInt64BE(8)), controlVersion: b.readUInt16BE(2) }
}
