import { describe, expect, it } from 'vitest'
import { parsePeerView } from '../../shared/diag/peer-view.js'

describe('parsePeerView (the relay side of the control connection, from untrusted JSON)', () => {
  it('keeps well-formed entries and turns wrong-typed numbers into null', () => {
    const v = parsePeerView({
      control: [{ local: '10.0.0.1:7000', peer: '192.0.2.7:40000', family: 'ipv4', mss: 1348, pmtu: 'big', rttMs: 40.5, maxUdpPayload: { ipv4: 1372, ipv6: 1352 }, keepaliveTimer: { remainingMs: 'x', probesSent: 0 } }],
      findings: [{ id: 'path.mtu-below-1500', severity: 'warn', what: 'MSS 1348 implies a path MTU of 1400 < 1500', advice: 'keep UDP datagrams under 1372 bytes' }],
      unavailable: [{ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: 'not installed' }],
    })
    expect(v.control).toHaveLength(1)
    expect(v.control[0]).toMatchObject({ local: '10.0.0.1:7000', mss: 1348, pmtu: null, rttMs: 40.5, cwnd: null, maxUdpPayload: { ipv4: 1372, ipv6: 1352 }, keepaliveTimer: null })
    expect(v.findings[0]?.id).toBe('path.mtu-below-1500')
    expect(v.unavailable).toEqual([{ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: 'not installed' }])
  })

  it('drops malformed entries, bounds lists and text, and never throws', () => {
    for (const junk of [null, 7, 'x', [], { control: 'no' }, { control: [null, 1, { local: 5 }] }]) {
      expect(parsePeerView(junk)).toEqual({ control: [], findings: [], unavailable: [] })
    }
    const many = parsePeerView({ findings: Array.from({ length: 50 }, () => ({ id: 'x', severity: 'fatal', what: 'w', advice: 'a' })) })
    expect(many.findings).toEqual([]) // an unknown severity is dropped
    const long = parsePeerView({ findings: Array.from({ length: 50 }, () => ({ id: 'x', severity: 'info', what: 'w'.repeat(5000), advice: 'a' })) })
    expect(long.findings).toHaveLength(8)
    expect(long.findings[0]?.what).toHaveLength(600)
  })
})
