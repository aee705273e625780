// The xtcp introduction (pure): what the visitor and the home client say to each other over the
// visit stream the relay joins (docs/protocol.md §4.6), the keys of the direct path, and the punch
// packets. Every message is `u16 length | JSON | HMAC-SHA256(homeKey, label ‖ what came before ‖
// JSON)`: the relay carries the messages but does not hold homeKey, so it can neither forge nor
// alter a candidate list or a key share unseen. Each side sends a fresh X25519 key share; the path's
// keys come from the shared secret with homeKey and both messages mixed in (HKDF-SHA256), so a
// relay that swaps key shares gets keys the two sides do not share, and the records fail.
import { createHmac, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import { z } from 'zod'
import { TunnelError } from '../../shared/errors.js'

export const INTRO_VERSION = 1
/** One introduction message at most (JSON of up to MAX_CANDIDATES candidates and two keys). */
export const MAX_INTRO_BYTES = 4096
/** Candidate addresses one side offers at most. */
export const MAX_CANDIDATES = 16
export const INTRO_MAC_BYTES = 32
const OFFER_LABEL = 'tunnel/xtcp/1 offer\0'
const ANSWER_LABEL = 'tunnel/xtcp/1 answer\0'
const KEYS_LABEL = 'tunnel/xtcp/1 keys\0'
const X25519_BYTES = 32
/** DER prefix of a raw X25519 public key (SubjectPublicKeyInfo). */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

const candidateSchema = z.object({
  host: z.string().min(2).max(64),
  port: z.int().min(1).max(65535),
  kind: z.enum(['local', 'mapped', 'predicted']),
})
export type Candidate = z.output<typeof candidateSchema>

const introSchema = z.object({
  v: z.literal(INTRO_VERSION),
  /** base64 X25519 public key share. */
  pub: z.string().max(64),
  candidates: z.array(candidateSchema).max(MAX_CANDIDATES),
  /** The sender's NAT as its STUN probe saw it (for the other side's status and advice). */
  nat: z.object({ mapping: z.string().max(40), filtering: z.string().max(40) }).nullable(),
  /** Set by a home client that will not punch (its reason); then nothing else matters. */
  refuse: z.string().max(200).optional(),
})
export type Intro = z.output<typeof introSchema>

export interface KeyShare {
  privateKey: KeyObject
  /** Raw 32 bytes. */
  publicRaw: Buffer
}

export function newKeyShare (): KeyShare {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return { privateKey, publicRaw: Buffer.from(der.subarray(der.length - X25519_BYTES)) }
}

/** Framed message bytes: length, JSON, MAC over `label ‖ prior ‖ JSON`. */
export function encodeIntro (body: Intro, homeKey: Buffer, role: 'offer' | 'answer', prior: Buffer = Buffer.alloc(0)): { frame: Buffer, json: Buffer } {
  const json = Buffer.from(JSON.stringify(body), 'utf8')
  if (json.length > MAX_INTRO_BYTES) throw new TunnelError('TUN_PROTOCOL', `an xtcp introduction of ${json.length} bytes is over ${MAX_INTRO_BYTES}`)
  const mac = introMac(homeKey, role, prior, json)
  const head = Buffer.alloc(2)
  head.writeUInt16BE(json.length)
  return { frame: Buffer.concat([head, json, mac]), json }
}

function introMac (homeKey: Buffer, role: 'offer' | 'answer', prior: Buffer, json: Buffer): Buffer {
  return createHmac('sha256', homeKey).update(role === 'offer' ? OFFER_LABEL : ANSWER_LABEL).update(prior).update(json).digest()
}

/** Collects one framed message from stream chunks. */
export class IntroReader {
  #buf = Buffer.alloc(0)

  /** The frame's JSON and MAC once complete (extra bytes are a protocol error), else undefined. */
  push (chunk: Buffer): { json: Buffer, mac: Buffer } | undefined {
    this.#buf = Buffer.concat([this.#buf, chunk])
    if (this.#buf.length < 2) return undefined
    const len = this.#buf.readUInt16BE(0)
    if (len > MAX_INTRO_BYTES) throw new TunnelError('TUN_PROTOCOL', `an xtcp introduction of ${len} bytes is over ${MAX_INTRO_BYTES}`)
    const total = 2 + len + INTRO_MAC_BYTES
    if (this.#buf.length < total) return undefined
    if (this.#buf.length > total) throw new TunnelError('TUN_PROTOCOL', 'bytes after an xtcp introduction')
    return { json: this.#buf.subarray(2, 2 + len), mac: this.#buf.subarray(2 + len) }
  }
}

/** The message if its MAC verifies under homeKey and it has the right shape; else a TunnelError. */
export function openIntro (frame: { json: Buffer, mac: Buffer }, homeKey: Buffer, role: 'offer' | 'answer', prior: Buffer = Buffer.alloc(0)): Intro {
  const expected = introMac(homeKey, role, prior, frame.json)
  if (frame.mac.length !== expected.length || !timingSafeEqual(frame.mac, expected)) {
    throw new TunnelError('TUN_VISIT_REFUSED', `the xtcp ${role} does not verify under the secret: the relay altered it, or the secrets differ`)
  }
  let parsed: unknown
  try { parsed = JSON.parse(frame.json.toString('utf8')) } catch { throw new TunnelError('TUN_PROTOCOL', `the xtcp ${role} is not JSON`) }
  const r = introSchema.safeParse(parsed)
  if (!r.success) throw new TunnelError('TUN_PROTOCOL', `the xtcp ${role} is malformed: ${r.error.issues[0]?.message ?? ''}`)
  return r.data
}

export interface PathKeys {
  /** Records visitor → home. */
  visitorToHome: Buffer
  /** Records home → visitor. */
  homeToVisitor: Buffer
  /** Authenticates punch packets. */
  punch: Buffer
}

/** The direct path's keys from our share, the peer's public share, homeKey and both messages. */
export function derivePathKeys (mine: KeyShare, peerPublicB64: string, homeKey: Buffer, offerJson: Buffer, answerJson: Buffer): PathKeys {
  const raw = Buffer.from(peerPublicB64, 'base64')
  if (raw.length !== X25519_BYTES) throw new TunnelError('TUN_PROTOCOL', 'an xtcp key share is not 32 bytes')
  const peer = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
  const shared = diffieHellman({ privateKey: mine.privateKey, publicKey: peer })
  if (shared.every((b) => b === 0)) throw new TunnelError('TUN_PROTOCOL', 'an xtcp key share is a low-order point')
  const info = Buffer.concat([Buffer.from(KEYS_LABEL), offerJson, Buffer.from([0]), answerJson])
  const out = Buffer.from(hkdfSync('sha256', shared, homeKey, info, 96))
  return { visitorToHome: out.subarray(0, 32), homeToVisitor: out.subarray(32, 64), punch: out.subarray(64, 96) }
}

// ---- punch packets: 'TXP1' | type | role | nonce(12) | echo(12) | mac(16) --------------------

export const PUNCH_MAGIC = Buffer.from('TXP1', 'ascii')
export const PUNCH_NONCE_BYTES = 12
const PUNCH_MAC_BYTES = 16
export const PUNCH_PACKET_BYTES = 4 + 1 + 1 + PUNCH_NONCE_BYTES * 2 + PUNCH_MAC_BYTES
export const PunchType = { PUNCH: 1, ACK: 2 } as const
export type PunchType = typeof PunchType[keyof typeof PunchType]
export type Role = 'visitor' | 'home'

export interface PunchPacket {
  type: PunchType
  role: Role
  nonce: Buffer
  /** ACK: the nonce of the PUNCH it answers; PUNCH: zeros. */
  echo: Buffer
}

function punchMac (key: Buffer, head: Buffer): Buffer {
  return createHmac('sha256', key).update(head).digest().subarray(0, PUNCH_MAC_BYTES)
}

export function encodePunch (key: Buffer, p: Omit<PunchPacket, 'nonce'> & { nonce?: Buffer }): { bytes: Buffer, nonce: Buffer } {
  const nonce = p.nonce ?? randomBytes(PUNCH_NONCE_BYTES)
  const head = Buffer.concat([PUNCH_MAGIC, Buffer.from([p.type, p.role === 'visitor' ? 1 : 2]), nonce, p.echo])
  return { bytes: Buffer.concat([head, punchMac(key, head)]), nonce }
}

/** A punch packet that verifies under `key`, or undefined (anything else: a stranger's, a stray, a forgery). */
export function decodePunch (key: Buffer, b: Buffer): PunchPacket | undefined {
  if (b.length !== PUNCH_PACKET_BYTES || !b.subarray(0, 4).equals(PUNCH_MAGIC)) return undefined
  const head = b.subarray(0, PUNCH_PACKET_BYTES - PUNCH_MAC_BYTES)
  if (!timingSafeEqual(punchMac(key, head), b.subarray(head.length))) return undefined
  const type = b.readUInt8(4)
  const role = b.readUInt8(5)
  if ((type !== PunchType.PUNCH && type !== PunchType.ACK) || (role !== 1 && role !== 2)) return undefined
  return { type, role: role === 1 ? 'visitor' : 'home', nonce: Buffer.from(b.subarray(6, 6 + PUNCH_NONCE_BYTES)), echo: Buffer.from(b.subarray(6 + PUNCH_NONCE_BYTES, head.length)) }
}
