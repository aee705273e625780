// The record layer: any chunking round-trips; one flipped bit anywhere ends the stream with
// TUN_RECORD_AUTH and never yields altered plaintext; both sides rekey in step at a lowered
// threshold; a used-up counter closes with TUN_RECORD_LIMIT; a mux session runs over it.
import { randomBytes } from 'node:crypto'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { fc, it as fcIt } from '@fast-check/vitest'
import { afterEach, describe, expect, it } from 'vitest'
import { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { Session } from '../../shared/mux/session.js'
import { CipherState } from '../../shared/transport/noise.js'
import { MAX_RECORD_BYTES, MAX_RECORD_PLAINTEXT, RecordOpener, RecordSealer, type RecordLimits } from '../../shared/transport/record.js'
import { recordWire } from '../../shared/transport/record-wire.js'

const KEY = randomBytes(32)
const pair = (limits?: RecordLimits): { sealer: RecordSealer, opener: RecordOpener } => ({
  sealer: new RecordSealer(new CipherState(KEY), limits),
  opener: new RecordOpener(new CipherState(KEY), limits),
})

/** Splits `data` at the given cut points (sorted, deduplicated, within range). */
function cut (data: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const p of [...at, data.length]) { out.push(data.subarray(prev, p)); prev = p }
  return out
}

function openAll (opener: RecordOpener, chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks.flatMap((c) => opener.push(c)))
}

describe('record layer: round trip', () => {
  fcIt.prop([
    fc.array(fc.array(fc.uint8Array({ maxLength: 70_000 }), { maxLength: 6 }), { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 30 }),
  ], { numRuns: 60 })('batches of any sizes, delivered in any chunking, come out byte for byte', (batches, points) => {
    const { sealer, opener } = pair()
    const input = batches.map((b) => b.map((x) => Buffer.from(x)))
    const wire = Buffer.concat(input.flatMap((b) => sealer.seal(b)))
    const expected = Buffer.concat(input.flat())
    expect(openAll(opener, cut(wire, points)).equals(expected)).toBe(true)
    expect(opener.records).toBe(sealer.records)
    expect(opener.buffered).toBe(0)
  })

  it('a batch becomes as few records as possible, none longer than 65,535 bytes', () => {
    const { sealer, opener } = pair()
    const frames = Array.from({ length: 8 }, (_, i) => [Buffer.alloc(12, i), randomBytes(64 * 1024)]).flat()
    const total = frames.reduce((n, f) => n + f.length, 0)
    const out = sealer.seal(frames)
    expect(sealer.records).toBe(Math.ceil(total / MAX_RECORD_PLAINTEXT))
    const wire = Buffer.concat(out)
    let at = 0
    while (at < wire.length) {
      const len = wire.readUInt16BE(at)
      expect(len).toBeLessThanOrEqual(MAX_RECORD_BYTES)
      at += 2 + len
    }
    expect(openAll(opener, [wire]).equals(Buffer.concat(frames))).toBe(true)
  })

  it('every single byte fed one at a time still decodes (header split across chunks)', () => {
    const { sealer, opener } = pair()
    const wire = Buffer.concat([...sealer.seal([Buffer.from('abc')]), ...sealer.seal([Buffer.from('defg')])])
    const out: Buffer[] = []
    for (let i = 0; i < wire.length; i++) out.push(...opener.push(wire.subarray(i, i + 1)))
    expect(Buffer.concat(out).toString()).toBe('abcdefg')
  })
})

