// From parsed samples to the report's facts (pure): which sockets are the control connection,
// the listeners with their queues over all samples, state counts per port, counter growth and
// what keepalive and the heartbeat add up to.
import { deadPeerDetection, nodeKeepalive, retransmitGiveUpS, type KeepaliveSysctls } from './keepalive.js'
import { estimatePath, maxUdpPayload } from './path-mtu.js'
import { type ControlConnection, type CounterName, type Keepalive, type Listener, type Overflow, type States, type SysctlName, COUNTERS } from './report.js'
import { formatEndpoint } from './ss-address.js'
import { countStates, type SsSocket } from './ss-parse.js'
import type { ControlMatch, DiagTarget, ListenTarget } from './target.js'

export type Sysctls = Record<SysctlName, number | null>

export function isControlSocket (s: SsSocket, match: ControlMatch): boolean {
  if (s.state !== 'ESTAB') return false
  if (match.by === 'local-port') return s.local.port === match.port
  if (match.by === 'endpoint') return s.local.port === match.port && s.peer.port === match.peerPort && s.peer.host === match.peerHost
  return s.peer.port === match.port && (match.hosts === null || match.hosts.includes(s.peer.host))
}

export function controlConnections (sockets: readonly SsSocket[], match: ControlMatch | null, sysctls: Sysctls): ControlConnection[] {
  if (match === null) return []
  return sockets.filter((s) => isControlSocket(s, match)).map((s) => controlConnection(s, sysctls))
}

function controlConnection (s: SsSocket, sysctls: Sysctls): ControlConnection {
  const family = s.peer.family ?? 'ipv4'
  const info = s.info ?? { flags: [] }
  const timestamps = info.flags.includes('ts') || (sysctls['net.ipv4.tcp_timestamps'] ?? 1) !== 0
  const path = estimatePath(info, family, timestamps)
  const keepalive = s.timer?.name === 'keepalive' ? { remainingMs: s.timer.remainingMs, probesSent: s.timer.count } : null
  return {
    local: formatEndpoint(s.local),
    peer: formatEndpoint(s.peer),
    family,
    pid: s.users[0]?.pid ?? null,
    mss: info.mss ?? null,
    advmss: info.advmss ?? null,
    pmtu: info.pmtu ?? null,
    rcvmss: info.rcvmss ?? null,
    ...path,
    maxUdpPayload: path.pathMtu === null ? null : { ipv4: maxUdpPayload(path.pathMtu, 'ipv4'), ipv6: maxUdpPayload(path.pathMtu, 'ipv6') },
    rttMs: info.rttMs ?? null,
    rttVarMs: info.rttVarMs ?? null,
    minRttMs: info.minRttMs ?? null,
    cwnd: info.cwnd ?? null,
    retransCurrent: info.retransCurrent ?? null,
    retransTotal: info.retransTotal ?? null,
    bytesRetrans: info.bytesRetrans ?? null,
    bytesSent: info.bytesSent ?? null,
    bytesReceived: info.bytesReceived ?? null,
    segsOut: info.segsOut ?? null,
    sendBps: info.sendBps ?? null,
    deliveryBps: info.deliveryBps ?? null,
    keepaliveTimer: keepalive,
  }
}

/** Ports of other listeners owned by `pid` (the relay's proxy listeners). */
export function ownedListenerPorts (listening: readonly SsSocket[], pid: number, exclude: readonly number[]): number[] {
  const ports = listening
    .filter((s) => s.state === 'LISTEN' && s.users.some((u) => u.pid === pid) && !exclude.includes(s.local.port))
    .map((s) => s.local.port)
  return [...new Set(ports)].sort((a, b) => a - b)
}

