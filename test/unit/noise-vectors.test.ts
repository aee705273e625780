// The Noise core against the cacophony test vectors (mcginty/snow) for the patterns tunnel
// uses: handshake hash and every transport message must match byte for byte. The repository
// owns its copy of the vectors (test/fixtures/noise, see its README for their origin).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { HandshakeState, keyPairFromSecret, type PatternName } from '../../shared/transport/noise.js'

const VECTORS_PATH = fileURLToPath(new URL('../fixtures/noise/noise-vectors.json', import.meta.url))

interface Vector {
  protocol_name: string
  init_prologue: string
  init_psks?: string[]
  init_ephemeral: string
  init_static?: string
  init_remote_static?: string
  resp_prologue: string
  resp_psks?: string[]
  resp_static?: string
  resp_ephemeral: string
  handshake_hash: string
  messages: Array<{ payload: string, ciphertext: string }>
}

const hex = (s: string): Buffer => Buffer.from(s, 'hex')
const vectors: Vector[] = (JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as { vectors: Vector[] }).vectors

describe('Noise core against the cacophony vectors', () => {
  it('the vectors file holds the patterns tunnel uses', () => {
    expect(vectors.length).toBeGreaterThan(0)
    const names = vectors.map((v) => v.protocol_name)
    for (const p of ['IKpsk1', 'INpsk1']) expect(names).toContain(`Noise_${p}_25519_ChaChaPoly_SHA256`)
  })

  for (const v of vectors) {
    const pattern = /^Noise_([A-Za-z0-9]+)_25519_ChaChaPoly_SHA256$/.exec(v.protocol_name)?.[1] as PatternName
    it(`${v.protocol_name}: handshake hash and every transport message match`, () => {
      const psk = v.init_psks?.[0]
      const init = new HandshakeState({
        pattern,
        initiator: true,
        prologue: hex(v.init_prologue),
        ephemeral: keyPairFromSecret(hex(v.init_ephemeral)),
        ...(v.init_static === undefined ? {} : { staticKey: keyPairFromSecret(hex(v.init_static)) }),
        ...(v.init_remote_static === undefined ? {} : { remoteStaticKey: hex(v.init_remote_static) }),
        ...(psk === undefined ? {} : { psk: hex(psk) }),
      })
      const respPsk = v.resp_psks?.[0]
      const resp = new HandshakeState({
        pattern,
        initiator: false,
        prologue: hex(v.resp_prologue),
        ephemeral: keyPairFromSecret(hex(v.resp_ephemeral)),
        ...(v.resp_static === undefined ? {} : { staticKey: keyPairFromSecret(hex(v.resp_static)) }),
        ...(respPsk === undefined ? {} : { psk: hex(respPsk) }),
      })
      const [m1, m2, ...transport] = v.messages
      if (m1 === undefined || m2 === undefined) throw new Error('vector has fewer than two messages')
      const c1 = init.writeMessage(hex(m1.payload))
      expect(c1.toString('hex')).toBe(m1.ciphertext)
      expect(resp.readMessage(c1).toString('hex')).toBe(m1.payload)
      const c2 = resp.writeMessage(hex(m2.payload))
      expect(c2.toString('hex')).toBe(m2.ciphertext)
      expect(init.readMessage(c2).toString('hex')).toBe(m2.payload)
      expect(init.handshakeHash.toString('hex')).toBe(v.handshake_hash)
      expect(resp.handshakeHash.toString('hex')).toBe(v.handshake_hash)
      const i = init.split()
      const r = resp.split()
      transport.forEach((m, index) => {
        // Transport messages alternate, initiator first.
        const [sender, receiver] = index % 2 === 0 ? [i, r] : [r, i]
        const ct = sender.send.encryptWithAd(Buffer.alloc(0), hex(m.payload))
        expect(ct.toString('hex')).toBe(m.ciphertext)
        expect(receiver.recv.decryptWithAd(Buffer.alloc(0), ct).toString('hex')).toBe(m.payload)
      })
    })
  }
})
