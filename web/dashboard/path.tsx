// The control connection as the relay's kernel sees it, over time (GET api/path, sampled by the
// client while this page is open): round trip, retransmits per interval, MSS and path MTU.
import type uPlot from 'uplot'
import type { PathReport } from '../../shared/admin/index.js'
import { COLORS, type ChartSpec } from '../common/chart.js'
import { formatMs } from '../common/format.js'
import { getJson } from './api.js'
import { Chart } from './chart.js'
import { Failure, Stat } from './components.js'
import { usePoll } from './poll.js'

export const PATH_POLL_MS = 10_000

const RTT_SPEC: ChartSpec = {
  time: true,
  yFormat: (v) => `${v} ms`,
  series: [
    { label: 'relay kernel RTT', color: COLORS.in, value: formatMs },
    { label: 'ping over the mux', color: COLORS.third, value: formatMs },
  ],
}

const RETRANS_SPEC: ChartSpec = {
  time: true,
  yFormat: (v) => String(v),
  y2Format: (v) => `${v} B`,
  series: [
    { label: 'retransmits per sample', color: COLORS.out, value: (v) => (v === null ? '–' : String(v)) },
    { label: 'MSS', color: COLORS.fourth, scale: 'mss', steps: true, value: (v) => (v === null ? '–' : `${v} B`) },
  ],
}

export function pathSeries (r: PathReport): { rtt: uPlot.AlignedData, retrans: uPlot.AlignedData } {
  const x = r.samples.map((s) => s.t / 1000)
  const retrans = r.samples.map((s, i) => {
    const now = s.relay?.retransTotal
    const before = i === 0 ? null : r.samples[i - 1]?.relay?.retransTotal
    return now === null || now === undefined || before === null || before === undefined ? null : Math.max(0, now - before)
  })
  return {
    rtt: [x, r.samples.map((s) => s.relay?.rttMs ?? null), r.samples.map((s) => s.pingMs)],
    retrans: [x, retrans, r.samples.map((s) => s.relay?.mss ?? null)],
  }
}

export function ControlPath (): preact.JSX.Element {
  const path = usePoll(async () => await getJson<PathReport>('api/path'), PATH_POLL_MS)
  const r = path.data
  if (r === undefined) return <><Failure error={path.error} /><p class="muted">Asking the relay…</p></>
  const last = r.samples.at(-1)
  const series = pathSeries(r)
  return (
    <div>
      <Failure error={path.error} />
      <div class="stats">
        <Stat label="MSS (relay side)" value={last?.relay?.mss ?? '–'} />
        <Stat label="path MTU" value={last?.relay?.pathMtu ?? '–'} />
        <Stat label="kernel RTT" value={formatMs(last?.relay?.rttMs)} />
        <Stat label="retransmits (total)" value={last?.relay?.retransTotal ?? '–'} />
        <Stat label="cwnd" value={last?.relay?.cwnd ?? '–'} />
      </div>
      {last?.error !== null && last?.error !== undefined && <p class="failure">The relay did not report its side: {last.error}</p>}
      <p class="muted">One sample every {r.intervalMs / 1000} s while this page is open (each asks the relay over the connection).</p>
      <div class="charts">
        <Chart name="rtt" title="Round trip" spec={RTT_SPEC} data={series.rtt} total={r.samples.length} />
        <Chart name="retransmits" title="Retransmits and MSS" spec={RETRANS_SPEC} data={series.retrans} total={r.samples.length} />
      </div>
    </div>
  )
}
