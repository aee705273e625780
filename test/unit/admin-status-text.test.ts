// `tunnel status` without --json: the table a person reads.
import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, renderStatus } from '../../shared/admin/status-text.js'
import { sessionFixture, statusFixture, tcpProxyFixture, udpProxyFixture } from '../helpers/status-fixture.js'

describe('status text', () => {
  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB')
    expect(formatDuration(59)).toBe('59s')
    expect(formatDuration(3 * 60 + 12)).toBe('3m12s')
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe('2h05m')
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d04h')
  })

  it('a relay: header, one row per session and per proxy with public address, state, traffic and drops', () => {
    const r = statusFixture({
      sessions: [sessionFixture({ clientId: 'alice-1', remote: '10.0.0.2:40000', rttMs: 1.234, since: '2026-01-01T00:00:00.000Z' })],
      proxies: [
        tcpProxyFixture({ name: 'web', publicAddr: '[::]:6000', bytesIn: 2048, bytesOut: 1024 * 1024, refused: 3 }),
        udpProxyFixture({ name: 'dns', udpDrops: { ...udpProxyFixture().udpDrops!, flowLimit: 9 } }),
      ],
      errors: { TUN_AUTH_REFUSED: 2 },
      lastError: { code: 'TUN_AUTH_REFUSED', message: 'handshake from 10.0.0.9 refused', at: '2026-01-01T00:00:30.000Z' },
    })
    const text = renderStatus(r, Date.parse('2026-01-01T00:02:00.000Z'))
    expect(text).toMatch(/^tunnel relay \(pid 42, up 1m00s\), listening on 127\.0\.0\.1:7000; fds 30\/1024/)
    expect(text).toMatch(/alice-1\s+abcd\s+10\.0\.0\.2:40000\s+2m00s\s+1\.23\s+2\s+1\s+1000 B\s+2\.0 KiB\s+0/)
    expect(text).toMatch(/web\s+tcp\s+listening\s+\[::\]:6000\s+alice-1\s+1\/10\s+2\.0 KiB\s+1\.0 MiB\s+refused 3/)
    expect(text).toMatch(/dns\s+udp\s+listening\s+127\.0\.0\.1:5353\s+alice-1\s+0\/3\s+30 B\s+60 B\s+flowLimit 9/)
    expect(text).toContain('TUN_AUTH_REFUSED 2')
    expect(text).toContain('last: TUN_AUTH_REFUSED at 2026-01-01T00:00:30.000Z: handshake from 10.0.0.9 refused')
    expect(text).toContain('ListenOverflows 5')
  })

  it('an xtcp proxy and visitor: punch packets refused (forged, replayed) beside the other drops and the path line', () => {
    const p2p = { path: 'p2p' as const, reason: null, peer: '10.201.1.2:40000', attempts: 1, successes: 1, failures: {}, lastConnectMs: 120, connections: { direct: 2, fallback: 0, refused: 0 }, punchRefusals: { forged: 6, replayed: 2 }, nat: null, peerNat: null, advice: null }
    const r = statusFixture({
      role: 'client',
      proxies: [tcpProxyFixture({ name: 'ssh', type: 'xtcp', p2p: { paths: { active: 1, total: 1 }, failures: {}, punchRefusals: { forged: 3 } } })],
      visitors: [{ name: 'home-ssh', type: 'xtcp', target: 'home.ssh', phase: 'running', local: '127.0.0.1:6000', streams: { active: 0, total: 2 }, flows: null, bytesIn: 0, bytesOut: 0, refusals: {}, udpDrops: null, error: null, p2p }],
    })
    const text = renderStatus(r)
    expect(text).toContain('punch packets refused (forged 3)')
    expect(text).toMatch(/home-ssh: path p2p \(peer 10\.201\.1\.2:40000\); punches 1\/1.*; punch packets refused: forged 6, replayed 2/)
  })

  it('a client: local address column, refused proxies with their error, "not connected" without a session', () => {
    const r = statusFixture({
      role: 'client',
      sessions: [],
      proxies: [tcpProxyFixture({ name: 'ssh', state: 'refused', phase: 'refused', publicAddr: null, local: '127.0.0.1:22', clientId: null, error: { code: 'TUN_PORT_IN_USE', message: '0.0.0.0:6000 is already in use' } })],
    })
    const text = renderStatus(r)
    expect(text).toContain('relay 127.0.0.1:7000')
    expect(text).toContain('not connected')
    expect(text).toMatch(/ssh\s+tcp\s+refused\s+-\s+127\.0\.0\.1:22\s+.*TUN_PORT_IN_USE: 0\.0\.0\.0:6000 is already in use/)
  })

  it('shows an unhealthy proxy and its load-balancing group in the phase column', () => {
    const r = statusFixture({
      proxies: [
        tcpProxyFixture({ name: 'web-a', health: 'unhealthy', group: { name: 'web', members: 2, healthy: 1 } }),
        tcpProxyFixture({ name: 'web-b', health: 'healthy', group: { name: 'web', members: 2, healthy: 1 } }),
      ],
    })
    const text = renderStatus(r)
    expect(text).toMatch(/web-a\s+tcp\s+listening, unhealthy, group web 1\/2 healthy\s/)
    expect(text).toMatch(/web-b\s+tcp\s+listening, group web 1\/2 healthy\s/)
  })
})
