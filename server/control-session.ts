// The relay's side of one client's control connection after the handshake (secure-accept.ts):
// the login must arrive within the handshake deadline as the first record (key confirmation);
// only then does the session become active and may take over an older session of the same
// client; then proxy registration, and clean-up.
import type { Logger } from 'pino'
import type { ServerConfig } from '../shared/config/types.js'
import { errorCode, TunnelError, type ErrorCode } from '../shared/errors.js'
import { Session } from '../shared/mux/session.js'
import { GoAwayCode, ResetCode } from '../shared/wire/frame.js'
import { CONTROL_PROTOCOL_VERSION, MessageType, parseLogin, parseRegister, type Login, type ProxySpec } from '../shared/wire/messages.js'
import { candidatePorts, describeRanges, isPortAllowed } from './ports.js'
import type { Registry, RegistryMember } from './registry.js'
import type { SecureLink } from './secure-accept.js'
import { TcpProxy } from './tcp-proxy.js'
import { UdpHub } from './udp-hub.js'
import { UdpProxy } from './udp-proxy.js'
import { isVhostSpec, type VhostProxy, type Vhosts } from './vhost/vhosts.js'

/** The proxies that hold a public port of their own. */
type PortSpec = Extract<ProxySpec, { remotePort: number }>

export interface ControlContext {
  config: ServerConfig
  registry: Registry<ControlSession>
  /** Ports the relay itself listens on (never given to a proxy). */
  reservedPorts: ReadonlySet<number>
  log: Logger
  /** The relay's http/https virtual hosts; undefined when frps.yml sets no vhost port. */
  vhosts?: Vhosts | undefined
}

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
  readonly #ctx: ControlContext
  readonly #link: SecureLink
  readonly #onActive: (() => void) | undefined
  #log: Logger
  #login: Login | undefined
  readonly #proxies = new Map<string, TcpProxy | UdpProxy | VhostProxy>()
  /** Flow ids and routing of the session's UDP flows, made with the first UDP proxy. */
  #udpHub: UdpHub | undefined
  #loginTimer: NodeJS.Timeout | undefined
  #closing = false

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

  #onControl (m: Record<string, unknown>): void {
    if (this.#login === undefined) {
      this.#handleLogin(parseLogin(m))
      return
    }
    if (m.type === MessageType.REGISTER) {
      void this.#handleRegister(parseRegister(m).proxies)
      return
    }
    this.#log.debug({ type: String(m.type) }, 'ignoring unknown control message')
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
    this.#login = login
    this.clientId = login.clientId
    this.#link.commit()
    this.#onActive?.()
    const old = this.#ctx.registry.activate(this)
    if (old !== undefined && old !== this) this.#log.info({ replaced: old.sessionId }, 'session replaced an older one of the same client')
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: true, sessionId: this.sessionId })
    this.#log.info({ user: login.user, hostname: login.hostname }, 'client logged in')
  }

  #refuse (code: ErrorCode, message: string): void {
    this.#log.warn({ code }, message)
    this.session.sendControl({ type: MessageType.LOGIN_RESULT, ok: false, code, message })
    this.session.goAway(code === 'TUN_AUTH_REFUSED' ? GoAwayCode.AUTH : GoAwayCode.PROTOCOL)
    this.session.close(new TunnelError(code, message))
  }

  async #handleRegister (specs: ProxySpec[]): Promise<void> {
    for (const spec of specs) {
      if (this.#closing) return
      try {
        const proxy = await this.#openProxy(spec)
        const domains = 'domains' in proxy ? { domains: [...proxy.domains] } : {}
        this.#log.info({ proxy: spec.name, type: spec.type, remotePort: proxy.port, ...domains }, 'proxy listening')
        this.session.sendControl({ type: MessageType.PROXY_RESULT, name: spec.name, ok: true, remotePort: proxy.port, ...domains })
      } catch (err) {
        const code = errorCode(err, 'TUN_LISTEN')
        const message = (err as Error).message
        this.#log.warn({ proxy: spec.name, remotePort: 'remotePort' in spec ? spec.remotePort : undefined, code }, `proxy refused: ${message}`)
        this.session.sendControl({ type: MessageType.PROXY_RESULT, name: spec.name, ok: false, code, message })
      }
    }
  }

  async #openProxy (spec: ProxySpec): Promise<TcpProxy | UdpProxy | VhostProxy> {
    const { config, registry } = this.#ctx
    if (this.#proxies.has(spec.name) || !registry.claimProxy(spec.name, this)) {
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
    // The spec carries the proxy's allowSources/denySources (SourceSpec).
    if (spec.type === 'tcp') return await TcpProxy.open(spec.name, host, port, this.session, this.#log, spec)
    this.#udpHub ??= new UdpHub(this.session, this.#log)
    return await UdpProxy.open(spec.name, host, port, this.session, this.#udpHub, this.#log, { idleTimeoutMs: spec.idleTimeout * 1000, maxFlows: spec.maxFlows, sources: spec })
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
    for (const proxy of this.#proxies.values()) proxy.destroy()
    this.#proxies.clear()
    this.#ctx.registry.remove(this)
    if (this.#login !== undefined) {
      this.#log.info({ code: err?.code, reason: err?.message }, 'client session closed')
    }
  }
}