describe('record layer: tampering', () => {
  // Three records, then filler records so a lengthened record always completes.
  const build = (): { wire: Buffer, filler: Buffer, plain: Buffer[] } => {
    const { sealer } = pair()
    const plain = [randomBytes(40), randomBytes(3000), randomBytes(70_000)]
    const wire = Buffer.concat(plain.flatMap((p) => sealer.seal([p])))
    const filler = Buffer.concat(Array.from({ length: 3 }, () => sealer.seal([randomBytes(MAX_RECORD_PLAINTEXT)])).flat())
    return { wire, filler, plain }
  }

  fcIt.prop([fc.nat(), fc.integer({ min: 0, max: 7 })], { numRuns: 300 })('one flipped bit anywhere ends the stream with TUN_RECORD_AUTH, after only intact plaintext', (pos, bit) => {
    const { wire, filler, plain } = build()
    const at = pos % wire.length
    const bad = Buffer.from(wire)
    bad[at] = (bad[at] as number) ^ (1 << bit)
    const { opener } = pair()
    const got: Buffer[] = []
    let error: unknown
    try {
      got.push(...opener.push(bad))
      got.push(...opener.push(filler))
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(TunnelError)
    expect((error as TunnelError).code).toBe('TUN_RECORD_AUTH')
    // Whatever came out is a prefix of the original, made of whole intact records.
    const out = Buffer.concat(got)
    expect(Buffer.concat(plain).subarray(0, out.length).equals(out)).toBe(true)
    expect(() => opener.push(Buffer.alloc(1))).toThrow(TunnelError)
  })

  it('a replayed, dropped or reordered record fails (implicit counters)', () => {
    const { sealer } = pair()
    const r = [0, 1, 2].map((i) => Buffer.concat(sealer.seal([Buffer.from(`record ${i}`)])))
    const [r0, r1, r2] = r as [Buffer, Buffer, Buffer]
    for (const stream of [[r0, r0], [r0, r2], [r1, r0]]) {
      const { opener } = pair()
      expect(() => stream.forEach((b) => opener.push(b))).toThrow(expect.objectContaining({ code: 'TUN_RECORD_AUTH' }))
    }
  })

  it('a record shorter than its tag is refused at once, before more bytes arrive', () => {
    const { opener } = pair()
    expect(() => opener.push(Buffer.from([0, 15]))).toThrow(expect.objectContaining({ code: 'TUN_RECORD_AUTH' }))
  })
})

describe('record layer: rekey and limits', () => {
  it('with a lowered threshold both sides rekey at the same records and stay in step', () => {
    const limits = { rekeyAfterRecords: 3, rekeyAfterBytes: 10_000, maxRecords: Number.MAX_SAFE_INTEGER }
    const { sealer, opener } = pair(limits)
    const sent: Buffer[] = []
    const got: Buffer[] = []
    for (let i = 0; i < 50; i++) {
      const batch = [randomBytes(i * 397 % 7000)]
      sent.push(...batch)
      got.push(...opener.push(Buffer.concat(sealer.seal(batch))))
    }
    expect(Buffer.concat(got).equals(Buffer.concat(sent))).toBe(true)
    expect(sealer.rekeys).toBeGreaterThan(15)
    expect(opener.rekeys).toBe(sealer.rekeys)
  })

  it('the key really changes: a receiver that does not rekey fails at the first record after the sender did', () => {
    const sealer = new RecordSealer(new CipherState(KEY), { rekeyAfterRecords: 2, rekeyAfterBytes: 2 ** 30, maxRecords: 1e9 })
    const opener = new RecordOpener(new CipherState(KEY))
    opener.push(Buffer.concat(sealer.seal([Buffer.from('one')])))
    opener.push(Buffer.concat(sealer.seal([Buffer.from('two')])))
    expect(() => opener.push(Buffer.concat(sealer.seal([Buffer.from('three')])))).toThrow(expect.objectContaining({ code: 'TUN_RECORD_AUTH' }))
  })

  it('an exhausted counter stops the sender and the receiver with TUN_RECORD_LIMIT', () => {
    const limits = { rekeyAfterRecords: 2 ** 20, rekeyAfterBytes: 2 ** 30, maxRecords: 5 }
    const { sealer, opener } = pair(limits)
    for (let i = 0; i < 5; i++) opener.push(Buffer.concat(sealer.seal([Buffer.from([i])])))
    expect(() => sealer.seal([Buffer.from('six')])).toThrow(expect.objectContaining({ code: 'TUN_RECORD_LIMIT' }))
    const other = new RecordSealer(new CipherState(KEY), { ...limits, maxRecords: 10 })
    for (let i = 0; i < 5; i++) other.seal([Buffer.from([i])])
    expect(() => opener.push(Buffer.concat(other.seal([Buffer.from('six')])))).toThrow(expect.objectContaining({ code: 'TUN_RECORD_LIMIT' }))
  })
})

// ---- over sockets ----

const open: Socket[] = []
afterEach(() => { for (const s of open.splice(0)) s.destroy() })

async function socketPair (): Promise<[Socket, Socket]> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const a = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  const b = await accepted
  server.close()
  await new Promise((resolve) => a.once('connect', resolve))
  a.pause(); b.pause()
  open.push(a, b)
  return [a, b]
}

