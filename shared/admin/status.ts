// The shape of GET /api/status (and `tunnel status --json`), the same for a relay and a client:
// the process, its control sessions, its proxies with their public address and state, traffic,
// refusals and errors. A zod schema so that the CLI and `tunnel bench --admin` can check what
// they are given; fields are only ever added within a schema version (objects are not strict,
// so an older CLI reads a newer process).
import { z } from 'zod'
import { UDP_DROP_REASONS } from '../udp/index.js'

export const STATUS_SCHEMA = 1

const count = z.number().int().min(0)
const udpDrops = z.object(Object.fromEntries(UDP_DROP_REASONS.map((r) => [r, count])) as Record<typeof UDP_DROP_REASONS[number], typeof count>)

export const PROXY_STATES = ['listening', 'registered', 'pending', 'refused', 'offline'] as const
export type ProxyState = typeof PROXY_STATES[number]

/**
 * A proxy's lifecycle phase. Client: pending (not sent: not connected yet), registering (sent,
 * no answer yet), running (the relay serves it), refused (with the relay's code), retrying
 * (refused or lost before, sent again), closed (removed by a reload). Relay: starting,
 * listening, closed.
 */
export const PROXY_PHASES = ['pending', 'registering', 'running', 'refused', 'retrying', 'closed', 'starting', 'listening'] as const
export type ProxyPhase = typeof PROXY_PHASES[number]

export const sessionStatusSchema = z.object({
  /** The session id both sides log (first bytes of the handshake hash). */
  id: z.string(),
  clientId: z.string(),
  user: z.string(),
  /** relay: the client's address; client: the relay's. */
  remote: z.string(),
  /** ISO 8601 time of the login. */
  since: z.string(),
  /** Control connection round trip (a ping on the mux), null when none has been answered. */
  rttMs: z.number().min(0).nullable(),
  streams: count,
  proxies: count,
  /** Control connection bytes (encrypted records) each way, from this side. */
  bytesIn: count,
  bytesOut: count,
  /** relay: logins of this client id since the relay started minus one; client: reconnects. */
  reconnects: count,
  /**
   * Bytes the streams hold, read from their sources and not yet sent (relay: from visitors), its
   * cap (relay: maxBufferedBytesPerClient), and how often a stream paused its source at the cap.
   * Absent from older processes.
   */
  bufferedBytes: count.optional(),
  bufferLimitBytes: count.optional(),
  bufferPauses: count.optional(),
  /** Bytes queued toward the peer (control and data frames), and how often reading from it paused because it did not take them. */
  peerQueuedBytes: count.optional(),
  readPauses: count.optional(),
  /** The control protocol version of the login; absent from older processes. */
  version: count.optional(),
  /** relay: the client's host name as it logged in; client: its own. */
  hostname: z.string().optional(),
  /** How the connection is secured: `noise-ik` (the client pinned the relay's key) or `noise-in`, `+plaintext` when records are not encrypted. */
  security: z.string().optional(),
  /** How the control connection travels: tcp, tls, websocket, websocket+tls or wss (absent from older versions). */
  transport: z.string().optional(),
  /** client: the proxy it goes through (scheme://host:port, never credentials); absent when direct. */
  via: z.string().optional(),
})
export type SessionStatus = z.infer<typeof sessionStatusSchema>

