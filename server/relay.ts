// The relay: accepts client control connections on bindAddr:bindPort, admits each to a bounded
// handshake table (handshake-gate.ts), runs the Noise handshake within transport.handshakeTimeout
// (secure-accept.ts), and hands the encrypted link to a ControlSession. Every socket counts
// against a budget derived from the fd limit (connection-budget.ts), which the proxies consult
// before admitting a visitor. close() stops accepting, sends go-away, drains up to a grace period.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { ServerConfig } from '../shared/config/index.js'
import { TunnelError } from '../shared/errors.js'
import { readFdFacts, type FdFacts } from './fd-limit.js'
import { formatHostPort, normalizeAddress, listenError, listenTcp, SourceFilter } from '../shared/net/index.js'
import { encodeKey, encodeRefusal, Refusal, relayKeyId, derivePsk, formatKeyId, relayKeyPair, type KeyPair, type RecordLimits, ReplayGuard } from '../shared/transport/index.js'
import { ResetCode, SUPPORTED_CONTROL_VERSIONS } from '../shared/wire/index.js'
import { ConnectionBudget, type BudgetStats } from './connection-budget.js'
import { ControlSession, type SessionLimits } from './control-session.js'
import { clientKeyPolicy, type ClientKeyPolicy } from './client-keys.js'
import { DhBudget, type DhBudgetOptions } from './dh-budget.js'
import { HandshakeGate, type GateOptions, type GateTicket } from './handshake-gate.js'
import { logRefusal } from './refusal-log.js'
import { LogLimiter } from './log-limiter.js'
import { NatProbes } from './nat-probe-mode.js'
import { BUILTIN_PROXY_KINDS, ProxyKinds, PortAllocator, type ProxyKind, TcpGroups, UserFootprints } from './proxy/index.js'
import { RelayPlugins } from './plugin/index.js'
import { TcpmuxHub, type TcpmuxStats } from './tcpmux/index.js'
import { adoptPooledReads } from '../shared/mux/index.js'
import { Registry } from './registry.js'
import { RelayStats } from './relay-stats.js'
import { acceptSecureConnection } from './secure-accept.js'
import { budgetAdmission } from './visitor-admission.js'
import { relayPeerView, type PeerViewSource } from './peer-view.js'
import { type RouterSize, type VhostStats, Vhosts } from './vhost/index.js'
import { SecretDirectory, VisitBroker } from './visit/index.js'
import { EtcdOwnershipStore, FleetForwarder, FleetLinks, FleetRoutes, type OwnershipStore, type RelayRecord } from './fleet/index.js'
import { StunServer } from './stun/index.js'
import { CONTROL_KEEPALIVE_MS, DEFAULT_GRACE_MS } from '../shared/timing.js'
import { openTransport, TlsAcceptor, type TransportLayer, type TransportPolicy, WebSocketAcceptor } from './transport/index.js'

export interface RelayAddress {
  address: string
  port: number
}

export interface RelayOptions {
  /** Wall clock for handshake timestamps (tests inject one). */
  now?: () => number
  gate?: GateOptions
  recordLimits?: RecordLimits
  /** The fd limit and fds open now (tests inject them); default: read from /proc/self. */
  fds?: FdFacts
  /** The proxy types served (default: tcp, udp, http, https). */
  proxyKinds?: readonly ProxyKind[]
  /** Control protocol versions accepted from clients (default: SUPPORTED_CONTROL_VERSIONS; tests pin others). */
  controlVersions?: readonly number[]
  /** The relay-wide DH budget (tests shrink it and inject a clock). */
  dh?: DhBudgetOptions
  /** How long a relay plugin call may take (default PLUGIN_TIMEOUT_MS; tests shorten it). */
  pluginTimeoutMs?: number
  /** Bounds of every client's mux session that tests shrink (a not-reading peer's timeout, ...). */
  sessionLimits?: SessionLimits
  /** What answers clients' diagRequests (default: ss on this relay's end); tests inject one. */
  peerView?: PeerViewSource
  /** Clock (ms) of the ownership grace's reservations: clientIDs, names, ports, domains; tests inject one. */
  reservationClock?: () => number
  /** Visits to secret proxies (tests shrink the caps and inject the failure budget's clock). */
  visits?: { maxPerSession?: number, maxPerHome?: number, monotonic?: () => number }
  /** The fleet's ownership store (default: etcd, from frps.yml's fleet block; none without it). */
  fleetStore?: OwnershipStore
}

