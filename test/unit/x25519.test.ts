// X25519 comes from node:crypto (OpenSSL) since issue 21 (tweetnacl's JavaScript scalarMult was
// optimized by V8 at the first login, pulling its optimizing compiler into an idle process). The
// Noise vectors check known keys; this checks the same answers as tweetnacl, the implementation it
// replaced, on random keys (clamping, the masked top bit of a public key) and the refusal of
// low-order public keys, whose shared secret is all zeros.
import { randomBytes } from 'node:crypto'
import nacl from 'tweetnacl'
import { describe, expect, it } from 'vitest'
import { HandshakeError } from '../../shared/errors.js'
import { dh, generateKeyPair, keyPairFromSecret } from '../../shared/transport/noise.js'

/** Random keys compared with tweetnacl. */
const ROUNDS = 200

/** u-coordinates of points of small order on Curve25519 (0, 1, an order-8 point, p - 1) and non-canonical forms of 0 and 1 (p, p + 1). */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
]

describe('X25519 through node:crypto', () => {
  it('derives the public key and the shared secret tweetnacl derives, for random keys', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const secret = randomBytes(32)
      const peer = randomBytes(32) // the top bit is set in half of them: X25519 ignores it
      expect(Buffer.from(keyPairFromSecret(secret).publicKey)).toEqual(Buffer.from(nacl.box.keyPair.fromSecretKey(secret).publicKey))
      expect(Buffer.from(dh(secret, peer))).toEqual(Buffer.from(nacl.scalarMult(secret, peer)))
    }
  })

  it('makes key pairs whose halves agree, and keeps the private key as given', () => {
    const a = generateKeyPair()
    const b = generateKeyPair()
    expect(Buffer.from(dh(a.secretKey, b.publicKey))).toEqual(Buffer.from(dh(b.secretKey, a.publicKey)))
    const secret = randomBytes(32)
    expect(Buffer.from(keyPairFromSecret(secret).secretKey)).toEqual(secret)
  })

  it('refuses a low-order public key as an invalid handshake, as before', () => {
    const secret = randomBytes(32)
    for (const hex of LOW_ORDER) {
      const peer = Buffer.from(hex, 'hex')
      expect(nacl.scalarMult(secret, peer).every((b) => b === 0), hex).toBe(true)
      let caught: unknown
      try { dh(secret, peer) } catch (err) { caught = err }
      expect(caught, hex).toBeInstanceOf(HandshakeError)
      expect((caught as HandshakeError).code).toBe('TUN_HANDSHAKE_INVALID')
    }
  })
})
