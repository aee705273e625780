// Key material: X25519 keys as base64 text (what `tunnel keygen` prints and the configs hold),
// the pre-shared key derived from auth.token, and the public digests of the relay key that the
// handshake header carries (key id, mac1 key). Pure; no I/O.
import { createHash, hkdfSync } from 'node:crypto'
import { generateKeyPair, keyPairFromSecret, type KeyPair } from './noise.js'

export const KEY_BYTES = 32
/** Standard base64 of 32 bytes: 43 characters and one '='. */
export const KEY_TEXT = /^[A-Za-z0-9+/]{43}=$/
export const KEY_ID_BYTES = 4
export const PSK_SALT = 'tunnel/1/psk'
const MAC1_LABEL = 'tunnel/2 mac1'

export function encodeKey (key: Uint8Array): string {
  return Buffer.from(key).toString('base64')
}

/** The 32 key bytes, or a reason the text is not a key (never echoing the text). */
export function decodeKey (text: string): Uint8Array | string {
  const t = text.trim()
  if (KEY_TEXT.test(t)) return Uint8Array.from(Buffer.from(t, 'base64'))
  const bytes = /^[A-Za-z0-9+/_-]*={0,2}$/.test(t) ? Buffer.from(t, 'base64').length : -1
  if (bytes === -1) return 'is not base64'
  return `must be ${KEY_BYTES} bytes of base64 (44 characters, as printed by tunnel keygen); it decodes to ${bytes} bytes`
}

export interface EncodedKeyPair {
  privateKey: string
  publicKey: string
}

export function newKeyPair (): EncodedKeyPair {
  const kp = generateKeyPair()
  return { privateKey: encodeKey(kp.secretKey), publicKey: encodeKey(kp.publicKey) }
}

export function relayKeyPair (privateKey: Uint8Array): KeyPair {
  return keyPairFromSecret(privateKey)
}

/**
 * The Noise PSK from auth.token: HKDF-SHA256(ikm = UTF-8 token, salt = "tunnel/1/psk", info = "").
 * Computed once when a relay or client starts, never per handshake.
 */
export function derivePsk (token: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(token, 'utf8'), PSK_SALT, Buffer.alloc(0), KEY_BYTES))
}

/** The first 4 bytes of SHA-256 of the relay's public key; all zero when none is pinned. */
export function keyId (publicKey: Uint8Array | undefined): Buffer {
  if (publicKey === undefined) return Buffer.alloc(KEY_ID_BYTES)
  return createHash('sha256').update(publicKey).digest().subarray(0, KEY_ID_BYTES)
}

/**
 * The key of the hello's mac1: SHA-256("tunnel/2 mac1" ‖ relay public key (when pinned) ‖ psk).
 * Knowing it takes the token, so a valid mac1 is checked with one HMAC, before any DH.
 */
export function mac1Key (publicKey: Uint8Array | undefined, psk: Uint8Array): Buffer {
  const h = createHash('sha256').update(MAC1_LABEL)
  if (publicKey !== undefined) h.update(publicKey)
  return h.update(psk).digest()
}

/** How logs and messages name a client key: the first 8 bytes of its SHA-256, hex. */
export function clientKeyId (publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 8).toString('hex')
}

/** Hex of a key id, for messages: `a1b2c3d4`. */
export function formatKeyId (publicKey: Uint8Array | undefined): string {
  return keyId(publicKey).toString('hex')
}
