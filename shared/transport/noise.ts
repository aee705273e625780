// The Noise Protocol Framework (revision 34) for the two-message patterns tunnel uses: IKpsk1
// (the client knows the relay's static key) and INpsk1 (it does not), both of which carry the
// client's static key, and the older NN/NK family kept for the test vectors; suite
// 25519_ChaChaPoly_SHA256.
// Pure and synchronous: no sockets, no clock. X25519, HMAC/HKDF, SHA-256 and ChaCha20-Poly1305
// come from node:crypto (OpenSSL). The ephemeral key pair can be injected (test vectors);
// otherwise OpenSSL makes it. X25519 was tweetnacl's scalarMult, in
// JavaScript: 1.2 ms per operation, and hot enough at a relay's first client login for V8 to
// optimize it, which pulls about 4 MiB of its optimizing compiler into an idle process (issue 21).
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto'
import { HandshakeError } from '../errors.js'

export const DH_BYTES = 32
export const TAG_BYTES = 16
export const HASH_BYTES = 32
/** Noise caps every message at 65,535 bytes (§3). */
export const MAX_NOISE_MESSAGE_BYTES = 65_535

export interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export type PatternName = 'NN' | 'NK' | 'NNpsk0' | 'NKpsk0' | 'NKpsk2' | 'IKpsk1' | 'INpsk1'
type Token = 'e' | 's' | 'es' | 'se' | 'ss' | 'ee' | 'psk'

interface Pattern {
  /** The responder's static key is known to the initiator before the handshake (NK, IK). */
  responderStaticKnown: boolean
  messages: readonly (readonly Token[])[]
  psk: boolean
}

export const PATTERNS: Readonly<Record<PatternName, Pattern>> = {
  NN: { responderStaticKnown: false, psk: false, messages: [['e'], ['e', 'ee']] },
  NK: { responderStaticKnown: true, psk: false, messages: [['e', 'es'], ['e', 'ee']] },
  NNpsk0: { responderStaticKnown: false, psk: true, messages: [['psk', 'e'], ['e', 'ee']] },
  NKpsk0: { responderStaticKnown: true, psk: true, messages: [['psk', 'e', 'es'], ['e', 'ee']] },
  NKpsk2: { responderStaticKnown: true, psk: true, messages: [['e', 'es'], ['e', 'ee', 'psk']] },
  IKpsk1: { responderStaticKnown: true, psk: true, messages: [['e', 'es', 's', 'ss', 'psk'], ['e', 'ee', 'se']] },
  INpsk1: { responderStaticKnown: false, psk: true, messages: [['e', 's', 'psk'], ['e', 'ee', 'se']] },
}

export function protocolName (pattern: PatternName): string {
  return `Noise_${pattern}_25519_ChaChaPoly_SHA256`
}

/** DER of an X25519 private key (PKCS #8) before its 32 raw bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/**
 * OpenSSL's key object of each private key this process used, by the array holding it (key arrays
 * are never changed once made): made once (a PKCS #8 import costs about 0.4 ms), so a static key
 * costs nothing more per handshake.
 */
const privateKeyObjects = new WeakMap<Uint8Array, KeyObject>()

function privateKeyObject (secretKey: Uint8Array): KeyObject {
  let key = privateKeyObjects.get(secretKey)
  if (key === undefined) {
    if (secretKey.length !== DH_BYTES) throw new RangeError(`an X25519 private key is ${DH_BYTES} bytes, not ${secretKey.length}`)
    key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
    privateKeyObjects.set(secretKey, key)
  }
  return key
}

