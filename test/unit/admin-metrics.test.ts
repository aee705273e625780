// The Prometheus exposition of a status report: names, types, labels and values; one registry
// per instance (two relays in one process do not clash); process metrics when asked for.
import { describe, expect, it } from 'vitest'
import { statusReportSchema } from '../../shared/admin/status.js'
import { TunnelMetrics } from '../../shared/metrics/tunnel-metrics.js'
import { sessionFixture, statusFixture, tcpProxyFixture, udpProxyFixture } from '../helpers/status-fixture.js'

/** `name{labels} value` lines, comments dropped. */
const samples = (text: string): Map<string, number> =>
  new Map(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const at = l.lastIndexOf(' ')
    return [l.slice(0, at), Number(l.slice(at + 1))]
  }))

describe('tunnel metrics', () => {
  const report = statusFixture({
    sessions: [sessionFixture({ clientId: 'alice-1', rttMs: 2.5, bytesIn: 11, bytesOut: 22, reconnects: 3 })],
    proxies: [
      tcpProxyFixture({ name: 'web', bytesIn: 1234, bytesOut: 5678, streams: { active: 2, total: 9 }, refused: 4, dropped: 1 }),
      udpProxyFixture({ name: 'dns', bytesIn: 30, bytesOut: 60, udpDrops: { ...udpProxyFixture().udpDrops!, queueFull: 7, tooBig: 2 } }),
      tcpProxyFixture({ name: 'down', state: 'offline', phase: 'refused' }),
    ],
    errors: { TUN_AUTH_REFUSED: 2 },
    logins: 5,
    reconnects: 1,
  })

  it('the fixture is a valid status report', () => {
    expect(statusReportSchema.safeParse(report).success).toBe(true)
  })

  it('exports per-proxy bytes, streams, flows, refusals and UDP drops by reason', async () => {
    const m = new TunnelMetrics({ processMetrics: false })
    const text = await m.render(async () => await Promise.resolve(report))
    const s = samples(text)
    expect(s.get('tunnel_proxy_bytes_total{proxy="web",type="tcp",direction="in"}')).toBe(1234)
    expect(s.get('tunnel_proxy_bytes_total{proxy="web",type="tcp",direction="out"}')).toBe(5678)
    expect(s.get('tunnel_proxy_streams_total{proxy="web"}')).toBe(9)
    expect(s.get('tunnel_proxy_streams{proxy="web"}')).toBe(2)
    expect(s.get('tunnel_proxy_visitors_refused_total{proxy="web",type="tcp"}')).toBe(4)
    expect(s.get('tunnel_proxy_visitors_dropped_total{proxy="web",type="tcp"}')).toBe(1)
    expect(s.get('tunnel_proxy_flows_total{proxy="dns"}')).toBe(3)
    expect(s.get('tunnel_proxy_udp_drops_total{proxy="dns",reason="queueFull"}')).toBe(7)
    expect(s.get('tunnel_proxy_udp_drops_total{proxy="dns",reason="tooBig"}')).toBe(2)
    expect(s.get('tunnel_proxy_udp_drops_total{proxy="dns",reason="congested"}')).toBe(0)
    expect(s.get('tunnel_proxy_up{proxy="web",type="tcp"}')).toBe(1)
    expect(s.get('tunnel_proxy_up{proxy="down",type="tcp"}')).toBe(0)
    // One phase is 1 per proxy, every other phase 0.
    expect(s.get('tunnel_proxy_phase{proxy="web",type="tcp",phase="listening"}')).toBe(1)
    expect(s.get('tunnel_proxy_phase{proxy="web",type="tcp",phase="refused"}')).toBe(0)
    expect(s.get('tunnel_proxy_phase{proxy="down",type="tcp",phase="refused"}')).toBe(1)
    expect(s.get('tunnel_proxy_phase{proxy="down",type="tcp",phase="listening"}')).toBe(0)
    expect(text).toContain('# TYPE tunnel_proxy_bytes_total counter')
    expect(text).toContain('# TYPE tunnel_proxy_streams gauge')
  })

  it('exports the health of health-checked proxies and the members of their group', async () => {
    const grouped = statusFixture({
      proxies: [
        tcpProxyFixture({ name: 'web-a', health: 'unhealthy', group: { name: 'web', members: 2, healthy: 1 } }),
        tcpProxyFixture({ name: 'web-b', health: 'healthy', group: { name: 'web', members: 2, healthy: 1 } }),
        tcpProxyFixture({ name: 'plain' }),
      ],
    })
    const s = samples(await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(grouped)))
    expect(s.get('tunnel_proxy_healthy{proxy="web-a",type="tcp"}')).toBe(0)
    expect(s.get('tunnel_proxy_healthy{proxy="web-b",type="tcp"}')).toBe(1)
    expect(s.has('tunnel_proxy_healthy{proxy="plain",type="tcp"}')).toBe(false)
    expect(s.get('tunnel_group_members{proxy="web-a",group="web",state="all"}')).toBe(2)
    expect(s.get('tunnel_group_members{proxy="web-a",group="web",state="healthy"}')).toBe(1)
  })

  it('exports sessions with RTT in seconds and reconnects, logins and errors by code', async () => {
    const s = samples(await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(report)))
    expect(s.get('tunnel_sessions')).toBe(1)
    expect(s.get('tunnel_session_rtt_seconds{client="alice-1"}')).toBeCloseTo(0.0025, 9)
    expect(s.get('tunnel_session_reconnects_total{client="alice-1"}')).toBe(3)
    expect(s.get('tunnel_session_bytes_total{client="alice-1",direction="out"}')).toBe(22)
    expect(s.get('tunnel_logins_total')).toBe(5)
    expect(s.get('tunnel_reconnects_total')).toBe(1)
    expect(s.get('tunnel_errors_total{code="TUN_AUTH_REFUSED"}')).toBe(2)
  })

  it('labels follow the report: a proxy that is gone is not exported any more', async () => {
    const m = new TunnelMetrics({ processMetrics: false })
    await m.render(async () => await Promise.resolve(report))
    const later = samples(await m.render(async () => await Promise.resolve(statusFixture({ proxies: [] }))))
    expect([...later.keys()].some((k) => k.includes('proxy="web"'))).toBe(false)
  })

  it('two instances in one process keep their own values; process metrics only when asked', async () => {
    const a = new TunnelMetrics({ processMetrics: true })
    const b = new TunnelMetrics({ processMetrics: true })
    const ta = samples(await a.render(async () => await Promise.resolve(statusFixture({ proxies: [tcpProxyFixture({ bytesIn: 1 })] }))))
    const tb = samples(await b.render(async () => await Promise.resolve(statusFixture({ proxies: [tcpProxyFixture({ bytesIn: 2 })] }))))
    expect(ta.get('tunnel_proxy_bytes_total{proxy="web",type="tcp",direction="in"}')).toBe(1)
    expect(tb.get('tunnel_proxy_bytes_total{proxy="web",type="tcp",direction="in"}')).toBe(2)
    expect(ta.get('process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(ta.has('process_open_fds')).toBe(process.platform === 'linux')
    const none = samples(await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(statusFixture())))
    expect(none.has('process_resident_memory_bytes')).toBe(false)
  })

  it('concurrent scrapes each see their own report', async () => {
    const m = new TunnelMetrics({ processMetrics: false })
    // The first scrape's report arrives only once the second scrape has started.
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    const slow = async (): Promise<ReturnType<typeof statusFixture>> => {
      await gate
      return statusFixture({ logins: 1 })
    }
    const first = m.render(slow)
    const second = m.render(async () => await Promise.resolve(statusFixture({ logins: 2 })))
    release()
    const [x, y] = await Promise.all([first, second])
    expect(samples(x).get('tunnel_logins_total')).toBe(1)
    expect(samples(y).get('tunnel_logins_total')).toBe(2)
  })
})