describe('record wire', () => {
  it('carries a mux session: 4 MiB intact with the rekey threshold lowered to 16 records', async () => {
    const [a, b] = await socketPair()
    const k1 = randomBytes(32)
    const k2 = randomBytes(32)
    const limits = { rekeyAfterRecords: 16, rekeyAfterBytes: 2 ** 30, maxRecords: Number.MAX_SAFE_INTEGER }
    const wa = recordWire(a, { ciphers: { send: new CipherState(k1), recv: new CipherState(k2) }, limits })
    const wb = recordWire(b, { ciphers: { send: new CipherState(k2), recv: new CipherState(k1) }, limits })
    const logger = silentLogger()
    const client = new Session(wa, { role: 'client', logger })
    const server = new Session(wb, { role: 'server', logger })
    const payload = randomBytes(4 * 1024 * 1024)
    const received = new Promise<Buffer>((resolve) => {
      client.on('stream', (s) => {
        const parts: Buffer[] = []
        s.attach({
          data (chunk) { parts.push(chunk); s.consume(chunk.length) },
          end () { resolve(Buffer.concat(parts)) },
          drain () {},
          close () {},
        })
        s.accept()
      })
    })
    const stream = server.openStream({ proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } })
    let wake: (() => void) | undefined
    stream.attach({ data () {}, end () {}, drain () { wake?.() }, close () { wake?.() } })
    for (let off = 0; off < payload.length; off += 65536) {
      if (!stream.write(payload.subarray(off, off + 65536))) await new Promise<void>((resolve) => { wake = resolve })
    }
    stream.end()
    expect((await received).equals(payload)).toBe(true)
    const stats = wb.stats()
    expect(stats.rekeysOut).toBeGreaterThan(3)
    expect(wa.stats().rekeysIn).toBe(stats.rekeysOut)
    client.close(); server.close()
  })

  it('closes with TUN_RECORD_LIMIT when its send counter is used up', async () => {
    const [a, b] = await socketPair()
    const limits = { rekeyAfterRecords: 2 ** 20, rekeyAfterBytes: 2 ** 30, maxRecords: 3 }
    const wa = recordWire(a, { ciphers: { send: new CipherState(KEY), recv: new CipherState(KEY) }, limits })
    recordWire(b, { ciphers: { send: new CipherState(KEY), recv: new CipherState(KEY) }, limits }).onData(() => {})
    const closed = new Promise<TunnelError | undefined>((resolve) => wa.onClose(resolve))
    for (let i = 0; i < 4; i++) wa.write([Buffer.from(`record ${i}`)])
    expect((await closed)?.code).toBe('TUN_RECORD_LIMIT')
  })

  it('closes with TUN_RECORD_AUTH when the peer sends a record that does not authenticate', async () => {
    const [a, b] = await socketPair()
    const wire = recordWire(b, { ciphers: { send: new CipherState(KEY), recv: new CipherState(KEY) } })
    const closed = new Promise<TunnelError | undefined>((resolve) => wire.onClose(resolve))
    const data: Buffer[] = []
    wire.onData((d) => data.push(d))
    const bad = Buffer.concat(new RecordSealer(new CipherState(randomBytes(32))).seal([Buffer.from('forged')]))
    a.write(bad)
    const err = await closed
    expect(err?.code).toBe('TUN_RECORD_AUTH')
    expect(data).toEqual([])
  })
})
