// The relay's side of one client's control connection after the handshake (secure-accept.ts):
// the login must arrive within the handshake deadline as the first record (key confirmation);
// only then does the session become active and may take over an older session of the same
// client; then proxy registration (at login and, for a reload, at any time later), unregistering
// one proxy at a time, and clean-up. Registers and unregisters run one after another in the
// order they arrived, so "unregister X, register X" re-opens X, and a result carries the
// request's id.
import type { Logger } from 'pino'
import type { ServerConfig } from '../shared/config/types.js'
import { errorCode, TunnelError, type ErrorCode } from '../shared/errors.js'
import { formatBandwidth } from '../shared/limit/bandwidth.js'
import { Session } from '../shared/mux/session.js'
import { GoAwayCode, ResetCode } from '../shared/wire/frame.js'
import { CONTROL_PROTOCOL_VERSION, MessageType, parseDiagRequest, parseLogin, parseRegister, parseUnregister, type Login, type ProxySpec } from '../shared/wire/messages.js'
import type { ConnectionBudget } from './connection-budget.js'
import { candidatePorts, describeRanges, isPortAllowed } from './ports.js'
import type { Registry, RegistryMember } from './registry.js'
import type { RelayStats } from './relay-stats.js'
import type { SecureLink } from './secure-accept.js'
import { TcpProxy } from './tcp-proxy.js'
import { UdpHub } from './udp-hub.js'
import { UdpProxy } from './udp-proxy.js'
import type { PeerViewSource } from './peer-view.js'
import { normalizeAddress, parseHostPort } from '../shared/net/address.js'
import { isVhostSpec, type VhostProxy, type Vhosts } from './vhost/vhosts.js'

/** The proxies that hold a public port of their own. */
type PortSpec = Extract<ProxySpec, { remotePort: number }>

export interface ControlContext {
  config: ServerConfig
  registry: Registry<ControlSession>
  /** Ports the relay itself listens on (never given to a proxy). */
  reservedPorts: ReadonlySet<number>
  /** NAT probes (tunnel diag nat-timeout) running on the relay, bounded by MAX_NAT_PROBES. */
  natProbes: { active: number }
  /** The relay's view of one client's control connection (diagRequest); absent = not offered. */
  peerView?: PeerViewSource
  log: Logger
  /** The relay's visitor budget (fd limit, maxConnections); absent = unlimited. */
  budget?: ConnectionBudget
  /** Logins and refusals, for the admin API. */
  stats: RelayStats
  /** The relay's http/https virtual hosts; undefined when frps.yml sets no vhost port. */
  vhosts?: Vhosts | undefined
}

/** NAT probe connections held at once across the relay (each is one idle socket). */
export const MAX_NAT_PROBES = 64
/** How long a probe connection stays after natProbe was sent, for the client to read it. */
export const PROBE_LINGER_MS = 5_000

export interface ControlOptions {
  /** What is left of the handshake deadline for the login (the client's first record). */
  loginDeadlineMs: number
  /** The session became active (login decrypted and accepted). */
  onActive?: () => void
}

export class ControlSession implements RegistryMember {
  readonly session: Session
  readonly remote: string
  /** First 8 bytes of the handshake hash (the same on the client): channel binding. */
  readonly sessionId: string
  clientId = ''
  /** When the login was accepted (ms since the epoch); 0 before. */
  loggedInAt = 0
  /** Logins of this client id since the relay started, this one included. */
  logins = 0
  readonly #ctx: ControlContext
  readonly #link: SecureLink
  readonly #onActive: (() => void) | undefined
  #log: Logger
  #login: Login | undefined
  readonly #proxies = new Map<string, TcpProxy | UdpProxy | VhostProxy>()
  /** Flow ids and routing of the session's UDP flows, made with the first UDP proxy. */
  #udpHub: UdpHub | undefined
  #loginTimer: NodeJS.Timeout | undefined
  #probeTimer: NodeJS.Timeout | undefined
  #probe = false
  #closing = false
  /** Registers and unregisters, one after another in arrival order. */
  #ops: Promise<void> = Promise.resolve()

