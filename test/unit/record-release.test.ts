// The record opener tells its owner when it is done with the bytes it was given (so pooled read
// buffers can be reused, shared/mux/read-pool.ts): every byte exactly once, only after the
// record it belongs to was opened, and overwriting a released piece never changes what came out.
import { randomBytes } from 'node:crypto'
import { fc, it as fcIt } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { CipherState } from '../../shared/transport/noise.js'
import { RecordOpener, RecordSealer } from '../../shared/transport/record.js'

const KEY = randomBytes(32)

/** Splits `data` at the given cut points, each piece a copy in memory of its own (as a pooled read is). */
function cut (data: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of [...at, data.length]) { const piece = Buffer.alloc(p - prev); data.copy(piece, 0, prev, p); out.push(piece); prev = p }
  return out
}

describe('record opener: releasing what it read', () => {
  fcIt.prop([
    fc.array(fc.uint8Array({ maxLength: 70_000 }), { minLength: 1, maxLength: 5 }),
    fc.array(fc.nat(), { maxLength: 20 }),
  ], { numRuns: 40 })('releases every received byte once, and scribbling over released pieces changes nothing that came out', (batches, points) => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const wire = Buffer.concat(batches.flatMap((b) => sealer.seal([Buffer.from(b)])))
    const released = new Map<ArrayBufferLike, number>()
    const opener = new RecordOpener(new CipherState(KEY), undefined, (piece) => {
      released.set(piece.buffer, (released.get(piece.buffer) ?? 0) + piece.length)
      piece.fill(0xee) // a reused buffer gets new bytes at once
    })
    const chunks = cut(wire, points)
    const plain = Buffer.concat(chunks.flatMap((c) => opener.push(c)).map((p) => Buffer.from(p)))
    expect(plain.equals(Buffer.concat(batches.map((b) => Buffer.from(b))))).toBe(true)
    for (const c of chunks) expect(released.get(c.buffer) ?? 0).toBe(c.length)
  })

  it('holds a record that is not complete yet: none of its bytes are released', () => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const record = Buffer.concat(sealer.seal([randomBytes(1000)]))
    let releasedBytes = 0
    const opener = new RecordOpener(new CipherState(KEY), undefined, (piece) => { releasedBytes += piece.length })
    expect(opener.push(record.subarray(0, 500))).toEqual([])
    // Only the 2-byte header has been copied out so far.
    expect(releasedBytes).toBe(2)
    expect(Buffer.concat(opener.push(record.subarray(500))).length).toBe(1000)
    expect(releasedBytes).toBe(record.length)
  })
})