/** The listeners of `targets` (plus `owned` ports) across samples; the last sample gives `queued`. */
export function listenersOf (samples: ReadonlyArray<readonly SsSocket[]>, targets: readonly ListenTarget[], owned: { ports: readonly number[], backlog: number | null }, somaxconn: number | null): Listener[] {
  const wanted = new Map<number, { role: Listener['role'], backlogAsked: number | null }>()
  for (const p of owned.ports) wanted.set(p, { role: 'proxy', backlogAsked: owned.backlog })
  for (const t of targets) wanted.set(t.port, { role: t.role, backlogAsked: t.backlogAsked })
  const byKey = new Map<string, Listener>()
  for (const sockets of samples) {
    for (const s of sockets) {
      const want = wanted.get(s.local.port)
      if (s.state !== 'LISTEN' || want === undefined) continue
      const local = formatEndpoint(s.local)
      const seen = byKey.get(local)
      const full = s.recvQ > s.sendQ
      if (seen === undefined) {
        byKey.set(local, { port: s.local.port, local, role: want.role, pid: s.users[0]?.pid ?? null, backlogAsked: want.backlogAsked, somaxconn, effective: s.sendQ, queued: s.recvQ, maxQueued: s.recvQ, full })
      } else {
        Object.assign(seen, { effective: s.sendQ, queued: s.recvQ, maxQueued: Math.max(seen.maxQueued, s.recvQ), full: seen.full || full })
        if (seen.pid === null) seen.pid = s.users[0]?.pid ?? null
      }
    }
  }
  return [...byKey.values()].sort((a, b) => a.port - b.port || a.local.localeCompare(b.local))
}

/** `sockstat6` adds the IPv6 sockets (dual-stack listeners and what they accept) to TCP in use. */
export function statesOf (sockets: readonly SsSocket[], ports: readonly number[], sockstat: Record<string, Record<string, number>> | null, sockstat6: Record<string, Record<string, number>> | null = null): States {
  const set = new Set(ports)
  const portOf = (s: SsSocket): number | undefined => (set.has(s.local.port) ? s.local.port : set.has(s.peer.port) ? s.peer.port : undefined)
  const relevant = sockets.filter((s) => portOf(s) !== undefined)
  const byPort = [...set].sort((a, b) => a - b).map((port) => ({ port, counts: countStates(relevant.filter((s) => portOf(s) === port)) }))
  const tcp = sockstat?.TCP
  return {
    ports: [...set].sort((a, b) => a - b),
    counts: countStates(relevant),
    byPort,
    namespace: { inuse: tcp?.inuse === undefined ? null : tcp.inuse + (sockstat6?.TCP6?.inuse ?? 0), timeWait: tcp?.tw ?? null, orphans: tcp?.orphan ?? null },
  }
}

export function overflowOf (first: Record<string, number> | null, last: Record<string, number> | null, overMs: number): Overflow {
  const counters = Object.fromEntries(COUNTERS.map((c) => [c, last?.[c] ?? null])) as Record<CounterName, number | null>
  if (first === null || last === null || first === last) return { counters, growth: null, growthOverMs: null }
  const growth = Object.fromEntries(COUNTERS.map((c) => [c, (last[c] ?? 0) - (first[c] ?? 0)])) as Record<CounterName, number>
  return { counters, growth, growthOverMs: overMs }
}

export function keepaliveOf (target: DiagTarget, sysctls: Sysctls, control: readonly ControlConnection[]): Keepalive {
  const ks: KeepaliveSysctls = {
    timeS: sysctls['net.ipv4.tcp_keepalive_time'],
    intvlS: sysctls['net.ipv4.tcp_keepalive_intvl'],
    probes: sysctls['net.ipv4.tcp_keepalive_probes'],
  }
  const sockets = target.sockets.map((s) => ({ kind: s.kind, ...nodeKeepalive(s.keepAliveMs, ks) }))
  const retries2 = sysctls['net.ipv4.tcp_retries2']
  const retransmitS = retries2 === null ? null : retransmitGiveUpS(retries2, sysctls['net.ipv4.tcp_rto_max_ms'] ?? undefined)
  const controlSocket = sockets.find((s) => s.kind === 'control')
  const hb = target.heartbeat
  const deadPeer = hb === null || controlSocket === undefined
    ? null
    : deadPeerDetection({ pingIntervalS: hb.intervalS ?? 0, heartbeatTimeoutS: hb.timeoutS ?? 0, keepalive: controlSocket, retransmitS })
  const rtts = control.map((c) => c.rttMs).filter((r): r is number => r !== null)
  return {
    heartbeat: hb,
    controlRttMs: rtts.length === 0 ? null : Math.max(...rtts),
    sockets,
    retransmitGiveUpS: retransmitS,
    deadPeer,
  }
}