  constructor (link: SecureLink, remote: string, ctx: ControlContext, options: ControlOptions) {
    this.#ctx = ctx
    this.#link = link
    this.#onActive = options.onActive
    this.remote = remote
    this.sessionId = link.sessionId
    this.#log = ctx.log.child({ sessionId: this.sessionId, remote, clientId: link.clientId })
    const timeoutS = ctx.config.transport.heartbeatTimeout
    this.session = new Session(link.wire, {
      role: 'server',
      logger: this.#log,
      heartbeatTimeoutMs: timeoutS > 0 ? timeoutS * 1000 : 0,
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

  get proxyCount (): number { return this.#proxies.size }
  /** The login (user, hostname), once accepted. */
  get login (): Login | undefined { return this.#login }
  /** The public listeners and sockets this session holds now. */
  /** The http/https proxies this session holds now. */
  vhostProxies (): VhostProxy[] { return [...this.#proxies.values()].filter((p): p is VhostProxy => p.type === 'http' || p.type === 'https') }
  proxies (): Array<TcpProxy | UdpProxy> { return [...this.#proxies.values()].filter((p): p is TcpProxy | UdpProxy => p.type === 'tcp' || p.type === 'udp') }

  #onControl (m: Record<string, unknown>): void {
    if (this.#login === undefined) {
      this.#handleLogin(parseLogin(m))
      return
    }
    if (this.#probe) return // a probe registers nothing
    // Parsed here, at once: a malformed message is a protocol error that ends the session.
    if (m.type === MessageType.REGISTER) {
      const r = parseRegister(m)
      this.#enqueue(async () => { await this.#handleRegister(r.proxies, r.id) })
      return
    }
    if (m.type === MessageType.UNREGISTER) {
      const u = parseUnregister(m)
      this.#enqueue(async () => { this.#handleUnregister(u.name, u.id) })
      return
    }
    if (m.type === MessageType.DIAG_REQUEST) {
      // Not queued (it waits on the kernel, not on registrations); a throw past its own
      // catch would be an unhandled rejection, which ends the relay: log it instead.
      this.#handleDiag(parseDiagRequest(m).id).catch((err: unknown) => {
        this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'diag request failed')
      })
      return
    }
    this.#log.debug({ type: String(m.type).slice(0, 64) }, 'ignoring unknown control message')
  }

  #enqueue (op: () => Promise<void>): void {
    this.#ops = this.#ops.then(op).catch((err: unknown) => {
      this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'control request failed')
    })
  }

  #handleLogin (login: Login): void {
    clearTimeout(this.#loginTimer)
    if (login.version !== CONTROL_PROTOCOL_VERSION) {
      this.#refuse('TUN_PROTOCOL', `client speaks control protocol ${login.version}, this relay ${CONTROL_PROTOCOL_VERSION}: upgrade the older side`)
      return
    }
    if (login.clientId !== this.#link.clientId) {
      this.#refuse('TUN_PROTOCOL', `the login names clientID ${login.clientId} but the handshake ${this.#link.clientId}`)
      return
    }
    // The login decrypted: the client holds the handshake's keys (no replay gets here).
    if (login.probeIdleMs !== undefined) {
      this.#startNatProbe(login, login.probeIdleMs)
      return
    }
    this.#login = login
    this.clientId = login.clientId
    this.loggedInAt = Date.now()
    this.logins = this.#ctx.stats.noteLogin(login.clientId)
    this.#link.commit()
    this.#onActive?.()
    const old = this.#ctx.registry.activate(this)
    if (old !== undefined && old !== this) {
      this.#ctx.stats.replaced++
      this.#log.info({ replaced: old.sessionId }, 'session replaced an older one of the same client')
    }
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: true, sessionId: this.sessionId })
    this.#log.info({ user: login.user, hostname: login.hostname }, 'client logged in')
  }

