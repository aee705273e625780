// The record layer's bytes are the plain record format of docs/protocol.md §2, however the sealer
// feeds the cipher (pieces, coalesced small buffers, several records per batch): an independent
// sealer written the simplest way (each batch joined, cut at 65,519 bytes, each piece sealed in
// one call) produces the same bytes, and the opener opens them. Any change to how records are
// built for speed (issue 21) must keep this.
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect } from 'vitest'
import { fc, it as fcIt } from '@fast-check/vitest'
import { CipherState, nonceBytes, TAG_BYTES } from '../../shared/transport/noise.js'
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer } from '../../shared/transport/record.js'

const KEY = randomBytes(32)

function referenceRecords (batches: Buffer[][]): Buffer {
  const out: Buffer[] = []
  let n = 0
  for (const batch of batches) {
    const all = Buffer.concat(batch)
    let off = 0
    do {
      const piece = all.subarray(off, off + MAX_RECORD_PLAINTEXT)
      const cipher = createCipheriv('chacha20-poly1305', KEY, nonceBytes(n++), { authTagLength: TAG_BYTES })
      const length = Buffer.alloc(2)
      length.writeUInt16BE(piece.length + TAG_BYTES, 0)
      out.push(length, cipher.update(piece), cipher.final(), cipher.getAuthTag())
      off += piece.length
    } while (off < all.length)
  }
  return Buffer.concat(out)
}

/** A batch the way the mux writes it: a 12-byte frame header before each payload. */
function frames (payloads: number[]): Buffer[] {
  return payloads.flatMap((size, i) => [Buffer.alloc(12, i + 1), randomBytes(size)])
}

describe('record format', () => {
  fcIt.prop([
    fc.array(fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
  ], { numRuns: 40 })('the sealer writes exactly the bytes of the plain record format, and the opener opens them', (sizes) => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const batches = sizes.map(frames)
    const wire = Buffer.concat(batches.flatMap((b) => sealer.seal(b)))
    const reference = referenceRecords(batches)
    expect(wire.equals(reference)).toBe(true)
    const opener = new RecordOpener(new CipherState(KEY))
    expect(Buffer.concat(opener.push(reference)).equals(Buffer.concat(batches.flat()))).toBe(true)
    expect(opener.records).toBe(sealer.records)
  })
})
