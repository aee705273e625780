// What TCP keepalive and the heartbeat really do (pure), from the facts measured on Node 20
// (netlab README §5, research/protocol.md §3.4):
// - setKeepAlive(true, ms >= 1000): TCP_KEEPIDLE = floor(ms / 1000), and libuv forces
//   TCP_KEEPINTVL = 1 s and TCP_KEEPCNT = 10, so the tcp_keepalive_intvl/probes sysctls do not apply;
// - setKeepAlive(true, 0 < ms < 1000): TCP_KEEPIDLE = 0 fails (EINVAL, ignored): keepalive is on
//   with the sysctl idle, interval and probes (7200 s, 75 s, 9 by default);
// - keepalive only runs while nothing is unacknowledged; with data in flight the kernel gives up
//   after tcp_retries2 retransmissions (15 ≈ 924.6 s).

export const LIBUV_KEEPALIVE_INTERVAL_S = 1
export const LIBUV_KEEPALIVE_PROBES = 10
/** The kernel's floor and default ceiling of the retransmission timeout. */
export const TCP_RTO_MIN_MS = 200
export const TCP_RTO_MAX_MS = 120_000

export interface KeepaliveSysctls {
  timeS: number | null
  intvlS: number | null
  probes: number | null
}

export interface KeepaliveSetting {
  enabled: boolean
  idleS: number | null
  intervalS: number | null
  probes: number | null
  /** How the values come about, in words. */
  source: string
}

/** The keepalive a Node 20 socket gets from `setKeepAlive(true, delayMs)`; null = never enabled. */
export function nodeKeepalive (delayMs: number | null, sysctls: KeepaliveSysctls): KeepaliveSetting {
  if (delayMs === null) {
    return { enabled: false, idleS: null, intervalS: null, probes: null, source: 'keepalive off (Node default); the tcp_keepalive_* sysctls do not apply' }
  }
  if (delayMs >= 1000) {
    return {
      enabled: true,
      idleS: Math.floor(delayMs / 1000),
      intervalS: LIBUV_KEEPALIVE_INTERVAL_S,
      probes: LIBUV_KEEPALIVE_PROBES,
      source: `setKeepAlive(true, ${delayMs}): idle ${Math.floor(delayMs / 1000)} s; libuv fixes interval 1 s and 10 probes`,
    }
  }
  return {
    enabled: true,
    idleS: sysctls.timeS,
    intervalS: sysctls.intvlS,
    probes: sysctls.probes,
    source: `setKeepAlive(true, ${delayMs}): a delay under 1 s sets TCP_KEEPIDLE 0 (EINVAL, ignored), so the tcp_keepalive_* sysctls apply`,
  }
}

/** Seconds from the last packet received to the keepalive error (idle + probes × interval). */
export function keepaliveGiveUpS (k: KeepaliveSetting): number | null {
  if (!k.enabled || k.idleS === null || k.intervalS === null || k.probes === null) return null
  return k.idleS + k.intervalS * k.probes
}

/**
 * Seconds the kernel retransmits unacknowledged data before it gives up (tcp_retries2),
 * as the kernel models it: the RTO doubles from 200 ms up to tcp_rto_max.
 */
export function retransmitGiveUpS (retries2: number, rtoMaxMs = TCP_RTO_MAX_MS, rtoMinMs = TCP_RTO_MIN_MS): number {
  const thresh = Math.floor(Math.log2(rtoMaxMs / rtoMinMs))
  const ms = retries2 <= thresh
    ? ((2 ** (retries2 + 1)) - 1) * rtoMinMs
    : ((2 ** (thresh + 1)) - 1) * rtoMinMs + (retries2 - thresh) * rtoMaxMs
  return Math.round(ms / 100) / 10
}

export interface DeadPeerInput {
  /** Seconds between our pings; <= 0 when this end does not ping (the relay answers, never asks). */
  pingIntervalS: number
  /** Seconds of silence before this end gives up; <= 0 = off. */
  heartbeatTimeoutS: number
  keepalive: KeepaliveSetting
  /** retransmitGiveUpS(tcp_retries2), when known. */
  retransmitS: number | null
}

export interface DeadPeer {
  /** The connection was idle when the peer died. */
  idleS: number | null
  idleBy: string
  /** Data was in flight (keepalive does not run then). */
  busyS: number | null
  busyBy: string
}

/** How long this end takes to notice a dead peer, as configured. */
export function deadPeerDetection (input: DeadPeerInput): DeadPeer {
  const heartbeat = input.heartbeatTimeoutS > 0 ? input.heartbeatTimeoutS : null
  const ka = keepaliveGiveUpS(input.keepalive)
  const idle: Array<[number, string]> = []
  const busy: Array<[number, string]> = []
  if (heartbeat !== null) {
    idle.push([heartbeat, 'heartbeat timeout'])
    busy.push([heartbeat, 'heartbeat timeout'])
  }
  if (input.pingIntervalS > 0) {
    // Our own unacknowledged ping keeps keepalive from running: retransmissions decide.
    if (input.retransmitS !== null) idle.push([input.pingIntervalS + input.retransmitS, 'retransmissions of a ping (tcp_retries2)'])
  } else if (ka !== null) {
    idle.push([ka, 'TCP keepalive'])
  }
  if (input.retransmitS !== null) busy.push([input.retransmitS, 'retransmissions (tcp_retries2)'])
  const [idleS, idleBy] = first(idle)
  const [busyS, busyBy] = first(busy)
  return { idleS, idleBy, busyS, busyBy }
}

function first (options: Array<[number, string]>): [number | null, string] {
  const sorted = [...options].sort((a, b) => a[0] - b[0])
  const best = sorted[0]
  return best === undefined ? [null, 'nothing: a dead peer is never noticed'] : best
}
