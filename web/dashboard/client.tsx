// The client's dashboard: its proxies with their phase and path (local service → public address)
// and visitors, traffic per proxy, the control connection as the relay sees it over time, errors
// by code, the config file with check and apply, and the diagnostics report.
import type { ProxyStatus, StatusReport } from '../../shared/admin/index.js'
import { formatBytes, formatCount, formatDuration, formatMs, formatSince } from '../common/format.js'
import { getJson } from './api.js'
import { ErrorsByCode, Failure, Live, Phase, Section, Stat } from './components.js'
import { Diagnostics } from './diag.js'
import { ConfigEditor } from './editor.js'
import { ControlPath } from './path.js'
import { usePoll } from './poll.js'
import { STATUS_POLL_MS } from './relay.js'
import { HISTORY_POLL_MS, loadTraffic, TrafficCharts } from './traffic.js'

function Proxies ({ proxies }: { proxies: ProxyStatus[] }): preact.JSX.Element {
  if (proxies.length === 0) return <p class="muted">No proxies in the config file.</p>
  return (
    <div class="scroll">
      <table class="proxies">
        <thead><tr><th>name</th><th>type</th><th>phase</th><th>path (local → public)</th><th class="num">visitors now / total</th><th class="num">in</th><th class="num">out</th><th>error</th></tr></thead>
        <tbody>
          {proxies.map((p) => {
            const v = p.streams ?? p.flows
            return (
              <tr key={p.name} data-proxy={p.name}>
                <td>{p.name}</td>
                <td>{p.type}</td>
                <td><Phase phase={p.phase} /></td>
                <td><code>{p.local ?? '–'}</code> → <code>{p.publicAddr ?? '–'}</code></td>
                <td class="num">{v === null ? '–' : `${formatCount(v.active)} / ${formatCount(v.total)}`}</td>
                <td class="num">{formatBytes(p.bytesIn)}</td>
                <td class="num">{formatBytes(p.bytesOut)}</td>
                <td>{p.error === null ? '' : <span title={p.error.message}><code>{p.error.code}</code> {p.error.message}</span>}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

function Connection ({ status, now }: { status: StatusReport, now: number }): preact.JSX.Element {
  const s = status.sessions[0]
  if (s === undefined) return <p class="bad-text">Not connected to the relay at {status.controlAddr ?? '?'}{status.lastError === null ? '' : `: ${status.lastError.message} (${status.lastError.code})`}.</p>
  return (
    <div class="stats">
      <Stat label="relay" value={<code>{s.remote}</code>} tone="good" />
      <Stat label="session" value={s.id} />
      <Stat label="since" value={formatSince(s.since, now)} />
      <Stat label="ping RTT" value={formatMs(s.rttMs)} />
      <Stat label="transport" value={s.transport ?? '–'} />
      <Stat label="security" value={s.security ?? '–'} />
      <Stat label="reconnects" value={s.reconnects} />
      <Stat label="bytes in / out" value={`${formatBytes(s.bytesIn)} / ${formatBytes(s.bytesOut)}`} />
    </div>
  )
}

export function ClientDashboard (): preact.JSX.Element {
  const status = usePoll(async () => await getJson<StatusReport>('api/status'), STATUS_POLL_MS)
  const traffic = usePoll(loadTraffic, HISTORY_POLL_MS)
  const s = status.data
  const now = status.at === 0 ? Date.now() : status.at
  return (
    <>
      <header class="top">
        <h1>tunnel client</h1>
        {s !== undefined && <span class="facts">relay {s.controlAddr ?? '?'} · pid {s.process.pid} · up {formatDuration(s.process.uptimeS)} · {formatBytes(s.process.rssBytes)} RSS</span>}
        <Live at={status.at} error={status.error} />
        <nav><a href="#proxies">proxies</a><a href="#traffic">traffic</a><a href="#connection">connection</a><a href="#errors">errors</a><a href="#config">config</a><a href="#diagnostics">diagnostics</a></nav>
      </header>
      <Failure error={s === undefined ? status.error : undefined} />
      {s !== undefined && <Section id="proxies" title={`Proxies (${s.proxies.length})`}><Proxies proxies={s.proxies} /></Section>}
      <Section id="traffic" title="Traffic"><Failure error={traffic.error} /><TrafficCharts traffic={traffic.data} /></Section>
      {s !== undefined && <Section id="connection" title="Control connection"><Connection status={s} now={now} /><ControlPath /></Section>}
      {s !== undefined && <Section id="errors" title="Errors"><ErrorsByCode status={s} now={now} /></Section>}
      <Section id="config" title="Config file"><ConfigEditor onApplied={() => { status.refresh(); traffic.refresh() }} /></Section>
      <Section id="diagnostics" title="Diagnostics"><Diagnostics /></Section>
    </>
  )
}