export const proxyStatusSchema = z.object({
  name: z.string(),
  /** tcp, udp, http, https, or a type a newer version added. */
  type: z.string(),
  /** The older, coarser view of the phase (kept for readers of schema 1). */
  state: z.enum(PROXY_STATES),
  phase: z.enum(PROXY_PHASES),
  /** host:port visitors connect to (relay: its bound address; client: serverAddr:remotePort), null before registration. */
  publicAddr: z.string().nullable(),
  /** localIP:localPort (client; with a plugin: its socket, folder or upstream, null for http_proxy and socks5), null on the relay. */
  local: z.string().nullable(),
  /** client: the proxy's plugin (frp's plugin type: socks5, static_file, ...); absent without one. */
  plugin: z.string().optional(),
  /** relay: the owning client id; client: null. */
  clientId: z.string().nullable(),
  /** tcp: visitors as streams (active now, total); null for udp. */
  streams: z.object({ active: count, total: count }).nullable(),
  /** udp: flows (active now, total); null for tcp. */
  flows: z.object({ active: count, total: count }).nullable(),
  /** Payload bytes; in = visitor → service, out = service → visitor. */
  bytesIn: count,
  bytesOut: count,
  /** Visitors (tcp) or datagrams (udp) refused by allowSources/denySources. */
  refused: count,
  /** tcp: visitors closed for want of a stream (relay) or a reachable local service (client). */
  dropped: count,
  udpDrops: udpDrops.nullable(),
  /** Why the proxy is refused or offline. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /**
   * Health-checked proxies only. Client: its check's state (starting until the first result);
   * relay: what the client reported last (an unhealthy proxy gets no visitors).
   */
  health: z.enum(['starting', 'healthy', 'unhealthy']).optional(),
  /** Load-balancing group members only: the group; on the relay also its members now and how many are healthy. */
  group: z.object({ name: z.string(), members: count.optional(), healthy: count.optional() }).optional(),
  /**
   * stcp/sudp: visits refused, by reason (relay: unknown, proof, user, replay, rateLimited, ...;
   * client: its own check's reasons). The visitor is only ever told "refused".
   */
  visitRefusals: z.record(z.string(), count).optional(),
  /** xtcp proxies: direct paths to visitors (open now, made in all), failed attempts by reason, punch packets refused by reason (forged, replayed), this side's NAT and the last visitor's (tunnel diag nat --proxy). */
  p2p: z.object({
    paths: z.object({ active: count, total: count }),
    failures: z.record(z.string(), count),
    punchRefusals: z.record(z.string(), count),
    nat: z.object({ mapping: z.string(), filtering: z.string() }).nullable().optional(),
    peerNat: z.object({ mapping: z.string(), filtering: z.string() }).nullable().optional(),
  }).optional(),
})
export type ProxyStatus = z.infer<typeof proxyStatusSchema>

export const VISITOR_PHASES = ['pending', 'running', 'refused', 'closed'] as const

/** An xtcp visitor's direct path (docs/operations.md "xtcp"). */
export const p2pStatusSchema = z.object({
  /** p2p: connections go directly; relay: they go through fallbackTo; connecting: a punch is under way; none: no path (and no fallback). */
  path: z.enum(['p2p', 'relay', 'connecting', 'none']),
  /** Why the last attempt failed (introTimeout, refused, badIntro, punchTimeout, closed, budget, offline), or null. */
  reason: z.string().nullable(),
  /** The peer's address on the direct path, while there is one. */
  peer: z.string().nullable(),
  attempts: count,
  successes: count,
  /** Failed attempts by reason. */
  failures: z.record(z.string(), count),
  /** ms from the start of the last successful attempt to the path being up; null before one. */
  lastConnectMs: z.number().nullable(),
  /** Local connections carried directly, and handed to fallbackTo. */
  connections: z.object({ direct: count, fallback: count, refused: count }),
  /** Punch packets refused while punching, by reason: forged (does not verify under the secret), replayed (seen before); absent from older processes. */
  punchRefusals: z.record(z.string(), count).optional(),
  /** This side's NAT and the peer's, as their STUN probes saw them (null when unknown). */
  nat: z.object({ mapping: z.string(), filtering: z.string() }).nullable(),
  peerNat: z.object({ mapping: z.string(), filtering: z.string() }).nullable(),
  /** What the NATs mean for this pair (tunnel diag nat's advice), null while unknown. */
  advice: z.string().nullable(),
})
export type P2pStatus = z.infer<typeof p2pStatusSchema>

/** A client's visitor of another client's secret proxy (frpc.yml's visitors:). */
export const visitorStatusSchema = z.object({
  name: z.string(),
  /** stcp, sudp, or a type a newer version added. */
  type: z.string(),
  /** The proxy it visits, as the relay names it ({serverUser}.{serverName}). */
  target: z.string(),
  /** pending (not connected to a relay that accepts visitors), running, refused (cannot listen, or no visit capability), closed. */
  phase: z.enum(VISITOR_PHASES),
  /** bindAddr:bindPort as bound, null without a listener. */
  local: z.string().nullable(),
  /** stcp: local connections as visits (open now, total); null for sudp. */
  streams: z.object({ active: count, total: count }).nullable(),
  /** sudp: flows (local source address and port) as visits; null for stcp. */
  flows: z.object({ active: count, total: count }).nullable(),
  /** in = local application → service. */
  bytesIn: count,
  bytesOut: count,
  /** Visits that failed, by reason: refused, rateLimited, limit, serviceDown, offline, reset. */
  refusals: z.record(z.string(), count),
  udpDrops: udpDrops.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  /** xtcp: the path in use and the punching record (absent for other types and older processes). */
  p2p: p2pStatusSchema.optional(),
})
export type VisitorStatus = z.infer<typeof visitorStatusSchema>

