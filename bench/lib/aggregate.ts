// Turns the samples of all repetitions into medians, ratios and CPU cost per unit of work.
import { MODES, type Mode, type Sample } from './measure.js'
import type { ScenarioName } from './options.js'
import type { MetricSpec, Scenario } from './scenarios.js'
import { median } from './stats.js'

export interface ResultRow {
  scenario: ScenarioName
  metric: string
  label: string
  unit: MetricSpec['unit']
  /** Median over the repetitions. */
  direct: number
  tunnel: number
  /** Fraction of direct performance: tunnel/direct for rates, direct/tunnel for latencies. */
  ratio: number
  ratioDefinition: 'tunnel/direct' | 'direct/tunnel'
  /** tunnel − direct (medians): for latencies, what the tunnel adds; steadier than the ratio on a busy machine. */
  difference: number
  directSamples: number[]
  tunnelSamples: number[]
  /**
   * Present when the scenario also ran through the insecurePlaintext tunnel: its median, and
   * what encryption keeps = tunnel/plain for rates, plain/tunnel for latencies (1.00 = free).
   */
  plain?: number
  encryptedOverPlain?: number
  plainSamples?: number[]
  /**
   * Present with --base: the other build's median, and this build over it = tunnel/base for
   * rates, base/tunnel for latencies and memory (above 1.00 = this build is better).
   */
  base?: number
  overBase?: number
  baseSamples?: number[]
}

export interface CostRow {
  scenario: ScenarioName
  mode: Mode
  workUnit: Scenario['workUnit']
  /** Medians over the repetitions of CPU ns per unit of work. */
  relayNsPerUnit: number
  clientNsPerUnit: number
  tunnelNsPerUnit: number
  servicesNsPerUnit: number
  benchNsPerUnit: number
  /** CPU time / wall time (1 = one core busy for the whole run). */
  relayCores: number
  clientCores: number
  servicesCores: number
  benchCores: number
  /** Part of relay / client CPU spent in the kernel (syscalls and the loopback TCP stack). */
  relaySystemShare: number
  clientSystemShare: number
  /** read + write syscalls per unit of work. */
  relaySyscallsPerUnit: number
  clientSyscallsPerUnit: number
  /** Busy cores of the whole machine, and of everything but our four processes (softirq, wrk, other users). */
  machineCores: number
  otherCores: number
}

function samplesOf (samples: readonly Sample[], scenario: ScenarioName, mode: Mode): Sample[] {
  return samples.filter((s) => s.scenario === scenario && s.mode === mode)
}

export function resultRows (scenarios: readonly Scenario[], samples: readonly Sample[]): ResultRow[] {
  const rows: ResultRow[] = []
  for (const sc of scenarios) {
    for (const m of sc.metrics) {
      const directSamples = samplesOf(samples, sc.name, 'direct').map((s) => s.metrics[m.key] ?? NaN)
      const tunnelSamples = samplesOf(samples, sc.name, 'tunnel').map((s) => s.metrics[m.key] ?? NaN)
      const direct = median(directSamples)
      const tunnel = median(tunnelSamples)
      const plainSamples = samplesOf(samples, sc.name, 'plain').map((s) => s.metrics[m.key] ?? NaN)
      const plain = median(plainSamples)
      const withPlain = plainSamples.length === 0
        ? {}
        : { plain, encryptedOverPlain: m.higherIsBetter ? tunnel / plain : plain / tunnel, plainSamples }
      const baseSamples = samplesOf(samples, sc.name, 'base').map((s) => s.metrics[m.key] ?? NaN)
      const base = median(baseSamples)
      const withBase = baseSamples.length === 0
        ? {}
        : { base, overBase: m.higherIsBetter ? tunnel / base : base / tunnel, baseSamples }
      rows.push({
        scenario: sc.name,
        metric: m.key,
        label: m.label,
        unit: m.unit,
        direct,
        tunnel,
        ratio: m.higherIsBetter ? tunnel / direct : direct / tunnel,
        ratioDefinition: m.higherIsBetter ? 'tunnel/direct' : 'direct/tunnel',
        difference: tunnel - direct,
        directSamples,
        tunnelSamples,
        ...withPlain,
        ...withBase,
      })
    }
  }
  return rows
}

export function costRows (scenarios: readonly Scenario[], samples: readonly Sample[]): CostRow[] {
  const rows: CostRow[] = []
  for (const sc of scenarios) {
    for (const mode of MODES) {
      const ss = samplesOf(samples, sc.name, mode)
      if (ss.length === 0) continue
      const per = (pick: (s: Sample) => number): number => median(ss.map((s) => pick(s) / s.work))
      const cores = (pick: (s: Sample) => number): number => median(ss.map((s) => pick(s) / 1e9 / s.wallSeconds))
      rows.push({
        scenario: sc.name,
        mode,
        workUnit: sc.workUnit,
        relayNsPerUnit: per((s) => s.cpuNs.relay),
        clientNsPerUnit: per((s) => s.cpuNs.client),
        tunnelNsPerUnit: per((s) => s.cpuNs.relay + s.cpuNs.client),
        servicesNsPerUnit: per((s) => s.cpuNs.services),
        benchNsPerUnit: per((s) => s.cpuNs.bench),
        relayCores: cores((s) => s.cpuNs.relay),
        clientCores: cores((s) => s.cpuNs.client),
        servicesCores: cores((s) => s.cpuNs.services),
        benchCores: cores((s) => s.cpuNs.bench),
        relaySystemShare: median(ss.map((s) => s.systemNs.relay / s.cpuNs.relay)),
        clientSystemShare: median(ss.map((s) => s.systemNs.client / s.cpuNs.client)),
        relaySyscallsPerUnit: per((s) => s.syscalls.relay.reads + s.syscalls.relay.writes),
        clientSyscallsPerUnit: per((s) => s.syscalls.client.reads + s.syscalls.client.writes),
        machineCores: cores((s) => s.machineBusyNs),
        otherCores: cores((s) => s.machineBusyNs - s.cpuNs.bench - s.cpuNs.services - s.cpuNs.relay - s.cpuNs.client),
      })
    }
  }
  return rows
}
