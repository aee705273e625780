// The mux's write path over the record layer (issue 21, encrypted bulk): DATA frames end where
// records end, so a batch of bulk data is sealed into whole records (no short record after every
// batch, each of which costs a cipher on both sides), and payloads reach the wire as views of
// the buffers the stream was given, not copies. Over a plain wire frames stay 64 KiB.
import { afterEach, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { silentLogger } from '../../shared/log.js'
import { Session } from '../../shared/mux/session.js'
import { CipherState } from '../../shared/transport/noise.js'
import { MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer } from '../../shared/transport/record.js'
import { encodeHeader, Flag, FrameType, HEADER_BYTES, MAX_DATA_BYTES } from '../../shared/wire/frame.js'
import { FakeWire, turn } from '../helpers/fake-wire.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }
const KEY = randomBytes(32)

class RecordFakeWire extends FakeWire {
  readonly recordBytes = MAX_RECORD_PLAINTEXT
}

let sessions: Session[] = []
afterEach(() => {
  for (const s of sessions) s.close()
  sessions = []
})

/** Writes `chunks` into one stream and lets the session flush batch by batch until all left; returns the data batches. */
async function pump (wire: FakeWire, chunks: Buffer[]): Promise<Buffer[][]> {
  const s = new Session(wire, { role: 'server', logger: silentLogger() })
  sessions.push(s)
  await turn() // the ping every session sends at once
  const pingBatches = wire.batches.length
  const stream = s.openStream(open)
  // Credit for everything: the send budget, not the window, ends each batch.
  wire.receive(encodeHeader(FrameType.WINDOW_UPDATE, 0, stream.id, 64 * 1024 * 1024))
  for (const c of chunks) stream.write(c)
  const total = chunks.reduce((n, c) => n + c.length, 0)
  let sent = 0
  for (let i = 0; i < 200 && sent < total; i++) {
    const before = wire.batches.length
    wire.drain()
    await turn()
    for (const f of wire.frames(before)) {
      if (f.h.type !== FrameType.DATA || (f.h.flags & Flag.SYN) !== 0) continue
      sent += f.payload.length
    }
  }
  expect(sent).toBe(total)
  return wire.batches.slice(pingBatches)
}

function dataOf (wire: FakeWire): Buffer {
  return Buffer.concat(wire.frames().filter((f) => f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0).map((f) => f.payload))
}

describe('mux frames over records', () => {
  it('a bulk batch of 64 KiB writes is sealed into whole records: one record per 65,519 bytes, none short but the last', async () => {
    const wire = new RecordFakeWire({ busyAfterWrite: true })
    const chunks = Array.from({ length: 24 }, () => randomBytes(64 * 1024))
    const batches = await pump(wire, chunks)
    expect(dataOf(wire).equals(Buffer.concat(chunks))).toBe(true)
    const sealer = new RecordSealer(new CipherState(KEY))
    const opener = new RecordOpener(new CipherState(KEY))
    let short = 0
    for (const [i, batch] of batches.entries()) {
      const bytes = batch.reduce((n, b) => n + b.length, 0)
      const before = sealer.records
      const sealed = sealer.seal(batch)
      expect(sealer.records - before).toBe(Math.ceil(bytes / MAX_RECORD_PLAINTEXT))
      if (bytes % MAX_RECORD_PLAINTEXT !== 0) short++
      // Every batch but the last (the stream's tail) is whole records.
      if (i < batches.length - 1) expect(bytes % MAX_RECORD_PLAINTEXT).toBe(0)
      expect(Buffer.concat(sealed.flatMap((b) => opener.push(b))).equals(Buffer.concat(batch))).toBe(true)
    }
    expect(short).toBeLessThanOrEqual(1)
    // A frame holds at most one record's worth: header and payload fill a record exactly.
    for (const f of wire.frames()) {
      if (f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0) expect(f.payload.length).toBeLessThanOrEqual(MAX_RECORD_PLAINTEXT - HEADER_BYTES)
    }
  })

  it('large payload pieces go to the wire as views of the written buffers, never copied', async () => {
    const wire = new RecordFakeWire({ busyAfterWrite: true })
    const chunks = Array.from({ length: 6 }, () => randomBytes(64 * 1024))
    const batches = await pump(wire, chunks)
    const sources = new Set<ArrayBufferLike>(chunks.map((c) => c.buffer))
    const large = batches.flat().filter((b) => b.length >= 4096)
    expect(large.length).toBeGreaterThanOrEqual(chunks.length)
    for (const b of large) expect(sources.has(b.buffer)).toBe(true)
  })

  it('small writes queued together still leave as one copied payload', async () => {
    const wire = new RecordFakeWire({ busyAfterWrite: true })
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.from(`key ${i};`))
    await pump(wire, chunks)
    const frames = wire.frames().filter((f) => f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0)
    expect(frames).toHaveLength(1)
    expect(frames[0]?.payload.toString()).toBe(chunks.join(''))
  })

  it('over a plain wire (no records) DATA frames are 64 KiB as before', async () => {
    const wire = new FakeWire({ busyAfterWrite: true })
    const chunks = Array.from({ length: 4 }, () => randomBytes(64 * 1024))
    await pump(wire, chunks)
    const sizes = wire.frames().filter((f) => f.h.type === FrameType.DATA && (f.h.flags & Flag.SYN) === 0).map((f) => f.payload.length)
    expect(sizes).toEqual([MAX_DATA_BYTES, MAX_DATA_BYTES, MAX_DATA_BYTES, MAX_DATA_BYTES])
    expect(dataOf(wire).equals(Buffer.concat(chunks))).toBe(true)
  })
})
