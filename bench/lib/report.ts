// The benchmark's report: the JSON shape printed by --json and the text tables.
import type { CostRow, ResultRow } from './aggregate.js'
import type { Environment } from './env.js'
import type { HandshakeCost } from './handshake-cost.js'
import type { Sample } from './measure.js'
import type { Goal, ProcessMemory } from './goals.js'
import type { BenchOptions } from './options.js'

export type { ProcessMemory } from './goals.js'

import type { TransportRow } from './transports.js'

export interface Report {
  tool: 'tunnel-bench'
  env: Environment
  options: BenchOptions
  results: ResultRow[]
  costs: CostRow[]
  memory: {
    /** RSS of a bare `node` waiting on a timer, started in the same run. */
    bareNodeRssBytes: number
    relay: ProcessMemory
    client: ProcessMemory
    /** The --base build's relay and client. */
    base?: { relay: ProcessMemory, client: ProcessMemory }
  }
  /** The issue-21 goals, judged from this run. */
  goals: Goal[]
  /** warn/error lines the relay and client logged during the run (should be none). */
  productLog: string[]
  /** CPU of one handshake (in-process, the pure handshake code). */
  handshake: HandshakeCost
  notes: string[]
  samples: Sample[]
  totalSeconds: number
  /** tcp1, rr and http over each transport, as ratios to raw tcp (absent with --no-transports). */
  transports?: TransportRow[]
}

const MB = 1e6
const MIB = 1024 * 1024

export function formatValue (value: number, unit: ResultRow['unit']): string {
  if (!Number.isFinite(value)) return 'n/a'
  switch (unit) {
    case 'B/s': return `${(value / MB).toFixed(1)} MB/s`
    case 'µs': return `${value.toFixed(1)} µs`
    case '1/s': return `${Math.round(value).toLocaleString('en-US')} /s`
    case '%': return `${(value * 100).toFixed(1)} %`
    case 'B': return value >= 10 * 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value).toLocaleString('en-US')} B`
    case 'n': return Math.round(value).toLocaleString('en-US')
  }
}

function table (header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join('  ').trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function spread (samples: readonly number[], unit: ResultRow['unit']): string {
  const finite = samples.filter(Number.isFinite)
  if (finite.length < 2) return ''
  return `${formatValue(Math.min(...finite), unit)} – ${formatValue(Math.max(...finite), unit)}`
}

const UNIT_SHORT: Record<Exclude<CostRow['workUnit'], 'B'>, string> = { request: 'req', 'round trip': 'rt', connection: 'conn' }

function perUnit (ns: number, unit: CostRow['workUnit']): string {
  if (!Number.isFinite(ns)) return 'n/a'
  return unit === 'B' ? `${ns.toFixed(2)} ns/B` : `${(ns / 1e3).toFixed(1)} µs/${UNIT_SHORT[unit]}`
}

function syscalls (perUnit: number, unit: CostRow['workUnit']): string {
  if (!Number.isFinite(perUnit) || perUnit <= 0) return 'n/a'
  return unit === 'B' ? `${(1 / perUnit / 1024).toFixed(1)} KiB/call` : `${perUnit.toFixed(1)}/${UNIT_SHORT[unit]}`
}

const percent = (share: number): string => Number.isFinite(share) ? `${(share * 100).toFixed(0)} %` : 'n/a'

const mib = (bytes: number): string => Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(0)} MiB` : 'n/a'

