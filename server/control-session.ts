// The relay's side of one client's control connection after the handshake (secure-accept.ts):
// the login must arrive within the handshake deadline as the first record (key confirmation)
// and names a control protocol version this relay speaks and the client's capabilities; only
// then does the session become active and may take over an older session of the same client.
// After the login every control message is dispatched by type: proxies go to the session's
// proxy table (proxy/session-proxies.ts), diagnostics to diag-answer.ts; a NAT probe login
// turns the session into a silent probe (nat-probe-mode.ts).
import type { Logger } from 'pino'
import type { ServerConfig } from '../shared/config/index.js'
import { TunnelError, type ErrorCode } from '../shared/errors.js'
import { Session, type RelaySession, type SessionOptions } from '../shared/mux/index.js'
import { clientKeyId, encodeKey } from '../shared/transport/index.js'
import { parseHostPort } from '../shared/net/index.js'
import { GoAwayCode, ResetCode, Capability, CONTROL_PROTOCOL_VERSION, MessageType, type ClientMessage, type Login } from '../shared/wire/index.js'
import type { ClientKeyPolicy } from './client-keys.js'
import type { ConnectionBudget } from './connection-budget.js'
import { answerDiag, DiagRateLimit } from './diag-answer.js'
import { sourceGroup } from './handshake-gate.js'
import { startNatProbe, type NatProbes } from './nat-probe-mode.js'
import type { PeerViewSource } from './peer-view.js'
import { clientLimits, type ProxyKinds, type PortAllocator, type RelayProxy, SessionProxies, type UserFootprints, userLimits } from './proxy/index.js'
import type { Registry, RegistryMember } from './registry.js'
import type { RelayStats } from './relay-stats.js'
import type { SecureLink } from './secure-accept.js'
import { clientStreamsPerSource, SourceCounts } from './source-counts.js'
import { UdpHub } from './udp-hub.js'
import type { Vhosts } from './vhost/index.js'

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
  /** Session bounds tests shrink (a peer's not-reading timeout, ...); absent = the defaults. */
  sessionLimits?: SessionLimits
  /** What each user's sessions hold, against the per-user caps. */
  users: UserFootprints
}

/** The mux session settings a relay may override (tests do; frps.yml sets the rest). */
export type SessionLimits = Pick<SessionOptions, 'peerNotReadingTimeoutMs' | 'peerQueuePauseBytes'>

export interface ControlOptions {
  /** What is left of the handshake deadline for the login (the client's first record). */
  loginDeadlineMs: number
  /** The session became active (login decrypted and accepted). */
  onActive?: () => void
}

/** Capabilities of this relay that are not proxy types. */
const BASE_CAPABILITIES: readonly string[] = [Capability.UNREGISTER, Capability.DIAG, Capability.NAT_PROBE]

export class ControlSession implements RegistryMember {
  readonly session: RelaySession
  readonly remote: string
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

  constructor (link: SecureLink, remote: string, ctx: ControlContext, options: ControlOptions) {
    this.#ctx = ctx
    this.#link = link
    this.#onActive = options.onActive
    this.remote = remote
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
    // Clients never open streams toward the relay in this version.
    this.session.on('stream', (s) => { s.reset(ResetCode.REFUSED) })
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
    }
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
    const mine = new Set([...BASE_CAPABILITIES, ...this.#ctx.kinds.capabilities()])
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
  }

  #activate (): void {
    this.#link.commit()
    this.#onActive?.()
  }

  #sendLoginOk (): void {
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: true, version: CONTROL_PROTOCOL_VERSION, capabilities: [...this.capabilities], sessionId: this.sessionId })
  }

  #makeProxies (): SessionProxies {
    const { config, registry, kinds, stats, ports, budget, vhosts, users } = this.#ctx
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
      },
    })
  }

  #refuse (code: ErrorCode, message: string, extra: { version?: number } = {}): void {
    this.#ctx.stats.noteError(code, message)
    this.#log.warn({ code, ...extra }, message)
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: false, version: CONTROL_PROTOCOL_VERSION, code, message })
    this.session.goAway(code === 'TUN_AUTH_REFUSED' ? GoAwayCode.AUTH : GoAwayCode.PROTOCOL)
    this.session.close(new TunnelError(code, message))
  }

  /**
   * The client is leaving: free its ports and names now (no ownership grace: it said goodbye, so
   * another client, or its successor with a new key, may take them at once), let open streams finish.
   */
  #onGoAway (code: number): void {
    this.#log.info({ goAway: code }, 'client is going away: releasing its ports')
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
    if (this.#login !== undefined) {
      this.#log.info({ code: err?.code, reason: err?.message }, 'client session closed')
    }
  }
}

