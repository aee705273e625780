import { Writable } from 'node:stream'
import { fc, test } from '@fast-check/vitest'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { LOG_INTERVAL_MS } from '../../server/log-limiter.js'
import { SourceGate } from '../../server/source-gate.js'
import { parseCidr, SourceFilter } from '../../shared/net/source-filter.js'
import { MAX_SOURCE_RULES, tcpSpecSchema } from '../../shared/wire/proxy-spec.js'

describe('parseCidr', () => {
  it('reads IPv4 and IPv6 CIDRs and single addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' })
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' })
    expect(parseCidr('192.0.2.7')).toEqual({ address: '192.0.2.7', prefix: 32, family: 'ipv4' })
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' })
  })

  it('refuses what is not one', () => {
    for (const bad of ['', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08', 'example.com/8', '10.0.0/8', '1.2.3.4/-1', '::1/1/2']) {
      expect(parseCidr(bad), bad).toBeUndefined()
    }
  })
})

describe('SourceFilter', () => {
  it('admits everyone without rules', () => {
    expect(new SourceFilter([], []).admits('203.0.113.9')).toBe(true)
  })

  it('matches IPv4 rules on IPv4-mapped visitors, and IPv6 rules on IPv6 ones', () => {
    const f = new SourceFilter(['127.0.0.0/8', '2001:db8::/32'], [])
    expect(f.admits('127.0.0.2')).toBe(true)
    expect(f.admits('::ffff:127.0.0.2')).toBe(true)
    expect(f.admits('::1')).toBe(false)
    expect(f.admits('2001:db8::5')).toBe(true)
    expect(f.admits('10.0.0.1')).toBe(false)
    expect(f.admits('')).toBe(false)
  })

  it('lets deny win over allow', () => {
    const f = new SourceFilter(['10.0.0.0/8'], ['10.1.0.0/16', '::1'])
    expect(f.admits('10.2.3.4')).toBe(true)
    expect(f.admits('10.1.3.4')).toBe(false)
    expect(f.admits('::ffff:10.1.3.4')).toBe(false)
    expect(new SourceFilter([], ['::1']).admits('::1')).toBe(false)
    expect(new SourceFilter([], ['::1']).admits('127.0.0.1')).toBe(true)
  })

  test.prop([fc.ipV4(), fc.integer({ min: 0, max: 32 })])('an IPv4 /n admits an address exactly when its first n bits match', (addr, n) => {
    const f = new SourceFilter([`${addr}/${n}`], [])
    const num = addr.split('.').reduce((a, b) => a * 256 + Number(b), 0)
    const flipped = n === 0 ? num : num ^ (2 ** (32 - n))
    const other = [24, 16, 8, 0].map((s) => Math.floor(flipped / 2 ** s) % 256).join('.')
    expect(f.admits(addr)).toBe(true)
    expect(f.admits(`::ffff:${addr}`)).toBe(true)
    expect(f.admits(other)).toBe(n === 0)
  })
})

describe('proxy spec: source lists', () => {
  const spec = (extra: Record<string, unknown>): ReturnType<typeof tcpSpecSchema.safeParse> =>
    tcpSpecSchema.safeParse({ name: 'p', type: 'tcp', remotePort: 0, ...extra })

  it('carries valid lists', () => {
    expect(spec({ allowSources: ['127.0.0.0/8', '::1'] }).data).toEqual({ name: 'p', type: 'tcp', remotePort: 0, allowSources: ['127.0.0.0/8', '::1'] })
  })

  it('refuses malformed lists', () => {
    for (const bad of [{ allowSources: '10.0.0.0/8' }, { allowSources: [7] }, { denySources: ['nope'] }, { denySources: new Array(MAX_SOURCE_RULES + 1).fill('::1') }]) {
      expect(spec(bad).success, JSON.stringify(bad).slice(0, 60)).toBe(false)
    }
  })
})

describe('SourceGate (the relay\'s filter in front of a proxy)', () => {
  it('counts every refused visitor but logs a source at most once per interval, with how many were left out', () => {
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
    let t = 0
    const gate = new SourceGate({ allowSources: ['10.0.0.0/8'] }, pino(sink), () => t)
    expect(gate.admits('10.1.2.3')).toBe(true)
    for (let i = 0; i < 5; i++) { expect(gate.admits('192.0.2.7')).toBe(false); t += 1_000 }
    expect(gate.admits('::ffff:198.51.100.1')).toBe(false) // another source: a line of its own
    t = LOG_INTERVAL_MS - 1
    expect(gate.admits('192.0.2.7')).toBe(false)
    t = LOG_INTERVAL_MS
    expect(gate.admits('192.0.2.7')).toBe(false)
    expect(gate.refused).toBe(8)
    expect(lines.map((l) => [l.remote, l.refused, l.suppressed])).toEqual([
      ['192.0.2.7', 1, 0],
      ['198.51.100.1', 6, 0],
      ['192.0.2.7', 8, 5],
    ])
  })
})