/**
 * Connections from trusted reverse proxies (transport.websocket.trustedProxies) whose transport is
 * being opened: they are admitted to the handshake gate only once X-Forwarded-For names the
 * client, so until then they are bounded here, like the gate's own table.
 */
export const MAX_PENDING_FROM_TRUSTED_PROXIES = 64

/** How long a refused connection under TLS or a WebSocket may take to deliver the refusal before its socket is closed. */
export const REFUSAL_LINGER_MS = 1_000

/** A client connection as accepted: its TCP peer (or X-Forwarded-For's client), for logs, limits and diag. */
interface Peer {
  /** The address the handshake limits count it under (normalised). */
  source: string
  /** The TCP peer as host:port (what diagnostics look up with ss). */
  remote: string
  /** The TCP peer is a trusted reverse proxy. */
  trusted: boolean
  /** performance.now() at the accept: the handshake deadline runs from it. */
  acceptedAt: number
}

/** Below this fd limit the relay warns at start: it can hold only a few hundred visitors. */
export const LOW_FD_LIMIT = 4096

/** Plain numbers, for logs and metrics. */
export interface RelayBudgetStats extends BudgetStats {
  sessions: number
  pendingHandshakes: number
}

export class Relay {
  readonly #config: ServerConfig
  readonly #log: Logger
  readonly #server: Server
  /** transport.websocket.bindPort's listener (the same acceptor as bindPort), or undefined. */
  readonly #extraServer: Server | undefined
  /** TLS, WebSocket and trusted proxies: what the relay accepts under the handshake. */
  readonly #transports: TransportPolicy
  /** Connections from trusted proxies not yet admitted to the gate. */
  #trustedPending = 0
  readonly #registry: Registry<ControlSession>
  readonly #sessions = new Set<ControlSession>()
  readonly #reserved = new Set<number>()
  readonly #handshaking = new Set<Socket>()
  readonly #psk: Uint8Array
  readonly #staticKey: KeyPair | undefined
  readonly #guard: ReplayGuard
  readonly #gate: HandshakeGate
  readonly #dh: DhBudget
  /** auth.clientKeys as a check (undefined: any key). */
  readonly #clientKeys: ClientKeyPolicy | undefined
  readonly #limiter = new LogLimiter()
  readonly #natProbes = new NatProbes()
  /** What each user's sessions hold (per-user caps). */
  readonly #users = new UserFootprints()
  readonly #kinds: ProxyKinds
  readonly #ports: PortAllocator
  /** Answers clients' diagRequests: the relay's side of their control connection. */
  readonly #peerView: PeerViewSource
  readonly #options: RelayOptions
  readonly #budget: ConnectionBudget
  /** Logins and refusals by code, for the admin API. */
  readonly stats = new RelayStats()
  /** When start() was called (ms since the epoch). */
  startedAt = 0
  /** http/https virtual hosts (vhostHTTPPort / vhostHTTPSPort), when configured. */
  readonly #vhosts: Vhosts | undefined
  /** tcp load-balancing groups (loadBalancer.group on tcp proxies). */
  readonly #tcpGroups: TcpGroups
  /** The tcpmux port (tcpmuxHTTPConnectPort), when configured. */
  readonly #tcpmux: TcpmuxHub | undefined
  /** httpPlugins, when configured. */
  readonly #plugins: RelayPlugins | undefined
  /** Secret proxies (stcp, sudp) and the visits that reach them. */
  readonly visits: VisitBroker
  /** The fleet's ownership store; undefined on a single relay. */
  readonly #fleet: OwnershipStore | undefined
  #fleetClosed: Promise<void> | undefined
  /** Inter-relay links (a fleet relay with auth.privateKey, not in plaintext); undefined otherwise. */
  readonly #links: FleetLinks | undefined
  #routes: FleetRoutes | undefined
  /** The STUN server xtcp clients ask (stunBindPort); undefined when off or its port could not be bound. */
  readonly stun: StunServer
  /** Its two UDP ports once bound. */
  stunPorts: { port: number, altPort: number } | undefined
  #address: RelayAddress | undefined
  #closed = false

