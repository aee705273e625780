// What a visitor's source is (an IPv4 address, an IPv6 /64) and the per-source counts the
// relay's per-source caps keep.
import { describe, expect, it } from 'vitest'
import { SourceCounts, visitorSource } from '../../server/source-counts.js'

describe('visitorSource', () => {
  it('is the address for IPv4 and IPv4-mapped IPv6', () => {
    expect(visitorSource('203.0.113.7')).toBe('203.0.113.7')
    expect(visitorSource('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(visitorSource('203.0.113.8')).not.toBe(visitorSource('203.0.113.7'))
  })

  it('is the /64 for IPv6: every address of one host\'s prefix counts as one source', () => {
    expect(visitorSource('2001:db8:1:2::1')).toBe(visitorSource('2001:db8:1:2:ffff:ffff:ffff:ffff'))
    expect(visitorSource('2001:db8:1:2::1')).not.toBe(visitorSource('2001:db8:1:3::1'))
    expect(visitorSource('2001:db8:1:2::1')).toBe('20010db800010002::/64')
  })
})

describe('SourceCounts', () => {
  it('is full at its cap per source, forgets a source at zero, and never caps at 0', () => {
    const c = new SourceCounts(2)
    c.add('a')
    expect(c.full('a')).toBe(false)
    c.add('a')
    expect(c.full('a')).toBe(true)
    expect(c.full('b')).toBe(false)
    c.release('a')
    c.release('a')
    expect(c.sources).toBe(0)
    const none = new SourceCounts(0)
    for (let i = 0; i < 10_000; i++) none.add('a')
    expect(none.full('a')).toBe(false)
    expect(none.count('a')).toBe(10_000)
  })
})
