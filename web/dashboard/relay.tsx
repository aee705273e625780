// The relay's dashboard: clients, proxies by type, traffic per proxy, refusals and errors by
// code, the fd budget and what was shed, and the diagnostics report.
import type { ProxyStatus, StatusReport } from '../../shared/admin/index.js'
import { formatBytes, formatCount, formatDuration, formatMs, formatSince } from '../common/format.js'
import { getJson } from './api.js'
import { ErrorsByCode, Failure, Live, Phase, Section, Stat } from './components.js'
import { Diagnostics } from './diag.js'
import { usePoll } from './poll.js'
import { HISTORY_POLL_MS, loadTraffic, TrafficCharts } from './traffic.js'

export const STATUS_POLL_MS = 3_000

const visitors = (p: ProxyStatus): string => {
  const v = p.streams ?? p.flows
  return v === null ? '–' : `${formatCount(v.active)} / ${formatCount(v.total)}`
}

function ProxiesByType ({ proxies }: { proxies: ProxyStatus[] }): preact.JSX.Element {
  if (proxies.length === 0) return <p class="muted">No proxies: no client has registered one.</p>
  const types = [...new Set(proxies.map((p) => p.type))].sort()
  return (
    <div>
      {types.map((type) => (
        <div key={type} class="by-type">
          <h3>{type}</h3>
          <div class="scroll">
            <table class="proxies">
              <thead><tr><th>name</th><th>phase</th><th>public address</th><th>client</th><th class="num">visitors now / total</th><th class="num">in</th><th class="num">out</th><th class="num">refused / dropped</th></tr></thead>
              <tbody>
                {proxies.filter((p) => p.type === type).map((p) => (
                  <tr key={p.name} data-proxy={p.name}>
                    <td>{p.name}</td>
                    <td><Phase phase={p.phase} /></td>
                    <td><code>{p.publicAddr ?? '–'}</code></td>
                    <td>{p.clientId ?? '–'}</td>
                    <td class="num">{visitors(p)}</td>
                    <td class="num">{formatBytes(p.bytesIn)}</td>
                    <td class="num">{formatBytes(p.bytesOut)}</td>
                    <td class="num">{formatCount(p.refused)} / {formatCount(p.dropped)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </div>
  )
}

function Clients ({ status, now }: { status: StatusReport, now: number }): preact.JSX.Element {
  if (status.sessions.length === 0) return <p class="muted">No client is logged in.</p>
  return (
    <div class="scroll">
      <table class="clients">
        <thead><tr><th>client</th><th>address</th><th>version</th><th>transport</th><th>security</th><th class="num">RTT</th><th>since</th><th class="num">proxies</th><th class="num">streams</th><th class="num">reconnects</th></tr></thead>
        <tbody>
          {status.sessions.map((s) => (
            <tr key={s.id} data-client={s.clientId}>
              <td title={`session ${s.id}${s.hostname === undefined ? '' : `, host ${s.hostname}`}`}>{s.clientId}{s.user === '' ? '' : ` (${s.user})`}</td>
              <td><code>{s.remote}</code></td>
              <td>{s.version === undefined ? '–' : `protocol ${s.version}`}</td>
              <td>{s.transport ?? '–'}</td><td>{s.security ?? '–'}</td>
              <td class="num">{formatMs(s.rttMs)}</td>
              <td>{formatSince(s.since, now)}</td>
              <td class="num">{s.proxies}</td>
              <td class="num">{s.streams}</td>
              <td class="num">{s.reconnects}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Limits ({ status }: { status: StatusReport }): preact.JSX.Element {
  const l = status.limits
  const p = status.process
  const fdShare = p.openFds !== null && p.maxFds !== null && p.maxFds > 0 ? p.openFds / p.maxFds : null
  return (
    <div class="stats">
      <Stat label="fds open / limit" value={`${p.openFds ?? '–'} / ${p.maxFds ?? '–'}`} tone={fdShare !== null && fdShare > 0.9 ? 'bad' : undefined} />
      {l !== undefined && <>
        <Stat label="visitors / cap" value={`${formatCount(l.visitors)} / ${l.maxConnections === null ? 'none' : formatCount(l.maxConnections)}`} />
        <Stat label="fds reserved" value={formatCount(l.reserve)} />
        {Object.entries(l.shed).map(([reason, n]) => <Stat key={reason} label={`shed (${reason})`} value={formatCount(n)} tone={n > 0 ? 'bad' : undefined} />)}
        <Stat label="control connections shed" value={formatCount(l.shedControl)} tone={l.shedControl > 0 ? 'bad' : undefined} />
        <Stat label="handshakes in progress" value={formatCount(l.pendingHandshakes)} />
      </>}
      <Stat label="event loop p99 / max" value={p.eventLoopDelayMs === undefined ? '–' : `${formatMs(p.eventLoopDelayMs.p99Ms)} / ${formatMs(p.eventLoopDelayMs.maxMs)}`} />
      <Stat label="accept queue overflows" value={status.kernel.listenOverflows ?? '–'} />
    </div>
  )
}

export function RelayDashboard (): preact.JSX.Element {
  const status = usePoll(async () => await getJson<StatusReport>('api/status'), STATUS_POLL_MS)
  const traffic = usePoll(loadTraffic, HISTORY_POLL_MS)
  const s = status.data
  const now = status.at === 0 ? Date.now() : status.at
  return (
    <>
      <header class="top">
        <h1>tunnel relay</h1>
        {s !== undefined && <span class="facts">{s.controlAddr ?? ''} · pid {s.process.pid} · up {formatDuration(s.process.uptimeS)} · {formatBytes(s.process.rssBytes)} RSS · node {s.process.node}</span>}
        <Live at={status.at} error={status.error} />
        <nav><a href="#clients">clients</a><a href="#proxies">proxies</a><a href="#traffic">traffic</a><a href="#errors">errors</a><a href="#limits">limits</a><a href="#diagnostics">diagnostics</a></nav>
      </header>
      <Failure error={s === undefined ? status.error : undefined} />
      {s !== undefined && <>
        <Section id="clients" title={`Clients (${s.sessions.length})`} extra={<span class="muted">logins {s.logins}, replaced {s.reconnects}</span>}>
          <Clients status={s} now={now} />
        </Section>
        <Section id="proxies" title={`Proxies (${s.proxies.length})`}><ProxiesByType proxies={s.proxies} /></Section>
      </>}
      <Section id="traffic" title="Traffic"><Failure error={traffic.error} /><TrafficCharts traffic={traffic.data} /></Section>
      {s !== undefined && <>
        <Section id="errors" title="Refusals and errors"><ErrorsByCode status={s} now={now} /></Section>
        <Section id="limits" title="Limits"><Limits status={s} /></Section>
      </>}
      <Section id="diagnostics" title="Diagnostics"><Diagnostics /></Section>
    </>
  )
}
