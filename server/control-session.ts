// The relay's side of one client's control connection after the handshake (secure-accept.ts):
// the login must arrive within the handshake deadline as the first record (key confirmation)
// and names a control protocol version this relay speaks and the client's capabilities; only
// then does the session become active and may take over an older session of the same client.
// After the login every control message is dispatched by type: proxies go to the session's
// proxy table (proxy/session-proxies.ts), diagnostics to diag-answer.ts; a NAT probe login
// turns the session into a silent probe (nat-probe-mode.ts).
import type { Logger } from 'pino'
import type { ServerConfig } from '../shared/config/index.js'
import { errorCode, TunnelError, type ErrorCode } from '../shared/errors.js'
import { Session, type MuxStream, type RelaySession, type SessionOptions } from '../shared/mux/index.js'
import { clientKeyId, encodeKey } from '../shared/transport/index.js'
import { parseHostPort } from '../shared/net/index.js'
import { GoAwayCode, ResetCode, Capability, CONTROL_PROTOCOL_VERSION, MessageType, type ClientMessage, type Endpoint, type Login, type ProxySpec } from '../shared/wire/index.js'
import type { ClientKeyPolicy } from './client-keys.js'
import type { ConnectionBudget } from './connection-budget.js'
import { answerDiag, DiagRateLimit } from './diag-answer.js'
import { sourceGroup } from './handshake-gate.js'
import { startNatProbe, type NatProbes } from './nat-probe-mode.js'
import type { PeerViewSource } from './peer-view.js'
import type { PluginUser, RelayPlugins } from './plugin/index.js'
import { clientLimits, type ProxyKinds, type PortAllocator, type RelayProxy, SessionProxies, type TcpGroups, type UserFootprints, userLimits } from './proxy/index.js'
import type { Registry, RegistryMember } from './registry.js'
import type { RelayStats } from './relay-stats.js'
import type { SecureLink } from './secure-accept.js'
import { clientStreamsPerSource, SourceCounts } from './source-counts.js'
import { UdpHub } from './udp-hub.js'
import type { TcpmuxHub } from './tcpmux/index.js'
import type { Vhosts } from './vhost/index.js'
import type { VisitBroker } from './visit/index.js'
import { FleetClaims, type OwnedKey, type OwnershipStore } from './fleet/index.js'

export interface ControlContext {
  config: ServerConfig
  registry: Registry<ControlSession>
  /** The proxy types this relay serves. */
  kinds: ProxyKinds
  /** Public ports: allowPorts and the relay's own ports. */
  ports: PortAllocator
  /** NAT probes (tunnel diag nat-timeout) running on the relay, bounded in all, per source and per client. */
  natProbes: NatProbes
  /** The relay's view of one client's control connection (diagRequest); absent = not offered. */
  peerView?: PeerViewSource
  log: Logger
  /** The relay's visitor budget (fd limit, maxConnections); absent = unlimited. */
  budget?: ConnectionBudget
  /** Logins and refusals, for the admin API. */
  stats: RelayStats
  /** Control protocol versions this relay speaks. */
  controlVersions: readonly number[]
  /** auth.clientKeys (absent: any key); the user binding is checked at login. */
  clientKeys?: ClientKeyPolicy
  /** The relay's http/https virtual hosts; undefined when frps.yml sets no vhost port. */
  vhosts?: Vhosts | undefined
  /** The relay's tcp load-balancing groups. */
  tcpGroups?: TcpGroups | undefined
  /** The relay's tcpmux port; undefined when frps.yml sets no tcpmuxHTTPConnectPort. */
  tcpmux?: TcpmuxHub | undefined
  /** frps.yml's httpPlugins; undefined when it has none. */
  plugins?: RelayPlugins | undefined
  /** Session bounds tests shrink (a peer's not-reading timeout, ...); absent = the defaults. */
  sessionLimits?: SessionLimits
  /** What each user's sessions hold, against the per-user caps. */
  users: UserFootprints
  /** Secret proxies (stcp, sudp) and their visitors; undefined = not served. */
  visits?: VisitBroker | undefined
  /** The fleet's ownership store; undefined = a single relay. */
  fleet?: OwnershipStore | undefined
}

/** The mux session settings a relay may override (tests do; frps.yml sets the rest). */
export type SessionLimits = Pick<SessionOptions, 'peerNotReadingTimeoutMs' | 'peerQueuePauseBytes'>

