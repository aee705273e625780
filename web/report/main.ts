// The chart code of `tunnel bench --report out.html` (inlined into the file by
// loadtest/report-html.ts): reads the data from the page's #bench-data element and draws the
// summary, the HDR latency percentile curve, latency and throughput second by second, errors by
// kind, and the relay's side of the run. Plain DOM and uPlot; works from file://.
import 'uplot/dist/uPlot.min.css'
import './style.css'
import type uPlot from 'uplot'
import type { BenchPageData, PercentilePoint } from '../../loadtest/index.js'
import { COLORS, mountChart, type ChartSpec } from '../common/chart.js'
import { formatBits, formatBytes, formatCount, formatMs } from '../common/format.js'

type Child = Node | string | null | undefined | false

function el (tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c)
  return e
}

function stat (label: string, value: string, tone = ''): HTMLElement {
  return el('div', { class: `stat ${tone}` }, el('span', { class: 'label' }, label), el('span', { class: 'value' }, value))
}

function table (head: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): HTMLElement {
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', numeric.has(i) ? { class: 'num' } : {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', numeric.has(i) ? { class: 'num' } : {}, c)))))))
}

/** A chart in a figure; the figure says what it holds (data-chart, data-points) for tests and readers. */
function chart (name: string, title: string, spec: ChartSpec, data: uPlot.AlignedData, parent: HTMLElement): void {
  const box = el('div', { class: 'chart-box' })
  parent.append(el('figure', { class: 'chart', 'data-chart': name, 'data-points': String(data[0].length) }, el('figcaption', {}, title), box))
  mountChart(box, spec, data)
}

/**
 * x of a percentile as HdrHistogram plots it: log10(1 / (1 - p)), so 0 = 0 %, 1 = 90 %, 2 = 99 %,
 * 3 = 99.9 %; the maximum sits one decade past the last finite point.
 */
function curveData (points: PercentilePoint[]): { x: number[], y: number[] } {
  const finite = points.filter((p) => p.percentile < 100)
  const x = finite.map((p) => Math.log10(1 / (1 - p.percentile / 100)))
  const y = finite.map((p) => p.ms)
  const max = points.find((p) => p.percentile === 100)
  if (max !== undefined) {
    x.push((x.at(-1) ?? 0) + 1)
    y.push(max.ms)
  }
  return { x, y }
}

/** The percentile at x = log10(1 / (1 - p)): `0%`, `50%`, `99.9%`. */
export function percentileLabel (x: number): string {
  const p = 100 * (1 - 10 ** -x)
  if (p <= 0) return '0%'
  const digits = Math.max(0, Math.ceil(x) - 2)
  return `${p.toFixed(Math.min(5, digits))}%`
}

function section (id: string, title: string, ...children: Child[]): HTMLElement {
  return el('section', { id, class: 'card' }, el('h2', {}, title), ...children)
}

