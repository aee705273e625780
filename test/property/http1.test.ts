// The vhost fast path's HTTP/1.1 framing (server/vhost/http1.ts): heads found wherever the bytes
// are cut, the same head parsed the same way, chunked bodies followed to their exact end however
// they are split (with extensions and trailers), and every smuggling shape refused.
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { ChunkedScanner, headEnd, isHeadError, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES, parseRequestHead, parseResponseHead, type RequestHead } from '../../server/vhost/http1.js'

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/)
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/)
const headerList = fc.array(fc.tuple(token, value), { maxLength: 8 }).map((pairs) => pairs.filter(([n]) => !['content-length', 'transfer-encoding', 'host'].includes(n.toLowerCase())))

/** A chunked body: the chunks' data, each cut into pieces, with extensions and trailers. */
function chunkedBody (chunks: readonly Buffer[], ext: string, trailers: ReadonlyArray<[string, string]>): Buffer {
  const parts: Buffer[] = []
  for (const c of chunks) {
    if (c.length === 0) continue
    parts.push(Buffer.from(`${c.length.toString(16)}${ext}\r\n`), c, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from(`0${ext}\r\n`))
  for (const [n, v] of trailers) parts.push(Buffer.from(`${n}: ${v}\r\n`))
  parts.push(Buffer.from('\r\n'))
  return Buffer.concat(parts)
}

/** Feeds `bytes` to a fresh scanner in pieces cut at `cuts`; returns how many it took and its state. */
function scan (bytes: Buffer, cuts: readonly number[]): { taken: number, done: boolean, error: string | undefined } {
  const s = new ChunkedScanner()
  let taken = 0
  let at = 0
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (cut <= at) continue
    const piece = bytes.subarray(at, cut)
    const n = s.feed(piece)
    taken += n
    at = cut
    if (n < piece.length || s.done || s.error !== undefined) break
  }
  return { taken, done: s.done, error: s.error }
}