  constructor (config: ServerConfig, log: Logger, options: RelayOptions = {}) {
    this.#config = config
    this.#peerView = options.peerView ?? relayPeerView(config, () => this.#address?.port)
    this.#log = log
    this.#options = options
    // Derived once here, never per handshake.
    this.#psk = derivePsk(config.auth.token)
    this.#staticKey = config.auth.privateKey === null ? undefined : relayKeyPair(config.auth.privateKey.reveal())
    this.#guard = new ReplayGuard({ maxSkewMs: config.transport.maxClockSkew * 1000 })
    this.#gate = new HandshakeGate(options.gate)
    this.#dh = new DhBudget(options.dh)
    this.#clientKeys = clientKeyPolicy(config.auth.clientKeys)
    this.#kinds = new ProxyKinds(options.proxyKinds ?? BUILTIN_PROXY_KINDS)
    this.#registry = new Registry<ControlSession>(config.ownershipGrace * 1000, options.reservationClock)
    this.#ports = new PortAllocator(config.allowPorts, config.proxyBindAddr, this.#reserved, config.ownershipGrace * 1000, options.reservationClock)
    const fds = options.fds ?? readFdFacts()
    this.#budget = new ConnectionBudget({ fdLimit: fds.limit, fdsAtStart: fds.open ?? 0, maxConnections: config.maxConnections, handshakeRoom: this.#gate.maxPending, maxPerSource: config.maxConnectionsPerSource })
    this.#server = createServer({ noDelay: true })
    this.#server.on('connection', (socket) => { this.#onConnection(socket) })
    const { tls, websocket } = config.transport
    this.#transports = {
      tls: new TlsAcceptor(tls),
      forceTls: tls.force,
      websocket: websocket.enable ? new WebSocketAcceptor() : undefined,
      trustedProxies: new SourceFilter(websocket.trustedProxies, []),
      ...(config.vhostHTTPSPort > 0 && config.vhostHTTPSPort === config.bindPort ? { httpsVisitor: (socket: Socket, first: Buffer) => this.#httpsVisitor(socket, first) } : {}),
    }
    if (websocket.bindPort > 0) {
      this.#extraServer = createServer({ noDelay: true })
      this.#extraServer.on('connection', (socket) => { this.#onConnection(socket) })
    }
    this.#vhosts = Vhosts.fromConfig(config, log, options.reservationClock)
    const publicKey = this.#staticKey === undefined ? undefined : encodeKey(this.#staticKey.publicKey)
    this.#fleet = options.fleetStore ?? (config.fleet === null ? undefined : new EtcdOwnershipStore({ config: config.fleet, ownershipGraceS: config.ownershipGrace, log: log.child({ fleet: config.fleet.nodeName }), ...(publicKey === undefined ? {} : { publicKey }) }))
    // Links only with a key to prove and never in plaintext: a relay without them forwards nothing.
    this.#links = this.#fleet === undefined || this.#staticKey === undefined || config.transport.insecurePlaintext
      ? undefined
      : new FleetLinks({ nodeName: this.#fleet.nodeName, store: this.#fleet, staticKey: this.#staticKey, psk: this.#psk, log: log.child({ fleet: this.#fleet.nodeName }), ...(options.now === undefined ? {} : { now: options.now }) })
    this.stun = new StunServer(log.child({ stun: true }))
    const v = options.visits ?? {}
    this.visits = new VisitBroker({
      directory: new SecretDirectory(v.maxPerHome),
      windowMs: config.transport.maxClockSkew * 1000,
      log: log.child({ visits: true }),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(v.monotonic === undefined ? {} : { monotonic: v.monotonic }),
      ...(v.maxPerSession === undefined ? {} : { maxPerSession: v.maxPerSession }),
    })
    this.#tcpGroups = new TcpGroups(this.#ports, this.#budget, log)
    this.#tcpmux = config.tcpmuxHTTPConnectPort === 0 ? undefined : new TcpmuxHub(config.tcpmuxPassthrough, log.child({ tcpmux: true }), { graceMs: config.ownershipGrace * 1000, ...(options.reservationClock === undefined ? {} : { now: options.reservationClock }) })
    this.#plugins = RelayPlugins.fromConfig(config.httpPlugins, log.child({ plugins: true }), options.pluginTimeoutMs)
  }

  /** Counters of the tcpmux port; undefined when none is configured. */
  get tcpmuxStats (): TcpmuxStats | undefined { return this.#tcpmux === undefined ? undefined : { ...this.#tcpmux.stats } }

  /** Counters of the vhost ports (plain numbers); undefined when none is configured. */
  get vhostStats (): VhostStats | undefined { return this.#vhosts?.stats }

  /** Users with a per-user tally (those holding at least one proxy). */
  get userTables (): number { return this.#users.users }

  /** The vhost routing tables' sizes; undefined when no vhost port is configured. */
  get vhostTables (): { http: RouterSize, https: RouterSize } | undefined { return this.#vhosts?.tables }

  /** Handshakes in progress (admitted, not yet logged in). */
  get pendingHandshakes (): number { return this.#gate.pending }

  /** Handshakes that got to their DH work, those refused for want of budget, and gate drops. */
  get handshakeStats (): { dhAdmitted: number, dhRefused: number, evicted: number, full: number, refused: number } {
    return { dhAdmitted: this.#dh.admitted, dhRefused: this.#dh.refused, evicted: this.#gate.evicted, full: this.#gate.full, refused: this.#gate.refused }
  }

  get address (): RelayAddress | undefined { return this.#address }
  /** This fleet relay's inter-relay links; undefined on a single relay or one that cannot link. */
  get links (): FleetLinks | undefined { return this.#links }
  /** This relay's fleet store; undefined on a single relay. */
  get fleet (): OwnershipStore | undefined { return this.#fleet }

  /** The fleet's relays as the store knows them; undefined on a single relay. Throws TUN_FLEET_UNAVAILABLE. */
  async fleetRelays (): Promise<RelayRecord[] | undefined> {
    return await this.#fleet?.relays()
  }
  get sessionCount (): number { return this.#sessions.size }
  get config (): ServerConfig { return this.#config }

  /** Sessions whose login was accepted, oldest first. */
  sessions (): ControlSession[] {
    return [...this.#sessions].filter((c) => c.loggedInAt > 0)
  }

  /** Visitors and sockets against the fd budget, and what was shed. */
  get budgetStats (): RelayBudgetStats {
    return { ...this.#budget.stats, sessions: this.#sessions.size, pendingHandshakes: this.#gate.pending }
  }

  async start (): Promise<RelayAddress> {
    const { bindAddr, bindPort } = this.#config
    this.startedAt = Date.now()
    let address: RelayAddress
    try {
      const addr = await listenTcp(this.#server, bindAddr, bindPort)
      address = { address: addr.address, port: addr.port }
      this.#address = address
      this.#reserved.add(addr.port)
      this.#budget.holdSocket()
    } catch (err) {
      throw listenError(err, bindAddr, bindPort)
    }
    try {
      if (this.#extraServer !== undefined) {
        const port = this.#config.transport.websocket.bindPort
        try {
          await listenTcp(this.#extraServer, bindAddr, port)
        } catch (err) {
          throw listenError(err, bindAddr, port)
        }
        this.#reserved.add(port)
        this.#budget.holdSocket()
      }
      for (const port of await this.#vhosts?.start(budgetAdmission(this.#budget, this.#log.child({ vhost: true }))) ?? []) {
        this.#reserved.add(port)
        this.#budget.holdSocket()
      }
      if (this.#tcpmux !== undefined) {
        this.#reserved.add(await this.#tcpmux.listen(this.#config.proxyBindAddr, this.#config.tcpmuxHTTPConnectPort))
        this.#budget.holdSocket()
      }
      // A fleet relay joins before it says it is ready: without the store it could own nothing.
      await this.#fleet?.start()
      this.#startForwarding()
    } catch (err) {
      this.#closeListener()
      this.#vhosts?.destroy()
      this.#fleetClosed ??= this.#fleet?.close()
      throw err
    }
    await this.#startStun(address.port)
    // The ready line comes once every port (vhosts too) is open.
    this.#log.info({ addr: address.address, port: address.port, keyId: this.#staticKey === undefined ? undefined : formatKeyId(this.#staticKey.publicKey), transports: this.#transportNames() }, 'relay listening')
    if (this.#extraServer !== undefined) this.#log.info({ addr: address.address, port: this.#config.transport.websocket.bindPort }, 'relay listening for clients on transport.websocket.bindPort too')
    this.#startupWarnings()
    this.#logBudget()
    return address
  }

  /** Visitors for what another relay of the fleet serves go there over the links. */
  #startForwarding (): void {
    const fleet = this.#fleet
    if (fleet === undefined) return
    const links = this.#links
    if (links === undefined) {
      const why = this.#config.transport.insecurePlaintext ? 'transport.insecurePlaintext is on (links are never plaintext)' : 'it has no auth.privateKey to prove itself with (run tunnel keygen)'
      this.#log.warn({ code: 'TUN_FLEET_LINK_DOWN' }, `fleet: this relay opens no links to its peers and forwards no visitors: ${why}; a domain served only by another relay gets 404 here`)
      return
    }
    if (this.#config.transport.tls.force) this.#log.warn({ code: 'TUN_FLEET_LINK_DOWN' }, 'fleet: transport.tls.force is on: peer relays cannot open links to this one (they dial the raw handshake); visitors are not forwarded here')
    this.#routes = new FleetRoutes(fleet, fleet.nodeName)
    const forwarder = new FleetForwarder(this.#routes, links)
    this.visits.forwarder = forwarder
    const visitLog = this.#log.child({ visits: true, forwarded: true })
    links.serveVisits((stream, open, via) => {
      const visit = open.visit
      if (visit === undefined) { stream.reset(ResetCode.REFUSED); return }
      // The visitor's session is on the relay `via`: its address and login user as that relay knows them.
      this.visits.handleForwarded({ user: visit.user, remote: open.visitor, local: open.listener, clientId: `${via}:${open.visitor.address}`, log: visitLog }, stream, open.proxy, visit)
    })
    const vhosts = this.#vhosts
    if (vhosts === undefined) return
    vhosts.forwarder = forwarder
    links.serve('http', (duplex) => { vhosts.acceptForwarded('http', duplex) })
    links.serve('https', (duplex) => { vhosts.acceptForwarded('https', duplex) })
  }

  /** The STUN server; a port that cannot be bound is a warning, not a failure (xtcp then needs natHoleStunServer). */
  async #startStun (tcpPort: number): Promise<void> {
    const { stunBindPort, stunAltPort, bindAddr } = this.#config
    if (stunBindPort === 0) return
    const port = stunBindPort ?? tcpPort
    try {
      this.stunPorts = await this.stun.start(bindAddr, port, stunAltPort)
      this.#log.info({ udpPort: this.stunPorts.port, altPort: this.stunPorts.altPort }, 'STUN server listening (xtcp clients learn their public address here)')
    } catch (err) {
      const code = err instanceof TunnelError ? err.code : 'TUN_LISTEN'
      this.#log.warn({ code, udpPort: port, altPort: stunAltPort }, `no STUN server: UDP port ${port} or ${stunAltPort} cannot be bound; xtcp clients of this relay need natHoleStunServer`)
    }
  }

  /** What the client port accepts, for the ready line. */
  #transportNames (): string[] {
    const t = this.#transports
    const names = t.forceTls ? ['tls'] : ['tcp', 'tls']
    if (t.websocket !== undefined) names.push(...(t.forceTls ? ['websocket+tls', 'wss'] : ['websocket', 'wss']))
    return names
  }

  #startupWarnings (): void {
    const { auth, transport } = this.#config
    if (this.#staticKey === undefined) {
      this.#log.warn({}, 'no auth.privateKey: clients cannot authenticate this relay (only unpinned clients can log in) and a weak auth.token can be guessed offline from recorded traffic; run tunnel keygen')
    }
    if (auth.token === '') this.#log.warn({}, 'auth.token is empty: anyone who can reach this relay can log in')
    if (transport.insecurePlaintext) this.#log.warn({}, 'transport.insecurePlaintext is on: after the handshake, tunnelled bytes are NOT encrypted or authenticated')
  }

  #logBudget (): void {
    const b = this.#budget
    const derived = b.derivedAtStart
    const fields = { fdLimit: b.fdLimit ?? null, reserve: b.reserve, maxConnections: Number.isFinite(b.maxVisitors) ? b.maxVisitors : null }
    this.#log.info(fields, 'visitor connection limit')
    if (derived !== undefined && b.configured > derived) {
      this.#log.warn({ ...fields, configured: b.configured }, `maxConnections ${b.configured} is more than the fd limit allows: at most ${derived} visitors are admitted; raise the limit (ulimit -n, LimitNOFILE= in the systemd unit)`)
    } else if (b.fdLimit !== undefined && b.fdLimit < LOW_FD_LIMIT) {
      this.#log.warn(fields, `the fd limit is ${b.fdLimit}: the relay can hold about ${derived ?? 0} visitor connections at once and sheds the rest; raise it (ulimit -n, LimitNOFILE= in the systemd unit)`)
    }
  }

  #onConnection (socket: Socket): void {
    // Errors surface through 'close'; without a listener an 'error' would crash the relay.
    socket.on('error', () => {})
    if (this.#closed) { socket.destroy(); return }
    if (!this.#budget.admitControl()) {
      logRefusal(this.#log, this.#limiter, { code: 'TUN_RELAY_BUSY', reason: 'fd limit', source: normalizeAddress(socket.remoteAddress ?? '') }, 'connection refused: nearly every fd is in use')
      socket.resetAndDestroy()
      return
    }
    socket.once('close', () => { this.#budget.releaseSocket() })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS)
    const source = normalizeAddress(socket.remoteAddress ?? '')
    const remote = formatHostPort(source, socket.remotePort ?? 0)
    // A trusted reverse proxy is admitted once X-Forwarded-For has named the client (#admit).
    const trusted = this.#transports.trustedProxies.admits(source) && !this.#transports.trustedProxies.open
    let ticket: GateTicket | undefined
    if (trusted) {
      if (this.#trustedPending >= MAX_PENDING_FROM_TRUSTED_PROXIES) {
        logRefusal(this.#log, this.#limiter, { code: 'TUN_RELAY_BUSY', reason: 'trusted proxy backlog', source }, 'handshake refused')
        socket.destroy()
        return
      }
      this.#trustedPending++
    } else {
      ticket = this.#admit(socket, source)
      if (ticket === undefined) return
    }
    this.#handshaking.add(socket)
    // The deadline runs from the accept: it covers TLS, the WebSocket upgrade and the handshake.
    const acceptedAt = performance.now()
    const deadline = new AbortController()
    // A plain (unref'd) timer rather than AbortSignal.timeout(): fake timers can drive it.
    const timer = setTimeout(() => { deadline.abort() }, this.#config.transport.handshakeTimeout * 1000).unref()
    let release = ticket
    this.#accept(socket, { source, remote, trusted, acceptedAt }, ticket, deadline.signal, (t) => { release = t })
      .catch((err: unknown) => {
        // Never expected: one connection's bug must not take the relay down.
        this.#log.error({ source, err: String(err) }, 'handshake failed unexpectedly')
        this.#handshaking.delete(socket)
        release?.release()
        socket.destroy()
      })
      .finally(() => { clearTimeout(timer) })
  }

  /** A slot in the handshake gate for `source`, or undefined after refusing the connection. */
  #admit (stream: Socket, source: string): GateTicket | undefined {
    const ticket = this.#gate.admit(source, () => {
      logRefusal(this.#log, this.#limiter, { code: 'TUN_RELAY_BUSY', reason: 'evicted', source }, 'handshake dropped to make room')
      stream.destroy()
    })
    if (typeof ticket !== 'string') return ticket
    const why = ticket === 'rate' ? 'per-source rate' : ticket === 'full' ? 'every slot holds a proven handshake' : 'per-source cap'
    this.stats.noteError('TUN_RELAY_BUSY', `handshake from ${source} refused: ${why}`)
    logRefusal(this.#log, this.#limiter, { code: 'TUN_RELAY_BUSY', reason: why, source }, 'handshake refused')
    stream.end(encodeRefusal(Refusal.BUSY, Buffer.alloc(4)))
    setTimeout(() => stream.destroy(), 1_000).unref()
    return undefined
  }

  /** An https visitor on the shared client port (vhostHTTPSPort is bindPort): the vhost takes it, first bytes put back. */
  #httpsVisitor (socket: Socket, first: Buffer): boolean {
    if (socket.localPort !== this.#config.bindPort || this.#vhosts?.sharesBindPort !== true) return false
    return this.#vhosts.acceptHttps(socket, first)
  }

  /** Opens the transports (TLS, WebSocket) the client wrapped its handshake in, then runs the handshake. */
  async #accept (socket: Socket, peer: Peer, gateTicket: GateTicket | undefined, signal: AbortSignal, onTicket: (t: GateTicket) => void): Promise<void> {
    let ticket = gateTicket
    const tcpSource = peer.source
    let counted = peer.trusted
    const settle = (): void => {
      if (counted) this.#trustedPending--
      counted = false
    }
    // Behind a trusted proxy the client is admitted as soon as the upgrade names it.
    const opened = await openTransport(socket, this.#transports, peer.trusted, signal, (forwarded, stream) => {
      settle()
      ticket = this.#admit(stream, forwarded ?? tcpSource)
      if (ticket !== undefined) onTicket(ticket)
      return ticket !== undefined
    })
    settle()
    if (!opened.ok && opened.refused === true) { this.#handshaking.delete(socket); return }
    if (!opened.ok && opened.handedOff === true) {
      this.#handshaking.delete(socket)
      ticket?.release()
      return
    }
    if (!opened.ok) {
      this.#handshaking.delete(socket)
      ticket?.release()
      if (opened.tlsRequired === true) {
        socket.end(encodeRefusal(Refusal.TLS_REQUIRED, relayKeyId({ staticKey: this.#staticKey })))
        setTimeout(() => socket.destroy(), 1_000).unref()
      } else if (opened.error.code !== 'TUN_WEBSOCKET_UPGRADE') {
        socket.destroy()
      }
      this.stats.noteError(opened.error.code, `connection from ${tcpSource} refused: ${opened.error.message}`)
      logRefusal(this.#log, this.#limiter, { code: opened.error.code, reason: opened.error, source: tcpSource }, 'connection refused before the handshake')
      return
    }
    const source = opened.forwardedFor ?? tcpSource
    if (ticket === undefined) {
      ticket = this.#admit(opened.stream, source)
      if (ticket === undefined) { this.#handshaking.delete(socket); return }
      onTicket(ticket)
    }
    await this.#handshake(opened.stream, socket, { ...peer, source }, ticket, signal, opened.layers)
  }

  async #handshake (stream: Socket, socket: Socket, peer: Peer, ticket: GateTicket, deadline: AbortSignal, layers: TransportLayer[]): Promise<void> {
    const deadlineMs = this.#config.transport.handshakeTimeout * 1000
    const { source, remote } = peer
    const transport = layers.length === 0 ? 'tcp' : layers.join('+')
    const socketSource = normalizeAddress(socket.remoteAddress ?? '')
    const result = await acceptSecureConnection(stream, {
      staticKey: this.#staticKey,
      psk: this.#psk,
      plaintext: this.#config.transport.insecurePlaintext,
      guard: this.#guard,
      now: this.#options.now ?? Date.now,
      controlVersions: this.#options.controlVersions ?? SUPPORTED_CONTROL_VERSIONS,
      ...(this.#clientKeys === undefined ? {} : { clientKeyAllowed: this.#linkOrClientKey(this.#clientKeys) }),
      dhAllowed: () => this.#dh.take(ticket.source),
      onProven: ticket.prove,
      signal: deadline,
      logger: this.#log.child({ remote, ...(source === socketSource ? {} : { forwardedFor: source }), transport }),
      ...(this.#options.recordLimits === undefined ? {} : { limits: this.#options.recordLimits }),
    })
    this.#handshaking.delete(socket)
    if (!result.ok) {
      ticket.release()
      // The refusal travels through the transports above the socket: let it out before the socket goes.
      if (stream === socket) socket.destroy()
      else setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref()
      this.stats.noteError(result.error.code, `handshake from ${source} refused: ${result.error.message}`)
      logRefusal(this.#log, this.#limiter, { code: result.error.code, reason: result.error, source, clientId: result.clientId }, 'handshake refused')
      return
    }
    if (this.#closed) { ticket.release(); socket.destroy(); return }
    const { link } = result
    const links = this.#links
    if (links !== undefined && FleetLinks.isLinkId(link.clientId)) {
      // A peer relay: proven against the fleet's records, never a client session.
      void links.accept(link, remote).finally(() => { ticket.release() })
      return
    }
    if (!link.pinned && this.#staticKey !== undefined) {
      logRefusal(this.#log, this.#limiter, { code: undefined, reason: 'unpinned', source, clientId: link.clientId }, 'client did not pin the relay key (auth.serverKey): the relay is not authenticated to it')
    }
    // A client straight on TCP: its connection reads into pooled blocks from now on, which the record
    // layer gives back once it has opened them (issue 21: no fresh 64 KiB per read). Transports
    // layered on the socket (TLS, WebSocket) read it themselves.
    if (stream === socket && layers.length === 0) adoptPooledReads(socket)?.emitTo(socket)
    const control = new ControlSession(link, remote, {
      config: this.#config,
      registry: this.#registry,
      kinds: this.#kinds,
      ports: this.#ports,
      natProbes: this.#natProbes,
      controlVersions: this.#options.controlVersions ?? SUPPORTED_CONTROL_VERSIONS,
      peerView: this.#peerView,
      // Every line of the session names how the client came (and who it is behind a trusted proxy).
      log: this.#log.child({ transport, ...(source === socketSource ? {} : { forwardedFor: source }) }),
      budget: this.#budget,
      stats: this.stats,
      vhosts: this.#vhosts,
      tcpGroups: this.#tcpGroups,
      tcpmux: this.#tcpmux,
      plugins: this.#plugins,
      visits: this.visits,
      fleet: this.#fleet,
      ...(this.#clientKeys === undefined ? {} : { clientKeys: this.#clientKeys }),
      ...(this.#options.sessionLimits === undefined ? {} : { sessionLimits: this.#options.sessionLimits }),
      users: this.#users,
    }, {
      loginDeadlineMs: deadlineMs - (performance.now() - peer.acceptedAt),
      carrier: transport,
      endpoints: {
        remote: { address: source, port: socket.remotePort ?? 0 },
        local: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
      },
      onActive: () => {
        ticket.release()
        this.#dh.noteLogin(ticket.source)
      },
    })
    this.#sessions.add(control)
    control.session.once('close', () => { ticket.release(); this.#sessions.delete(control) })
  }

  /** auth.clientKeys' check, except for a peer relay's link (checked against the fleet's records instead). */
  #linkOrClientKey (policy: ClientKeyPolicy): (key: Uint8Array, clientId: string) => boolean {
    return (key, clientId) => (this.#links !== undefined && FleetLinks.isLinkId(clientId)) || policy.allows(key, clientId)
  }

  /** Graceful stop: no new clients or visitors, go-away to every client, drain up to graceMs. */
  async close (graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#closeListener()
    this.#vhosts?.close()
    this.stun.close()
    this.#tcpmux?.close()
    for (const s of this.#handshaking) s.destroy()
    for (const c of this.#sessions) c.goAway()
    const deadline = AbortSignal.timeout(graceMs)
    await Promise.all([...this.#sessions].map(async (c) => { await c.session.drained(deadline) }))
    this.destroy()
    await this.#fleetClosed
  }

  #closeListener (): void {
    if (this.#extraServer?.listening === true) {
      this.#extraServer.close()
      this.#budget.releaseSocket()
    }
    if (!this.#server.listening) return
    this.#server.close()
    this.#budget.releaseSocket()
  }

  /** Immediate stop. */
  destroy (): void {
    this.#closed = true
    this.#closeListener()
    this.#vhosts?.destroy()
    this.stun.close()
    this.#tcpmux?.close()
    this.#plugins?.close()
    for (const s of [...this.#handshaking]) s.destroy()
    for (const c of [...this.#sessions]) c.session.close(new TunnelError('TUN_GOAWAY', 'relay shutting down'))
    this.#sessions.clear()
    this.#routes?.close()
    this.#links?.close()
    // Leaving the fleet revokes the relay's lease: its record and attach keys go at once.
    this.#fleetClosed ??= this.#fleet?.close()
  }
}
