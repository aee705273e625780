// Whole datagrams on a stream (sudp): split anywhere, they come out whole and in order; a length
// UDP cannot carry is refused.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { TunnelError } from '../../shared/errors.js'
import { DatagramReader, frameDatagram } from '../../shared/visit/index.js'
import { MAX_DATAGRAM_BYTES } from '../../shared/wire/index.js'

describe('datagrams on a stream', () => {
  it('gives back every datagram whole, whatever the split points', () => {
    const datagrams = [randomBytes(1), Buffer.alloc(0), randomBytes(300), randomBytes(4000)]
    const wire = Buffer.concat(datagrams.map(frameDatagram))
    for (let cut = 0; cut <= wire.length; cut += 7) {
      const r = new DatagramReader()
      const out = [...r.push(wire.subarray(0, cut)), ...r.push(wire.subarray(cut))]
      expect(out.map((d) => d.toString('hex'))).toEqual(datagrams.map((d) => d.toString('hex')))
      expect(r.bufferedBytes).toBe(0)
    }
  })

  it('gives back datagrams fed one byte at a time', () => {
    const d = randomBytes(70)
    const wire = Buffer.concat([frameDatagram(d), frameDatagram(d)])
    const r = new DatagramReader()
    const out: Buffer[] = []
    for (const byte of wire) out.push(...r.push(Buffer.from([byte])))
    expect(out).toEqual([d, d])
  })

  it('carries the largest UDP datagram and refuses a larger one', () => {
    const r = new DatagramReader()
    expect(r.push(frameDatagram(Buffer.alloc(MAX_DATAGRAM_BYTES)))[0]).toHaveLength(MAX_DATAGRAM_BYTES)
    expect(() => frameDatagram(Buffer.alloc(MAX_DATAGRAM_BYTES + 1))).toThrow(expect.objectContaining({ code: 'TUN_FRAME_TOO_LARGE' }) as TunnelError)
    const bad = Buffer.alloc(2)
    bad.writeUInt16BE(MAX_DATAGRAM_BYTES + 1)
    expect(() => new DatagramReader().push(bad)).toThrow(expect.objectContaining({ code: 'TUN_FRAME_TOO_LARGE' }) as TunnelError)
  })
})