/** The raw key pair of an OpenSSL key (which is remembered for the private half). */
function keyPairOf (privateKey: KeyObject, secretKey?: Uint8Array): KeyPair {
  const jwk = privateKey.export({ format: 'jwk' })
  const pair = { publicKey: new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url')), secretKey: new Uint8Array(secretKey ?? Buffer.from(jwk.d ?? '', 'base64url')) }
  privateKeyObjects.set(pair.secretKey, privateKey)
  return pair
}

export function generateKeyPair (): KeyPair {
  return keyPairOf(generateKeyPairSync('x25519').privateKey)
}

/** The key pair of a 32-byte private key (clamped by X25519 itself, as RFC 7748 says; kept as given). */
export function keyPairFromSecret (secretKey: Uint8Array): KeyPair {
  return keyPairOf(privateKeyObject(secretKey), secretKey)
}

/** X25519. An all-zero result (a low-order point) fails the handshake, as in WireGuard. */
export function dh (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== DH_BYTES) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'the peer sent an invalid public key', { reason: 'length' })
  const privateKey = privateKeyObject(secretKey)
  let out: Buffer
  try {
    const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' })
    out = diffieHellman({ privateKey, publicKey: peer })
  } catch (err) {
    // OpenSSL refuses a shared secret of all zeros (a low-order point) itself.
    throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'the peer sent an invalid public key', { reason: 'low-order key', cause: err })
  }
  if (out.every((b) => b === 0)) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'the peer sent an invalid public key', { reason: 'low-order key' })
  return new Uint8Array(out)
}

function sha256 (...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Noise HKDF (§4.3) with empty info equals RFC 5869 with salt = chaining key. */
function hkdf (ck: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Buffer[] {
  const okm = Buffer.from(hkdfSync('sha256', ikm, ck, Buffer.alloc(0), HASH_BYTES * outputs))
  const out: Buffer[] = []
  for (let i = 0; i < outputs; i++) out.push(okm.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))
  return out
}

const REKEY_NONCE = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
const ZEROS_32 = Buffer.alloc(32)
const TWO_32 = 2 ** 32

/** The ChaChaPoly nonce for counter n: 4 zero bytes, then n as a little-endian u64 (§12.3). */
export function nonceBytes (n: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt32LE(n % TWO_32, 4)
  b.writeUInt32LE(Math.floor(n / TWO_32), 8)
  return b
}

/**
 * A Noise CipherState: one key and a counter. `n` is a JS number, exact up to 2^53 - 1, far
 * below Noise's reserved 2^64 - 1; the record layer closes the session long before.
 */
export class CipherState {
  #key: KeyObject
  n = 0

  constructor (key: Uint8Array) {
    this.#key = createSecretKey(Buffer.from(key))
  }

  get key (): KeyObject { return this.#key }

  encryptWithAd (ad: Uint8Array, plaintext: Uint8Array): Buffer {
    const c = createCipheriv('chacha20-poly1305', this.#key, nonceBytes(this.n), { authTagLength: TAG_BYTES })
    c.setAAD(ad, { plaintextLength: plaintext.length })
    const out = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])
    this.n++
    return out
  }

  /** Throws DecryptError when the tag does not verify; n is then unchanged. */
  decryptWithAd (ad: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (ciphertext.length < TAG_BYTES) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'a ciphertext is shorter than its tag', { reason: 'short ciphertext' })
    const body = ciphertext.subarray(0, ciphertext.length - TAG_BYTES)
    const d = createDecipheriv('chacha20-poly1305', this.#key, nonceBytes(this.n), { authTagLength: TAG_BYTES })
    d.setAAD(ad, { plaintextLength: body.length })
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES))
    let out: Buffer
    try {
      out = Buffer.concat([d.update(body), d.final()])
    } catch {
      throw new DecryptError()
    }
    this.n++
    return out
  }

  /** Noise Rekey() (§11.3): k = first 32 bytes of ENCRYPT(k, 2^64 - 1, empty, zeros). n is kept. */
  rekey (): void {
    const c = createCipheriv('chacha20-poly1305', this.#key, REKEY_NONCE, { authTagLength: TAG_BYTES })
    const next = Buffer.concat([c.update(ZEROS_32), c.final()])
    this.#key = createSecretKey(next.subarray(0, 32))
  }
}

/** A tag that did not verify: the caller decides what it means (wrong token, wrong key, tampering). */
export class DecryptError extends HandshakeError {
  constructor () {
    super('TUN_AUTH_REFUSED', 'a handshake message did not authenticate', { reason: 'decrypt' })
  }
}

