// The vhost routing table and the host/path normal forms it is keyed by.
import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { VhostRouter } from '../../server/vhost/router.js'
import { hostFromHeader, lookupOrder, normalizeDomain, normalizeHostName } from '../../shared/http/host.js'
import { looseLocation, loosePath, normalizeLocation, removeDotSegments, routingPath } from '../../shared/http/path.js'

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

  it('folds case, ;params, backslashes, repeated escapes, full-width letters and trailing dots in the loose form', () => {
    expect(loosePath('/ADMIN/')).toBe('/admin/')
    expect(loosePath('/admin;jsessionid=1/x;y')).toBe('/admin/x')
    expect(loosePath('/x/..\\admin\\')).toBe('/admin/')
    expect(loosePath('/%2561dmin/')).toBe('/admin/')
    expect(loosePath('/%25252561dmin/')).toBe('/%61dmin/') // at most three rounds
    expect(loosePath('/x/..%5cadmin/')).toBe('/admin/')
    expect(loosePath('/admin.. /x/.. /y')).toBe('/admin/y')
    expect(loosePath('/\uFF41dmin/')).toBe('/admin/')
    expect(loosePath('/%25zz/')).toBe('/%zz/') // a second round that is not an escape stops
    expect(loosePath('nope')).toBeUndefined()
    expect(loosePath('/%zz')).toBeUndefined()
    expect(looseLocation('/Admin;x/')).toBe('/admin/')
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
    expect(r.claim(['a.example.com'], ['/'], 'exact', 'owner').ok).toBe(true)
    expect(r.claim(['*.example.com'], ['/'], 'wild', 'owner').ok).toBe(true)
    expect(r.claim(['*'], ['/'], 'all', 'owner').ok).toBe(true)
    expect(r.lookup('a.example.com', '/')?.target).toBe('exact')
    expect(r.lookup('b.example.com', '/')?.target).toBe('wild')
    expect(r.lookup('x.b.example.com', '/x')?.target).toBe('wild')
    expect(r.lookup('example.com', '/')?.target).toBe('all')
    expect(r.lookup('other.org', '/')?.target).toBe('all')
  })

  it('takes the longest matching location; a domain whose locations all miss falls through', () => {
    const r = new VhostRouter<string>()
    r.claim(['a.example.test'], ['/api'], 'api', 'owner')
    r.claim(['a.example.test'], ['/api/v2/'], 'v2', 'owner')
    r.claim(['*.example.test'], ['/'], 'wild', 'owner')
    expect(r.lookup('a.example.test', '/api/v2/x')?.target).toBe('v2')
    expect(r.lookup('a.example.test', '/api/v2')?.target).toBe('api')
    expect(r.lookup('a.example.test', '/apis')?.target).toBe('api') // plain prefix, as in frp
    expect(r.lookup('a.example.test', '/other')?.target).toBe('wild')
    expect(r.lookup('example.test', '/')).toBeUndefined() // *.example.test does not take example.test
    expect(r.lookup('b.org', '/')).toBeUndefined()
  })

  it('refuses a (domain, location) another target holds, claiming none of the set', () => {
    const r = new VhostRouter<string>()
    r.claim(['b.test'], ['/x'], 'first', 'owner')
    expect(r.claim(['a.test', 'b.test'], ['/x', '/y'], 'second', 'owner')).toEqual({ ok: false, reason: 'conflict', domain: 'b.test', location: '/x', holder: 'first' })
    expect(r.lookup('a.test', '/x')).toBeUndefined()
    expect(r.size).toBe(1)
    // the same owner may claim again (idempotent)
    expect(r.claim(['b.test'], ['/x'], 'first', 'owner').ok).toBe(true)
    expect(r.size).toBe(1)
  })

  it('release drops every route of one target only', () => {
    const r = new VhostRouter<string>()
    r.claim(['a.test', 'b.test'], ['/', '/x'], 'one', 'owner')
    r.claim(['c.test'], ['/'], 'two', 'owner')
    r.release('one')
    expect(r.size).toBe(1)
    expect(r.lookup('a.test', '/x')).toBeUndefined()
    expect(r.lookup('c.test', '/')?.target).toBe('two')
  })
})