export interface ControlOptions {
  /** What is left of the handshake deadline for the login (the client's first record). */
  loginDeadlineMs: number
  /** The session became active (login decrypted and accepted). */
  onActive?: () => void
  /** The connection's two ends (the client's address normalised), for visits this session makes. */
  endpoints?: { remote: Endpoint, local: Endpoint }
  /** How the connection came: tcp, or its layers (tls, websocket) joined by `+`. */
  carrier?: string
}

/** Capabilities of this relay that are not proxy types. */
const BASE_CAPABILITIES: readonly string[] = [Capability.UNREGISTER, Capability.DIAG, Capability.NAT_PROBE, Capability.GROUP, Capability.HEALTH]
/** Capabilities this relay has when it serves secret proxies (a broker is configured). */
const VISIT_CAPABILITIES: readonly string[] = [Capability.VISIT]

export class ControlSession implements RegistryMember {
  readonly session: RelaySession
  readonly remote: string
  /** How the connection came (ControlOptions.carrier); undefined when not told. */
  readonly carrier: string | undefined
  /** First 8 bytes of the handshake hash (the same on the client): channel binding. */
  readonly sessionId: string
  /** The client's static public key (base64): who it is. Takeover and ownership hang on it. */
  readonly identity: string
  /** A short id of the client key, for logs and status. */
  readonly keyId: string
  clientId = ''
  /** When the login was accepted (ms since the epoch); 0 before. */
  loggedInAt = 0
  /** Logins of this client id since the relay started, this one included. */
  logins = 0
  /** The capabilities both sides have (set at login). */
  capabilities: ReadonlySet<string> = new Set()
  readonly #ctx: ControlContext
  readonly #link: SecureLink
  readonly #onActive: (() => void) | undefined
  readonly #endpoints: { remote: Endpoint, local: Endpoint }
  readonly #log: Logger
  #login: Login | undefined
  #proxies: SessionProxies | undefined
  /** Flow ids and routing of the session's UDP flows, made with the first UDP proxy. */
  #udpHub: UdpHub | undefined
  #loginTimer: NodeJS.Timeout | undefined
  /** diagRequests of this session (each runs ss on the relay). */
  readonly #diagLimit = new DiagRateLimit()
  /** Set while the session is a NAT probe: ends the probe's timers. */
  #endProbe: (() => void) | undefined
  /** Messages that arrived while a fleet login waited for the store, replayed in order after it. */
  #waiting: ClientMessage[] | undefined
  /** This session counts in the fleet store (its owner's lease is kept alive by this relay). */
  #fleet: FleetClaims | undefined
  /** The client said goodbye: its fleet ownership may end at once. */
  #goodbye = false