class SymmetricState {
  ck: Buffer
  h: Buffer
  cipher: CipherState | undefined

  constructor (name: string) {
    const bytes = Buffer.from(name, 'ascii')
    this.h = bytes.length <= HASH_BYTES ? Buffer.concat([bytes, Buffer.alloc(HASH_BYTES - bytes.length)]) : sha256(bytes)
    this.ck = this.h
  }

  mixHash (data: Uint8Array): void { this.h = sha256(this.h, data) }

  get hasKey (): boolean { return this.cipher !== undefined }

  mixKey (ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, ikm, 2) as [Buffer, Buffer]
    this.ck = ck
    this.cipher = new CipherState(k)
  }

  mixKeyAndHash (ikm: Uint8Array): void {
    const [ck, h, k] = hkdf(this.ck, ikm, 3) as [Buffer, Buffer, Buffer]
    this.ck = ck
    this.mixHash(h)
    this.cipher = new CipherState(k)
  }

  encryptAndHash (plaintext: Uint8Array): Buffer {
    const out = this.cipher === undefined ? Buffer.from(plaintext) : this.cipher.encryptWithAd(this.h, plaintext)
    this.mixHash(out)
    return out
  }

  decryptAndHash (ciphertext: Uint8Array): Buffer {
    const out = this.cipher === undefined ? Buffer.from(ciphertext) : this.cipher.decryptWithAd(this.h, ciphertext)
    this.mixHash(ciphertext)
    return out
  }

  split (): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.ck, Buffer.alloc(0), 2) as [Buffer, Buffer]
    return [new CipherState(k1), new CipherState(k2)]
  }
}

export interface HandshakeOptions {
  pattern: PatternName
  initiator: boolean
  prologue: Uint8Array
  /** This side's static key pair: the responder's in NK and IK, the initiator's in IK and IN. */
  staticKey?: KeyPair
  /** The responder's static public key (initiator side of NK and IK). */
  remoteStaticKey?: Uint8Array
  psk?: Uint8Array
  /** Test vectors only: a fixed ephemeral key pair instead of a random one. */
  ephemeral?: KeyPair
}

export interface TransportKeys {
  /** Our sending and receiving CipherStates after Split(). */
  send: CipherState
  recv: CipherState
  /** The handshake hash h: the channel binding (session id). */
  handshakeHash: Buffer
}

/** One side of a two-message Noise handshake. writeMessage/readMessage alternate, initiator first. */
export class HandshakeState {
  readonly #pattern: Pattern
  readonly #initiator: boolean
  readonly #ss: SymmetricState
  readonly #s: KeyPair | undefined
  #rs: Uint8Array | undefined
  #e: KeyPair | undefined
  #re: Uint8Array | undefined
  readonly #psk: Uint8Array | undefined
  readonly #fixedEphemeral: KeyPair | undefined
  #index = 0

