// The human form of a report (stdout without --json).
import { ERROR_KINDS } from './error-kinds.js'
import type { LatencySummary } from './histogram.js'
import type { BenchReport, RelaySection } from './report-schema.js'
import { formatBytes } from '../shared/admin/index.js'

const int = (n: number): string => Math.round(n).toLocaleString('en-US')
const fixed = (n: number, digits = 1): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (n: number): string => n >= 100 ? fixed(n, 0) : n >= 10 ? fixed(n, 1) : fixed(n, 3)

export function formatBits (bitsPerSecond: number): string {
  if (bitsPerSecond >= 1e9) return `${fixed(bitsPerSecond / 1e9, 2)} Gbit/s`
  if (bitsPerSecond >= 1e6) return `${fixed(bitsPerSecond / 1e6, 1)} Mbit/s`
  return `${fixed(bitsPerSecond / 1e3, 1)} kbit/s`
}

function latencyLine (label: string, l: LatencySummary | null): string | undefined {
  if (l === null || l.count === 0) return undefined
  return `${label.padEnd(11)}p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p99_9)}  max ${ms(l.max)}  (ms, ${int(l.count)} samples)`
}

function describeLoad (r: BenchReport): string {
  const s = r.settings
  if (r.workload === 'bulk') return `${s.streams} stream(s), ${s.direction === 'up' ? 'upload' : 'download'}`
  const loop = s.rate === null ? 'closed loop' : `${s.rate}/s (open loop, latency from the scheduled time)`
  return `${s.concurrency} ${r.workload === 'udp' ? 'flow(s)' : 'connection(s)'}, ${loop}`
}

const UNIT: Record<BenchReport['workload'], string> = { rr: 'req', connect: 'conn', bulk: 'stream', udp: 'dgram', http: 'req' }

export function formatReport (r: BenchReport): string {
  const out: string[] = []
  const unit = UNIT[r.workload]
  out.push(`tunnel bench ${r.protocol}${r.protocol === 'tcp' ? ` ${r.workload}` : ''} → ${r.target}   ${fixed(r.elapsedS, 2)} s (stopped by ${r.stoppedBy}), ${describeLoad(r)}`)
  const c = r.counts
  out.push(`${'done'.padEnd(11)}${int(c.ok)} ok, ${int(c.failed)} failed (${fixed(r.errorRate * 100, 2)} %)${c.abandoned > 0 ? `, ${int(c.abandoned)} in flight at the end` : ''}`)
  const t = r.throughput
  out.push(`${'throughput'.padEnd(11)}${fixed(t.opsPerSecond)} ${unit}/s   sent ${formatBits(t.sentBitsPerSecond)}   received ${formatBits(t.receivedBitsPerSecond)}`)
  if (r.bulk !== null) {
    const per = r.bulk.streams.map((s) => formatBits(s.bitsPerSecond)).join(', ')
    out.push(`${'bulk'.padEnd(11)}${formatBits(r.bulk.bitsPerSecond)} total${r.bulk.streams.length > 1 ? `   per stream: ${per}` : ''}`)
  }
  if (r.udp !== null) {
    const u = r.udp
    out.push(`${'udp'.padEnd(11)}sent ${int(u.sent)} (${fixed(u.sentPerSecond)}/s), echoed ${int(u.received)}, lost ${int(u.lost)} (${fixed(u.lossRate * 100, 2)} %), reordered ${int(u.reordered)}, duplicates ${int(u.duplicates)}`)
  }
  for (const line of [latencyLine('latency', r.latencyMs), latencyLine('connect', r.connectMs), latencyLine('send lag', r.sendLagMs)]) {
    if (line !== undefined) out.push(line)
  }
  if (r.slowConnects > 0) out.push(`${''.padEnd(11)}${int(r.slowConnects)} connect(s) took >= 1 s`)
  const errs = ERROR_KINDS.filter((k) => r.errors[k] > 0).map((k) => `${k} ${int(r.errors[k])}${r.errorExamples[k] === undefined ? '' : ` (${r.errorExamples[k]})`}`)
  if (errs.length > 0) out.push(`${'errors'.padEnd(11)}${errs.join(', ')}`)
  for (const f of r.findings) out.push(`note: ${f}`)
  if (r.relay !== null) out.push(...relayLines(r.relay))
  const th = r.thresholds
  if (th.maxErrorRate !== null || th.maxP99Ms !== null) {
    out.push(th.passed ? 'thresholds: passed' : `thresholds: FAILED: ${th.violations.join('; ')}`)
  }
  return out.join('\n')
}

const rtt = (n: number | null): string => (n === null ? '-' : ms(n))

/** What the relay saw (--admin): a few lines after the generator's own figures. */
function relayLines (x: RelaySection): string[] {
  const who = x.proxies.length === 0 ? 'all proxies' : `proxy ${x.proxies.join(', ')}`
  const carried = x.flows > 0 || x.streams === 0 ? `${int(x.flows)} flow(s)` : `${int(x.streams)} stream(s)`
  const lines = [
    `${x.role.padEnd(11)}${who} (${x.admin}): ${carried}, in ${formatBytes(x.bytesIn)}, out ${formatBytes(x.bytesOut)}, refused ${int(x.visitorsRefused)}, dropped ${int(x.visitorsDropped)}`,
    `${''.padEnd(11)}control RTT ms before ${rtt(x.controlRttMs.before)}, max during ${rtt(x.controlRttMs.max)} (${x.controlRttMs.samples} samples), after ${rtt(x.controlRttMs.after)}; accept-queue overflows ${x.listenOverflows ?? '-'}, drops ${x.listenDrops ?? '-'}`,
  ]
  const udp = Object.entries(x.udpDrops).map(([k, n]) => `${k} ${int(n)}`)
  if (udp.length > 0) lines.push(`${''.padEnd(11)}udp drops: ${udp.join(', ')}`)
  const errs = Object.entries(x.errors).map(([k, n]) => `${k} ${int(n)}`)
  if (errs.length > 0) lines.push(`${''.padEnd(11)}errors: ${errs.join(', ')}`)
  for (const n of x.notes) lines.push(`${x.role} note: ${n}`)
  return lines
}
