// Traffic per proxy over the last hour: the first answer of GET api/history holds the whole ring,
// later ones only the samples after the last one seen (?since=), merged here and trimmed to the
// same hour. Each chart ends in a moving tip: the bytes since the last sample, as a rate.
import type uPlot from 'uplot'
import type { HistoryReport } from '../../shared/admin/index.js'
import { COLORS, type ChartSpec } from '../common/chart.js'
import { formatBytes, formatRate } from '../common/format.js'
import { getJson } from './api.js'
import { Chart } from './chart.js'

export const HISTORY_POLL_MS = 3_000
/** Charts drawn at most (the busiest first); the tables list every proxy. */
export const MAX_CHARTS = 24

export interface ProxyTraffic {
  type: string
  bytesIn: Array<number | null>
  bytesOut: Array<number | null>
  current: { bytesIn: number, bytesOut: number }
}

export interface Traffic {
  intervalMs: number
  t: number[]
  lastSampleAt: number
  now: number
  proxies: Map<string, ProxyTraffic>
  untracked: number
}

/** The previous view with a newer answer appended (proxies new to either side padded with gaps). */
export function mergeTraffic (previous: Traffic | undefined, r: HistoryReport, keep: number): Traffic {
  const before = previous?.t.length ?? 0
  const proxies = new Map<string, ProxyTraffic>()
  const gaps = (n: number): null[] => Array.from({ length: n }, () => null)
  for (const p of r.proxies) {
    const old = previous?.proxies.get(p.name)
    proxies.set(p.name, {
      type: p.type,
      bytesIn: [...(old?.bytesIn ?? gaps(before)), ...p.bytesIn],
      bytesOut: [...(old?.bytesOut ?? gaps(before)), ...p.bytesOut],
      current: p.current,
    })
  }
  const t = [...(previous?.t ?? []), ...r.t]
  const drop = Math.max(0, t.length - keep)
  for (const p of proxies.values()) {
    p.bytesIn = p.bytesIn.slice(drop)
    p.bytesOut = p.bytesOut.slice(drop)
  }
  return { intervalMs: r.intervalMs, t: t.slice(drop), lastSampleAt: r.lastSampleAt, now: r.now, proxies, untracked: r.untracked }
}

/** Loader for usePoll: the whole hour first, then what is new. */
export async function loadTraffic (previous: Traffic | undefined): Promise<Traffic> {
  const since = previous?.t.at(-1)
  const r = await getJson<HistoryReport>(since === undefined ? 'api/history' : `api/history?since=${since}`)
  const keep = Math.round(3_600_000 / r.intervalMs)
  // A restarted process starts a new ring: start over rather than mix the two.
  return mergeTraffic(since !== undefined && r.lastSampleAt < since ? undefined : previous, r, keep)
}

const SPEC: ChartSpec = {
  time: true,
  yFormat: formatRate,
  series: [
    { label: 'in (visitor → service)', color: COLORS.in, value: (v) => (v === null ? '–' : formatRate(v)) },
    { label: 'out', color: COLORS.out, dash: [6, 4], value: (v) => (v === null ? '–' : formatRate(v)) },
  ],
}

/** Rates per second at each sample's end, then the tip (now). */
export function trafficSeries (tr: Traffic, p: ProxyTraffic): uPlot.AlignedData {
  const seconds = tr.intervalMs / 1000
  const rate = (v: number | null): number | null => (v === null ? null : v / seconds)
  const tipSeconds = Math.max(0.001, (tr.now - tr.lastSampleAt) / 1000)
  return [
    [...tr.t.map((t) => t / 1000), tr.now / 1000],
    [...p.bytesIn.map(rate), p.current.bytesIn / tipSeconds],
    [...p.bytesOut.map(rate), p.current.bytesOut / tipSeconds],
  ]
}

const sum = (xs: Array<number | null>): number => xs.reduce<number>((a, b) => a + (b ?? 0), 0)

export function TrafficCharts ({ traffic }: { traffic: Traffic | undefined }): preact.JSX.Element {
  if (traffic === undefined) return <p class="muted">Loading the traffic history…</p>
  const rows = [...traffic.proxies].map(([name, p]) => {
    const bytesIn = sum(p.bytesIn) + p.current.bytesIn
    const bytesOut = sum(p.bytesOut) + p.current.bytesOut
    return { name, p, bytesIn, bytesOut }
  }).sort((a, b) => (b.bytesIn + b.bytesOut) - (a.bytesIn + a.bytesOut) || a.name.localeCompare(b.name))
  if (rows.length === 0) return <p class="muted">No proxies yet.</p>
  const shown = rows.slice(0, MAX_CHARTS)
  return (
    <div>
      <p class="muted">Bytes per second over the last hour, one point per {traffic.intervalMs / 1000} s; the last point moves with the current interval.</p>
      <div class="charts">
        {shown.map(({ name, p, bytesIn, bytesOut }) => (
          <Chart key={name} name={name} spec={SPEC} data={trafficSeries(traffic, p)} total={bytesIn + bytesOut}
            title={`${name} (${p.type}): in ${formatBytes(bytesIn)}, out ${formatBytes(bytesOut)}`} />
        ))}
      </div>
      {rows.length > shown.length && <p class="muted">{rows.length - shown.length} quieter proxies are not charted.</p>}
      {traffic.untracked > 0 && <p class="muted">{traffic.untracked} proxies are beyond the history's limit and not followed.</p>}
    </div>
  )
}