  constructor (link: SecureLink, remote: string, ctx: ControlContext, options: ControlOptions) {
    this.#ctx = ctx
    this.#link = link
    this.#onActive = options.onActive
    this.#endpoints = options.endpoints ?? { remote: { address: '', port: 0 }, local: { address: '', port: 0 } }
    this.remote = remote
    this.carrier = options.carrier
    this.sessionId = link.sessionId
    this.identity = encodeKey(link.clientKey)
    this.keyId = clientKeyId(link.clientKey)
    this.#log = ctx.log.child({ sessionId: this.sessionId, remote, clientId: link.clientId, clientKey: this.keyId })
    const timeoutS = ctx.config.transport.heartbeatTimeout
    this.session = new Session(link.wire, {
      role: 'server',
      logger: this.#log,
      heartbeatTimeoutMs: timeoutS > 0 ? timeoutS * 1000 : 0,
      maxBufferedBytes: ctx.config.maxBufferedBytesPerClient,
      maxStreams: ctx.config.transport.maxStreams,
      ...ctx.sessionLimits,
    })
    this.#loginTimer = setTimeout(() => {
      ctx.stats.noteError('TUN_LOGIN_TIMEOUT', `no login from ${remote} within the handshake deadline`)
      this.#log.warn({ code: 'TUN_LOGIN_TIMEOUT' }, 'no login within the handshake deadline: closing')
      this.session.close(new TunnelError('TUN_LOGIN_TIMEOUT', 'no login within the handshake deadline'))
    }, Math.max(0, options.loginDeadlineMs)).unref()
    this.session.on('control', (m) => { this.#onControl(m) })
    // Clients open streams toward the relay only to visit secret proxies.
    this.session.on('stream', (s) => { this.#onStream(s) })
    this.session.on('goaway', (code) => { this.#onGoAway(code) })
    this.session.on('close', (err) => { this.#onClose(err) })
  }

  /** Who owns what this session registers (proxy names, ports, domains): its client key. */
  get owner (): string { return this.identity }

  get proxyCount (): number { return this.#proxies?.size ?? 0 }
  /** The login (user, hostname), once accepted. */
  get login (): Login | undefined { return this.#login }
  /** The client pinned this relay's key (Noise NK) rather than not (NN). */
  get pinned (): boolean { return this.#link.pinned }
  /** The proxies this session holds now. */
  proxies (): RelayProxy[] { return this.#proxies?.list() ?? [] }

  /** Every message from the client after the session's checks: a login first, then requests. */
  #onControl (m: ClientMessage): void {
    if (this.#waiting !== undefined) {
      this.#waiting.push(m)
      return
    }
    if (this.#login === undefined && m.type !== MessageType.LOGIN) {
      this.#refuse('TUN_PROTOCOL', `the first control message must be a login, not "${m.type}"`)
      return
    }
    if (this.#endProbe !== undefined) return // a probe registers and answers nothing
    switch (m.type) {
      case MessageType.LOGIN:
        if (this.#login !== undefined) { this.#refuse('TUN_PROTOCOL', 'a second login on one session'); return }
        this.#handleLogin(m)
        return
      case MessageType.REGISTER:
        this.#proxies?.register(m)
        return
      case MessageType.UNREGISTER:
        this.#proxies?.unregister(m)
        return
      case MessageType.DIAG_REQUEST:
        answerDiag(this.session, this.#ctx.peerView, this.remote, m.id, this.#log, this.#diagLimit)
        return
      case MessageType.PROXY_HEALTH:
        this.#proxies?.health(m)
    }
  }

  /** A stream the client opened: a visit (with a visit block, after a login that agreed on `visit`), or refused. */
  #onStream (s: MuxStream): void {
    const broker = this.#ctx.visits
    const login = this.#login
    if (broker === undefined || login === undefined || this.#endProbe !== undefined || this.loggedInAt === 0 || !this.capabilities.has(Capability.VISIT) || s.open?.visit === undefined) {
      s.reset(ResetCode.REFUSED)
      return
    }
    broker.handle(this.session, { user: login.user, clientId: this.clientId, remote: this.#endpoints.remote, local: this.#endpoints.local, log: this.#log }, s)
  }

  #handleLogin (login: Login): void {
    clearTimeout(this.#loginTimer)
    const versions = this.#ctx.controlVersions
    if (!versions.includes(login.version)) {
      this.#refuse('TUN_PROTOCOL_VERSION', `the client speaks control protocol ${login.version}, this relay ${versions.join(', ')}: upgrade the older side`, { version: login.version })
      return
    }
    if (login.clientId !== this.#link.clientId) {
      this.#refuse('TUN_PROTOCOL', `the login names clientID ${login.clientId} but the handshake ${this.#link.clientId}`)
      return
    }
    if (this.#ctx.clientKeys !== undefined && !this.#ctx.clientKeys.allowsLogin(this.#link.clientKey, login.clientId, login.user)) {
      this.#refuse('TUN_CLIENT_KEY_REFUSED', `client key ${this.keyId} may not log in as clientID ${login.clientId} with user "${login.user}" (auth.clientKeys)`)
      return
    }
    const mine = new Set([...BASE_CAPABILITIES, ...(this.#ctx.visits === undefined ? [] : VISIT_CAPABILITIES), ...this.#ctx.kinds.capabilities()])
    this.capabilities = new Set(login.capabilities.filter((c) => mine.has(c)))
    // The login decrypted: the client holds the handshake's keys (no replay gets here).
    this.#login = login
    if (login.probeIdleMs !== undefined) {
      const peer = parseHostPort(this.remote)
      const source = sourceGroup('error' in peer ? this.remote : peer.host)
      this.#endProbe = startNatProbe(this.session, this.#link, this.#ctx.natProbes, { source, clientId: login.clientId }, login.probeIdleMs, {
        accepted: () => { this.#activate(); this.#sendLoginOk() },
        refuse: (code, message) => { this.#refuse(code, message) },
        log: this.#log,
      })
      return
    }
    const plugins = this.#ctx.plugins
    if (plugins?.has('Login') === true) {
      // The login waits for the plugins (each call bounded); the session may end meanwhile.
      plugins.login(login, this.sessionId, this.remote).then((changes) => {
        if (this.session.closed) return
        this.#login = { ...login, ...(changes.user === undefined ? {} : { user: changes.user }), ...(changes.metas === undefined ? {} : { metas: changes.metas }) }
        this.#acceptLogin(this.#login)
      }, (err: unknown) => {
        if (this.session.closed) return
        const e = err instanceof TunnelError ? err : new TunnelError('TUN_PLUGIN_UNAVAILABLE', String(err))
        this.#refuse(e.code, e.message)
      })
      return
    }
    this.#acceptLogin(login)
  }

  /** The login passed every check and plugin: the session becomes this client's. */
  #acceptLogin (login: Login): void {
    this.clientId = login.clientId
    const holder = this.#ctx.registry.holder(login.clientId)
    if (holder !== undefined && holder.identity !== this.identity) {
      // Only the same key may replace a live session: the clientID alone proves nothing.
      this.#refuse('TUN_CLIENT_ID_IN_USE', `clientID ${login.clientId} is held by a session with another client key (${holder.keyId}); this one has ${this.keyId}: use your own clientID, or wait for that session to end`)
      return
    }
    const reservedMs = this.#ctx.registry.clientIdReservedFor(login.clientId, this.identity)
    if (holder === undefined && reservedMs > 0) {
      this.#refuse('TUN_CLIENT_ID_IN_USE', `clientID ${login.clientId} is reserved for the client key that held it, ${Math.ceil(reservedMs / 1000)} s more (ownershipGrace); this one has ${this.keyId}`)
      return
    }
    const fleet = this.#ctx.fleet
    if (fleet === undefined) {
      this.#accept(login)
      return
    }
    this.#waiting = []
    this.#joinFleet(fleet, login).then(() => {
      const waiting = this.#waiting ?? []
      this.#waiting = undefined
      for (const m of waiting) this.#onControl(m)
    }, (err: unknown) => {
      this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'fleet login failed unexpectedly')
      this.session.close(new TunnelError('TUN_FLEET_UNAVAILABLE', 'fleet login failed'))
    })
  }

  /** A fleet relay: the session's owner lease is kept alive here and the clientID is its owner's fleet-wide, or the login is refused. */
  async #joinFleet (store: OwnershipStore, login: Login): Promise<void> {
    try {
      await store.attach(this.identity)
    } catch (err) {
      this.#refuse('TUN_FLEET_UNAVAILABLE', err instanceof Error ? err.message : String(err))
      return
    }
    // Closed while the store answered: #onClose did not know to leave the fleet.
    if (this.session.closed) { store.detach(this.identity, false); return }
    const claims = new FleetClaims(store, this.identity, this.#log)
    this.#fleet = claims
    const key: OwnedKey = { kind: 'client', id: login.clientId }
    try {
      await claims.claim(key, () => new TunnelError('TUN_CLIENT_ID_IN_USE', `clientID ${login.clientId} is held in the relay fleet by a client with another key (or reserved for it while it reconnects); this one has ${this.keyId}`))
    } catch (err) {
      this.#refuse(errorCode(err, 'TUN_FLEET_UNAVAILABLE'), err instanceof Error ? err.message : String(err))
      return
    }
    if (this.session.closed) return
    // Another session of this clientID may have logged in here while the store answered.
    const holder = this.#ctx.registry.holder(login.clientId)
    if (holder !== undefined && holder.identity !== this.identity) {
      this.#refuse('TUN_CLIENT_ID_IN_USE', `clientID ${login.clientId} is held by a session with another client key (${holder.keyId}); this one has ${this.keyId}`)
      return
    }
    this.#accept(login)
  }

  /** The login is accepted: the session becomes its client id's active one and may register proxies. */
  #accept (login: Login): void {
    this.loggedInAt = Date.now()
    this.logins = this.#ctx.stats.noteLogin(login.clientId)
    this.#activate()
    this.#proxies = this.#makeProxies()
    const old = this.#ctx.registry.activate(this)
    if (old !== undefined && old !== this) {
      this.#ctx.stats.replaced++
      this.#log.info({ replaced: old.sessionId }, 'session replaced an older one of the same client (same key)')
    }
    this.#sendLoginOk()
    this.#log.info({ user: login.user, hostname: login.hostname, version: login.version, capabilities: [...this.capabilities] }, 'client logged in')
    if (this.#ctx.plugins?.has('Ping') === true) this.#askPingPlugins(this.#ctx.plugins)
  }

  /** frp's Ping operation for every heartbeat of the client (one call at a time); a rejection ends the session. */
  #askPingPlugins (plugins: RelayPlugins): void {
    let asking = false
    this.session.on('ping', () => {
      if (asking || this.session.closed) return
      asking = true
      void plugins.ping(this.#pluginUser()).then((r) => {
        asking = false
        if (r === true || this.session.closed) return
        this.#ctx.stats.noteError(r.code, r.message)
        this.#log.warn({ code: r.code }, `session closed: ${r.message}`)
        this.session.goAway(GoAwayCode.AUTH)
        this.session.close(r)
      })
    })
  }

  /** Who the relay's plugins are told about (frp's UserInfo). */
  #pluginUser (): PluginUser {
    return { user: this.#login?.user ?? '', metas: this.#login?.metas ?? {}, runId: this.sessionId }
  }

  #activate (): void {
    this.#link.commit()
    this.#onActive?.()
  }

  #sendLoginOk (): void {
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: true, version: CONTROL_PROTOCOL_VERSION, capabilities: [...this.capabilities], sessionId: this.sessionId })
  }

  #makeProxies (): SessionProxies {
    const { config, registry, kinds, stats, ports, budget, vhosts, users, visits, tcpGroups, tcpmux, plugins } = this.#ctx
    const askVisitors = plugins !== undefined && (plugins.has('NewUserConn') || plugins.has('NewWorkConn'))
    return new SessionProxies({
      session: this.session,
      log: this.#log,
      kinds,
      capabilities: this.capabilities,
      registry: registry,
      owner: this,
      stats,
      user: this.#login?.user ?? '',
      users,
      limits: { client: clientLimits(config), user: userLimits(config) },
      context: {
        config,
        ports,
        budget,
        vhosts,
        udpHub: () => (this.#udpHub ??= new UdpHub(this.session, this.#log)),
        clientSources: new SourceCounts(clientStreamsPerSource(config.transport.maxStreams)),
        visits: visits?.directory,
        user: this.#login?.user ?? '',
        tcpGroups,
        tcpmux,
        admitVisitor: askVisitors ? async (proxy, visitor) => await plugins.admitVisitor(this.#pluginUser(), proxy, visitor) : undefined,
      },
      ...(plugins === undefined
        ? {}
        : {
            plugins: {
              // Built-in kinds' specs are ProxySpecs (their schema checked it); a test kind's goes as it is.
              newProxy: async (spec) => await plugins.newProxy(this.#pluginUser(), spec as ProxySpec),
              closeProxy: (name) => { plugins.closeProxy(this.#pluginUser(), name) },
            },
          }),
      ...(this.#fleet === undefined ? {} : { fleet: this.#fleet }),
    })
  }

  #refuse (code: ErrorCode, message: string, extra: { version?: number } = {}): void {
    this.#ctx.stats.noteError(code, message)
    this.#log.warn({ code, ...extra }, message)
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: false, version: CONTROL_PROTOCOL_VERSION, code, message })
    this.session.goAway(code === 'TUN_AUTH_REFUSED' || code === 'TUN_PLUGIN_REJECTED' || code === 'TUN_PLUGIN_UNAVAILABLE' ? GoAwayCode.AUTH : GoAwayCode.PROTOCOL)
    this.session.close(new TunnelError(code, message))
  }

  /**
   * The client is leaving: free its ports and names now (no ownership grace: it said goodbye, so
   * another client, or its successor with a new key, may take them at once), let open streams finish.
   */
  #onGoAway (code: number): void {
    this.#log.info({ goAway: code }, 'client is going away: releasing its ports')
    this.#goodbye = true
    this.#proxies?.stopAll('drain', false)
    this.#ctx.registry.remove(this, false)
  }

  replaceBy (): void {
    this.#proxies?.close()
    // Reserved for the same key, which re-registers them at once: no other client slips in between.
    this.#proxies?.stopAll('drain')
    this.session.goAway(GoAwayCode.REPLACED)
    this.session.close(new TunnelError('TUN_SESSION_REPLACED', 'a newer session of this client took over'))
  }

  /** Relay shutdown: stop accepting visitors and tell the client. */
  goAway (): void {
    this.#proxies?.stopAll('drain')
    this.session.goAway(GoAwayCode.RESTARTING)
  }

  #onClose (err: TunnelError | undefined): void {
    clearTimeout(this.#loginTimer)
    if (err?.code === 'TUN_PEER_NOT_READING') this.#ctx.stats.noteError(err.code, `client ${this.clientId === '' ? this.remote : this.clientId}: ${err.message}`)
    if (this.#endProbe !== undefined) {
      this.#endProbe()
      return
    }
    this.#proxies?.stopAll('drop')
    this.#ctx.registry.remove(this)
    if (this.#fleet !== undefined) {
      this.#fleet.drop({ kind: 'client', id: this.#login?.clientId ?? '' })
      this.#ctx.fleet?.detach(this.identity, this.#goodbye)
    }
    if (this.#login !== undefined) {
      this.#log.info({ code: err?.code, reason: err?.message }, 'client session closed')
    }
  }
}

