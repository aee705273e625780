// The tcpmux CONNECT head reader: never throws, never asks for more than its cap, gives the same
// answer however the head is cut into TCP segments, and leaves bytes after the head untouched.
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { basicCredentials, MAX_CONNECT_HEAD_BYTES, readConnectHead } from '../../server/tcpmux/index.js'

const head = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')

describe('CONNECT head', () => {
  it('reads the target host (normalised) and port, and the Proxy-Authorization credentials', () => {
    const auth = Buffer.from('alice:pa:ss').toString('base64')
    const r = readConnectHead(head(['CONNECT SSH.Example.Test.:22 HTTP/1.1', 'Host: ssh.example.test:22', `proxy-authorization:   Basic ${auth}  `, 'User-Agent: test']))
    expect(r).toEqual({ kind: 'ok', host: 'ssh.example.test', port: 22, user: 'alice', password: 'pa:ss', headBytes: r.kind === 'ok' ? r.headBytes : -1 })
    expect(readConnectHead(head(['CONNECT [::1]:2222 HTTP/1.0']))).toMatchObject({ kind: 'ok', host: '::1', port: 2222, user: undefined })
  })

  it('says `more` until the empty line, and where the head ends when bytes follow it', () => {
    const text = head(['CONNECT a.test:22 HTTP/1.1', 'Host: a.test'])
    expect(readConnectHead(text.subarray(0, text.length - 1))).toEqual({ kind: 'more' })
    const r = readConnectHead(Buffer.concat([text, Buffer.from('SSH-2.0-client\r\n')]))
    expect(r).toMatchObject({ kind: 'ok', headBytes: text.length })
  })

  it('refuses other methods (405), bad targets and lines (400), and a head past its cap (431)', () => {
    expect(readConnectHead(head(['GET / HTTP/1.1', 'Host: a.test']))).toMatchObject({ kind: 'invalid', status: 405 })
    expect(readConnectHead(head(['CONNECT a.test HTTP/1.1']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT a.test:0 HTTP/1.1']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT a.test:70000 HTTP/1.1']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT bad_host!:22 HTTP/1.1']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT a.test:22 HTTP/2.0']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT a.test:22 HTTP/1.1', 'no colon here']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(head(['CONNECT a.test:22 HTTP/1.1', 'X: a\x00b']))).toMatchObject({ kind: 'invalid', status: 400 })
    expect(readConnectHead(Buffer.alloc(MAX_CONNECT_HEAD_BYTES, 'a'))).toMatchObject({ kind: 'invalid', status: 431 })
    expect(readConnectHead(head(['CONNECT a.test:22 HTTP/1.1', `X-Pad: ${'p'.repeat(MAX_CONNECT_HEAD_BYTES)}`]))).toMatchObject({ kind: 'invalid', status: 431 })
  })

  it('reads only Basic credentials with a colon', () => {
    expect(basicCredentials(`Basic ${Buffer.from('u:').toString('base64')}`)).toEqual({ user: 'u', password: '' })
    expect(basicCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeUndefined()
    expect(basicCredentials('Bearer abc')).toBeUndefined()
    expect(basicCredentials('Basic !!!')).toBeUndefined()
  })

  test.prop([fc.uint8Array({ maxLength: MAX_CONNECT_HEAD_BYTES + 64 })])('never throws on random bytes, and answers with a status when it refuses', (bytes) => {
    const r = readConnectHead(Buffer.from(bytes))
    if (r.kind === 'invalid') expect([400, 405, 431]).toContain(r.status)
    if (bytes.length >= MAX_CONNECT_HEAD_BYTES) expect(r.kind).not.toBe('more')
  })

  test.prop([
    fc.constantFrom('a.test', 'B.example.TEST', '[2001:db8::1]'),
    fc.integer({ min: 1, max: 65535 }),
    fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 8 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(fc.nat(), { maxLength: 6 }),
  ])('gives the same answer however the bytes are cut into segments', (host, port, headers, after, cuts) => {
    const whole = Buffer.concat([head([`CONNECT ${host}:${port} HTTP/1.1`, ...headers.map(([k, v]) => `${k}: ${v.trim()}`)]), Buffer.from(after)])
    const expected = readConnectHead(whole)
    expect(expected.kind).toBe('ok')
    const points = [...new Set(cuts.map((c) => c % whole.length))].sort((a, b) => a - b)
    let buf = Buffer.alloc(0)
    let answer = readConnectHead(buf)
    for (const end of [...points, whole.length]) {
      buf = whole.subarray(0, end)
      answer = readConnectHead(buf)
      if (answer.kind !== 'more') break
    }
    expect(answer).toEqual(expected)
  })
})
