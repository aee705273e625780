// Reads through one shared buffer and pooled blocks (shared/mux/read-pool.ts): every read is
// copied out before the next one overwrites the shared buffer, a pooled block is reused only
// once every byte copied into it was released, and the mux releases bytes only when the wire
// has copied them (an encrypted wire seals them; a plaintext one keeps references).
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../shared/log.js'
import { copyRead, POOLED_READ_MIN_BYTES, PooledReader, READ_BUFFER_BYTES, readPoolStats, releaseRead } from '../../shared/mux/read-pool.js'
import { Session } from '../../shared/mux/session.js'
import type { Wire } from '../../shared/mux/wire.js'

const LARGE = POOLED_READ_MIN_BYTES + 1000
const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }

/** Fills the shared read buffer with `byte` and delivers `n` bytes of it, as net does for one read. */
function read (reader: PooledReader, byte: number, n: number): void {
  const buffer = reader.onread.buffer as Buffer
  buffer.fill(byte, 0, n)
  reader.onread.callback(n, buffer)
}

/** A wire that records what it is given: by reference (as a plaintext socket does) or as copies (as sealing does). */
function recordingWire (copies: boolean): Wire & { written: Buffer[] } {
  const written: Buffer[] = []
  return {
    written,
    copiesOnWrite: copies,
    write (chunks) { for (const c of chunks) written.push(copies ? Buffer.from(c) : c) },
    pendingBytes: () => 0,
    takenBytes: () => 0,
    onData () {},
    onDrain () {},
    onClose () {},
    pauseReading () {},
    resumeReading () {},
    close () {},
  }
}

const sessions: Session[] = []
afterEach(() => { for (const s of sessions.splice(0)) s.close() })

function session (wire: Wire): Session {
  const s = new Session(wire, { role: 'server', logger: silentLogger() })
  sessions.push(s)
  return s
}

async function nextTurn (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}

describe('a pooled reader', () => {
  it('keeps every read intact when the next read overwrites the shared buffer', () => {
    const reader = new PooledReader()
    const chunks: Buffer[] = []
    read(reader, 0x11, 100) // before attach: kept for it
    reader.attach((chunk) => { chunks.push(chunk) })
    read(reader, 0x22, LARGE)
    read(reader, 0x33, READ_BUFFER_BYTES)
    read(reader, 0x44, 7)
    expect(chunks.map((c) => c.length)).toEqual([100, LARGE, READ_BUFFER_BYTES, 7])
    expect(chunks.map((c) => c.every((b) => b === c[0]) ? c[0] : -1)).toEqual([0x11, 0x22, 0x33, 0x44])
    for (const c of chunks) expect(c.buffer).not.toBe((reader.onread.buffer as Buffer).buffer)
  })

  it('shares one read buffer between every socket of the process', () => {
    expect(new PooledReader().onread.buffer).toBe(new PooledReader().onread.buffer)
  })
})

describe('the read pool', () => {
  it('reuses a block only after every byte copied into it was released', () => {
    const src = Buffer.alloc(LARGE, 0xaa)
    const first = copyRead(src, LARGE)
    const head = first.subarray(0, 1000)
    const tail = first.subarray(1000)
    releaseRead(head)
    // Half released: the block is still in use, so the next copy goes elsewhere.
    const second = copyRead(Buffer.alloc(LARGE, 0xbb), LARGE)
    expect(second.buffer).not.toBe(first.buffer)
    expect(tail.every((b) => b === 0xaa)).toBe(true)
    releaseRead(tail)
    releaseRead(second)
    const reusedBefore = readPoolStats.blocksReused
    const third = copyRead(Buffer.alloc(LARGE, 0xcc), LARGE)
    expect(readPoolStats.blocksReused).toBe(reusedBefore + 1)
    expect([first.buffer, second.buffer]).toContain(third.buffer)
    releaseRead(third)
  })

  it('copies small reads into ordinary buffers, which releasing ignores', () => {
    const small = copyRead(Buffer.alloc(100, 1), 100)
    const before = { ...readPoolStats }
    releaseRead(small)
    releaseRead(Buffer.alloc(LARGE))
    expect(readPoolStats).toEqual(before)
  })
})

describe('a mux session and pooled reads', () => {
  it('never reuses a block whose bytes a plaintext wire still holds', async () => {
    const wire = recordingWire(false)
    const stream = session(wire).openStream(open)
    const sent = copyRead(Buffer.alloc(LARGE, 0x5a), LARGE)
    stream.write(sent)
    await nextTurn()
    expect(wire.written.some((c) => c.buffer === sent.buffer)).toBe(true)
    // Many more reads later, the bytes the wire holds are still the ones written.
    for (let i = 0; i < 40; i++) releaseRead(copyRead(Buffer.alloc(LARGE, i), LARGE))
    expect(sent.every((b) => b === 0x5a)).toBe(true)
  })

  it('returns the blocks of bytes an encrypting wire has copied, and of bytes a reset dropped', async () => {
    const wire = recordingWire(true)
    const s = session(wire)
    const stream = s.openStream(open)
    const sent = copyRead(Buffer.alloc(LARGE, 0x77), LARGE)
    const reusedBefore = readPoolStats.blocksReused
    stream.write(sent)
    await nextTurn()
    expect(wire.written.some((c) => c.length === LARGE && c.every((b) => b === 0x77))).toBe(true)
    const next = copyRead(Buffer.alloc(LARGE, 1), LARGE)
    expect(next.buffer).toBe(sent.buffer)
    expect(readPoolStats.blocksReused).toBe(reusedBefore + 1)

    const other = s.openStream(open)
    other.write(next)
    other.reset()
    expect(copyRead(Buffer.alloc(LARGE, 2), LARGE).buffer).toBe(next.buffer)
  })

  it('returns the blocks of reads merged into one frame once they are copied together', async () => {
    const wire = recordingWire(false)
    const stream = session(wire).openStream(open)
    const a = copyRead(Buffer.alloc(POOLED_READ_MIN_BYTES, 0x01), POOLED_READ_MIN_BYTES)
    const b = copyRead(Buffer.alloc(POOLED_READ_MIN_BYTES, 0x02), POOLED_READ_MIN_BYTES)
    stream.write(a)
    stream.write(b)
    await nextTurn()
    // Even on a plaintext wire: the frame is a new buffer, the pieces are free.
    const merged = wire.written.find((c) => c.length === 2 * POOLED_READ_MIN_BYTES)
    expect(merged).toBeDefined()
    const reused = [copyRead(Buffer.alloc(LARGE, 9), LARGE).buffer, copyRead(Buffer.alloc(LARGE, 9), LARGE).buffer]
    expect(reused).toContain(a.buffer)
    expect(reused).toContain(b.buffer)
    expect(merged?.subarray(0, POOLED_READ_MIN_BYTES).every((x) => x === 0x01)).toBe(true)
    expect(merged?.subarray(POOLED_READ_MIN_BYTES).every((x) => x === 0x02)).toBe(true)
  })
})
