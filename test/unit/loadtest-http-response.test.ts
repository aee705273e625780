import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { HttpParseError, HttpResponseReader } from '../../loadtest/http-response.js'

const responses = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n',
  'HTTP/1.1 204 No Content\r\n\r\n',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
]
const stream = Buffer.from(responses.join(''), 'latin1')

function readAll (chunks: Buffer[]): Array<{ status: number, keepAlive: boolean, bodyBytes: number }> {
  const r = new HttpResponseReader()
  return chunks.flatMap((c) => r.push(c))
}

const EXPECTED = [
  { status: 200, keepAlive: true, bodyBytes: 5 },
  { status: 503, keepAlive: true, bodyBytes: 0 },
  { status: 200, keepAlive: true, bodyBytes: 11 },
  { status: 204, keepAlive: true, bodyBytes: 0 },
  { status: 200, keepAlive: false, bodyBytes: 2 },
]

describe('HTTP response reader', () => {
  it('frames responses by Content-Length, chunked encoding, no body (204) and skips 1xx', () => {
    expect(readAll([stream])).toEqual(EXPECTED)
  })

  it('gives the same responses whatever the split into chunks, one byte at a time included', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]))
    expect(readAll(bytes)).toEqual(EXPECTED)
  })

  test.prop([fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 })])('any split points give the same responses', (cuts) => {
    const points = [...new Set(cuts)].sort((a, b) => a - b)
    const chunks: Buffer[] = []
    let at = 0
    for (const p of [...points, stream.length]) {
      if (p > at) chunks.push(stream.subarray(at, p))
      at = p
    }
    expect(readAll(chunks)).toEqual(EXPECTED)
  })

  it('completes a response framed by the end of the connection, and refuses one cut short', () => {
    const r = new HttpResponseReader()
    expect(r.push(Buffer.from('HTTP/1.0 200 OK\r\n\r\nbody until close'))).toEqual([])
    expect(r.end()).toEqual({ status: 200, keepAlive: false, bodyBytes: 16 })
    const cut = new HttpResponseReader()
    cut.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
    expect(() => cut.end()).toThrow(HttpParseError)
  })

  it('throws HttpParseError on what is not HTTP, and never anything else on random bytes', () => {
    expect(() => new HttpResponseReader().push(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(HttpParseError)
    expect(() => new HttpResponseReader().push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'))).toThrow(HttpParseError)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        new HttpResponseReader().push(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from(bytes)]))
      } catch (err) {
        expect(err).toBeInstanceOf(HttpParseError)
      }
    }))
  })
})