  /**
   * tunnel diag nat-timeout: an authenticated connection that registers nothing, takes over
   * nothing, and on which this relay sends nothing (no heartbeat, no TCP keepalive) for idleMs;
   * then one natProbe message. Whether it reaches the client tells whether the NAT in between
   * still holds the mapping after that much silence.
   */
  #startNatProbe (login: Login, idleMs: number): void {
    const probes = this.#ctx.natProbes
    if (probes.active >= MAX_NAT_PROBES) {
      this.#refuse('TUN_RELAY_BUSY', `${probes.active} NAT probes are already running on this relay: try again later`)
      return
    }
    probes.active++
    this.#probe = true
    this.#login = login
    this.#link.commit()
    this.#onActive?.()
    this.#link.noKeepAlive()
    this.session.stopHeartbeat()
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: true, sessionId: this.sessionId })
    this.#log.debug({ idleMs }, 'NAT probe: staying silent')
    this.#probeTimer = setTimeout(() => {
      this.session.sendControl({ type: MessageType.NAT_PROBE, idleMs })
      this.#probeTimer = setTimeout(() => { this.session.close() }, PROBE_LINGER_MS)
    }, idleMs)
  }

  #refuse (code: ErrorCode, message: string): void {
    this.#ctx.stats.noteError(code, message)
    this.#log.warn({ code }, message)
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: false, code, message })
    this.session.goAway(code === 'TUN_AUTH_REFUSED' ? GoAwayCode.AUTH : GoAwayCode.PROTOCOL)
    this.session.close(new TunnelError(code, message))
  }

  async #handleRegister (specs: ProxySpec[], id: number | undefined): Promise<void> {
    const tag = id === undefined ? {} : { id }
    for (const spec of specs) {
      if (this.#closing) return
      try {
        const proxy = await this.#openProxy(spec)
        const limits = {
          ...('bandwidthLimit' in proxy && proxy.bandwidthLimit > 0 ? { bandwidthLimit: formatBandwidth(proxy.bandwidthLimit) } : {}),
          ...(spec.type === 'tcp' && spec.maxVisitors !== undefined ? { maxVisitors: spec.maxVisitors } : {}),
        }
        const domains = 'domains' in proxy ? { domains: [...proxy.domains] } : {}
        this.#log.info({ proxy: spec.name, type: spec.type, remotePort: proxy.port, ...limits, ...domains }, 'proxy listening')
        this.session.sendControl({ type: MessageType.PROXY_RESULT, name: spec.name, ok: true, remotePort: proxy.port, ...domains, ...tag })
      } catch (err) {
        const code = errorCode(err, 'TUN_LISTEN')
        const message = (err as Error).message
        this.#ctx.stats.noteError(code, `proxy ${spec.name}: ${message}`)
        this.#log.warn({ proxy: spec.name, remotePort: 'remotePort' in spec ? spec.remotePort : undefined, code }, `proxy refused: ${message}`)
        this.session.sendControl({ type: MessageType.PROXY_RESULT, name: spec.name, ok: false, code, message, ...tag })
      }
    }
  }

  /** The client asks for the relay's side of this control connection (tunnel diag). */
  async #handleDiag (id: number): Promise<void> {
    const source = this.#ctx.peerView
    const peer = parseHostPort(this.remote)
    const refuse = (code: ErrorCode, message: string): void => { this.session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: false, code, message }) }
    if (source === undefined || 'error' in peer) { refuse('TUN_DIAG_SOURCE', 'this relay cannot report on the connection'); return }
    try {
      const view = await source(normalizeAddress(peer.host), peer.port)
      if (view === 'busy') { refuse('TUN_RELAY_BUSY', 'the relay is already reporting on another connection: ask again in a moment'); return }
      if (!this.session.closed) this.session.sendControl({ type: MessageType.DIAG_RESULT, id, ok: true, view })
    } catch (err) {
      refuse('TUN_DIAG_SOURCE', `the relay could not read its side: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  /**
   * Closes one of this session's proxies: the public port is free at once, its visitors are
   * reset and its UDP flows closed; the name is free for anyone. A name this session does not
   * hold (another client's, or none) is refused and nothing changes.
   */
  #handleUnregister (name: string, id: number | undefined): void {
    if (this.#closing) return
    const tag = id === undefined ? {} : { id }
    const proxy = this.#proxies.get(name)
    if (proxy === undefined) {
      const message = `this client holds no proxy named "${name}"`
      this.#log.debug({ proxy: name, code: 'TUN_PROXY_UNKNOWN' }, `unregister refused: ${message}`)
      this.session.sendControl({ type: MessageType.UNREGISTER_RESULT, name, ok: false, code: 'TUN_PROXY_UNKNOWN', message, ...tag })
      return
    }
    this.#proxies.delete(name)
    this.#ctx.registry.releaseProxy(name, this)
    const visitors = proxy instanceof TcpProxy ? proxy.activeVisitors : proxy instanceof UdpProxy ? proxy.activeFlows : undefined
    // TCP visitors are reset; UDP flows are closed with a FIN to the client; a vhost proxy's
    // routes go at once and its requests in flight are cut.
    if (proxy instanceof TcpProxy) proxy.reset()
    else if (proxy instanceof UdpProxy) proxy.close()
    else proxy.destroy()
    this.#log.info({ proxy: name, remotePort: proxy.port, visitors }, 'proxy closed')
    this.session.sendControl({ type: MessageType.UNREGISTER_RESULT, name, ok: true, ...tag })
  }

  async #openProxy (spec: ProxySpec): Promise<TcpProxy | UdpProxy | VhostProxy> {
    const { config, registry } = this.#ctx
    if (this.#proxies.has(spec.name)) {
      throw new TunnelError('TUN_PROXY_EXISTS', `proxy name "${spec.name}" is already registered by this client`)
    }
    if (!registry.claimProxy(spec.name, this)) {
      throw new TunnelError('TUN_PROXY_EXISTS', `proxy name "${spec.name}" is already registered by another client: choose another name (or set user)`)
    }
    try {
      let proxy: TcpProxy | UdpProxy | VhostProxy
      if (isVhostSpec(spec)) {
        // http/https proxies share the relay's vhost ports: they hold domains, not ports.
        if (this.#ctx.vhosts === undefined) throw new TunnelError('TUN_VHOST_UNAVAILABLE', `this relay serves no ${spec.type} proxies: its frps.yml sets neither vhostHTTPPort nor vhostHTTPSPort`)
        proxy = this.#ctx.vhosts.open(spec, this.session, this.#log)
      } else {
        const held = [...this.#proxies.values()].filter((p) => !('domains' in p)).length
        if (config.maxPortsPerClient > 0 && held >= config.maxPortsPerClient) {
          throw new TunnelError('TUN_PORT_NOT_ALLOWED', `this client already holds ${held} ports (maxPortsPerClient ${config.maxPortsPerClient})`)
        }
        proxy = spec.remotePort === 0 ? await this.#openAnyPort(spec) : await this.#openPort(spec, spec.remotePort)
      }
      if (this.#closing) { proxy.destroy(); throw new TunnelError('TUN_SESSION_CLOSED', 'session closed during registration') }
      this.#proxies.set(spec.name, proxy)
      return proxy
    } catch (err) {
      registry.releaseProxy(spec.name, this)
      throw err
    }
  }

  async #openPort (spec: PortSpec, port: number): Promise<TcpProxy | UdpProxy> {
    const { config, reservedPorts } = this.#ctx
    if (!isPortAllowed(port, config.allowPorts)) {
      throw new TunnelError('TUN_PORT_NOT_ALLOWED', `remotePort ${port} is not in the relay's allowPorts (${describeRanges(config.allowPorts)})`)
    }
    if (reservedPorts.has(port)) throw new TunnelError('TUN_PORT_IN_USE', `remotePort ${port} is the relay's own port`)
    return await this.#bind(spec, port)
  }

  /** Opens the public side of a proxy on `port` (0 = any free port). */
  async #bind (spec: PortSpec, port: number): Promise<TcpProxy | UdpProxy> {
    const host = this.#ctx.config.proxyBindAddr
    const budget = this.#ctx.budget
    // The spec carries the proxy's allowSources/denySources (SourceSpec) and its limits.
    const common = { sources: spec, bandwidthLimit: spec.bandwidthLimit, ...(budget === undefined ? {} : { budget }) }
    if (spec.type === 'tcp') return await TcpProxy.open(spec.name, host, port, this.session, this.#log, { ...common, maxVisitors: spec.maxVisitors })
    this.#udpHub ??= new UdpHub(this.session, this.#log)
    return await UdpProxy.open(spec.name, host, port, this.session, this.#udpHub, this.#log, { ...common, idleTimeoutMs: spec.idleTimeout * 1000, maxFlows: spec.maxFlows })
  }

  async #openAnyPort (spec: PortSpec): Promise<TcpProxy | UdpProxy> {
    const { config, reservedPorts } = this.#ctx
    let last: unknown
    for (const port of candidatePorts(config.allowPorts, reservedPorts)) {
      try {
        return await this.#bind(spec, port)
      } catch (err) {
        last = err
        if (errorCode(err, 'TUN_LISTEN') !== 'TUN_PORT_IN_USE') throw err
      }
    }
    throw new TunnelError('TUN_PORT_IN_USE', `no free port in allowPorts (${describeRanges(config.allowPorts)})`, { cause: last })
  }

  /** The client is leaving: free its ports now, let open streams finish. */
  #onGoAway (code: number): void {
    this.#log.info({ goAway: code }, 'client is going away: releasing its ports')
    this.#closeProxies()
    this.#ctx.registry.remove(this)
  }

  replaceBy (): void {
    this.#closing = true
    this.#closeProxies()
    this.session.goAway(GoAwayCode.REPLACED)
    this.session.close(new TunnelError('TUN_SESSION_REPLACED', 'a newer session of this client took over'))
  }

  /** Relay shutdown: stop accepting visitors and tell the client. */
  goAway (): void {
    this.#closeProxies()
    this.session.goAway(GoAwayCode.RESTARTING)
  }

  #closeProxies (): void {
    for (const [name, proxy] of this.#proxies) {
      proxy.close()
      this.#ctx.registry.releaseProxy(name, this)
    }
    this.#proxies.clear()
  }

  #onClose (err: TunnelError | undefined): void {
    this.#closing = true
    clearTimeout(this.#loginTimer)
    clearTimeout(this.#probeTimer)
    if (this.#probe) {
      this.#probe = false
      this.#ctx.natProbes.active--
      return
    }
    for (const proxy of this.#proxies.values()) proxy.destroy()
    this.#proxies.clear()
    this.#ctx.registry.remove(this)
    if (this.#login !== undefined) {
      this.#log.info({ code: err?.code, reason: err?.message }, 'client session closed')
    }
  }
}
