// The vhost routing table and the host/path normal forms it is keyed by.
import { describe, expect, it } from 'vitest'
import { VhostRouter } from '../../server/vhost/router.js'
import { hostFromHeader, lookupOrder, normalizeDomain, normalizeHostName } from '../../shared/http/host.js'
import { normalizeLocation, removeDotSegments, routingPath } from '../../shared/http/path.js'

describe('host names', () => {
  it('a Host header loses its port and case, keeps IP literals', () => {
    expect(hostFromHeader('WWW.Example.COM:8080')).toBe('www.example.com')
    expect(hostFromHeader('www.example.com.')).toBe('www.example.com')
    expect(hostFromHeader('127.0.0.1:80')).toBe('127.0.0.1')
    expect(hostFromHeader('[::1]:8080')).toBe('::1')
    expect(hostFromHeader('[2001:DB8::1]')).toBe('2001:db8::1')
    expect(hostFromHeader('bücher.example')).toBe('xn--bcher-kva.example')
  })

  it('refuses what is not a host', () => {
    for (const bad of ['', 'a b', 'a/b', 'user@host', 'host:port', '[::1', '[nothex]:1', 'a..b', '-a.b', 'a'.repeat(64) + '.b', 'x'.repeat(300)]) {
      expect(hostFromHeader(bad), bad).toBeUndefined()
    }
  })

  it('a claimable domain is a host name, *.host name or *', () => {
    expect(normalizeDomain('*')).toBe('*')
    expect(normalizeDomain('*.Example.com')).toBe('*.example.com')
    expect(normalizeDomain('Example.com.')).toBe('example.com')
    for (const bad of ['*.', 'a.*.com', '**.a', '*a.com', 'http://a.com', 'a.com:80', '']) expect(normalizeDomain(bad), bad).toBeUndefined()
    expect(normalizeHostName('a_b.example')).toBe('a_b.example')
  })

  it('looks up the name, then its wildcard parents of two labels or more, then *', () => {
    expect(lookupOrder('a.b.example.com')).toEqual(['a.b.example.com', '*.b.example.com', '*.example.com', '*'])
    expect(lookupOrder('example.com')).toEqual(['example.com', '*'])
  })
})

describe('paths', () => {
  it('routes by the decoded path with slashes merged and dot segments resolved', () => {
    expect(routingPath('/a/b?x=/c')).toBe('/a/b')
    expect(routingPath('/%61dmin')).toBe('/admin')
    expect(routingPath('//admin//x')).toBe('/admin/x')
    expect(routingPath('/x/../admin')).toBe('/admin')
    expect(routingPath('/x/./y/')).toBe('/x/y/')
    expect(routingPath('/..')).toBe('/')
    expect(routingPath('http://h.test/p/q?z')).toBe('/p/q')
    expect(routingPath('*')).toBe('/')
  })

  it('refuses targets it cannot route', () => {
    expect(routingPath('nope')).toBeUndefined()
    expect(routingPath('/%zz')).toBeUndefined()
    expect(routingPath('/a%00b')).toBeUndefined()
  })

  it('removes dot segments as RFC 3986 does', () => {
    expect(removeDotSegments('/a/b/c/./../../g')).toBe('/a/g')
    expect(removeDotSegments('/mid/content=5/../6')).toBe('/mid/6')
  })

  it('normalises locations and keeps a trailing slash', () => {
    expect(normalizeLocation('')).toEqual({ location: '/' })
    expect(normalizeLocation('/api/')).toEqual({ location: '/api/' })
    expect(normalizeLocation('/a//b/../c')).toEqual({ location: '/a/c' })
    expect(normalizeLocation('api')).toEqual({ problem: 'must start with /' })
    expect(normalizeLocation('/a?b')).toMatchObject({ problem: expect.stringContaining('path only') })
  })
})

describe('VhostRouter', () => {
  it('finds exact, wildcard and catch-all routes, most specific first', () => {
    const r = new VhostRouter<string>()
    expect(r.claim(['a.example.com'], ['/'], 'exact').ok).toBe(true)
    expect(r.claim(['*.example.com'], ['/'], 'wild').ok).toBe(true)
    expect(r.claim(['*'], ['/'], 'all').ok).toBe(true)
    expect(r.lookup('a.example.com', '/')?.target).toBe('exact')
    expect(r.lookup('b.example.com', '/')?.target).toBe('wild')
    expect(r.lookup('x.b.example.com', '/x')?.target).toBe('wild')
    expect(r.lookup('example.com', '/')?.target).toBe('all')
    expect(r.lookup('other.org', '/')?.target).toBe('all')
  })

  it('takes the longest matching location; a domain whose locations all miss falls through', () => {
    const r = new VhostRouter<string>()
    r.claim(['a.example.test'], ['/api'], 'api')
    r.claim(['a.example.test'], ['/api/v2/'], 'v2')
    r.claim(['*.example.test'], ['/'], 'wild')
    expect(r.lookup('a.example.test', '/api/v2/x')?.target).toBe('v2')
    expect(r.lookup('a.example.test', '/api/v2')?.target).toBe('api')
    expect(r.lookup('a.example.test', '/apis')?.target).toBe('api') // plain prefix, as in frp
    expect(r.lookup('a.example.test', '/other')?.target).toBe('wild')
    expect(r.lookup('example.test', '/')).toBeUndefined() // *.example.test does not take example.test
    expect(r.lookup('b.org', '/')).toBeUndefined()
  })

  it('refuses a (domain, location) another target holds, claiming none of the set', () => {
    const r = new VhostRouter<string>()
    r.claim(['b.test'], ['/x'], 'first')
    expect(r.claim(['a.test', 'b.test'], ['/x', '/y'], 'second')).toEqual({ ok: false, domain: 'b.test', location: '/x', holder: 'first' })
    expect(r.lookup('a.test', '/x')).toBeUndefined()
    expect(r.size).toBe(1)
    // the same owner may claim again (idempotent)
    expect(r.claim(['b.test'], ['/x'], 'first').ok).toBe(true)
    expect(r.size).toBe(1)
  })

  it('release drops every route of one target only', () => {
    const r = new VhostRouter<string>()
    r.claim(['a.test', 'b.test'], ['/', '/x'], 'one')
    r.claim(['c.test'], ['/'], 'two')
    r.release('one')
    expect(r.size).toBe(1)
    expect(r.lookup('a.test', '/x')).toBeUndefined()
    expect(r.lookup('c.test', '/')?.target).toBe('two')
  })
})