function render (data: BenchPageData, root: HTMLElement): void {
  const { report: r, detail: d } = data
  const lat = r.latencyMs
  root.replaceChildren(el('h1', {}, `tunnel bench ${r.protocol} ${r.workload} → ${r.target}`))
  root.append(el('p', { class: 'muted' }, `started ${new Date(r.startedAt).toLocaleString()} · ran ${r.elapsedS.toFixed(1)} s · stopped by ${r.stoppedBy} · node ${r.env.node} on ${r.env.platform}, ${r.env.cpus} CPUs`))

  const tiles = el('div', { class: 'stats' },
    stat('ok', formatCount(r.counts.ok), 'good'),
    stat('failed', formatCount(r.counts.failed), r.counts.failed > 0 ? 'bad' : ''),
    stat('error rate', `${(r.errorRate * 100).toFixed(2)} %`, r.errorRate > 0 ? 'bad' : ''),
    stat('operations/s', r.throughput.opsPerSecond.toFixed(1)),
    stat('sent', formatBits(r.throughput.sentBitsPerSecond)),
    stat('received', formatBits(r.throughput.receivedBitsPerSecond)),
    lat !== null && stat('p50', formatMs(lat.p50)),
    lat !== null && stat('p99', formatMs(lat.p99)),
    lat !== null && stat('p99.9', formatMs(lat.p99_9)),
    lat !== null && stat('max', formatMs(lat.max)),
  )
  root.append(section('summary', 'Summary', tiles,
    r.thresholds.violations.length > 0 && el('ul', { class: 'violations' }, ...r.thresholds.violations.map((v) => el('li', { class: 'bad-text' }, v))),
    r.findings.length > 0 && el('ul', { class: 'findings' }, ...r.findings.map((f) => el('li', {}, f)))))

  if (d.latencyCurve.length > 0 || d.connectCurve.length > 0) {
    const s = section('percentiles', 'Latency by percentile (HDR histogram)')
    root.append(s)
    const lc = curveData(d.latencyCurve)
    const cc = curveData(d.connectCurve)
    // Both curves on the union of their x values (each point of one is a gap in the other, spanned).
    const xs = [...new Set([...lc.x, ...cc.x])].sort((a, b) => a - b)
    const on = (c: { x: number[], y: number[] }): Array<number | null> => {
      const at = new Map(c.x.map((x, i) => [x, c.y[i] ?? null]))
      return xs.map((x) => at.get(x) ?? null)
    }
    const series = [
      ...(lc.x.length > 0 ? [{ label: r.workload === 'connect' ? 'connect + reply' : 'latency', color: COLORS.in, spanGaps: true, value: (v: number | null) => formatMs(v) }] : []),
      ...(cc.x.length > 0 ? [{ label: 'TCP connect', color: COLORS.third, spanGaps: true, value: (v: number | null) => formatMs(v) }] : []),
    ]
    const ys = [...(lc.x.length > 0 ? [on(lc)] : []), ...(cc.x.length > 0 ? [on(cc)] : [])]
    chart('percentiles', 'Latency at each percentile (the last point is the maximum)', { time: false, xDecades: true, xLabel: 'percentile', xFormat: percentileLabel, yFormat: (v) => formatMs(v), series }, [xs, ...ys], s)
  }

  if (d.timeline.length > 0) {
    const s = section('over-time', 'Over time')
    root.append(s)
    const x = d.timeline.map((p) => p.t)
    const per = (n: number, seconds: number): number => (seconds > 0 ? n / seconds : 0)
    if (r.latencyMs !== null) {
      chart('latency-over-time', 'Latency per second', { time: false, xLabel: 'seconds', yFormat: (v) => formatMs(v), series: [
        { label: 'p50', color: COLORS.in, value: formatMs },
        { label: 'p99', color: COLORS.out, value: formatMs },
        { label: 'max', color: COLORS.muted, value: formatMs },
      ] }, [x, d.timeline.map((p) => p.p50Ms), d.timeline.map((p) => p.p99Ms), d.timeline.map((p) => p.maxMs)], s)
    }
    chart('throughput-over-time', 'Operations and bytes per second', { time: false, xLabel: 'seconds', yFormat: (v) => `${v}/s`, y2Format: (v) => formatBits(v), series: [
      { label: 'ok/s', color: COLORS.third, value: (v) => (v === null ? '–' : v.toFixed(1)) },
      { label: 'failed/s', color: COLORS.out, value: (v) => (v === null ? '–' : v.toFixed(1)) },
      { label: 'sent', color: COLORS.in, scale: 'bits', value: (v) => (v === null ? '–' : formatBits(v)) },
      { label: 'received', color: COLORS.fourth, scale: 'bits', value: (v) => (v === null ? '–' : formatBits(v)) },
    ] }, [x, d.timeline.map((p) => per(p.ok, p.seconds)), d.timeline.map((p) => per(p.failed, p.seconds)), d.timeline.map((p) => per(p.bytesSent * 8, p.seconds)), d.timeline.map((p) => per(p.bytesReceived * 8, p.seconds))], s)
  }

  const kinds = Object.entries(r.errors).filter(([, n]) => n > 0)
  root.append(section('errors', 'Errors by kind', kinds.length === 0
    ? el('p', { class: 'good-text' }, 'No operation failed.')
    : table(['kind', 'count', 'first seen'], kinds.map(([k, n]) => [k, formatCount(n), r.errorExamples[k as keyof typeof r.errorExamples] ?? '']), new Set([1]))))

  const rel = r.relay
  if (rel !== null) {
    const s = section('relay', `The ${rel.role}'s side (${rel.admin})`)
    root.append(s)
    s.append(table(['what', 'during the run'], [
      ['proxies', rel.proxies.length === 0 ? 'none matched: totals of all' : rel.proxies.join(', ')],
      ['streams / flows', `${formatCount(rel.streams)} / ${formatCount(rel.flows)}`],
      ['bytes in / out', `${formatBytes(rel.bytesIn)} / ${formatBytes(rel.bytesOut)}`],
      ['visitors refused / dropped', `${formatCount(rel.visitorsRefused)} / ${formatCount(rel.visitorsDropped)}`],
      ['accept queue overflows', rel.listenOverflows === null ? 'unknown' : formatCount(rel.listenOverflows)],
      ['errors', Object.keys(rel.errors).length === 0 ? 'none' : Object.entries(rel.errors).map(([c, n]) => `${c} ${n}`).join(', ')],
      ['control RTT before / max / after', `${formatMs(rel.controlRttMs.before)} / ${formatMs(rel.controlRttMs.max)} / ${formatMs(rel.controlRttMs.after)}`],
    ]))
    if (rel.notes.length > 0) s.append(el('ul', {}, ...rel.notes.map((n) => el('li', {}, n))))
    if (d.relay.length > 1) {
      const t0 = Date.parse(r.startedAt)
      const x = d.relay.map((p) => (p.at - t0) / 1000)
      const rate = (get: (p: typeof d.relay[number]) => number): Array<number | null> => d.relay.map((p, i) => {
        const prev = d.relay[i - 1]
        if (prev === undefined) return null
        const dt = (p.at - prev.at) / 1000
        return dt > 0 ? Math.max(0, get(p) - get(prev)) * 8 / dt : null
      })
      chart('relay-over-time', 'Control connection RTT and the proxy\'s traffic, as the relay polled it', { time: false, xLabel: 'seconds', yFormat: (v) => formatMs(v), y2Format: (v) => formatBits(v), series: [
        { label: 'control RTT', color: COLORS.in, value: formatMs },
        { label: 'in', color: COLORS.third, scale: 'bits', value: (v) => (v === null ? '–' : formatBits(v)) },
        { label: 'out', color: COLORS.out, scale: 'bits', value: (v) => (v === null ? '–' : formatBits(v)) },
      ] }, [x, d.relay.map((p) => p.rttMs), rate((p) => p.bytesIn), rate((p) => p.bytesOut)], s)
    }
  }

  const st = r.settings
  root.append(section('settings', 'Settings', table(['setting', 'value'], [
    ['duration', `${st.durationS} s`], ['operations at most', formatCount(st.maxOps)], ['concurrency', String(st.concurrency)],
    ['rate', st.rate === null ? 'closed loop' : `${st.rate}/s`], ['size / reply size', `${st.size} / ${st.replySize} B`], ['timeout', `${st.timeoutMs} ms`],
  ])))
}

const source = document.getElementById('bench-data')
const root = document.getElementById('report')
if (source !== null && root !== null) render(JSON.parse(source.textContent ?? '{}') as BenchPageData, root)
