// What the relay serves for a client, whatever its type: one interface every proxy type
// implements (start, stop, status, metrics, describe), and the kind that makes proxies of a type
// from their spec. A new proxy type is one file with its kind plus one line in kinds.ts
// (frp's RegisterProxyFactory). The session's proxy table (session-proxies.ts) only ever talks to
// proxies through this interface.
import type { Logger } from 'pino'
import type { z } from 'zod'
import type { ServerConfig } from '../../shared/config/index.js'
import type { RelaySession } from '../../shared/mux/index.js'
import type { UdpDropReason } from '../../shared/udp/index.js'
import type { ConnectionBudget } from '../connection-budget.js'
import type { SourceCounts } from '../source-counts.js'
import type { UdpHub } from '../udp-hub.js'
import type { Vhosts } from '../vhost/index.js'
import type { Endpoint } from '../../shared/wire/index.js'
import type { TcpmuxHub } from '../tcpmux/index.js'
import type { SecretDirectory, VisitRefusal } from '../visit/index.js'
import type { PortAllocator } from './port-allocator.js'
import type { TcpGroups } from './tcp-groups.js'

/**
 * How a proxy stops. drain: stop accepting, open visitors go on (the client goes away or is
 * replaced); reset: stop accepting and reset every open visitor (an unregister: none may take
 * the cut for a clean end); drop: the session is gone, close everything without telling anyone.
 */
export type StopMode = 'drain' | 'reset' | 'drop'

/** A relay proxy's lifecycle: created, then listening once start() resolved, closed after stop(). */
export type RelayProxyPhase = 'starting' | 'listening' | 'closed'

/** Where visitors reach a proxy, for the client's proxyResult, logs and status. */
export interface ProxyEndpoint {
  /** The public port (tcp, udp), or the vhost port its domains are served on (http, https). */
  remotePort: number
  /** http/https: the domains it is served under. */
  domains?: readonly string[]
  /** Limits in force, for the "proxy listening" line (human units). */
  limits?: Readonly<Record<string, string | number>>
  /**
   * Who its public port stays reserved for after its session ends (a group's port: the group);
   * absent = the client key that holds it.
   */
  reservedFor?: string
}

/** A proxy's place in a load-balancing group and its health, for status and metrics. */
export interface ProxyMembership {
  /** Health-checked proxies only: what the client reported last. */
  health?: 'healthy' | 'unhealthy'
  /** Group members only: the group, its members now and how many of them are healthy. */
  group?: { name: string, members: number, healthy: number }
}

/** Counters of one proxy. Directions are the visitor's: in = visitor → service. */
export interface ProxyMetrics {
  /** tcp, http, https: visitors as streams (active now, total); null for udp. */
  streams: { active: number, total: number } | null
  /** udp: flows (active now, total); null otherwise. */
  flows: { active: number, total: number } | null
  bytesIn: number
  bytesOut: number
  /** Visitors (or datagrams) refused by allowSources/denySources. */
  refused: number
  /** Visitors closed at once: shed, or no stream could be opened. */
  dropped: number
  udpDrops: Record<UdpDropReason, number> | null
  /** stcp/sudp: visits refused, by the relay's reason (the visitor is told only FORBIDDEN). */
  visitRefusals?: Partial<Record<VisitRefusal, number>>
}

export interface RelayProxy {
  readonly name: string
  readonly type: string
  /** Opens the public side (a port, or routes on a vhost port); throws a TunnelError for this proxy alone. */
  start: () => Promise<void>
  /**
   * Idempotent; see StopMode. `reserve`: what the proxy claimed by name (a vhost's domains) stays
   * reserved for its owner for the ownership grace (the session ended without a goodbye); false
   * frees it at once (an unregister, or a client that said goodbye). Default: all but 'reset'.
   */
  stop: (mode: StopMode, reserve?: boolean) => void
  status: () => RelayProxyPhase
  metrics: () => ProxyMetrics
  /** Valid once start() resolved. */
  describe: () => ProxyEndpoint
  /** Health-checked types: the client's report (proxyHealth); an unhealthy proxy gets no visitors. */
  setHealthy?: (healthy: boolean) => void
  /** Group membership and health, for status. */
  membership?: () => ProxyMembership
}

/** What a proxy may use of its session and of the relay. */
export interface ProxyContext {
  /** The owning client's control session: visitors become its streams and flows. */
  session: RelaySession
  /** The session's logger. */
  log: Logger
  /**
   * Who owns what this proxy takes: the client key the session proved (ControlSession.owner).
   * Public ports are bound for it and vhost domains owned by it. Compared, never interpreted.
   */
  owner: string
  config: ServerConfig
  ports: PortAllocator
  /** The relay's visitor budget (fd limit, maxConnections); undefined = unlimited. */
  budget: ConnectionBudget | undefined
  /** The relay's http/https virtual hosts; undefined when frps.yml sets no vhost port. */
  vhosts: Vhosts | undefined
  /** The session's UDP flow table (made on first use). */
  udpHub: () => UdpHub
  /** The relay's tcp load-balancing groups; undefined = groups are not served. */
  tcpGroups?: TcpGroups | undefined
  /** The relay's tcpmux port (tcpmuxHTTPConnectPort); undefined when frps.yml sets none. */
  tcpmux?: TcpmuxHub | undefined
  /**
   * Asks the relay's plugins (NewUserConn, NewWorkConn) about a visitor of a proxy of this
   * session; undefined when no plugin takes those operations.
   */
  admitVisitor?: ((proxy: { name: string, type: string }, visitor: Endpoint) => Promise<boolean>) | undefined
  /** Open visitors per source over all of this client's tcp proxies (a source's share of its streams). */
  clientSources: SourceCounts
  /** The secret proxies (stcp, sudp) online on the relay, for visitors to find; undefined = none served. */
  visits?: SecretDirectory | undefined
  /** The user the owning client logged in with (frp's allowUsers default: only this user). */
  user?: string
}

/** The fields every spec has (the register message checks them before the kind's schema runs). */
export interface SpecBase {
  name: string
  type: string
}

export interface ProxyKind<S extends SpecBase = SpecBase> {
  /** The `type` of its specs on the wire and in frpc.yml. */
  readonly type: string
  /** Named in the login's capability list; a client uses the type only when the relay has it. */
  readonly capability: string
  /** Checks a spec from the wire; a spec that fails refuses that proxy alone (TUN_PROXY_INVALID). */
  readonly schema: z.ZodType<S>
  /** Holds a public port of its own: counts against maxPortsPerClient. */
  readonly holdsPort: boolean
  /**
   * Set for proxies on the shared vhost ports (both or neither), counted against the per-client
   * and per-user caps before the proxy is made. routes: the (domain, location) pairs the spec
   * lists, cheap (checked first, so a flood is refused before it is normalised); domains: the
   * distinct domains it claims, normalised; throws a TunnelError (TUN_PROXY_INVALID) for a spec
   * that cannot be served.
   */
  readonly routes?: (spec: S) => number
  readonly domains?: (spec: S, config: ServerConfig) => readonly string[]
  create: (spec: S, ctx: ProxyContext) => RelayProxy
}

/** Erases a kind's spec type for the registry (the schema guarantees create() gets its own type). */
export function defineProxyKind<S extends SpecBase> (kind: ProxyKind<S>): ProxyKind {
  return kind as unknown as ProxyKind
}
