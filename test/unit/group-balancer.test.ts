// How a load-balancing group spreads visitors (server/group): turns over the healthy members in
// join order, skipping unhealthy ones and those that left, and a group key compared as digests.
import { describe, expect, it } from 'vitest'
import { groupKeyDigest, groupKeyMatches, groupOwner, groupRefusal, RoundRobin, type GroupMember } from '../../server/group/index.js'

const member = (name: string, healthy = true): GroupMember => ({ name, healthy })
const picks = (rr: RoundRobin<GroupMember>, n: number): string[] => Array.from({ length: n }, () => rr.pick()?.name ?? '-')

describe('round-robin over a group\'s members', () => {
  it('gives every healthy member the same share of new visitors, in join order', () => {
    const rr = new RoundRobin<GroupMember>()
    for (const m of [member('a'), member('b'), member('c')]) rr.add(m)
    const seen = picks(rr, 300)
    expect(seen.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    for (const name of ['a', 'b', 'c']) expect(seen.filter((s) => s === name)).toHaveLength(100)
    expect(rr.picks).toBe(300)
  })

  it('skips an unhealthy member until it is healthy again, and finds no one when none is', () => {
    const rr = new RoundRobin<GroupMember>()
    const a = member('a')
    const b = member('b')
    rr.add(a)
    rr.add(b)
    b.healthy = false
    expect(picks(rr, 4)).toEqual(['a', 'a', 'a', 'a'])
    expect(rr.healthyCount).toBe(1)
    a.healthy = false
    expect(rr.pick()).toBeUndefined()
    expect(rr.misses).toBe(1)
    b.healthy = true
    expect(picks(rr, 2)).toEqual(['b', 'b'])
    a.healthy = true
    expect(picks(rr, 4).sort()).toEqual(['a', 'a', 'b', 'b'])
  })

  it('keeps its turns when a member leaves mid-round, and adds a member only once', () => {
    const rr = new RoundRobin<GroupMember>()
    const [a, b, c] = [member('a'), member('b'), member('c')]
    rr.add(a); rr.add(b); rr.add(c); rr.add(b)
    expect(rr.size).toBe(3)
    expect(picks(rr, 2)).toEqual(['a', 'b'])
    rr.remove(a)
    expect(picks(rr, 4)).toEqual(['c', 'b', 'c', 'b'])
    rr.remove(c)
    rr.remove(c)
    expect(picks(rr, 2)).toEqual(['b', 'b'])
    rr.remove(b)
    expect(rr.size).toBe(0)
    expect(rr.pick()).toBeUndefined()
  })
})

describe('a group\'s key', () => {
  it('matches only the same key, whatever the lengths', () => {
    const d = groupKeyDigest('s3cret')
    expect(groupKeyMatches(d, 's3cret')).toBe(true)
    for (const other of ['', 's3cre', 's3cret ', 'S3cret', 'x'.repeat(10_000)]) expect(groupKeyMatches(d, other)).toBe(false)
  })

  it('binds a keyed group to the key (any holder) and a keyless one to the client key that opened it', () => {
    expect(groupOwner('web', 'k', 'client-1')).toBe(groupOwner('web', 'k', 'client-2'))
    expect(groupOwner('web', 'k', 'client-1')).not.toBe(groupOwner('web', 'other', 'client-1'))
    expect(groupOwner('web', 'k', 'client-1')).not.toBe(groupOwner('api', 'k', 'client-1'))
    expect(groupOwner('web', 'k', 'client-1')).not.toContain('k,')
    expect(groupOwner('web', '', 'client-1')).toBe('client-1')
  })

  it('admits a member with the group\'s key from any client key, and a keyless member only from the opener', () => {
    const keyed = { name: 'web', keyDigest: groupKeyDigest('k'), keyless: false, creator: 'client-1' }
    expect(groupRefusal(keyed, 'k', 'client-2')).toBeUndefined()
    expect(groupRefusal(keyed, 'K', 'client-1')).toMatch(/another groupKey/)
    expect(groupRefusal(keyed, '', 'client-1')).toMatch(/another groupKey/)
    const keyless = { name: 'web', keyDigest: groupKeyDigest(''), keyless: true, creator: 'client-1' }
    expect(groupRefusal(keyless, '', 'client-1')).toBeUndefined()
    expect(groupRefusal(keyless, '', 'client-2')).toMatch(/belongs to another client key/)
    expect(groupRefusal(keyless, 'k', 'client-1')).toMatch(/another groupKey/)
  })
})
