// Medians over the repetitions, ratios to the direct connection of the same run, and the table.
import { median } from './lib/stats.js'
import type { PeerMetric, PeerScenario } from './peers-scenarios.js'

export interface PeerSample {
  peer: string
  scenario: string
  rep: number
  values: Record<string, number>
  failures: number
}

export interface PeerCell {
  peer: string
  metric: string
  median: number
  /** Fraction of direct performance (1.00 = as fast as direct); null when not a ratio metric or no direct figure. */
  ratio: number | null
  samples: number[]
}

export function cells (peers: readonly string[], scenarios: readonly PeerScenario[], samples: readonly PeerSample[]): PeerCell[] {
  const out: PeerCell[] = []
  const valuesOf = (peer: string, key: string): number[] =>
    samples.filter((s) => s.peer === peer).map((s) => s.values[key]).filter((v): v is number => v !== undefined && Number.isFinite(v))
  for (const m of scenarios.flatMap((s) => s.metrics)) {
    const direct = median(valuesOf('direct', m.key))
    for (const peer of peers) {
      const values = valuesOf(peer, m.key)
      if (values.length === 0) continue
      const med = median(values)
      let ratio: number | null = null
      if (m.higherIsBetter !== null && Number.isFinite(direct) && direct > 0 && med > 0) ratio = m.higherIsBetter ? med / direct : direct / med
      out.push({ peer, metric: m.key, median: med, ratio, samples: values })
    }
  }
  return out
}

function format (value: number, unit: PeerMetric['unit']): string {
  switch (unit) {
    case 'Gbit/s': return value.toFixed(2)
    case 'µs': return value.toFixed(0)
    case '1/s': return Math.round(value).toLocaleString('en-US')
    case '%': return value.toFixed(2)
  }
}

/** One row per peer, one column per metric: `value (ratio)`, as in research/peers.md. */
export function table (peers: readonly { name: string, label: string }[], metrics: readonly PeerMetric[], all: readonly PeerCell[]): string {
  const header = ['peer', ...metrics.map((m) => m.label)]
  const rows = peers.map((p) => [p.label, ...metrics.map((m) => {
    const c = all.find((x) => x.peer === p.name && x.metric === m.key)
    if (c === undefined) return '–'
    return c.ratio === null ? format(c.median, m.unit) : `${format(c.median, m.unit)} (${c.ratio.toFixed(2)})`
  })])
  const lines = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`)
  return lines.join('\n')
}
