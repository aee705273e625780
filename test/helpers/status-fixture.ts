// Status reports for unit tests, valid against statusReportSchema, with overridable parts.
import { STATUS_SCHEMA, type ProxyStatus, type SessionStatus, type StatusReport } from '../../shared/admin/status.js'
import { newUdpCounters } from '../../shared/udp/counters.js'

export function sessionFixture (over: Partial<SessionStatus> = {}): SessionStatus {
  return { id: 'abcd', clientId: 'alice-1', user: 'alice', remote: '127.0.0.1:50000', since: '2026-01-01T00:00:00.000Z', rttMs: 1.5, streams: 2, proxies: 1, bytesIn: 1000, bytesOut: 2000, reconnects: 0, ...over }
}

export function tcpProxyFixture (over: Partial<ProxyStatus> = {}): ProxyStatus {
  return { name: 'web', type: 'tcp', state: 'listening', phase: 'listening', publicAddr: '127.0.0.1:6000', local: null, clientId: 'alice-1', streams: { active: 1, total: 10 }, flows: null, bytesIn: 100, bytesOut: 200, refused: 0, dropped: 0, udpDrops: null, error: null, ...over }
}

export function udpProxyFixture (over: Partial<ProxyStatus> = {}): ProxyStatus {
  return { name: 'dns', type: 'udp', state: 'listening', phase: 'listening', publicAddr: '127.0.0.1:5353', local: null, clientId: 'alice-1', streams: null, flows: { active: 0, total: 3 }, bytesIn: 30, bytesOut: 60, refused: 0, dropped: 0, udpDrops: { ...newUdpCounters().drops }, error: null, ...over }
}

export function statusFixture (over: Partial<StatusReport> = {}): StatusReport {
  return {
    schema: STATUS_SCHEMA,
    role: 'relay',
    generatedAt: '2026-01-01T00:01:00.000Z',
    process: { pid: 42, node: 'v20.20.2', uptimeS: 60, rssBytes: 50 * 1024 * 1024, heapUsedBytes: 10 * 1024 * 1024, openFds: 30, maxFds: 1024 },
    controlAddr: '127.0.0.1:7000',
    sessions: [sessionFixture()],
    proxies: [tcpProxyFixture()],
    logins: 1,
    reconnects: 0,
    errors: {},
    lastError: null,
    kernel: { listenOverflows: 5, listenDrops: 5 },
    ...over,
  }
}