export function formatReport (r: Report): string {
  const e = r.env
  const out: string[] = []
  out.push(`tunnel bench  ${e.date}  commit ${e.commit}${e.dirty ? ' (+uncommitted changes)' : ''}`)
  out.push(`node ${e.node}  kernel ${e.kernel}  ${e.cpu} x${e.cpus}, ${(e.memoryBytes / 2 ** 30).toFixed(0)} GiB RAM  load average at start ${e.loadAverage1m.toFixed(2)}${e.wrk === undefined ? '' : `  ${e.wrk}`}`)
  out.push(`${r.options.reps} interleaved repetitions, median; runs capped at ${r.options.seconds} s${r.options.smoke ? '  [SMOKE: sizes too small to mean anything]' : ''}`)
  out.push('')
  out.push(table(
    ['scenario', 'direct', 'tunnel', 'ratio', 'added', 'tunnel min – max'],
    r.results.map((x) => [
      x.label, formatValue(x.direct, x.unit), formatValue(x.tunnel, x.unit), `${x.ratio.toFixed(2)}x`,
      x.unit === 'µs' ? `+${formatValue(x.difference, x.unit)}` : '', spread(x.tunnelSamples, x.unit),
    ]),
  ))
  out.push('ratio = fraction of direct: tunnel/direct for rates, direct/tunnel for latencies and bytes (1.00 = as good as direct);')
  out.push('added = tunnel − direct latency.')
  out.push('')
  const based = r.results.filter((x) => x.base !== undefined)
  if (based.length > 0) {
    out.push(`This build against the base build (${r.options.baseCli ?? ''}), interleaved in the same run:`)
    out.push(table(
      ['scenario', 'base', 'this build', 'base ratio', 'this ratio', 'this/base'],
      based.map((x) => [
        x.label, formatValue(x.base ?? NaN, x.unit), formatValue(x.tunnel, x.unit),
        `${(x.unit === 'µs' || x.unit === 'B' ? x.direct / (x.base ?? NaN) : (x.base ?? NaN) / x.direct).toFixed(2)}x`,
        `${x.ratio.toFixed(2)}x`, `${(x.overBase ?? NaN).toFixed(2)}x`,
      ]),
    ))
    out.push('this/base = this build over the base (rates), base over this build (latencies, bytes): above 1.00 = better.')
    out.push('')
  }
  const enc = r.results.filter((x) => x.plain !== undefined)
  if (enc.length > 0) {
    out.push('Encryption: the same tunnel with transport.insecurePlaintext on both sides, in the same run:')
    out.push(table(
      ['scenario', 'plaintext tunnel', 'encrypted tunnel', 'encrypted/plain', 'plain/direct'],
      enc.map((x) => [
        x.label, formatValue(x.plain ?? NaN, x.unit), formatValue(x.tunnel, x.unit), `${(x.encryptedOverPlain ?? NaN).toFixed(2)}x`,
        `${(x.unit === 'µs' ? x.direct / (x.plain ?? NaN) : (x.plain ?? NaN) / x.direct).toFixed(2)}x`,
      ]),
    ))
    out.push('encrypted/plain = what the record layer keeps (1.00 = encryption is free).')
    out.push('')
  }
  const h = r.handshake
  out.push(`Handshake CPU (median of ${h.runs}, in-process): NKpsk0 relay ${h.relayMs.toFixed(2)} ms, client ${h.clientMs.toFixed(2)} ms; ` +
    `NNpsk0 relay ${h.relayUnpinnedMs.toFixed(2)} ms; X25519 scalarMult ${h.scalarMultMs.toFixed(2)} ms`)
  out.push('')
  out.push('CPU per unit of work in tunnel runs (median; cores = CPU time / wall time):')
  out.push(table(
    ['scenario', 'relay', 'client', 'relay+client', 'relay cores', 'client cores', 'service cores', 'loadgen cores'],
    r.costs.filter((c) => c.mode !== 'direct').map((c) => [
      c.mode === 'tunnel' ? c.scenario : `${c.scenario} (${c.mode})`, perUnit(c.relayNsPerUnit, c.workUnit), perUnit(c.clientNsPerUnit, c.workUnit), perUnit(c.tunnelNsPerUnit, c.workUnit),
      c.relayCores.toFixed(2), c.clientCores.toFixed(2), c.servicesCores.toFixed(2), c.scenario.startsWith('wrk') ? '(wrk)' : c.benchCores.toFixed(2),
    ]),
  ))
  out.push('')
  out.push('Kernel share and syscalls (read+write) of relay / client; busy cores of the machine (other = softirq, wrk, other users):')
  out.push(table(
    ['scenario', 'mode', 'relay sys', 'client sys', 'relay syscalls', 'client syscalls', 'machine cores', 'other cores'],
    r.costs.map((c) => {
      const tunnel = c.mode !== 'direct'
      return [
        c.scenario, c.mode,
        tunnel ? percent(c.relaySystemShare) : '', tunnel ? percent(c.clientSystemShare) : '',
        tunnel ? syscalls(c.relaySyscallsPerUnit, c.workUnit) : '', tunnel ? syscalls(c.clientSyscallsPerUnit, c.workUnit) : '',
        c.machineCores.toFixed(2), c.otherCores.toFixed(2),
      ]
    }),
  ))
  out.push('')
  const m = r.memory
  const memRows: string[][] = []
  const over = (bytes: number | undefined): string => (bytes === undefined ? '' : `+${mib(bytes - m.bareNodeRssBytes)}`)
  const memRow = (who: string, p: ProcessMemory): string[] => [who, mib(p.idleRssBytes), over(p.idleRssBytes), p.settledRssBytes === undefined ? '' : mib(p.settledRssBytes), over(p.settledRssBytes), mib(p.underLoadMaxRssBytes), mib(p.maxRssBytes), mib(p.peakRssBytes)]
  memRows.push(['bare node (setInterval)', mib(m.bareNodeRssBytes), '', '', '', '', '', ''])
  memRows.push(memRow('relay', m.relay), memRow('client', m.client))
  if (m.base !== undefined) memRows.push(memRow('relay (base build)', m.base.relay), memRow('client (base build)', m.base.client))
  out.push('RSS (VmRSS): idle right after start-up, idle settled (--idle-settle s after start), and under load (read every 100 ms during the runs):')
  out.push(table(['process', 'idle', 'over bare node', 'settled', 'over bare node', 'under load max', 'after runs max', 'peak (VmHWM)'], memRows))
  out.push('')
  out.push('Goals (issue 21), judged from this run:')
  for (const g of r.goals) out.push(`  [${g.met === undefined ? ' – ' : g.met ? 'met' : 'NOT'}] ${g.goal}: ${g.measured === '' ? '(not measured)' : g.measured}`)
  if (r.productLog.length > 0) out.push(`relay/client logged ${r.productLog.length} warn/error line(s); first: ${r.productLog[0] ?? ''}`)
  for (const n of r.notes) out.push(`note: ${n}`)
  out.push(`total ${r.totalSeconds.toFixed(1)} s`)
  return out.join('\n')
}
