// The transports table (issue 18): tcp1, rr and http through one tunnel per transport (raw tcp,
// tls, websocket, wss), each its own relay and client, run interleaved in the same run and
// reported as medians and ratios to the raw tcp tunnel (rates: x/tcp, latencies: tcp/x; 1.00 =
// as fast as raw).
import type { ProcessGroup } from './procs.js'
import type { ScenarioName } from './options.js'
import type { Scenario, ScenarioSizes, Target } from './scenarios.js'
import { median } from './stats.js'
import { LOOPBACK, startTunnel, type Ports, type Tunnel } from './targets.js'

export const TRANSPORT_SCENARIOS: readonly ScenarioName[] = ['tcp1', 'rr', 'http']
export const TRANSPORT_VARIANTS = [
  { name: 'tcp', yaml: undefined },
  { name: 'tls', yaml: 'transport:\n  tls:\n    enable: true\n' },
  { name: 'websocket', yaml: 'transport:\n  protocol: websocket\n' },
  { name: 'wss', yaml: 'transport:\n  protocol: wss\n' },
] as const
export type TransportName = typeof TRANSPORT_VARIANTS[number]['name']

export interface TransportRow {
  scenario: ScenarioName
  metric: string
  label: string
  unit: string
  /** Median per transport. */
  medians: Record<TransportName, number>
  /** Fraction of the raw tcp tunnel's performance per transport. */
  ratios: Record<TransportName, number>
}

export interface TransportOptions {
  cliJs: string
  logLevel: string
  services: Ports
  reps: number
  sizes: ScenarioSizes
  build: (sizes: ScenarioSizes) => Scenario[]
  progress: (text: string) => void
}

export async function runTransports (group: ProcessGroup, o: TransportOptions, tempDirs: string[]): Promise<TransportRow[]> {
  const tunnels: Array<{ name: TransportName, tunnel: Tunnel }> = []
  try {
    for (const v of TRANSPORT_VARIANTS) {
      const tunnel = await startTunnel(group, { cliJs: o.cliJs, logLevel: o.logLevel, services: o.services, name: `${v.name}-`, ...(v.yaml === undefined ? {} : { clientTransport: v.yaml }) })
      tempDirs.push(tunnel.dir)
      tunnels.push({ name: v.name, tunnel })
    }
    const scenarios = o.build(o.sizes).filter((s) => TRANSPORT_SCENARIOS.includes(s.name))
    const values = new Map<string, number[]>()
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const [i, sc] of scenarios.entries()) {
        // Rotated per repetition and scenario, so no transport always runs on a warmer machine.
        const k = (rep + i) % tunnels.length
        for (const { name, tunnel } of [...tunnels.slice(k), ...tunnels.slice(0, k)]) {
          const target: Target = { host: LOOPBACK, ports: tunnel.ports, memoryPids: { relay: tunnel.relay.pid, client: tunnel.client.pid } }
          const m = await sc.run(target)
          for (const spec of sc.metrics) {
            const key = `${sc.name}\0${spec.key}\0${name}`
            values.set(key, [...(values.get(key) ?? []), m.metrics[spec.key] ?? NaN])
          }
          o.progress(`transports rep ${rep}/${o.reps} ${sc.name.padEnd(4)} ${name}`)
        }
      }
    }
    return scenarios.flatMap((sc) => sc.metrics.map((spec) => {
      const medians = Object.fromEntries(TRANSPORT_VARIANTS.map((v) => [v.name, median(values.get(`${sc.name}\0${spec.key}\0${v.name}`) ?? [])])) as Record<TransportName, number>
      const ratios = Object.fromEntries(TRANSPORT_VARIANTS.map((v) => [v.name, spec.higherIsBetter ? medians[v.name] / medians.tcp : medians.tcp / medians[v.name]])) as Record<TransportName, number>
      return { scenario: sc.name, metric: spec.key, label: spec.label, unit: spec.unit, medians, ratios }
    }))
  } finally {
    for (const { tunnel } of tunnels) await tunnel.cleanup()
  }
}

export function formatTransportRows (rows: readonly TransportRow[], format: (v: number, unit: string) => string): string {
  const names = TRANSPORT_VARIANTS.map((v) => v.name)
  const lines = [
    'Transports (issue 18): the same tunnel over each transport, ratio to the raw tcp transport (1.00 = as fast)',
    `${'metric'.padEnd(34)}${names.map((n) => n.padStart(20)).join('')}`,
  ]
  for (const r of rows) {
    const cells = names.map((n) => (n === 'tcp' ? format(r.medians.tcp, r.unit) : `${format(r.medians[n], r.unit)} ${r.ratios[n].toFixed(2)}`).padStart(20))
    lines.push(`${`${r.scenario} ${r.label}`.slice(0, 33).padEnd(34)}${cells.join('')}`)
  }
  return lines.join('\n')
}
