// `tunnel bench --admin`: the relay section is the difference between two status reports for
// the proxy under load, with the RTT samples and plain notes; it fits the report schema.
import { describe, expect, it } from 'vitest'
import { benchReportSchema, planBench, proxiesUnderLoad, relaySection } from '../../loadtest/index.js'
import { sessionFixture, statusFixture, tcpProxyFixture, udpProxyFixture } from '../helpers/status-fixture.js'

const plan = planBench({ protocol: 'tcp', target: '127.0.0.1:6000' })
const extras = { rtts: [1, 9, 3], pollFailures: 0, problem: undefined }

describe('relay section', () => {
  const before = statusFixture({
    sessions: [sessionFixture({ clientId: 'alice-1', rttMs: 0.5 }), sessionFixture({ clientId: 'bob-2', rttMs: 40 })],
    proxies: [tcpProxyFixture({ name: 'web', streams: { active: 0, total: 10 }, bytesIn: 100, bytesOut: 200 }), tcpProxyFixture({ name: 'other', publicAddr: '127.0.0.1:6001', clientId: 'bob-2', bytesIn: 5 })],
    errors: { TUN_RELAY_BUSY: 1 },
    kernel: { listenOverflows: 10, listenDrops: 10 },
  })
  const after = statusFixture({
    sessions: [sessionFixture({ clientId: 'alice-1', rttMs: 0.7 }), sessionFixture({ clientId: 'bob-2', rttMs: 40 })],
    proxies: [tcpProxyFixture({ name: 'web', streams: { active: 0, total: 60 }, bytesIn: 3940, bytesOut: 4040, refused: 2, dropped: 1 }), tcpProxyFixture({ name: 'other', publicAddr: '127.0.0.1:6001', clientId: 'bob-2', bytesIn: 99999 })],
    errors: { TUN_RELAY_BUSY: 4, TUN_TOO_MANY_STREAMS: 2 },
    kernel: { listenOverflows: 13, listenDrops: 13 },
  })

  it('picks the proxy on the target port and of the right kind', () => {
    expect(proxiesUnderLoad(before, plan).map((p) => p.name)).toEqual(['web'])
    expect(proxiesUnderLoad(before, planBench({ protocol: 'udp', target: '127.0.0.1:6000' }))).toEqual([])
  })

  it('reports the growth during the run for that proxy only, and the RTT of its owner', () => {
    const s = relaySection(plan, 'http://127.0.0.1:7500', before, after, extras)
    expect(s).toMatchObject({
      admin: 'http://127.0.0.1:7500',
      role: 'relay',
      proxies: ['web'],
      sessions: 2,
      streams: 50,
      flows: 0,
      bytesIn: 3840,
      bytesOut: 3840,
      visitorsRefused: 2,
      visitorsDropped: 1,
      udpDrops: {},
      listenOverflows: 3,
      listenDrops: 3,
      errors: { TUN_RELAY_BUSY: 3, TUN_TOO_MANY_STREAMS: 2 },
      controlRttMs: { before: 0.5, max: 9, after: 0.7, samples: 3 },
    })
    expect(s.notes.some((n) => n.includes('accept queues overflowed 3 time(s)'))).toBe(true)
  })

  it('fits the bench report schema', () => {
    const report = { ...sampleReport(), relay: relaySection(plan, 'http://127.0.0.1:7500', before, after, extras) }
    expect(benchReportSchema.safeParse(report).error?.issues ?? []).toEqual([])
  })

  it('says so when nothing matched, when the after-read failed, and when counters restarted', () => {
    const nothing = relaySection(planBench({ protocol: 'tcp', target: '127.0.0.1:9999' }), 'x', before, after, extras)
    expect(nothing.proxies).toEqual([])
    expect(nothing.bytesIn).toBe(3940 + 99999 - 105)
    expect(nothing.notes[0]).toContain('no tcp proxy listens on port 9999')
    const lost = relaySection(plan, 'x', before, undefined, { rtts: [], pollFailures: 2, problem: 'the status could not be read after the run: gone' })
    expect(lost.notes.slice(0, 2)).toEqual(['the status could not be read after the run: gone', '2 status poll(s) during the run failed'])
    expect(lost.bytesIn).toBe(0)
    const restarted = relaySection(plan, 'x', before, statusFixture({ proxies: [tcpProxyFixture({ name: 'web', bytesIn: 10, streams: { active: 0, total: 1 } })] }), extras)
    expect(restarted.bytesIn).toBe(0)
    expect(restarted.notes.some((n) => n.includes('registered again'))).toBe(true)
  })

  it('udp: flows and drops by reason', () => {
    const udpPlan = planBench({ protocol: 'udp', target: '127.0.0.1:5353' })
    const drops = { ...udpProxyFixture().udpDrops! }
    const s = relaySection(udpPlan, 'x', statusFixture({ proxies: [udpProxyFixture()] }), statusFixture({ proxies: [udpProxyFixture({ flows: { active: 1, total: 7 }, udpDrops: { ...drops, queueFull: 12 } })] }), extras)
    expect(s).toMatchObject({ proxies: ['dns'], flows: 4, udpDrops: { queueFull: 12 } })
    expect(s.notes.some((n) => n.includes('dropped 12 datagram(s) on purpose (queueFull 12)'))).toBe(true)
  })
})

function sampleReport (): Record<string, unknown> {
  const latency = { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p99_9: 0, max: 0 }
  return {
    tool: 'tunnel bench', reportVersion: 1, protocol: 'tcp', workload: 'rr', target: '127.0.0.1:6000', startedAt: '2026-01-01T00:00:00.000Z',
    settings: { durationS: 1, maxOps: 1, concurrency: 1, rate: null, size: 64, replySize: 64, timeoutMs: 1000, streams: 1, direction: 'up', path: '/', keepAlive: true },
    stoppedBy: 'count', elapsedS: 1, counts: { issued: 1, ok: 1, failed: 0, abandoned: 0 }, errorRate: 0,
    errors: { refused: 0, reset: 0, timeout: 0, closed: 0, protocol: 0, status: 0, local: 0, other: 0 }, errorExamples: {},
    throughput: { opsPerSecond: 1, bytesSent: 64, bytesReceived: 64, sentBitsPerSecond: 512, receivedBitsPerSecond: 512 },
    latencyMs: latency, connectMs: latency, slowConnects: 0, connectTimeouts: 0, sendLagMs: null, bulk: null, udp: null, findings: [],
    thresholds: { maxErrorRate: null, maxP99Ms: null, passed: true, violations: [] }, env: { node: 'v20', platform: 'linux-x64', cpus: 2 },
  }
}
