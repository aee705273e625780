// The visit block after an open header: round trip, and a malformed one is a protocol error
// (never another exception), whatever the bytes.
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../shared/errors.js'
import { decodeOpen, encodeOpen, type OpenHeader, VisitKind } from '../../shared/wire/index.js'

const base = { proxy: 'home.ssh', visitor: { address: '127.0.0.1', port: 40000 }, listener: { address: '127.0.0.1', port: 6000 } }
const visit = { kind: VisitKind.SUDP, nonce: randomBytes(16), timestampMs: 1_700_000_000_123, relayMac: randomBytes(32), homeMac: randomBytes(32), user: 'laptop' }

describe('visit block', () => {
  it('round-trips with and without a visit block', () => {
    expect(decodeOpen(encodeOpen(base))).toEqual(base)
    const withVisit: OpenHeader = { ...base, visit }
    expect(decodeOpen(encodeOpen(withVisit))).toEqual(withVisit)
    expect(decodeOpen(encodeOpen({ ...base, visit: { ...visit, user: '' } })).visit?.user).toBe('')
  })

  it('refuses a truncated block, an unknown tag or kind, trailing bytes and a user that is too long', () => {
    const good = encodeOpen({ ...base, visit })
    const head = encodeOpen(base).length
    const cases = [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.concat([encodeOpen(base), Buffer.from([2])]),
      (() => { const b = Buffer.from(good); b[head + 1] = 9; return b })(),
      (() => { const b = Buffer.from(good); b[head + 1 + 1 + 16 + 8 + 64] = 200; return b })(),
    ]
    for (const b of cases) expect(() => decodeOpen(b)).toThrow(ProtocolError)
    expect(() => encodeOpen({ ...base, visit: { ...visit, user: 'u'.repeat(129) } })).toThrow(ProtocolError)
  })

  it('throws nothing but a ProtocolError on random bytes after the endpoints', () => {
    const head = encodeOpen(base)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
      try {
        decodeOpen(Buffer.concat([head, Buffer.from(tail)]))
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
      }
    }), { numRuns: 500 })
  })
})
