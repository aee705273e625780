// The tcpmux routing table (pure): host and wildcard lookup with a user's own route before the
// route for any user, one owner per domain (the client identity, or a keyed group; reserved for
// ownershipGrace after its session ended, as on the vhost ports) and one route per (domain, user)
// unless the second proxy joins its group with the group's key and credentials, all-or-nothing
// claims, and routes that go with their last member.
import { describe, expect, it } from 'vitest'
import { TunnelError } from '../../shared/errors.js'
import { TcpmuxRoutes, type TcpmuxClaim, type TcpmuxMember } from '../../server/tcpmux/index.js'

const member = (name: string): TcpmuxMember => ({ name, healthy: true, accept: () => {} })
const claim = (name: string, domains: string[], extra: Partial<TcpmuxClaim> = {}): TcpmuxClaim => ({
  name, domains, routeByHTTPUser: '', httpUser: '', httpPassword: '', group: undefined, groupKey: '', identity: `key-of-${name}`, ...extra,
})
const codeOf = (fn: () => unknown): string | undefined => {
  try { fn() } catch (err) { return err instanceof TunnelError ? err.code : 'not a TunnelError' }
  return undefined
}
const served = (routes: TcpmuxRoutes, host: string, user?: string): string | undefined => routes.lookup(host, user)?.members.pick()?.name

describe('tcpmux routes', () => {
  it('finds the host, then its wildcard parents, then *, and prefers the user\'s own route', () => {
    const r = new TcpmuxRoutes()
    r.claim(claim('exact', ['ssh.example.test']), member('exact'))
    r.claim(claim('wild', ['*.example.test']), member('wild'))
    r.claim(claim('any', ['*']), member('any'))
    // A user's own route on a domain comes from the domain's owner (here the client of 'exact').
    r.claim(claim('alice', ['ssh.example.test'], { routeByHTTPUser: 'alice', identity: 'key-of-exact' }), member('alice'))
    expect(served(r, 'ssh.example.test')).toBe('exact')
    expect(served(r, 'ssh.example.test', 'alice')).toBe('alice')
    expect(served(r, 'ssh.example.test', 'bob')).toBe('exact')
    expect(served(r, 'db.example.test')).toBe('wild')
    expect(served(r, 'elsewhere.test')).toBe('any')
    expect(r.size).toBe(4)
  })

  it('refuses a second owner of a domain, and claims none of a proxy\'s domains when one is taken', () => {
    const r = new TcpmuxRoutes()
    r.claim(claim('a', ['a.test']), member('a'))
    expect(codeOf(() => r.claim(claim('b', ['b.test', 'a.test']), member('b')))).toBe('TUN_DOMAIN_OWNED')
    expect(r.lookup('b.test', undefined)).toBeUndefined()
    // Another user's route is the owner's to add: a stranger cannot take alice's traffic on a.test.
    expect(codeOf(() => r.claim(claim('c', ['a.test'], { routeByHTTPUser: 'alice' }), member('c')))).toBe('TUN_DOMAIN_OWNED')
    // The owner's own second proxy on the same (domain, user) is a conflict, not an ownership question.
    expect(codeOf(() => r.claim(claim('a2', ['a.test'], { identity: 'key-of-a' }), member('a2')))).toBe('TUN_VHOST_CONFLICT')
  })

  it('keeps a domain reserved for its owner for the grace period after its session ended', () => {
    let now = 1_000
    const r = new TcpmuxRoutes({ graceMs: 30_000, now: () => now })
    const a = member('a')
    const routes = r.claim(claim('a', ['a.test']), a)
    r.release(routes, a, true)
    expect(r.reservedCount).toBe(1)
    expect(codeOf(() => r.claim(claim('b', ['a.test']), member('b')))).toBe('TUN_DOMAIN_OWNED')
    // The owner comes back and gets it; an unregister (no reserve) then frees it at once.
    const back = r.claim(claim('a', ['a.test']), a)
    expect(served(r, 'a.test')).toBe('a')
    r.release(back, a, false)
    expect(codeOf(() => r.claim(claim('b', ['a.test']), member('b')))).toBeUndefined()
    const b = member('b2')
    const held = r.claim(claim('b2', ['b.test']), b)
    r.release(held, b, true)
    now += 30_001
    expect(codeOf(() => r.claim(claim('c', ['b.test']), member('c')))).toBeUndefined()
    expect(r.reservedCount).toBe(0)
  })

  it('lets members of one group share domains with the group\'s key and credentials only', () => {
    const r = new TcpmuxRoutes()
    const g = { group: 'ssh', groupKey: 'k', httpUser: 'u', httpPassword: 'p' }
    const a = member('a')
    const b = member('b')
    const routes = r.claim(claim('a', ['ssh.test'], g), a)
    r.claim(claim('b', ['ssh.test'], g), b)
    expect([served(r, 'ssh.test'), served(r, 'ssh.test')]).toEqual(['a', 'b'])
    expect(codeOf(() => r.claim(claim('c', ['ssh.test'], { ...g, groupKey: 'x' }), member('c')))).toBe('TUN_GROUP_KEY')
    expect(codeOf(() => r.claim(claim('d', ['ssh.test'], { ...g, httpPassword: 'other' }), member('d')))).toBe('TUN_GROUP_MISMATCH')
    expect(codeOf(() => r.claim(claim('e', ['other.test'], g), member('e')))).toBe('TUN_GROUP_MISMATCH')
    // The domain belongs to the group (its key): another group or a lone proxy cannot take it.
    expect(codeOf(() => r.claim(claim('f', ['ssh.test'], { group: 'other', groupKey: 'k' }), member('f')))).toBe('TUN_DOMAIN_OWNED')
    expect(codeOf(() => r.claim(claim('h', ['ssh.test']), member('h')))).toBe('TUN_DOMAIN_OWNED')
    // The route goes with its last member, and the group's name is free again.
    r.release(routes, a)
    expect(served(r, 'ssh.test')).toBe('b')
    r.release(routes, b)
    expect(r.lookup('ssh.test', undefined)).toBeUndefined()
    expect(r.size).toBe(0)
    expect(codeOf(() => r.claim(claim('e', ['other.test'], g), member('e')))).toBeUndefined()
  })

  it('asks for the route\'s credentials in constant time and lets a route without any through', () => {
    const r = new TcpmuxRoutes()
    r.claim(claim('locked', ['l.test'], { httpUser: 'u', httpPassword: 'p' }), member('locked'))
    r.claim(claim('open', ['o.test']), member('open'))
    const locked = r.lookup('l.test', undefined)
    expect(locked?.needsAuth).toBe(true)
    expect(locked?.authorizes('u', 'p')).toBe(true)
    expect(locked?.authorizes('u', 'x')).toBe(false)
    expect(locked?.authorizes(undefined, undefined)).toBe(false)
    expect(r.lookup('o.test', undefined)?.authorizes(undefined, undefined)).toBe(true)
  })
})
