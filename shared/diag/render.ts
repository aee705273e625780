// The human form of a DiagReport: a few aligned tables and the findings with their advice.
// Plain text (no colour), stable enough to read in a terminal or paste into an issue.
import { fmt } from './advice/keepalive.js'
import type { DiagReport, Finding } from './report.js'
import { displayWidth, padToWidth, printable } from './cell-text.js'

type Cell = string | number | null

export function renderTable (head: readonly string[], rows: ReadonlyArray<readonly Cell[]>, indent = '  '): string[] {
  const text = [head, ...rows].map((r) => r.map((c) => (c === null ? '-' : printable(String(c)))))
  const widths = head.map((_, i) => Math.max(...text.map((r) => displayWidth(r[i] ?? ''))))
  return text.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : padToWidth(c, widths[i] ?? 0))).join('  ').trimEnd())
}

export function renderReport (r: DiagReport): string {
  const lines: string[] = []
  const controlRows = (list: DiagReport['control']): string[] => renderTable(['peer', 'mss', 'pmtu', 'rcvmss', 'path MTU', 'UDP max v4/v6', 'rtt ms', 'cwnd', 'retrans', 'keepalive'], list.map((c) => [
    c.peer, c.mss, c.pmtu, c.rcvmss, c.pathMtu,
    c.maxUdpPayload === null ? null : `${c.maxUdpPayload.ipv4}/${c.maxUdpPayload.ipv6}`,
    c.rttMs === null ? null : `${c.rttMs}/${c.rttVarMs ?? '-'}`,
    c.cwnd,
    c.retransTotal === null ? null : `${c.retransCurrent ?? 0}/${c.retransTotal}`,
    c.keepaliveTimer === null ? null : `${fmt(c.keepaliveTimer.remainingMs / 1000)} left`,
  ]))
  const what = r.config === null ? `ports ${r.ports.join(', ') || '(none)'}` : `${r.role} (${r.config.file})`
  lines.push(`tunnel diag: ${what}; ${r.samples} sample(s) over ${(r.windowMs / 1000).toFixed(1)} s`)
  lines.push(`  ${r.host.platform} ${r.host.kernel ?? ''}, node ${r.host.node}, ss ${r.host.ss ?? 'not available'}`.replace(/\s+,/, ','))
  lines.push('', `Control connection (${r.controlExpected ?? 'none for bare ports'})`)
  if (r.control.length === 0) lines.push('  none found')
  else lines.push(...controlRows(r.control))
  if (r.relaySide !== undefined) {
    lines.push('', 'Control connection, seen from the relay (asked over the connection)')
    const side = r.relaySide
    if ('error' in side) lines.push(`  not available: ${side.error}`)
    else {
      if (side.control.length === 0) lines.push('  none found')
      else lines.push(...controlRows(side.control).map((l, i) => (i === 0 ? l.replace('peer', 'peer (this client as the relay sees it)') : l)))
      for (const f of side.findings) lines.push(...renderFinding(f))
      for (const u of side.unavailable) lines.push(`  not available on the relay: ${u.fact}: ${u.reason} (${u.code})`)
    }
  }
  lines.push('', 'Listeners (backlog)')
  if (r.listeners.length === 0) lines.push('  none found')
  else {
    lines.push(...renderTable(['address', 'role', 'asked', 'somaxconn', 'effective', 'queued', 'max queued', 'pid'], r.listeners.map((l) => [
      l.local, l.role, l.backlogAsked, l.somaxconn, l.effective, l.queued, `${l.maxQueued}${l.full ? ' FULL' : ''}`, l.pid,
    ])))
  }
  const o = r.overflow
  const grown = (name: 'ListenOverflows' | 'ListenDrops'): string => `${o.counters[name] ?? '-'}${o.growth === null ? '' : ` (+${o.growth[name]} in ${((o.growthOverMs ?? 0) / 1000).toFixed(1)} s)`}`
  lines.push(`  namespace counters: ListenOverflows ${grown('ListenOverflows')}, ListenDrops ${grown('ListenDrops')}`)
  lines.push(`  tcp_max_syn_backlog ${r.sysctls['net.ipv4.tcp_max_syn_backlog'] ?? '-'}, tcp_syncookies ${r.sysctls['net.ipv4.tcp_syncookies'] ?? '-'}, tcp_abort_on_overflow ${r.sysctls['net.ipv4.tcp_abort_on_overflow'] ?? '-'}`)
  lines.push(...renderKeepalive(r), ...renderStates(r), '', 'Findings')
  if (r.findings.length === 0) lines.push('  nothing to fix')
  for (const f of r.findings) lines.push(...renderFinding(f))
  if (r.unavailable.length > 0) {
    lines.push('', 'Not available')
    for (const u of r.unavailable) lines.push(`  ${u.fact}: ${u.reason} (${u.code})`)
  }
  return lines.join('\n') + '\n'
}

function renderKeepalive (r: DiagReport): string[] {
  const k = r.keepalive
  const lines = ['', 'Keepalive']
  if (k.heartbeat !== null) {
    const interval = k.heartbeat.intervalS === null ? 'no pings (answers the client\'s)' : `ping every ${k.heartbeat.intervalS} s`
    lines.push(`  heartbeat: ${interval}, timeout ${k.heartbeat.timeoutS ?? '-'} s; control RTT ${k.controlRttMs ?? '-'} ms`)
  }
  if (k.sockets.length > 0) {
    lines.push(...renderTable(['socket', 'keepalive', 'idle s', 'interval s', 'probes', 'why'], k.sockets.map((s) => [
      s.kind, s.enabled ? 'on' : 'off', s.idleS, s.intervalS, s.probes, s.source,
    ])))
  }
  const s = r.sysctls
  lines.push(`  sysctls: tcp_keepalive_time ${s['net.ipv4.tcp_keepalive_time'] ?? '-'} s, intvl ${s['net.ipv4.tcp_keepalive_intvl'] ?? '-'} s, probes ${s['net.ipv4.tcp_keepalive_probes'] ?? '-'}; tcp_retries2 ${s['net.ipv4.tcp_retries2'] ?? '-'} (~${fmt(k.retransmitGiveUpS)} with data in flight)`)
  if (k.deadPeer !== null) lines.push(`  dead peer noticed: idle ${fmt(k.deadPeer.idleS)} (${k.deadPeer.idleBy}); busy ${fmt(k.deadPeer.busyS)} (${k.deadPeer.busyBy})`)
  return lines
}

function renderStates (r: DiagReport): string[] {
  const lines = ['', 'Connection states']
  const counts = (c: Record<string, number>): string => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
  for (const p of r.states.byPort) lines.push(`  port ${p.port}: ${counts(p.counts)}`)
  const ns = r.states.namespace
  lines.push(`  namespace: TCP in use ${ns.inuse ?? '-'}, TIME-WAIT ${ns.timeWait ?? '-'}, orphans ${ns.orphans ?? '-'}`)
  const f = r.fds
  lines.push(`  fds of ${f.source}${f.pid === null ? '' : ` (pid ${f.pid})`}: ${f.open ?? '-'} open, limit ${f.softLimit ?? 'unlimited'} (hard ${f.hardLimit ?? 'unlimited'})`)
  return lines
}

function renderFinding (f: Finding): string[] {
  return [`  ${f.severity.toUpperCase().padEnd(5)} ${f.what}`, `        -> ${f.advice}`]
}