describe('VhostRouter guarded routes', () => {
  it('sends a path whose loose form falls under a guarded location to it, and only then', () => {
    const r = new VhostRouter<string>()
    r.claim(['s.test'], ['/'], 'open', 'o')
    r.claim(['s.test'], ['/admin/'], 'guarded', 'o', true)
    r.claim(['s.test'], ['/Docs/'], 'docs', 'o')
    const route = (target: string): string | undefined => r.lookup('s.test', routingPath(target) ?? '', loosePath(target))?.target
    expect(route('/ADMIN/')).toBe('guarded')
    expect(route('/admin;x/')).toBe('guarded')
    expect(route('/x/..\\admin/')).toBe('guarded')
    expect(route('/admin/')).toBe('guarded')
    expect(route('/docs/')).toBe('open') // an unguarded location keeps frp's exact matching
    expect(route('/Docs/a')).toBe('docs')
    expect(route('/administrator')).toBe('open')
  })

  it('works the loose form out only when a guarded route of a candidate domain could take it, and gives the same answers lazily', () => {
    const r = new VhostRouter<string>()
    r.claim(['open.test'], ['/'], 'open', 'o')
    r.claim(['*.g.test'], ['/'], 'open-g', 'o')
    r.claim(['*.g.test'], ['/admin/'], 'guarded', 'o', true)
    let worked = 0
    const lazy = (target: string) => (): string | undefined => { worked++; return loosePath(target) }
    expect(r.lookup('open.test', '/ADMIN/', lazy('/ADMIN/'))?.target).toBe('open')
    expect(worked).toBe(0)
    expect(r.lookup('a.g.test', '/ADMIN/', lazy('/ADMIN/'))?.target).toBe('guarded')
    expect(r.lookup('a.g.test', '/x', lazy('/x'))?.target).toBe('open-g')
    expect(worked).toBe(2)
    expect(r.lookup('a.g.test', '/ADMIN/', loosePath('/ADMIN/'))?.target).toBe('guarded')
  })
})

