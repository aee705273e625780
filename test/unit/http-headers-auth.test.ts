// Header lists a reverse proxy forwards, and the relay's basic-auth check.
import { describe, expect, it } from 'vitest'
import { BasicAuth, basicChallenge, parseBasicAuth } from '../../server/vhost/basic-auth.js'
import { isHeaderName, isHeaderValue } from '../../shared/http/headers.js'
import { appendForwardedFor, endToEnd, setHeader, setHeaders } from '../../server/vhost/header-rewrite.js'

describe('headers', () => {
  it('drops hop-by-hop headers and those Connection names, keeping order and spelling', () => {
    const raw = ['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'X-Secret', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'X-Ok', '2', 'x-ok', '3', 'TE', 'trailers']
    expect(endToEnd(raw)).toEqual(['Host', 'a', 'X-Ok', '2', 'x-ok', '3'])
    expect(endToEnd(raw, new Set(['x-ok']))).toEqual(['Host', 'a'])
  })

  it('setHeader replaces every spelling at the first place, or appends', () => {
    expect(setHeader(['a', '1', 'B', '2', 'b', '3', 'c', '4'], 'B', 'x')).toEqual(['a', '1', 'B', 'x', 'c', '4'])
    expect(setHeader(['a', '1'], 'X-New', 'v')).toEqual(['a', '1', 'X-New', 'v'])
    expect(setHeaders(['a', '1'], { a: '2', b: '3' })).toEqual(['a', '2', 'b', '3'])
  })

  it('X-Forwarded-For appends the visitor to every earlier value', () => {
    expect(appendForwardedFor([], '1.2.3.4')).toBe('1.2.3.4')
    expect(appendForwardedFor(['X-Forwarded-For', '9.9.9.9, 8.8.8.8', 'x-forwarded-for', ' 7.7.7.7 '], '1.2.3.4')).toBe('9.9.9.9, 8.8.8.8, 7.7.7.7, 1.2.3.4')
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
