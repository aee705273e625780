import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from '../../shared/errors.js'
import { FrameDecoder } from '../../shared/wire/decode.js'
import { encodeHeader, Flag, FrameType, HEADER_BYTES, MAX_DATA_BYTES, MAX_OPEN_BYTES, type FrameHeader } from '../../shared/wire/frame.js'
import { decodeOpen, encodeOpen } from '../../shared/wire/open.js'

interface Frame { type: number, flags: number, id: number, length: number, payload: Buffer }

const payloadFrame = fc.record({
  type: fc.constantFrom(FrameType.DATA, FrameType.CONTROL, FrameType.DGRAM),
  flags: fc.constantFrom(0, Flag.FIN),
  payload: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  id: fc.integer({ min: 1, max: 0xffffffff }),
}).map(({ type, flags, payload, id }): Frame => ({
  type, flags: type === FrameType.DATA ? flags : 0, id: type === FrameType.CONTROL ? 0 : id, length: payload.length, payload,
}))

const valueFrame = fc.record({
  type: fc.constantFrom(FrameType.WINDOW_UPDATE, FrameType.RESET, FrameType.PING, FrameType.GOAWAY),
  length: fc.integer({ min: 0, max: 0xffffffff }),
  id: fc.integer({ min: 1, max: 0xffffffff }),
  flags: fc.constantFrom(0, Flag.ACK, Flag.SYN),
}).map(({ type, length, id, flags }): Frame => ({
  type, flags, length, payload: Buffer.alloc(0), id: type === FrameType.PING || type === FrameType.GOAWAY ? 0 : id,
}))

const frames = fc.array(fc.oneof(payloadFrame, valueFrame), { maxLength: 20 })

function encode (fs: Frame[]): Buffer {
  return Buffer.concat(fs.flatMap((f) => [encodeHeader(f.type as FrameType, f.flags, f.id, f.length), f.payload]))
}

/** Decodes, joining DATA pieces back into whole frames. */
function decodeAll (chunks: Buffer[]): Frame[] {
  const out: Frame[] = []
  let parts: Buffer[] = []
  const dec = new FrameDecoder((h: FrameHeader, p, final) => {
    parts.push(p)
    if (!final) return
    out.push({ ...h, payload: Buffer.concat(parts) })
    parts = []
  })
  for (const c of chunks) dec.push(c)
  return out
}

function splitAt (buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of points) { out.push(buf.subarray(prev, p)); prev = p }
  out.push(buf.subarray(prev))
  return out
}

describe('frame codec', () => {
  test.prop([frames])('decodes what it encodes', (fs) => {
    expect(decodeAll([encode(fs)])).toEqual(fs)
  })

  test.prop([frames, fc.array(fc.nat(), { maxLength: 30 })])('decodes the same however the bytes are split', (fs, cuts) => {
    const bytes = encode(fs)
    expect(decodeAll(splitAt(bytes, cuts))).toEqual(fs)
  })

  it('decodes correctly when fed one byte per call', () => {
    const fs: Frame[] = [
      { type: FrameType.DATA, flags: Flag.FIN, id: 3, length: 5, payload: Buffer.from('hello') },
      { type: FrameType.PING, flags: Flag.SYN, id: 0, length: 7, payload: Buffer.alloc(0) },
      { type: FrameType.CONTROL, flags: 0, id: 0, length: 2, payload: Buffer.from('{}') },
    ]
    const bytes = encode(fs)
    expect(decodeAll([...bytes].map((b) => Buffer.from([b])))).toEqual(fs)
  })

  test.prop([fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 })])('random bytes never throw anything but ProtocolError', (bytes, cuts) => {
    const dec = new FrameDecoder(() => {})
    for (const c of splitAt(Buffer.from(bytes), cuts)) {
      try { dec.push(c) } catch (err) { expect(err).toBeInstanceOf(ProtocolError) }
    }
  })

  it('rejects an oversize length from the header alone, before any payload arrives', () => {
    const dec = new FrameDecoder(() => { throw new Error('no frame expected') })
    const header = encodeHeader(FrameType.DATA, 0, 1, MAX_DATA_BYTES + 1)
    expect(() => dec.push(header)).toThrow(expect.objectContaining({ code: 'TUN_FRAME_TOO_LARGE' }))
    expect(dec.bufferedBytes).toBe(0)
    const huge = encodeHeader(FrameType.CONTROL, 0, 0, 0xffffffff)
    expect(() => new FrameDecoder(() => {}).push(huge)).toThrow(expect.objectContaining({ code: 'TUN_FRAME_TOO_LARGE' }))
    const bigOpen = encodeHeader(FrameType.DATA, Flag.SYN, 2, MAX_OPEN_BYTES + 1)
    expect(() => new FrameDecoder(() => {}).push(bigOpen)).toThrow(expect.objectContaining({ code: 'TUN_FRAME_TOO_LARGE' }))
  })

  it('rejects bad versions, unknown types, unknown flags and misplaced ids', () => {
    const bad = [
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
      encodeHeader(9 as FrameType, 0, 1, 0),
      encodeHeader(FrameType.DATA, 0x80, 1, 0),
      encodeHeader(FrameType.PING, Flag.SYN, 5, 0),
      encodeHeader(FrameType.DATA, 0, 0, 0),
    ]
    for (const b of bad) {
      expect(() => new FrameDecoder(() => {}).push(b)).toThrow(ProtocolError)
    }
    expect(HEADER_BYTES).toBe(12)
  })

  test.prop([fc.string({ maxLength: 60 }), fc.ipV4(), fc.ipV6(), fc.integer({ min: 0, max: 65535 })])('open headers round-trip', (proxy, v4, v6, port) => {
    const open = { proxy, visitor: { address: v4, port }, listener: { address: v6, port: 65535 - port } }
    expect(decodeOpen(encodeOpen(open))).toEqual(open)
  })

  test.prop([fc.uint8Array({ maxLength: 300 })])('random open headers never throw anything but ProtocolError', (bytes) => {
    try { decodeOpen(Buffer.from(bytes)) } catch (err) { expect(err).toBeInstanceOf(ProtocolError) }
  })
})
