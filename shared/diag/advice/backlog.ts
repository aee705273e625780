// Advice on listeners: the backlog asked for against somaxconn, accept queues that wait or
// overflow, the namespace's overflow counters and the SYN-side sysctls.
import type { DiagFacts, Finding, Listener } from '../report.js'

/** Below this somaxconn a listener whose backlog is unknown may be capped (Node asks 511). */
export const NODE_DEFAULT_BACKLOG = 511

export function backlogFindings (f: DiagFacts): Finding[] {
  const out: Finding[] = []
  const abort = f.sysctls['net.ipv4.tcp_abort_on_overflow'] === 1
  for (const m of f.missingListeners) out.push(missingFinding(m.port, m.role === 'control'))
  for (const l of f.listeners) {
    const q = queueFinding(l, abort)
    if (q !== undefined) out.push(q)
  }
  out.push(...cappedFindings(f.listeners))
  out.push(...counterFindings(f))
  out.push(...sysctlFindings(f))
  return out
}

function missingFinding (port: number, relay: boolean): Finding {
  return {
    id: 'listener.missing',
    severity: 'warn',
    what: relay ? `nothing listens on bindPort ${port} here: the relay is not running in this host or network namespace` : `nothing listens on port ${port} here`,
    advice: relay ? 'start the relay, or run tunnel diag where it runs (same host, container or netns)' : 'check the port number, and run tunnel diag in the network namespace of the program that listens',
  }
}

function queueFinding (l: Listener, abortOnOverflow: boolean): Finding | undefined {
  if (l.full) {
    return {
      id: 'backlog.queue-full',
      severity: 'error',
      what: `accept queue of ${l.local} is full: ${l.maxQueued} waiting, max ${l.effective}${l.pid === null ? '' : ` (pid ${l.pid})`}`,
      advice: `the process is not accepting fast enough (event loop blocked?) or the backlog is too small; new connections are ${abortOnOverflow ? 'reset (tcp_abort_on_overflow=1)' : 'dropped until their SYN retry finds room'}`,
    }
  }
  if (l.maxQueued === 0) return undefined
  return {
    id: 'backlog.queue-waiting',
    severity: 'warn',
    what: `${l.maxQueued} connection(s) waited in the accept queue of ${l.local} (max ${l.effective})`,
    advice: 'a Node process accepts as fast as its event loop turns: a waiting queue means the loop is blocked or starved (CPU, long synchronous work)',
  }
}

function cappedFindings (listeners: readonly Listener[]): Finding[] {
  const capped = new Map<string, Listener[]>()
  for (const l of listeners) {
    if (l.backlogAsked === null || l.somaxconn === null || l.backlogAsked <= l.somaxconn) continue
    const key = `${l.backlogAsked}/${l.somaxconn}`
    capped.set(key, [...(capped.get(key) ?? []), l])
  }
  const out: Finding[] = [...capped.values()].map((group) => {
    const l = group[0] as Listener
    const ports = [...new Set(group.map((g) => g.port))].join(', ')
    return {
      id: 'backlog.capped',
      severity: 'warn',
      what: `backlog ${l.backlogAsked ?? '?'} is capped to somaxconn ${l.somaxconn ?? '?'} (port${group.length === 1 ? '' : 's'} ${ports})`,
      advice: `raise net.core.somaxconn to ${l.backlogAsked ?? '?'} or more (sysctl -w net.core.somaxconn=4096, and in /etc/sysctl.d/ to keep it)`,
    }
  })
  for (const l of listeners) {
    if (l.backlogAsked !== null || l.somaxconn === null || l.somaxconn >= NODE_DEFAULT_BACKLOG || l.effective !== l.somaxconn) continue
    out.push({
      id: 'backlog.maybe-capped',
      severity: 'info',
      what: `the backlog of ${l.local} is ${l.effective}, which is net.core.somaxconn: the program may have asked for more`,
      advice: 'raise net.core.somaxconn (Node asks for 511 by default) if connection bursts are dropped',
    })
  }
  return out
}

function counterFindings (f: DiagFacts): Finding[] {
  const { counters, growth, growthOverMs } = f.overflow
  const out: Finding[] = []
  const seconds = ((growthOverMs ?? 0) / 1000).toFixed(1)
  if (growth !== null && growth.ListenOverflows > 0) {
    out.push({
      id: 'backlog.overflows-grew',
      severity: 'error',
      what: `ListenOverflows grew by ${growth.ListenOverflows} in ${seconds} s (ListenDrops +${growth.ListenDrops}; now ${counters.ListenOverflows ?? '?'})`,
      advice: 'an accept queue overflowed: the process is not accepting fast enough (event loop blocked?) or the backlog is too small (the counters cover every listener of this network namespace)',
    })
  } else if (growth === null && (counters.ListenOverflows ?? 0) > 0 && f.listeners.length > 0) {
    out.push({
      id: 'backlog.overflows-counted',
      severity: 'info',
      what: `ListenOverflows is ${counters.ListenOverflows ?? 0} since this network namespace started (ListenDrops ${counters.ListenDrops ?? '?'})`,
      advice: 'the counters are cumulative for every listener here: run with --watch 10 to see whether they still grow',
    })
  }
  if (growth !== null && growth.TCPReqQFullDrop > 0) {
    out.push({
      id: 'backlog.syn-queue-drops',
      severity: 'warn',
      what: `the SYN queue dropped ${growth.TCPReqQFullDrop} handshake(s) in ${seconds} s (TCPReqQFullDrop)`,
      advice: 'a SYN flood or a burst beyond net.ipv4.tcp_max_syn_backlog: keep net.ipv4.tcp_syncookies=1 and raise tcp_max_syn_backlog',
    })
  }
  return out
}

function sysctlFindings (f: DiagFacts): Finding[] {
  const out: Finding[] = []
  const s = f.sysctls
  if (s['net.ipv4.tcp_syncookies'] === 0) {
    out.push({
      id: 'backlog.syncookies-off',
      severity: 'warn',
      what: 'net.ipv4.tcp_syncookies is 0',
      advice: `set net.ipv4.tcp_syncookies=1: without it a SYN flood fills the SYN queue (tcp_max_syn_backlog ${s['net.ipv4.tcp_max_syn_backlog'] ?? '?'}) and real clients are dropped`,
    })
  }
  if (s['net.ipv4.tcp_abort_on_overflow'] === 1) {
    out.push({
      id: 'backlog.abort-on-overflow',
      severity: 'info',
      what: 'net.ipv4.tcp_abort_on_overflow is 1: a full accept queue resets new connections',
      advice: 'keep 0 (the default) unless clients should fail at once rather than retry a burst',
    })
  }
  const synBacklog = s['net.ipv4.tcp_max_syn_backlog']
  const biggest = Math.max(0, ...f.listeners.map((l) => l.effective))
  if (synBacklog !== null && biggest > synBacklog) {
    out.push({
      id: 'backlog.syn-backlog-small',
      severity: 'info',
      what: `net.ipv4.tcp_max_syn_backlog ${synBacklog} is below the largest accept backlog ${biggest}`,
      advice: `raise net.ipv4.tcp_max_syn_backlog to ${biggest} or more so handshakes in progress can fill the accept queue`,
    })
  }
  return out
}
