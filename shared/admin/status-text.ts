// The human form of a status report (`tunnel status` without --json): a header line, sessions,
// proxies and the errors so far, as aligned plain-text tables.
import { renderTable } from '../diag/index.js'
import type { ProxyStatus, StatusReport, VisitorStatus } from './status.js'

export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? 'TiB'}`
}

export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`
}

const since = (iso: string, now: number): string => formatDuration((now - Date.parse(iso)) / 1000)

function counts (p: ProxyStatus): string {
  if (p.streams !== null) return `${p.streams.active}/${p.streams.total}`
  if (p.flows !== null) return `${p.flows.active}/${p.flows.total}`
  return '-'
}

function drops (p: ProxyStatus): string {
  const parts: string[] = []
  if (p.refused > 0) parts.push(`refused ${p.refused}`)
  if (p.dropped > 0) parts.push(`dropped ${p.dropped}`)
  if (p.udpDrops !== null) {
    for (const [reason, n] of Object.entries(p.udpDrops)) if (n > 0) parts.push(`${reason} ${n}`)
  }
  if (p.visitRefusals !== undefined && Object.keys(p.visitRefusals).length > 0) parts.push(`(${reasons(p.visitRefusals)})`)
  if (p.p2p !== undefined && Object.keys(p.p2p.punchRefusals).length > 0) parts.push(`punch packets refused (${reasons(p.p2p.punchRefusals)})`)
  return parts.length === 0 ? '-' : parts.join(', ')
}

/** The phase, with the health and group of proxies that have them: `listening, unhealthy, group web 1/2 healthy`. */
function phaseCell (x: StatusReport['proxies'][number]): string {
  const health = x.health === undefined || x.health === 'healthy' ? '' : `, ${x.health}`
  const g = x.group
  const group = g === undefined ? '' : g.members === undefined ? `, group ${g.name}` : `, group ${g.name} ${g.healthy ?? 0}/${g.members} healthy`
  return `${x.phase}${health}${group}`
}

/** `proof 2, user 1` from counts by reason (zeros left out). */
function reasons (counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ')
}

function visitorCounts (v: VisitorStatus): string {
  const c = v.streams ?? v.flows
  return c === null ? '-' : `${c.active}/${c.total}`
}

function visitorLines (visitors: readonly VisitorStatus[]): string[] {
  const lines = ['', `Visitors (${visitors.length})`]
  lines.push(...renderTable(['name', 'type', 'phase', 'target', 'local', 'visits', 'bytes in', 'bytes out', 'refused', 'error'], visitors.map((v) => [
    v.name, v.type, v.phase, v.target, v.local, visitorCounts(v), formatBytes(v.bytesIn), formatBytes(v.bytesOut),
    reasons(v.refusals) === '' ? '-' : reasons(v.refusals), v.error === null ? null : `${v.error.code}: ${v.error.message}`,
  ])))
  lines.push('  (visits = open now/total: local connections for stcp, flows for sudp; bytes in = local application to service)')
  for (const v of visitors) {
    const p = v.p2p
    if (p === undefined) continue
    const failures = reasons(p.failures)
    lines.push(`  ${v.name}: path ${p.path}${p.peer === null ? '' : ` (peer ${p.peer})`}${p.reason === null ? '' : `, last failure ${p.reason}`}; punches ${p.successes}/${p.attempts}${failures === '' ? '' : ` (failed: ${failures})`}${p.lastConnectMs === null ? '' : `, connected in ${p.lastConnectMs} ms`}; connections direct ${p.connections.direct}, via relay ${p.connections.fallback}, refused ${p.connections.refused}${reasons(p.punchRefusals ?? {}) === '' ? '' : `; punch packets refused: ${reasons(p.punchRefusals ?? {})}`}`)
    if (p.advice !== null) lines.push(`    ${p.advice}`)
  }
  return lines
}

/** `tunnel status --fleet`: the fleet's relays as the asked relay's store sees them, with their attached clients. */
export function renderFleet (r: StatusReport, now = Date.now()): string {
  const f = r.fleet
  if (f === undefined) return `this ${r.role} is not part of a relay fleet (no fleet block in its config)\n`
  const lines = [`Fleet as seen by relay ${f.nodeName}`]
  if (f.relays === null) lines.push(`  the store did not answer: ${f.error ?? 'unknown error'}`)
  else if (f.relays.length === 0) lines.push('  no relays')
  else {
    lines.push(...renderTable(['relay', 'address', 'up', 'clients'], f.relays.map((x) => [
      x.nodeName === f.nodeName ? `${x.nodeName} (this)` : x.nodeName, x.advertiseAddr, since(x.startedAt, now), x.clients,
    ])))
    lines.push(`  ${f.relays.length} relays, ${f.relays.reduce((n, x) => n + x.clients, 0)} client attachments`)
  }
  const s = f.store
  lines.push('', `Store (this relay): claims ${s.claims}, refused ${s.conflicts}, unavailable ${s.unavailable}, leases renewed ${s.leasesRegranted}, reclaimed ${s.reclaimed}, lost ${s.reclaimLost}, route watches renewed ${s.watchesRenewed}`)
  const l = f.links
  if (l === undefined) lines.push('Links: none (this relay cannot link to its peers: no auth.privateKey, or insecurePlaintext)')
  else lines.push(`Links (this relay): ${l.out} out, ${l.in} in, ${l.streams} streams; dialled ${l.dialled} (failed ${l.dialFailed}), accepted ${l.accepted}, refused ${l.refused}; forwarded out ${l.forwardedOut}, in ${l.forwardedIn}, failed ${l.forwardFailed}`)
  return lines.join('\n') + '\n'
}