describe('the routing form of a plain path', () => {
  test.prop([fc.array(fc.constantFrom('/', '//', 'a', 'B', '.', '..', '%2e', '%41', '%zz', '%00', '?', '#', ';', '~', '\u00e9'), { maxLength: 10 })])(
    'is what decoding, merging slashes and resolving dot segments give, shortcut or not', (pieces) => {
      const target = `/${pieces.join('')}`
      const end = target.search(/[?#]/)
      const path = end < 0 ? target : target.slice(0, end)
      let want: string | undefined
      try {
        const decoded = decodeURIComponent(path)
        want = decoded.includes('\0') ? undefined : removeDotSegments(decoded.replace(/\/{2,}/g, '/'))
      } catch {
        want = undefined
      }
      expect(routingPath(target)).toBe(want)
    })
})

describe('VhostRouter ownership', () => {
  it('refuses another owner any location of a domain it does not own, and a wildcard owns only itself', () => {
    const r = new VhostRouter<string>()
    expect(r.claim(['b.test'], ['/'], 'bob-site', 'bob').ok).toBe(true)
    expect(r.claim(['b.test'], ['/login'], 'eve-grab', 'eve')).toEqual({ ok: false, reason: 'owned', domain: 'b.test' })
    expect(r.claim(['e.test', 'b.test'], ['/'], 'eve-both', 'eve')).toMatchObject({ ok: false, reason: 'owned' })
    expect(r.lookup('e.test', '/')).toBeUndefined() // nothing of a refused claim is kept
    // The owner's other proxy may add locations (and is refused only a pair it already serves).
    expect(r.claim(['b.test'], ['/api/'], 'bob-api', 'bob').ok).toBe(true)
    expect(r.claim(['b.test'], ['/api/'], 'bob-api2', 'bob')).toMatchObject({ ok: false, reason: 'conflict', holder: 'bob-api' })
    expect(r.lookup('b.test', '/api/x')?.target).toBe('bob-api')
    expect(r.lookup('b.test', '/login')?.target).toBe('bob-site')
    // A more specific name than someone's wildcard is another domain (frp's rule).
    expect(r.claim(['*.w.test'], ['/'], 'bob-wild', 'bob').ok).toBe(true)
    expect(r.claim(['x.w.test'], ['/'], 'eve-x', 'eve').ok).toBe(true)
    expect(r.lookup('x.w.test', '/')?.target).toBe('eve-x')
    expect(r.ownerOf('b.test')).toBe('bob')
    expect(r.ownerOf('nobody.test')).toBeUndefined()
  })

  it('keeps a domain reserved for its owner for the grace period after a release with reserve, and frees it at once without', () => {
    let now = 0
    const r = new VhostRouter<string>({ graceMs: 60_000, now: () => now })
    r.claim(['b.test', 'c.test'], ['/'], 'bob-1', 'bob')
    r.release('bob-1', true)
    expect(r.size).toBe(0)
    expect(r.reservedCount).toBe(2)
    expect(r.lookup('b.test', '/')).toBeUndefined()
    now = 59_999
    expect(r.claim(['b.test'], ['/x'], 'eve', 'eve')).toMatchObject({ ok: false, reason: 'owned' })
    expect(r.claim(['b.test'], ['/'], 'bob-2', 'bob').ok).toBe(true)
    expect(r.reservedCount).toBe(1) // c.test is still waiting for bob
    r.release('bob-2', false)
    expect(r.ownerOf('b.test')).toBeUndefined()
    now = 60_000
    expect(r.ownerOf('c.test')).toBeUndefined()
    expect(r.reservedCount).toBe(0)
    expect(r.domainCount).toBe(0)
    expect(r.claim(['c.test'], ['/'], 'eve', 'eve').ok).toBe(true)
  })

  it('keeps a domain as long as one of the owner\'s proxies still serves it', () => {
    const r = new VhostRouter<string>({ graceMs: 1_000, now: () => 0 })
    r.claim(['b.test'], ['/'], 'root', 'bob')
    r.claim(['b.test'], ['/api/'], 'api', 'bob')
    r.release('api')
    expect(r.ownerOf('b.test')).toBe('bob')
    expect(r.reservedCount).toBe(0)
    expect(r.lookup('b.test', '/api/x')?.target).toBe('root')
  })

  it('beyond maxReserved takes reservations from the owner holding the most, not from an owner with one', () => {
    const r = new VhostRouter<string>({ graceMs: 60_000, now: () => 0, maxReserved: 4 })
    r.claim(['bob.test'], ['/'], 'bob', 'bob')
    r.release('bob', true)
    for (let i = 0; i < 10; i++) {
      r.claim([`m${i}.test`], ['/'], `m${i}`, 'mallory')
      r.release(`m${i}`, true)
    }
    expect(r.reservedCount).toBe(4)
    expect(r.ownerOf('bob.test')).toBe('bob')
    expect(r.claim(['bob.test'], ['/'], 'grab', 'mallory')).toMatchObject({ ok: false, reason: 'owned' })
    expect(['m7', 'm8', 'm9'].map((d) => r.ownerOf(`${d}.test`))).toEqual(['mallory', 'mallory', 'mallory'])
    expect(r.ownerOf('m6.test')).toBeUndefined()
  })

  it('holds at most maxReserved reservations, dropping the oldest first among equals', () => {
    const r = new VhostRouter<string>({ graceMs: 60_000, now: () => 0, maxReserved: 3 })
    for (const d of ['a', 'b', 'c', 'd', 'e']) {
      r.claim([`${d}.test`], ['/'], d, `owner-${d}`)
      r.release(d, true)
    }
    expect(r.reservedCount).toBe(3)
    expect(r.ownerOf('a.test')).toBeUndefined()
    expect(r.ownerOf('b.test')).toBeUndefined()
    expect(r.ownerOf('e.test')).toBe('owner-e')
  })

  it('orders locations longest first with ties in one fixed place, however they were claimed and released', () => {
    const r = new VhostRouter<string>()
    const locations = ['/b', '/a', '/', '/abc/', '/ab', '/c', '/abd/']
    locations.forEach((l, i) => r.claim(['t.test'], [l], `p${i}`, 'o'))
    expect(r.lookup('t.test', '/abc/x')?.target).toBe('p3')
    expect(r.lookup('t.test', '/abx')?.target).toBe('p4')
    expect(r.lookup('t.test', '/a')?.target).toBe('p1')
    expect(r.lookup('t.test', '/zzz')?.target).toBe('p2')
    r.release('p4')
    r.release('p1')
    expect(r.lookup('t.test', '/abx')?.target).toBe('p2')
    expect(r.lookup('t.test', '/abd/')?.target).toBe('p6')
    expect(r.size).toBe(5)
  })
})

describe('VhostRouter users (routeByHTTPUser)', () => {
  it('tries the request user\'s routes first at each domain, then those for any user, as frp does', () => {
    const r = new VhostRouter<string>()
    expect(r.claim(['n.test'], ['/'], 'user1', 'o', false, 'user1').ok).toBe(true)
    expect(r.claim(['n.test'], ['/'], 'user2', 'o', false, 'user2').ok).toBe(true)
    expect(r.claim(['n.test'], ['/'], 'any', 'o').ok).toBe(true)
    expect(r.claim(['*.wild.test'], ['/'], 'wild-alice', 'o', false, 'alice').ok).toBe(true)
    expect(r.claim(['*'], ['/'], 'all', 'o').ok).toBe(true)
    expect(r.lookup('n.test', '/', undefined, 'user1')?.target).toBe('user1')
    expect(r.lookup('n.test', '/x', undefined, 'user2')?.target).toBe('user2')
    expect(r.lookup('n.test', '/', undefined, 'user3')?.target).toBe('any')
    expect(r.lookup('n.test', '/')?.target).toBe('any')
    // A user's route at a wildcard name only after the exact name has nothing for anyone.
    expect(r.lookup('a.wild.test', '/', undefined, 'alice')?.target).toBe('wild-alice')
    expect(r.lookup('a.wild.test', '/', undefined, 'bob')?.target).toBe('all')
    expect(r.lookup('a.wild.test', '/')?.target).toBe('all')
  })

  it('prefers the user\'s shorter location over a longer one for any user, and falls back by location within the user', () => {
    const r = new VhostRouter<string>()
    r.claim(['n.test'], ['/'], 'alice-root', 'o', false, 'alice')
    r.claim(['n.test'], ['/api/'], 'any-api', 'o')
    r.claim(['n.test'], ['/api/'], 'alice-api', 'o', false, 'alice')
    expect(r.lookup('n.test', '/api/x', undefined, 'alice')?.target).toBe('alice-api')
    expect(r.lookup('n.test', '/other', undefined, 'alice')?.target).toBe('alice-root')
    expect(r.lookup('n.test', '/api/x', undefined, 'bob')?.target).toBe('any-api')
    expect(r.lookup('n.test', '/other', undefined, 'bob')).toBeUndefined()
  })

  it('refuses a second target for one (domain, location, user), and another owner even for a new user', () => {
    const r = new VhostRouter<string>()
    r.claim(['n.test'], ['/'], 'a', 'o', false, 'alice')
    expect(r.claim(['n.test'], ['/'], 'b', 'o', false, 'alice')).toEqual({ ok: false, reason: 'conflict', domain: 'n.test', location: '/', holder: 'a' })
    expect(r.claim(['n.test'], ['/'], 'c', 'other-owner', false, 'bob')).toEqual({ ok: false, reason: 'owned', domain: 'n.test' })
    expect(r.claim(['n.test'], ['/'], 'd', 'o', false, 'bob').ok).toBe(true)
    expect(r.size).toBe(2)
  })

  it('releases one user\'s route without touching the others of the same location', () => {
    const r = new VhostRouter<string>()
    const users = ['', 'b', 'a', 'c']
    users.forEach((u) => r.claim(['n.test'], ['/', '/x/'], `t-${u}`, 'o', false, u))
    r.release('t-a')
    expect(r.lookup('n.test', '/x/1', undefined, 'a')?.target).toBe('t-')
    expect(r.lookup('n.test', '/x/1', undefined, 'b')?.target).toBe('t-b')
    expect(r.lookup('n.test', '/', undefined, 'c')?.target).toBe('t-c')
    r.release('t-')
    expect(r.lookup('n.test', '/', undefined, 'a')).toBeUndefined()
    expect(r.size).toBe(4)
  })
})
