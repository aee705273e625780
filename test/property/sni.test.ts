// The ClientHello reader: never throws, never asks for more than its cap, finds the name however
// the records and TCP segments are cut, and refuses non-TLS at the first byte. Hellos come from a
// small encoder here and from node:tls itself.
import { fc, test } from '@fast-check/vitest'
import { createServer } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { describe, expect, it } from 'vitest'
import { MAX_CLIENT_HELLO_BYTES, readClientHello } from '../../server/vhost/sni.js'

function u16 (n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
function u24 (n: number): Buffer { return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]) }
const vec16 = (b: Buffer): Buffer => Buffer.concat([u16(b.length), b])

interface HelloParts {
  name: string | undefined
  sessionId: Buffer
  suites: number
  /** Other extensions (type, data), placed around server_name. */
  before: Array<[number, Buffer]>
  after: Array<[number, Buffer]>
}

/** A ClientHello handshake message (header included). */
function helloMessage (p: HelloParts): Buffer {
  const ext = (type: number, data: Buffer): Buffer => Buffer.concat([u16(type), vec16(data)])
  const sni = p.name === undefined ? [] : [ext(0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(p.name, 'latin1'))])))]
  const extensions = Buffer.concat([...p.before.map(([t, d]) => ext(t, d)), ...sni, ...p.after.map(([t, d]) => ext(t, d))])
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 1),
    Buffer.from([p.sessionId.length]), p.sessionId,
    u16(p.suites * 2), Buffer.alloc(p.suites * 2, 0x13),
    Buffer.from([1, 0]),
    vec16(extensions),
  ])
  return Buffer.concat([Buffer.from([1]), u24(body.length), body])
}

/** The message cut into TLS records at the given fragment sizes. */
function records (message: Buffer, sizes: readonly number[]): Buffer {
  const out: Buffer[] = []
  let off = 0
  let i = 0
  while (off < message.length) {
    const n = Math.max(1, Math.min(sizes[i++ % Math.max(1, sizes.length)] ?? message.length, message.length - off))
    out.push(Buffer.from([22, 3, 1]), u16(n), message.subarray(off, off + n))
    off += n
  }
  return Buffer.concat(out)
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/)
const hostName = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'))
// Extension types other than server_name (0), distinct.
const otherExts = fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a))), { selector: ([t]) => t, maxLength: 6 })
const parts = fc.record({
  name: fc.option(hostName, { nil: undefined }),
  sessionId: fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)),
  suites: fc.integer({ min: 1, max: 40 }),
  exts: otherExts,
  split: fc.integer({ min: 0, max: 6 }),
}).map(({ exts, split, ...rest }): HelloParts => ({ ...rest, before: exts.slice(0, split), after: exts.slice(split) }))

describe('readClientHello', () => {
  test.prop([parts, fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 })])('finds the name however the hello is cut into records', (p, sizes) => {
    const bytes = records(helloMessage(p), sizes)
    expect(readClientHello(bytes)).toEqual({ kind: 'hello', serverName: p.name })
  })

  test.prop([parts, fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 4 })])('asks for more on every proper prefix (TCP segments cut anywhere)', (p, sizes) => {
    const bytes = records(helloMessage(p), sizes)
    for (let n = 0; n < bytes.length; n++) expect(readClientHello(bytes.subarray(0, n)).kind).toBe('more')
  })

  test.prop([fc.uint8Array({ maxLength: 4096 })])('never throws on random bytes and decides within its cap', (a) => {
    const r = readClientHello(a, 1024)
    expect(['more', 'hello', 'invalid']).toContain(r.kind)
    if (a.length >= 1024) expect(r.kind).not.toBe('more')
  })

  test.prop([parts, fc.nat(), fc.integer({ min: 0, max: 255 })])('never throws on a hello with one byte changed', (p, at, value) => {
    const bytes = records(helloMessage(p), [])
    bytes[at % bytes.length] = value
    const r = readClientHello(bytes)
    expect(['more', 'hello', 'invalid']).toContain(r.kind)
  })

  it('refuses plain HTTP and other protocols at the first byte', () => {
    expect(readClientHello(Buffer.from('G'))).toEqual({ kind: 'invalid', reason: 'not a TLS handshake' })
    expect(readClientHello(Buffer.from([0x80]))).toMatchObject({ kind: 'invalid' })
    expect(readClientHello(Buffer.from([22, 2]))).toMatchObject({ kind: 'invalid', reason: 'not TLS 1.x' })
    expect(readClientHello(Buffer.alloc(0))).toEqual({ kind: 'more' })
  })

  it('refuses a hello longer than its cap as soon as the lengths say so', () => {
    expect(readClientHello(Buffer.from([22, 3, 1, 0x40, 0x01]))).toMatchObject({ kind: 'invalid', reason: 'record length 16385' })
    const huge = Buffer.concat([Buffer.from([22, 3, 1]), u16(4), Buffer.from([1]), u24(MAX_CLIENT_HELLO_BYTES)])
    expect(readClientHello(huge)).toMatchObject({ kind: 'invalid' })
    // 1-byte records would take 6 bytes each: a hello cannot finish within the cap.
    const tiny = records(helloMessage({ name: 'a.test', sessionId: Buffer.alloc(0), suites: 1, before: [[7, Buffer.alloc(3000)]], after: [] }), [1])
    expect(readClientHello(tiny)).toMatchObject({ kind: 'invalid' })
  })

  it('refuses a second host name, a name with spaces, and a repeated extension', () => {
    const two = helloMessage({ name: undefined, sessionId: Buffer.alloc(0), suites: 1, before: [[0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from('a.test')), Buffer.from([0]), vec16(Buffer.from('b.test'))]))]], after: [] })
    expect(readClientHello(records(two, []))).toMatchObject({ kind: 'invalid', reason: 'two host names' })
    expect(readClientHello(records(helloMessage({ name: 'a b.test', sessionId: Buffer.alloc(0), suites: 1, before: [], after: [] }), []))).toMatchObject({ kind: 'invalid' })
    expect(readClientHello(records(helloMessage({ name: 'a.test', sessionId: Buffer.alloc(0), suites: 1, before: [[5, Buffer.alloc(1)]], after: [[5, Buffer.alloc(1)]] }), []))).toMatchObject({ kind: 'invalid', reason: 'extension 5 twice' })
  })

  it('reads the name node:tls sends, lower-cased and without a trailing dot', async () => {
    const hello = await new Promise<Buffer>((resolve, reject) => {
      const server = createServer((s) => {
        let buf = Buffer.alloc(0)
        s.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c])
          if (readClientHello(buf).kind !== 'more') { resolve(buf); s.destroy(); server.close() }
        })
      })
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port
        const c = tlsConnect({ host: '127.0.0.1', port, servername: 'Www.Example.TEST' })
        c.on('error', () => {})
      })
      server.on('error', reject)
    })
    expect(readClientHello(hello)).toEqual({ kind: 'hello', serverName: 'www.example.test' })
    for (let n = 0; n < hello.length; n += 37) expect(readClientHello(hello.subarray(0, n)).kind).toBe('more')
  })
})