  constructor (o: HandshakeOptions) {
    this.#pattern = PATTERNS[o.pattern]
    this.#initiator = o.initiator
    this.#s = o.staticKey
    this.#rs = o.remoteStaticKey
    this.#psk = o.psk
    this.#fixedEphemeral = o.ephemeral
    if (this.#pattern.psk && (o.psk === undefined || o.psk.length !== 32)) throw new TypeError(`${o.pattern} needs a 32-byte psk`)
    this.#ss = new SymmetricState(protocolName(o.pattern))
    this.#ss.mixHash(o.prologue)
    if (this.#pattern.responderStaticKnown) {
      const s = o.initiator ? o.remoteStaticKey : o.staticKey?.publicKey
      if (s === undefined || s.length !== DH_BYTES) throw new TypeError(`${o.pattern} needs the responder's static key`)
      this.#ss.mixHash(s)
    }
  }

  get finished (): boolean { return this.#index >= this.#pattern.messages.length }
  get handshakeHash (): Buffer { return this.#ss.h }
  /** The remote ephemeral public key, once read. */
  get remoteEphemeral (): Uint8Array | undefined { return this.#re }
  /** The remote static public key: known beforehand, or read from a message (IK/IN responder). */
  get remoteStatic (): Uint8Array | undefined { return this.#rs }

  #tokens (sending: boolean): readonly Token[] {
    const tokens = this.#pattern.messages[this.#index]
    const initiatorTurn = this.#index % 2 === 0
    if (tokens === undefined || initiatorTurn !== (this.#initiator === sending)) throw new TypeError('handshake message out of turn')
    return tokens
  }

  writeMessage (payload: Uint8Array): Buffer {
    const parts: Buffer[] = []
    for (const t of this.#tokens(true)) {
      if (t === 'e') {
        this.#e = this.#fixedEphemeral ?? generateKeyPair()
        parts.push(Buffer.from(this.#e.publicKey))
        this.#ss.mixHash(this.#e.publicKey)
        if (this.#pattern.psk) this.#ss.mixKey(this.#e.publicKey)
      } else if (t === 's') {
        if (this.#s === undefined) throw new TypeError('s without a static key pair')
        parts.push(this.#ss.encryptAndHash(this.#s.publicKey))
      } else {
        this.#mixToken(t)
      }
    }
    parts.push(this.#ss.encryptAndHash(payload))
    this.#index++
    return Buffer.concat(parts)
  }

  readMessage (message: Uint8Array): Buffer {
    let at = 0
    for (const t of this.#tokens(false)) {
      if (t === 'e') {
        if (message.length - at < DH_BYTES) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'a handshake message is too short', { reason: 'short message' })
        this.#re = Uint8Array.from(message.subarray(at, at + DH_BYTES))
        at += DH_BYTES
        this.#ss.mixHash(this.#re)
        if (this.#pattern.psk) this.#ss.mixKey(this.#re)
      } else if (t === 's') {
        // 32 bytes, plus the tag once a key is set (always, in the psk patterns).
        const len = DH_BYTES + (this.#ss.hasKey ? TAG_BYTES : 0)
        if (message.length - at < len) throw new HandshakeError('TUN_HANDSHAKE_INVALID', 'a handshake message is too short', { reason: 'short message' })
        this.#rs = Uint8Array.from(this.#ss.decryptAndHash(message.subarray(at, at + len)))
        at += len
      } else {
        this.#mixToken(t)
      }
    }
    const payload = this.#ss.decryptAndHash(message.subarray(at))
    this.#index++
    return payload
  }

  #mixToken (t: Exclude<Token, 'e' | 's'>): void {
    if (t === 'psk') { this.#ss.mixKeyAndHash(this.#psk as Uint8Array); return }
    const e = this.#e
    const re = this.#re
    const s = this.#s
    const rs = this.#rs
    const need = <T>(v: T | undefined): T => {
      if (v === undefined) throw new TypeError(`${t} without the keys it needs`)
      return v
    }
    switch (t) {
      case 'ee':
        this.#ss.mixKey(dh(need(e).secretKey, need(re)))
        return
      case 'ss':
        this.#ss.mixKey(dh(need(s).secretKey, need(rs)))
        return
      // es: the initiator's ephemeral with the responder's static; se: the initiator's static
      // with the responder's ephemeral. Each side computes the same DH from its own halves.
      case 'es':
        this.#ss.mixKey(this.#initiator ? dh(need(e).secretKey, need(rs)) : dh(need(s).secretKey, need(re)))
        return
      case 'se':
        this.#ss.mixKey(this.#initiator ? dh(need(s).secretKey, need(re)) : dh(need(e).secretKey, need(rs)))
    }
  }

  /** After the last message: the transport CipherStates for this side. */
  split (): TransportKeys {
    if (!this.finished) throw new TypeError('split before the handshake finished')
    const [c1, c2] = this.#ss.split()
    return this.#initiator
      ? { send: c1, recv: c2, handshakeHash: this.#ss.h }
      : { send: c2, recv: c1, handshakeHash: this.#ss.h }
  }
}
