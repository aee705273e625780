// The shape of `tunnel diag --json` (schema 1, documented in docs/diagnostics.md). Every fact
// is present; a number that could not be read is null and `unavailable` says why. Fields are
// only ever added within a schema version.
import type { ErrorCode } from '../errors.js'

export const REPORT_SCHEMA = 1

export type Role = 'relay' | 'client' | 'ports'
export type Severity = 'info' | 'warn' | 'error'

/** The sysctls diag reads, by their full names. */
export const SYSCTLS = [
  'net.core.somaxconn',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_abort_on_overflow',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_mtu_probing',
  'net.ipv4.tcp_retries2',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_rto_max_ms',
] as const
export type SysctlName = typeof SYSCTLS[number]

/** The TcpExt counters diag reports (per network namespace, cumulative). */
export const COUNTERS = ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop', 'TCPReqQFullDoCookies', 'SyncookiesSent'] as const
export type CounterName = typeof COUNTERS[number]

export interface Finding {
  /** Stable id, e.g. `path.mtu-below-1500`, `backlog.queue-full`. */
  id: string
  severity: Severity
  /** What was seen, with the numbers. */
  what: string
  /** One line: what to change and why. */
  advice: string
}

export interface Unavailable {
  /** Which fact: `ss`, `/proc/net/netstat`, `net.core.somaxconn`, `fds`, ... */
  fact: string
  code: Extract<ErrorCode, 'TUN_DIAG_SOURCE' | 'TUN_DIAG_PARSE'>
  reason: string
}

/** The relay's side of a client's control connection (diagRequest → diagResult; parsed in peer-view.ts). */
export interface PeerView {
  /** The relay's view of this connection (normally one; none when ss cannot see it). */
  control: ControlConnection[]
  /** Findings about the connection seen from the relay (path MTU, keepalive, ...). */
  findings: Finding[]
  unavailable: Unavailable[]
}

export interface ControlConnection {
  local: string
  peer: string
  family: 'ipv4' | 'ipv6'
  pid: number | null
  mss: number | null
  advmss: number | null
  pmtu: number | null
  rcvmss: number | null
  /** See PathEstimate in path-mtu.ts. */
  sendPathMtu: number | null
  peerPathMtu: number | null
  pathMtu: number | null
  /** Largest UDP payload crossing pathMtu unfragmented, per family. */
  maxUdpPayload: { ipv4: number, ipv6: number } | null
  rttMs: number | null
  rttVarMs: number | null
  minRttMs: number | null
  cwnd: number | null
  retransCurrent: number | null
  retransTotal: number | null
  bytesRetrans: number | null
  bytesSent: number | null
  bytesReceived: number | null
  segsOut: number | null
  sendBps: number | null
  deliveryBps: number | null
  /** From `ss -o`: time left to the next keepalive probe and probes sent; null when no keepalive timer runs now. */
  keepaliveTimer: { remainingMs: number, probesSent: number } | null
}

export interface Listener {
  port: number
  local: string
  /** control = the relay's bindPort; proxy = another listener of the same process; port = --port. */
  role: 'control' | 'proxy' | 'port'
  pid: number | null
  /** What the program passed to listen(); null when unknown (a --port of another program). */
  backlogAsked: number | null
  somaxconn: number | null
  /** The kernel's max accept queue (Send-Q): min(asked, somaxconn). */
  effective: number
  /** Connections waiting to be accepted in the last sample (Recv-Q). */
  queued: number
  /** Most seen waiting in any sample. */
  maxQueued: number
  /** The queue was over its max in some sample: new connections were being dropped. */
  full: boolean
}

export interface Overflow {
  /** Values at the last sample; null when /proc/net/netstat could not be read. */
  counters: Record<CounterName, number | null>
  /** Last sample minus first; null with a single sample. */
  growth: Record<CounterName, number> | null
  growthOverMs: number | null
}

export interface KeepaliveSocket {
  kind: 'control' | 'visitor' | 'local-service'
  enabled: boolean
  idleS: number | null
  intervalS: number | null
  probes: number | null
  source: string
}

export interface Keepalive {
  /** This end's heartbeat: the client pings every intervalS; the relay only times out (intervalS null). */
  heartbeat: { intervalS: number | null, timeoutS: number | null } | null
  controlRttMs: number | null
  sockets: KeepaliveSocket[]
  /** Seconds tcp_retries2 lets unacknowledged data be retransmitted. */
  retransmitGiveUpS: number | null
  /** How long this end takes to notice a dead peer on the control connection, as configured. */
  deadPeer: { idleS: number | null, idleBy: string, busyS: number | null, busyBy: string } | null
}

export interface States {
  ports: number[]
  /** Sockets on those ports (local or peer port) per ss state name. */
  counts: Record<string, number>
  byPort: Array<{ port: number, counts: Record<string, number> }>
  /** From /proc/net/sockstat (this network namespace, all ports). */
  namespace: { inuse: number | null, timeWait: number | null, orphans: number | null }
}

export interface Fds {
  pid: number | null
  /** Whose fds: 'owner of port 7000', 'this process'. */
  source: string
  open: number | null
  softLimit: number | null
  hardLimit: number | null
}

export interface DiagReport {
  schema: typeof REPORT_SCHEMA
  generatedAt: string
  role: Role
  config: { file: string, kind: 'server' | 'client' } | null
  host: { platform: string, kernel: string | null, node: string, ss: string | null }
  samples: number
  windowMs: number
  ports: number[]
  sysctls: Record<SysctlName, number | null>
  /** Which sockets count as the control connection (`established on local port 7000`), or null. */
  controlExpected: string | null
  control: ControlConnection[]
  listeners: Listener[]
  /** Ports where a listener was expected (bindPort, --port) but none was seen. */
  missingListeners: Array<{ port: number, role: 'control' | 'port' }>
  overflow: Overflow
  keepalive: Keepalive
  states: States
  fds: Fds
  findings: Finding[]
  unavailable: Unavailable[]
  /**
   * A running client's report (its admin API) adds the relay's side of the control connection,
   * asked over the connection itself; absent elsewhere.
   */
  relaySide?: PeerView | { error: string }
}

/** Everything but the findings: what the advice rules read. */
export type DiagFacts = Omit<DiagReport, 'findings'>
