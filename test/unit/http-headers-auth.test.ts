// Header lists a reverse proxy forwards, and the relay's basic-auth check.
import { describe, expect, it } from 'vitest'
import { BasicAuth, basicChallenge, parseBasicAuth } from '../../server/vhost/basic-auth.js'
import { isHeaderName, isHeaderValue } from '../../shared/http/headers.js'
import { fc, test } from '@fast-check/vitest'
import { addSet, passHead, rewriteHeaders, setHeader, setHeaders, type HeaderList, type HeaderSets } from '../../server/vhost/header-rewrite.js'
import { isHeadError, parseResponseHead } from '../../server/vhost/http1.js'

describe('headers', () => {
  const list = (raw: string[]): HeaderList => ({ raw, names: raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()) })
  const lines = (text: string): string[] => text.split('\r\n').filter((l) => l !== '').flatMap((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)])

  it('drops hop-by-hop headers and those Connection names, keeping order and spelling', () => {
    const raw = ['Host', 'a', 'Connection', 'keep-alive, X-Secret, Content-Length', 'X-Secret', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'X-Ok', '2', 'x-ok', '3', 'TE', 'trailers', 'Content-Length', '0']
    expect(lines(rewriteHeaders(list(raw), undefined, undefined))).toEqual(['Host', 'a', 'X-Ok', '2', 'x-ok', '3', 'Content-Length', '0'])
    expect(lines(rewriteHeaders(list(raw), new Set(['x-ok']), undefined))).toEqual(['Host', 'a', 'Content-Length', '0'])
  })

  it('sets replace the first header of their name in place and drop the others, or are appended in order', () => {
    const sets: HeaderSets = new Map()
    addSet(sets, 'Host', 'b')
    addSet(sets, 'X-New', 'n')
    addSet(sets, 'HOST', 'c')
    expect(lines(rewriteHeaders(list(['A', '1', 'host', 'a', 'HOST', 'z']), undefined, sets))).toEqual(['A', '1', 'host', 'c', 'X-New', 'n'])
    expect(lines(rewriteHeaders(list(['A', '1']), undefined, sets, ['Transfer-Encoding', 'chunked']))).toEqual(['A', '1', 'Transfer-Encoding', 'chunked', 'Host', 'c', 'X-New', 'n'])
  })

  /** The stepwise rules rewriteHeaders does in one pass: drop, push the extras, then set header by header. */
  function stepwise (raw: string[], drop: Set<string>, extra: string[], sets: Array<[string, string]>): string[] {
    const listed = new Set<string>()
    for (let i = 0; i < raw.length; i += 2) {
      if ((raw[i] as string).toLowerCase() !== 'connection') continue
      for (const t of (raw[i + 1] as string).split(',')) {
        const n = t.trim().toLowerCase()
        if (n !== '' && !['content-length', 'transfer-encoding', 'host'].includes(n)) listed.add(n)
      }
    }
    const hop = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']
    let out: string[] = []
    for (let i = 0; i < raw.length; i += 2) {
      const lower = (raw[i] as string).toLowerCase()
      if (!hop.includes(lower) && !listed.has(lower) && !drop.has(lower)) out.push(raw[i] as string, raw[i + 1] as string)
    }
    out.push(...extra)
    for (const [name, value] of sets) out = setHeader(out, name, value)
    return out
  }

  const names = fc.constantFrom('Host', 'host', 'X-A', 'x-a', 'Connection', 'Keep-Alive', 'Transfer-Encoding', 'Expect', 'Authorization', 'X-Forwarded-For', 'Upgrade', 'TE')
  const values = fc.constantFrom('1', 'close', 'x-a', 'keep-alive, X-A', 'chunked', 'Host', '')
  const pairs = fc.array(fc.tuple(names, values), { maxLength: 8 })

  test.prop([pairs, fc.subarray(['expect', 'authorization', 'x-a']), pairs, fc.array(fc.tuple(names, values), { maxLength: 2 })])(
    'gives the same headers, in the same order and spelling, as dropping, pushing and setting step by step', (headers, drop, sets, extra) => {
      const raw = headers.flat()
      const map: HeaderSets = new Map()
      for (const [n, v] of sets) addSet(map, n, v)
      const want = stepwise(raw, new Set(drop), extra.flat(), sets)
      expect(lines(rewriteHeaders(list(raw), new Set(drop), map, extra.flat()))).toEqual(want)
    })

  test.prop([pairs])(
    'passHead gives the bytes of the head written anew without hop-by-hop headers, cut from the head as it came', (headers) => {
      const text = `HTTP/1.1 200 OK\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}`
      const res = parseResponseHead(text)
      if (isHeadError(res)) return
      const head = Buffer.from(`${text}\r\n`, 'latin1')
      const passed = passHead(head, res)
      expect(passed.toString('latin1')).toBe(`HTTP/1.1 200 OK\r\n${rewriteHeaders(res, undefined, undefined)}\r\n`)
      // Nothing to drop: the very bytes, not a copy.
      if (passed.length === head.length) expect(passed).toBe(head)
    })

  it('setHeader replaces every spelling at the first place, or appends', () => {
    expect(setHeader(['a', '1', 'B', '2', 'b', '3', 'c', '4'], 'B', 'x')).toEqual(['a', '1', 'B', 'x', 'c', '4'])
    expect(setHeader(['a', '1'], 'X-New', 'v')).toEqual(['a', '1', 'X-New', 'v'])
    expect(setHeaders(['a', '1'], { a: '2', b: '3' })).toEqual(['a', '2', 'b', '3'])
  })

  it('header names are tokens and values have no line breaks', () => {
    expect(isHeaderName('X-Custom_1')).toBe(true)
    expect(isHeaderName('Bad Name')).toBe(false)
    expect(isHeaderName('')).toBe(false)
    expect(isHeaderValue('a\tb')).toBe(true)
    expect(isHeaderValue('a\r\nInjected: 1')).toBe(false)
    expect(isHeaderValue('a\0')).toBe(false)
  })
})

describe('basic auth', () => {
  const header = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`

  it('parses user and password (the password may hold colons)', () => {
    expect(parseBasicAuth(header('u:p:q'))).toEqual({ user: 'u', password: 'p:q' })
    expect(parseBasicAuth(`basic   ${Buffer.from('u:').toString('base64')}`)).toEqual({ user: 'u', password: '' })
    expect(parseBasicAuth('Bearer abc')).toBeUndefined()
    expect(parseBasicAuth(header('nocolon'))).toBeUndefined()
    expect(parseBasicAuth(undefined)).toBeUndefined()
    expect(parseBasicAuth(`Basic ${'A'.repeat(5000)}`)).toBeUndefined()
  })

  it('accepts exactly the configured user and password', () => {
    const auth = new BasicAuth('alice', 'pw')
    expect(auth.check(header('alice:pw'))).toBe(true)
    expect(auth.check(header('alice:pw2'))).toBe(false)
    expect(auth.check(header('bob:pw'))).toBe(false)
    expect(auth.check(undefined)).toBe(false)
    expect(new BasicAuth('', '').check(header(':'))).toBe(true)
  })

  it('never shows the password', () => {
    const auth = new BasicAuth('alice', 'hunter2')
    expect(JSON.stringify({ auth })).not.toContain('hunter2')
    expect(basicChallenge('a"b.test')).toBe('Basic realm="ab.test", charset="UTF-8"')
  })
})