export function renderStatus (r: StatusReport, now = Date.now()): string {
  const p = r.process
  const fds = p.openFds === null ? '-' : `${p.openFds}/${p.maxFds ?? 'unlimited'}`
  const where = r.role === 'relay' ? `listening on ${r.controlAddr ?? '-'}` : `relay ${r.controlAddr ?? '-'}`
  const lines = [
    `tunnel ${r.role} (pid ${p.pid}, up ${formatDuration(p.uptimeS)}), ${where}; fds ${fds}, rss ${formatBytes(p.rssBytes)}, node ${p.node}`,
    '',
    `Sessions (${r.sessions.length}; logins ${r.logins}, ${r.role === 'relay' ? 'replaced' : 'reconnects'} ${r.reconnects})`,
  ]
  if (r.sessions.length === 0) lines.push(r.role === 'client' ? '  not connected' : '  none')
  else {
    lines.push(...renderTable(['client', 'session', 'remote', 'up', 'rtt ms', 'streams', 'proxies', 'bytes in', 'bytes out', 'reconnects'], r.sessions.map((s) => [
      s.clientId, s.id, s.remote, since(s.since, now), s.rttMs === null ? null : s.rttMs.toFixed(s.rttMs < 10 ? 2 : 0),
      s.streams, s.proxies, formatBytes(s.bytesIn), formatBytes(s.bytesOut), s.reconnects,
    ])))
  }
  if (r.fleetConnections !== undefined) {
    const attached = r.fleetConnections.filter((c) => c.state === 'attached').length
    lines.push('', `Fleet connections (${attached} of ${r.fleetConnections.length} attached)`)
    lines.push(...renderTable(['connection', 'relay', 'state', 'streams', 'bytes in', 'bytes out', 'reconnects'], r.fleetConnections.map((c) => [
      c.connection, c.relay === '' ? '-' : c.relay, c.state, c.streams, formatBytes(c.bytesIn), formatBytes(c.bytesOut), c.reconnects,
    ])))
  }
  lines.push('', `Proxies (${r.proxies.length})`)
  if (r.proxies.length === 0) lines.push('  none')
  else {
    const head = r.role === 'relay'
      ? ['name', 'type', 'phase', 'public address', 'client', 'streams/flows', 'bytes in', 'bytes out', 'refused/dropped', 'error']
      : ['name', 'type', 'phase', 'public address', 'local', 'streams/flows', 'bytes in', 'bytes out', 'refused/dropped', 'error']
    lines.push(...renderTable(head, r.proxies.map((x) => [
      x.name, x.plugin === undefined ? x.type : `${x.type}+${x.plugin}`, phaseCell(x), x.publicAddr, r.role === 'relay' ? x.clientId : x.local, counts(x),
      formatBytes(x.bytesIn), formatBytes(x.bytesOut), drops(x), x.error === null ? null : `${x.error.code}: ${x.error.message}`,
    ])))
    lines.push('  (bytes in = visitor to service; streams/flows = open now/total)')
  }
  if (r.visitors !== undefined && r.visitors.length > 0) lines.push(...visitorLines(r.visitors))
  if (r.visits !== undefined && (r.visits.accepted > 0 || Object.keys(r.visits.refusals).length > 0)) {
    const refused = reasons(r.visits.refusals)
    lines.push('', `Visits to secret proxies: ${r.visits.accepted} joined; refused ${refused === '' ? 'none' : refused}`)
  }
  const errs = Object.entries(r.errors)
  lines.push('', 'Errors since start')
  lines.push(errs.length === 0 ? '  none' : `  ${errs.map(([code, n]) => `${code} ${n}`).join(', ')}`)
  if (r.lastError !== null) lines.push(`  last: ${r.lastError.code} at ${r.lastError.at}: ${r.lastError.message}`)
  const k = r.kernel
  if (k.listenOverflows !== null) lines.push('', `Kernel (this network namespace): ListenOverflows ${k.listenOverflows}, ListenDrops ${k.listenDrops ?? '-'}`)
  return lines.join('\n') + '\n'
}
