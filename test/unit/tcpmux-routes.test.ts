// The tcpmux routing table (pure): host and wildcard lookup with a user's own route before the
// route for any user, one owner per (domain, user) unless the second proxy joins its group with the
// group's key and credentials, all-or-nothing claims, and routes that go with their last member.
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
    r.claim(claim('alice', ['ssh.example.test'], { routeByHTTPUser: 'alice' }), member('alice'))
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
    expect(codeOf(() => r.claim(claim('b', ['b.test', 'a.test']), member('b')))).toBe('TUN_VHOST_CONFLICT')
    expect(r.lookup('b.test', undefined)).toBeUndefined()
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
    expect(codeOf(() => r.claim(claim('f', ['ssh.test'], { group: 'other', groupKey: 'k' }), member('f')))).toBe('TUN_VHOST_CONFLICT')
    expect(codeOf(() => r.claim(claim('h', ['ssh.test']), member('h')))).toBe('TUN_VHOST_CONFLICT')
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