describe('request heads', () => {
  test.prop([fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), fc.stringMatching(/^\/[a-z0-9/._~%-]{0,30}$/), headerList, fc.integer({ min: 0, max: 1e9 })])(
    'parses what it is given, name for name, and finds the head wherever the bytes are cut', (method, path, pairs, length) => {
      const raw = ['Host', 'a.example.test', ...pairs.flat(), 'Content-Length', String(length)]

      const bytes = Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: a.example.test\r\n${pairs.map(([n, v]) => `${n}:  ${v} \r\n`).join('')}Content-Length: ${length}\r\n\r\nBODY`, 'latin1')
      const end = headEnd(bytes)
      expect(bytes.subarray(end).toString()).toBe('BODY')
      // Every cut before the blank line: not yet a head.
      for (let cut = 0; cut < end; cut++) expect(headEnd(bytes.subarray(0, cut))).toBe(-1)
      const head = parseRequestHead(bytes.toString('latin1', 0, end - 4)) as RequestHead
      expect(isHeadError(head)).toBe(false)
      expect(head).toMatchObject({ method, target: path, minor: 1, raw, contentLength: length, chunked: false })
    })

  it('refuses each smuggling shape and malformed line', () => {
    const refused = (head: string): string | undefined => {
      const r = parseRequestHead(head)
      return isHeadError(r) ? r.error : undefined
    }
    const base = 'POST / HTTP/1.1\r\nHost: a.test'
    expect(refused(`${base}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked`)).toMatch(/both Content-Length and Transfer-Encoding/)
    expect(refused(`${base}\r\nContent-Length: 5\r\nContent-Length: 5`)).toMatch(/more than one Content-Length/)
    expect(refused(`${base}\r\nContent-Length: 5, 5`)).toMatch(/not a number/)
    expect(refused(`${base}\r\nContent-Length: +5`)).toMatch(/not a number/)
    expect(refused(`${base}\r\nContent-Length: 1234567890123456`)).toMatch(/not a number/)
    expect(refused(`${base}\r\nTransfer-Encoding: chunked, gzip`)).toMatch(/not the last/)
    expect(refused(`${base}\r\nTransfer-Encoding: gzip`)).toMatch(/not chunked/)
    expect(refused(`${base}\r\nTransfer-Encoding: x chunked`)).toMatch(/not a list of codings/)
    expect(refused(`${base}\r\nX-A: 1\r\n folded`)).toMatch(/obs-fold/)
    expect(refused(`${base}\r\nX-A: 1\r\n\tfolded`)).toMatch(/obs-fold/)
    expect(refused(`${base}\r\nX-A : 1`)).toMatch(/not a token/)
    expect(refused(`${base}\r\nX-A: 1\nX-B: 2`)).toMatch(/bare LF/)
    expect(refused(`${base}\r\nX-A: a\u0000b`)).toMatch(/control character/)
    expect(refused(`${base}\r\nX-A: a\rb`)).toMatch(/control character/)
    expect(refused(`${base}\r\n: x`)).toMatch(/without a name/)
    expect(refused('GET  / HTTP/1.1')).toMatch(/method target version/)
    expect(refused('GET / HTTP/2.0')).toMatch(/not HTTP\/1\.0 or HTTP\/1\.1/)
    expect(refused('GET /a\u0001b HTTP/1.1')).toMatch(/control characters/)
    expect(refused('G(T / HTTP/1.1')).toMatch(/not a token/)
    expect(refused('POST / HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: chunked')).toMatch(/HTTP\/1\.0 request/)
    expect(refused(`${base}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked`)).toMatch(/not the last/)
    expect(refused(`${base}\r\nTransfer-Encoding: chunked`)).toBeUndefined()
    expect(refused(`${base}\r\nTransfer-Encoding: gzip, chunked`)).toBeUndefined()
  })

  it('reads the Connection tokens and the framing of a response, where Transfer-Encoding wins over Content-Length', () => {
    const r = parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop')
    expect(r).toMatchObject({ status: 200, reason: 'OK', chunked: true, contentLength: 3, connection: new Set(['keep-alive', 'x-hop']) })
    expect(parseResponseHead('HTTP/1.1 204')).toMatchObject({ status: 204, reason: '' })
    expect(isHeadError(parseResponseHead('HTTP/1.1 20 OK'))).toBe(true)
    expect(isHeadError(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2'))).toBe(true)
  })
})

/**
 * The head parser as first written (split, regular expressions), kept as the specification the
 * one-pass parser in http1.ts must match: the same heads accepted, the same pairs read.
 */
function referenceFields (text: string): { first: string, raw: string[] } | undefined {
  if (/(^|[^\r])\n/.test(text)) return undefined
  const lines = text.split('\r\n')
  const raw: string[] = []
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) return undefined
    const colon = line.indexOf(':')
    if (colon <= 0) return undefined
    const name = line.slice(0, colon)
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return undefined
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) return undefined
    raw.push(name, value)
  }
  return { first: lines[0] ?? '', raw }
}

describe('the one-pass head parser', () => {
  /** Header lines from pieces that include every character the checks care about. */
  const piece = fc.constantFrom('a', 'X-Y', 'Host', ':', ' ', '\t', '\r', '\n', '\r\n', '\u0000', '\u007f', '\u00e9', 'v', '1', ',', ';', '"')
  const loose = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''))
  /** Mostly `name: value` with one odd character somewhere, so the value checks are reached often. */
  const shaped = fc.tuple(fc.array(piece, { maxLength: 3 }), fc.constantFrom('X-Y', 'a'), fc.array(piece, { maxLength: 4 }))
    .map(([odd, name, value]) => `${name}${odd.length > 1 ? odd.join('') : ''}:${value.join('')}`)
  const line = fc.oneof(loose, shaped)

  test.prop([fc.array(line, { maxLength: 6 })], { numRuns: 2000 })(
    'accepts and refuses the same heads as the regular-expression parser, and reads the same headers', (lines) => {
      const text = ['GET / HTTP/1.1', ...lines].join('\r\n')
      const want = referenceFields(text)
      const got = parseRequestHead(text)
      if (want === undefined) {
        expect(isHeadError(got)).toBe(true)
        return
      }
      // The reference stops at the header lines; the request line and framing checks come after.
      if (isHeadError(got)) {
        expect(got.error).not.toMatch(/bare LF|obs-fold|without a name|header name|control character in a header/)
        return
      }
      expect(got.raw).toEqual(want.raw)
      expect(got.names).toEqual(want.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()))
    })
})

describe('chunked bodies', () => {
  test.prop([
    fc.array(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { maxLength: 6 }),
    fc.constantFrom('', ';a=b', ';name="q;x"', ' ;x'),
    fc.array(fc.tuple(token, value), { maxLength: 3 }),
    fc.array(fc.nat({ max: 4000 }), { maxLength: 12 }),
    fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  ])('ends exactly at the end of the body however it is split, leaving what follows', (chunks, ext, trailers, cuts, after) => {
    const body = chunkedBody(chunks, ext, trailers)
    const r = scan(Buffer.concat([body, after]), cuts)
    expect(r.error).toBeUndefined()
    expect(r.done).toBe(true)
    expect(r.taken).toBe(body.length)
  })

  test.prop([fc.array(fc.uint8Array({ minLength: 1, maxLength: 50 }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 4 }), fc.nat()])(
    'split at every byte, a body is followed one byte at a time to its end', (chunks, seed) => {
      const body = chunkedBody(chunks, '', seed % 2 === 0 ? [] : [['X-Sum', String(seed)]])
      const s = new ChunkedScanner()
      let taken = 0
      for (let i = 0; i < body.length && !s.done; i++) taken += s.feed(body.subarray(i, i + 1))
      expect(s.error).toBeUndefined()
      expect(s.done).toBe(true)
      expect(taken).toBe(body.length)
    })

  it('refuses malformed framing instead of guessing', () => {
    const bad = (text: string | Buffer): string | undefined => {
      const s = new ChunkedScanner()
      s.feed(typeof text === 'string' ? Buffer.from(text, 'latin1') : text)
      return s.error
    }
    expect(bad('x\r\n')).toMatch(/not hex/)
    expect(bad('\r\n')).toMatch(/not hex/)
    expect(bad('-1\r\n')).toMatch(/not hex/)
    expect(bad('3\nabc\r\n')).toMatch(/other characters/)
    expect(bad('3\r\nabcd\r\n')).toMatch(/longer than its size/)
    expect(bad('3\r\nabc\rX')).toMatch(/without CRLF/)
    expect(bad('3;a\u0001\r\n')).toMatch(/control character/)
    expect(bad('1'.repeat(14) + '\r\n')).toMatch(/too large/)
    expect(bad('1;' + 'a'.repeat(MAX_CHUNK_LINE_BYTES) + '\r\n')).toMatch(/too long/)
    expect(bad('0\r\nX-A: 1\nX')).toMatch(/bare LF/)
    expect(bad('0\r\nX-A: 1\r\n folded\r\n\r\n')).toMatch(/obs-fold/)
    expect(bad(`0\r\nX-A: ${'a'.repeat(MAX_TRAILER_BYTES)}\r\n\r\n`)).toMatch(/trailers too large/)
    expect(bad('0\r\n\r\n')).toBeUndefined()
  })
})
