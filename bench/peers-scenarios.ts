// The workloads of the peers suite, run with the product's own load generator (loadtest/, the
// code behind `tunnel bench`) in this process: bulk 1 and 4 streams to a sink, sequential
// request/response latency, new connections per second, and UDP through an echo.
import { planBench, runBench, type BenchReport, type PlanInput } from '../loadtest/index.js'
import { silentLogger } from '../shared/log.js'
import { LOOPBACK, type PeerPorts } from './peers-targets.js'

export interface PeerMetric {
  key: string
  label: string
  unit: 'Gbit/s' | 'µs' | '1/s' | '%'
  /** Rates true (ratio = peer/direct), latencies false (ratio = direct/peer); null: no ratio (loss). */
  higherIsBetter: boolean | null
}

export interface PeerScenario {
  name: string
  metrics: PeerMetric[]
  /** Needs UDP through the peer. */
  udp: boolean
  run: (ports: PeerPorts) => Promise<{ values: Record<string, number>, failures: number }>
}

export interface ScenarioSizes {
  seconds: number
  udpRate: number
  udpSize: number
  connectConcurrency: number
}

async function load (input: Omit<PlanInput, 'target'>, port: number): Promise<BenchReport> {
  const plan = planBench({ ...input, target: `${LOOPBACK}:${port}` })
  return await runBench(plan, { log: silentLogger(), progress: 'none' })
}

const gbit = (bitsPerSecond: number): number => bitsPerSecond / 1e9

export function peerScenarios (s: ScenarioSizes): PeerScenario[] {
  const bulk = (streams: number): PeerScenario => ({
    name: `tcp${streams}`,
    udp: false,
    metrics: [{ key: `tcp${streams}`, label: `tcp${streams} Gbit/s`, unit: 'Gbit/s', higherIsBetter: true }],
    run: async (p) => {
      const r = await load({ protocol: 'tcp', mode: 'bulk', streams, duration: s.seconds }, p.sink)
      return { values: { [`tcp${streams}`]: gbit(r.bulk?.bitsPerSecond ?? 0) }, failures: r.counts.failed + (r.bulk?.streams.filter((x) => !x.verified).length ?? 0) }
    },
  })
  return [
    bulk(1),
    bulk(4),
    {
      name: 'rr',
      udp: false,
      metrics: [
        { key: 'rr-p50', label: 'rr p50 µs', unit: 'µs', higherIsBetter: false },
        { key: 'rr-p99', label: 'rr p99 µs', unit: 'µs', higherIsBetter: false },
      ],
      run: async (p) => {
        const r = await load({ protocol: 'tcp', mode: 'rr', concurrency: 1, size: 64, duration: s.seconds }, p.echo)
        return { values: { 'rr-p50': (r.latencyMs?.p50 ?? NaN) * 1000, 'rr-p99': (r.latencyMs?.p99 ?? NaN) * 1000 }, failures: r.counts.failed }
      },
    },
    {
      name: 'connect',
      udp: false,
      metrics: [{ key: 'connect', label: 'new conn/s', unit: '1/s', higherIsBetter: true }],
      run: async (p) => {
        const r = await load({ protocol: 'tcp', mode: 'connect', concurrency: s.connectConcurrency, size: 1, duration: s.seconds }, p.echo)
        return { values: { connect: r.throughput.opsPerSecond }, failures: r.counts.failed }
      },
    },
    {
      name: 'udp',
      udp: true,
      metrics: [
        { key: 'udp', label: `udp Gbit/s @${Math.round(s.udpRate * s.udpSize * 8 / 1e6)}M`, unit: 'Gbit/s', higherIsBetter: true },
        { key: 'udp-loss', label: 'udp loss %', unit: '%', higherIsBetter: null },
      ],
      run: async (p) => {
        if (p.udp === undefined) return { values: {}, failures: 0 }
        const r = await load({ protocol: 'udp', rate: s.udpRate, size: s.udpSize, concurrency: 4, duration: s.seconds, timeoutMs: 1_000 }, p.udp)
        const u = r.udp
        return { values: { udp: gbit((u?.receivedPerSecond ?? 0) * s.udpSize * 8), 'udp-loss': (u?.lossRate ?? 0) * 100 }, failures: r.errors.refused }
      },
    },
  ]
}
