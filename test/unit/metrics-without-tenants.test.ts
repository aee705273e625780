// /metrics of an admin API open without credentials (non-loopback, no user/password/token):
// TunnelMetrics with tenantLabels false leaves out every series that names a proxy, a client, a
// visitor, a group or a fleet relay, and keeps the relay-wide ones.
import { describe, expect, it } from 'vitest'
import { TENANT_LABELS, TunnelMetrics } from '../../shared/metrics/tunnel-metrics.js'
import { sessionFixture, statusFixture, tcpProxyFixture } from '../helpers/status-fixture.js'

describe('metrics without tenant series', () => {
  const report = statusFixture({
    sessions: [sessionFixture({ clientId: 'alice-1', rttMs: 2.5 })],
    proxies: [tcpProxyFixture({ name: 'alice-web', bytesIn: 10 })],
    errors: { TUN_AUTH_REFUSED: 2 },
    logins: 5,
  })

  it('names no proxy, client or visitor, and keeps the sessions, logins and errors', async () => {
    const text = await new TunnelMetrics({ processMetrics: false, tenantLabels: false }).render(async () => await Promise.resolve(report))
    expect(text).not.toContain('alice')
    for (const label of TENANT_LABELS) expect(text).not.toContain(`${label}="`)
    expect(text).toMatch(/^tunnel_sessions 1$/m)
    expect(text).toMatch(/^tunnel_logins_total 5$/m)
    expect(text).toMatch(/^tunnel_errors_total\{code="TUN_AUTH_REFUSED"\} 2$/m)
  })

  it('names them by default', async () => {
    const text = await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(report))
    expect(text).toContain('proxy="alice-web"')
    expect(text).toContain('client="alice-1"')
  })
})
