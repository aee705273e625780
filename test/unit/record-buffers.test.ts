// The record layer's buffers (issue 21, encrypted bulk): the sealer joins small outputs into
// fewer buffers without changing a byte on the wire, and the opener keeps no reference to a
// pushed chunk, so a reader may reuse one buffer for every read.
import { createCipheriv, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { fc, it as fcIt } from '@fast-check/vitest'
import { CipherState, nonceBytes, TAG_BYTES } from '../../shared/transport/noise.js'
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer } from '../../shared/transport/record.js'

const KEY = randomBytes(32)

/** The record format written the plainest way: the batch joined, cut at 65,519 bytes, each piece sealed at once. */
function referenceRecords (batches: Buffer[][]): Buffer {
  const out: Buffer[] = []
  let n = 0
  for (const batch of batches) {
    const all = Buffer.concat(batch)
    let off = 0
    do {
      const piece = all.subarray(off, off + MAX_RECORD_PLAINTEXT)
      const cipher = createCipheriv('chacha20-poly1305', KEY, nonceBytes(n++), { authTagLength: TAG_BYTES })
      const header = Buffer.alloc(2)
      header.writeUInt16BE(piece.length + TAG_BYTES, 0)
      out.push(header, cipher.update(piece), cipher.final(), cipher.getAuthTag())
      off += piece.length
    } while (off < all.length)
  }
  return Buffer.concat(out)
}

/** A batch the way the mux writes it: a 12-byte frame header before each payload. */
function frames (payloads: number[]): Buffer[] {
  return payloads.flatMap((size, i) => [Buffer.alloc(12, i + 1), randomBytes(size)])
}

describe('record sealer: buffers handed to the socket', () => {
  fcIt.prop([
    fc.array(fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }),
  ], { numRuns: 40 })('the bytes on the wire are exactly the plain record format, however the outputs are joined', (sizes) => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const batches = sizes.map(frames)
    const wire = Buffer.concat(batches.flatMap((b) => sealer.seal(b)))
    expect(wire.equals(referenceRecords(batches))).toBe(true)
  })

  it('a batch of four 64 KiB frames goes out as one buffer per ciphertext piece plus one per run of small pieces', () => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const batch = frames([65_536, 65_536, 65_536, 65_536])
    const out = sealer.seal(batch)
    expect(sealer.records).toBe(5)
    // Records 1-4 each hold one large piece of a payload (65,507, 65,478, ... bytes); the small
    // pieces between them (a tag, a length, the 29 bytes of a payload's tail, a frame header)
    // are joined: one buffer before, between and after the large ones (9 buffers; joining only
    // whole records under 8 KiB, as before, gave 17).
    const large = out.filter((b) => b.length >= 8192).length
    expect(large).toBe(4)
    expect(out).toHaveLength(2 * large + 1)
    expect(out.every((b) => b.length > 0)).toBe(true)
  })

  it('a batch of small frames becomes one buffer', () => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const out = sealer.seal(frames([10, 200, 3000, 0, 5]))
    expect(out).toHaveLength(1)
    const opener = new RecordOpener(new CipherState(KEY))
    expect(opener.push(out[0] as Buffer).length).toBeGreaterThan(0)
  })
})

describe('record opener: a reused read buffer', () => {
  fcIt.prop([fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 })], { numRuns: 30 })(
    'reads copied one after another into the same buffer come out byte for byte (no pushed chunk is kept)', (readSizes) => {
      const sealer = new RecordSealer(new CipherState(KEY))
      const batches = [frames([65_536, 100, 65_536]), frames([7]), frames([30_000, 40_000])]
      const wire = Buffer.concat(batches.flatMap((b) => sealer.seal(b)))
      const opener = new RecordOpener(new CipherState(KEY))
      const readBuffer = Buffer.alloc(70_000)
      const got: Buffer[] = []
      let off = 0
      let i = 0
      while (off < wire.length) {
        const n = Math.min(readSizes[i++ % readSizes.length] as number, wire.length - off)
        wire.copy(readBuffer, 0, off, off + n)
        got.push(...opener.push(readBuffer.subarray(0, n)))
        // The next read overwrites the buffer: whatever was delivered must not change with it.
        readBuffer.fill(0xee)
        off += n
      }
      expect(Buffer.concat(got).equals(Buffer.concat(batches.flat()))).toBe(true)
      expect(opener.buffered).toBe(0)
    })

  it('holds only the unverified plaintext of the record being read, not the ciphertext', () => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const wire = Buffer.concat(sealer.seal([randomBytes(50_000)]))
    const opener = new RecordOpener(new CipherState(KEY))
    expect(opener.push(wire.subarray(0, 30_000))).toEqual([])
    // 2 header bytes + 29,998 bytes deciphered and withheld until the tag arrives.
    expect(opener.buffered).toBe(30_000)
    expect(Buffer.concat(opener.push(wire.subarray(30_000))).length).toBe(50_000)
    expect(opener.buffered).toBe(0)
  })

  it('withholds a record whose tag is wrong: nothing of it is delivered', () => {
    const sealer = new RecordSealer(new CipherState(KEY))
    const wire = Buffer.concat(sealer.seal([Buffer.from('first record')]).concat(sealer.seal([randomBytes(40_000)])))
    const bad = Buffer.from(wire)
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1
    const opener = new RecordOpener(new CipherState(KEY))
    const got: Buffer[] = []
    expect(() => { for (let off = 0; off < bad.length; off += 1000) got.push(...opener.push(bad.subarray(off, off + 1000))) })
      .toThrow(expect.objectContaining({ code: 'TUN_RECORD_AUTH' }))
    expect(Buffer.concat(got).toString()).toBe('first record')
  })
})