export const statusReportSchema = z.object({
  schema: z.literal(STATUS_SCHEMA),
  role: z.enum(['relay', 'client']),
  generatedAt: z.string(),
  process: z.object({
    pid: count,
    node: z.string(),
    uptimeS: z.number().min(0),
    rssBytes: count,
    heapUsedBytes: count,
    /** From /proc/self/fd and /proc/self/limits; null where unreadable. */
    openFds: count.nullable(),
    maxFds: count.nullable(),
    /** How long the event loop was blocked over the last 10-20 s (p99, max); absent from older processes. */
    eventLoopDelayMs: z.object({ p99Ms: z.number().min(0), maxMs: z.number().min(0) }).optional(),
  }),
  /** relay: where clients connect; client: the relay it dials. */
  controlAddr: z.string().nullable(),
  sessions: z.array(sessionStatusSchema),
  proxies: z.array(proxyStatusSchema),
  /** relay: logins accepted; client: logins made. */
  logins: count,
  /** relay: sessions replaced by a newer one of the same client; client: reconnect attempts. */
  reconnects: count,
  /** Refusals and failures since start, by error code. */
  errors: z.record(z.string(), count),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
  /** Namespace-wide TCP accept-queue counters (/proc/net/netstat), null where unreadable. */
  kernel: z.object({ listenOverflows: count.nullable(), listenDrops: count.nullable() }),
  /** relay: its fd budget and what it shed (docs/operations.md, file descriptors); absent on a client and from older relays. */
  limits: z.object({
    fdLimit: count.nullable(),
    /** fds kept back from visitors (open at start, spare, handshakes). */
    reserve: count,
    /** The cap on visitor connections now; null = none. */
    maxConnections: count.nullable(),
    visitors: count,
    otherSockets: count,
    /** Visitors reset at once since the start, by reason (maxConnections, maxVisitors). */
    shed: z.record(z.string(), count),
    shedControl: count,
    pendingHandshakes: count,
  }).optional(),
  /** client: its visitors (absent from older processes). */
  visitors: z.array(visitorStatusSchema).optional(),
  /** client of a fleet: every control connection (fleet.connections), the relay it is attached to or trying, and its load (absent without a fleet block). */
  fleetConnections: z.array(z.object({
    connection: count,
    relay: z.string(),
    state: z.enum(['attached', 'connecting']),
    streams: count,
    bytesIn: count,
    bytesOut: count,
    reconnects: count,
  })).optional(),
  /** relay: visits to secret proxies joined, and refused by reason (absent from older processes). */
  visits: z.object({ accepted: count, refusals: z.record(z.string(), count) }).optional(),
  /** relay of a fleet: its name, the fleet's relays as the store knows them, and its store traffic (absent on a single relay). */
  fleet: z.object({
    nodeName: z.string(),
    /** null when the store did not answer (then `error` says why). */
    relays: z.array(z.object({ nodeName: z.string(), advertiseAddr: z.string(), startedAt: z.string(), clients: count })).nullable(),
    error: z.string().nullable(),
    store: z.object({ claims: count, conflicts: count, unavailable: count, leasesRegranted: count, reclaimed: count, reclaimLost: count, watchesRenewed: count.default(0) }),
    /** Inter-relay links: up now (dialled out, accepted in), streams on them, and counters; absent from older relays and from a relay that cannot link. */
    links: z.object({
      out: count, in: count, streams: count,
      dialled: count, dialFailed: count, accepted: count, refused: count,
      forwardedOut: count, forwardedIn: count, forwardFailed: count,
    }).optional(),
  }).optional(),
})
export type StatusReport = z.infer<typeof statusReportSchema>

/** A session's `security`: `noise-ik` (pinned key) or `noise-in`, with `+plaintext` when the records are not encrypted. */
export function securityName (pinned: boolean, plaintext: boolean): string {
  return `${pinned ? 'noise-ik' : 'noise-in'}${plaintext ? '+plaintext' : ''}`
}
