// The client agent: dial the relay, run the handshake, log in (protocol version and
// capabilities), hand the session to the proxy manager, and on any loss reconnect with
// exponential backoff and full jitter. A refused login is permanent. Everything about proxies
// (forwarders, phases, registration, reload) lives in proxy/manager.ts.
import type { Socket } from 'node:net'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { backoffDelay, sleep, type BackoffPolicy, DEFAULT_BACKOFF } from '../shared/backoff.js'
import type { ClientConfig, ProxyConfig } from '../shared/config/index.js'
import { TunnelError } from '../shared/errors.js'
import type { ReloadOutcome } from '../shared/reload-outcome.js'
import { Session, type ClientSession, type Wire } from '../shared/mux/index.js'
import { derivePsk, formatKeyId, generateKeyPair, keyPairFromSecret, type KeyPair } from '../shared/transport/index.js'
import { formatHostPort } from '../shared/net/index.js'
import { GoAwayCode, Capability, MessageType, type ProxyResult, type RelayMessage } from '../shared/wire/index.js'
import { parsePeerView, type PeerView } from '../shared/diag/index.js'
import { stunServerFor, type StunAddress } from '../shared/stun/index.js'
import { CONTROL_KEEPALIVE_MS, DEFAULT_GRACE_MS } from '../shared/timing.js'
import { ControlRequests } from './control-requests.js'
import { login } from './login.js'
import { isPermanent } from './permanent.js'
import { ProxyManager, type PortHint, type ProxyEntry } from './proxy/index.js'
import { secureConnect } from './secure-connect.js'
import { VisitorManager, type VisitorEntry } from './visitors/index.js'
import { dialRelay, type RelayConnection } from './transport/index.js'

/** How long relayView() waits for the relay's side of the control connection. */
export const RELAY_VIEW_TIMEOUT_MS = 5_000
/** How long a reload waits for the relay's answer to one register or unregister. */
export const RELOAD_ANSWER_TIMEOUT_MS = 10_000

export interface ClientEvents {
  /** One per proxy after each login, and per register of a reload. */
  proxy: [result: ProxyResult]
  login: [sessionId: string]
  disconnect: [err: TunnelError | undefined]
  /** A connection or login attempt failed; the client retries (unless it is permanent). */
  attemptFailed: [err: TunnelError]
}

export interface ClientOptions {
  /** This client's static key pair (its identity); default auth.clientKey, else a new key for this process. */
  clientKey?: KeyPair
  backoff?: BackoffPolicy
  /** The jitter of the reconnect backoff, uniform in [0, 1) (tests inject one); default Math.random. */
  random?: () => number
  /** How long a reload waits for each answer of the relay (default RELOAD_ANSWER_TIMEOUT_MS). */
  reloadAnswerTimeoutMs?: number
  /** A fleet client's connection: which relay to dial next (default serverAddr:serverPort). */
  target?: () => { host: string, port: number }
  /** A fleet client's connection: the port a remotePort-0 proxy holds on another relay. */
  portHint?: PortHint
  /** The relay sent go-away (its code: GoAwayCode); a fleet client learns from REPLACED that two of its connections reached one relay. */
  onGoAway?: (code: number) => void
}

export class Client extends EventEmitter<ClientEvents> {
  readonly #log: Logger
  readonly #backoff: BackoffPolicy
  readonly #random: () => number
  readonly #stop = new AbortController()
  readonly #proxies: ProxyManager
  /** Visitors of other clients' secret proxies (frpc.yml's visitors:). */
  readonly #visitors: VisitorManager
  /** Reloads one at a time: proxies, then visitors. */
  #reloading: Promise<unknown> = Promise.resolve()
  #session: ClientSession | undefined
  /** Requests that wait for the relay's answer (a reload's register and unregister, diagRequest). */
  readonly #requests: ControlRequests
  /** The capabilities both sides have, from the current login. */
  #capabilities: ReadonlySet<string> = new Set()
  /** The session whose login was accepted (until it closes). */
  #loggedIn: ClientSession | undefined
  /** The relay's address as connected (normalised), for diagnostics: the proxy's when going through one. */
  #relayPeer: string | undefined
  /** How the current (or last) connection reached the relay: transport and proxy. */
  #carrier: Pick<RelayConnection, 'transport' | 'via'> | undefined
  #graceMs = 0
  /** The token as the handshake's PSK, derived once. */
  readonly #psk: Uint8Array
  readonly #clientKey: KeyPair
  /** Handshake timestamps strictly increase, even if the clock does not. */
  #lastTimestampMs = 0
  readonly #target: (() => { host: string, port: number }) | undefined
  readonly #onGoAway: ((code: number) => void) | undefined
  /** host:port of the relay of the current (or last) connection. */
  #relay = ''
  reconnects = 0

  constructor (config: ClientConfig, log: Logger, options: ClientOptions = {}) {
    super()
    this.#log = log
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF
    this.#random = options.random ?? Math.random
    this.#requests = new ControlRequests(options.reloadAnswerTimeoutMs ?? RELOAD_ANSWER_TIMEOUT_MS)
    this.#psk = derivePsk(config.auth.token)
    const inline = config.auth.clientKey
    this.#clientKey = options.clientKey ?? (inline === null ? generateKeyPair() : keyPairFromSecret(inline.reveal()))
    this.#target = options.target
    this.#onGoAway = options.onGoAway
    this.#proxies = new ProxyManager(config, log, this.#requests, this.#random, options.portHint)
    this.#proxies.on('result', (r) => { this.emit('proxy', r) })
    this.#visitors = new VisitorManager(config.visitors, config.user, log)
    const stun = stunResolver(config, log)
    this.#proxies.stun = stun
    this.#visitors.stun = stun
  }

  /** The running config: a reload replaces its proxies. */
  get config (): ClientConfig { return this.#proxies.config }
  /** The proxies of the running config. */
  get proxies (): readonly ProxyConfig[] { return this.#proxies.proxies }
  /** Every configured proxy with its forwarder and phase. */
  proxyEntries (): ProxyEntry[] { return this.#proxies.entries() }
  /** Every configured visitor with its listener and phase. */
  visitorEntries (): VisitorEntry[] { return this.#visitors.entries() }
  /** The current (or last) control session. */
  get session (): ClientSession | undefined { return this.#session }
  /** host:port of the relay this client dialled last (a fleet client's connections differ). */
  get relay (): string { return this.#relay }
  /** A login was accepted on the current session and it is still open (a fleet connection is attached). */
  get attached (): boolean { return this.#loggedIn !== undefined && !this.#loggedIn.closed }
  /** The relay's address of the current connection (normalised), once connected. */
  get relayPeer (): string | undefined { return this.#relayPeer }
  /** The transport of the current (or last) connection (tcp, tls, websocket, websocket+tls, wss) and the proxy it goes through. */
  get carrier (): Pick<RelayConnection, 'transport' | 'via'> | undefined { return this.#carrier }
  /** The capabilities both sides have (empty before the first login). */
  get capabilities (): ReadonlySet<string> { return this.#capabilities }

  /**
   * Runs until close(). Rejects with a TunnelError for permanent failures: a refused login,
   * or (with loginFailExit) a first connection that fails.
   */
  async run (): Promise<void> {
    const signal = this.#stop.signal
    let attempt = 0
    let everLoggedIn = false
    this.#startupWarnings()
    // Visitors listen from the start, connected or not (a refused listener is logged, not fatal).
    await this.#visitors.start()
    while (!signal.aborted) {
      let session: ClientSession | undefined
      try {
        session = await this.#connect(signal)
        await this.#login(session)
        everLoggedIn = true
        attempt = 0
        this.#proxies.attach(session, this.#capabilities)
        this.#visitors.attach(session, this.#capabilities)
        const err = await closedOrStopped(session, signal)
        if (signal.aborted) break
        this.emit('disconnect', err)
        this.#log.warn({ code: err?.code, reason: err?.message }, 'lost the relay: reconnecting')
      } catch (err) {
        session?.close()
        const e = err instanceof TunnelError ? err : new TunnelError('TUN_CONNECT', String(err), { cause: err })
        if (!signal.aborted) this.emit('attemptFailed', e)
        if (isPermanent(e, everLoggedIn)) throw e
        if (!everLoggedIn && this.config.loginFailExit) throw e
        if (signal.aborted) break
        this.#log.warn({ code: e.code, reason: e.message }, 'cannot reach the relay')
        if (everLoggedIn && isPermanent(e, false)) this.#log.error({ code: e.code }, 'the relay refused us in cleartext (unauthenticated, so retried): check the configs on both sides')
      }
      const delay = backoffDelay(attempt++, this.#backoff, this.#random)
      this.reconnects++
      this.#log.info({ delayMs: delay, attempt }, 'reconnecting')
      await sleep(delay, signal)
    }
    this.#proxies.stop()
    this.#visitors.stop()
    await this.#shutdownSession()
  }

  /**
   * Applies `next`'s proxies on the running client (see ProxyManager.reload); any other setting
   * that differs refuses the whole reload.
   */
  reload (next: ClientConfig): Promise<ReloadOutcome> {
    const run = this.#reloading.then(async () => await this.#reload(next))
    this.#reloading = run.catch(() => {})
    return run
  }

  /** Proxies first (that checks the other settings); then the visitors, unless it was refused. */
  async #reload (next: ClientConfig): Promise<ReloadOutcome> {
    const hadVisitors = this.#visitors.configs.length > 0
    const outcome = await this.#proxies.reload(next)
    if (outcome.status === 'refused') return outcome
    const v = await this.#visitors.reload(next.visitors)
    if (!hadVisitors && next.visitors.length === 0) return outcome
    const fields = { added: v.added, removed: v.removed, changed: v.changed }
    if (v.errors.length === 0) this.#log.info(fields, 'visitors reloaded')
    else this.#log.warn({ ...fields, errors: v.errors.map((e) => `${e.visitor ?? '-'}: ${e.message} (${e.code})`) }, 'visitors reloaded')
    return {
      ...outcome,
      status: outcome.status === 'applied' && v.errors.length === 0 ? 'applied' : 'partial',
      errors: [...outcome.errors, ...v.errors],
      visitors: fields,
    }
  }

  /**
   * The relay's side of the control connection (MSS, path MTU, RTT, retransmits, cwnd, as its
   * kernel sees them), asked over the connection itself; a TunnelError when not connected, when
   * the relay cannot tell, or after `timeoutMs`.
   */
  async relayView (timeoutMs = RELAY_VIEW_TIMEOUT_MS): Promise<PeerView | TunnelError> {
    const session = this.#loggedIn
    if (session === undefined || session.closed) return new TunnelError('TUN_SESSION_CLOSED', 'not connected to the relay')
    if (!this.#capabilities.has(Capability.DIAG)) return new TunnelError('TUN_DIAG_SOURCE', 'the relay does not offer its side of the connection (no diag capability)')
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.DIAG_REQUEST, id }), {
      ms: timeoutMs,
      error: () => new TunnelError('TUN_DIAG_SOURCE', `the relay did not report its side within ${timeoutMs} ms`),
    })
    if (answer instanceof TunnelError) return answer
    if (answer.type !== MessageType.DIAG_RESULT) return new TunnelError('TUN_PROTOCOL', `the relay answered a diagRequest with ${answer.type}`)
    if (!answer.ok) return new TunnelError(answer.code ?? 'TUN_DIAG_SOURCE', answer.message ?? 'the relay could not report its side')
    return parsePeerView(answer.view)
  }

  /** Graceful stop: go-away (the relay frees our ports at once), drain up to graceMs. */
  close (graceMs = DEFAULT_GRACE_MS): void {
    this.#graceMs = graceMs
    this.#stop.abort()
  }

  async #shutdownSession (): Promise<void> {
    const session = this.#session
    if (session === undefined || session.closed) return
    session.goAway(GoAwayCode.NORMAL)
    if (this.#graceMs > 0) await session.drained(AbortSignal.timeout(this.#graceMs))
    session.close()
  }

  async #connect (signal: AbortSignal): Promise<ClientSession> {
    const { serverAddr, serverPort, transport } = this.config
    const { host, port } = this.#target?.() ?? { host: serverAddr, port: serverPort }
    const target = formatHostPort(host, port)
    this.#relay = target
    // A fleet connection dials its own relay; everything else (transport, TLS, proxyURL) is the config's.
    const conn = await dialRelay(host === serverAddr && port === serverPort ? this.config : { ...this.config, serverAddr: host, serverPort: port }, signal)
    conn.tcp.setNoDelay(true)
    conn.tcp.setKeepAlive(true, CONTROL_KEEPALIVE_MS)
    this.#relayPeer = conn.peer
    this.#carrier = { transport: conn.transport, via: conn.via }
    const wire = await this.#handshake(conn.socket, signal, conn.tcp)
    const session: ClientSession = new Session(wire, {
      role: 'client',
      logger: this.#log,
      heartbeatIntervalMs: Math.max(0, transport.heartbeatInterval * 1000),
      heartbeatTimeoutMs: Math.max(0, transport.heartbeatTimeout * 1000),
      maxStreams: transport.maxStreams,
    })
    this.#session = session
    this.#capabilities = new Set()
    session.on('control', (m) => { this.#onControl(m) })
    session.once('close', () => {
      if (this.#loggedIn === session) this.#loggedIn = undefined
      this.#requests.sessionClosed()
    })
    this.#proxies.serve(session, this.#relayPeer)
    session.on('goaway', (code) => {
      this.#log.info({ goAway: code }, 'relay is going away')
      this.#onGoAway?.(code)
    })
    this.#log.debug({ relay: target, transport: conn.transport, via: conn.via }, 'connected to the relay')
    return session
  }

  /** The relay's messages after the session's checks (login() waits for the loginResult itself). */
  #onControl (m: RelayMessage): void {
    switch (m.type) {
      case MessageType.PROXY_RESULT:
        this.#proxies.onResult(m)
        this.#requests.answer(m)
        return
      case MessageType.UNREGISTER_RESULT:
      case MessageType.DIAG_RESULT:
        this.#requests.answer(m)
        return
      case MessageType.LOGIN_RESULT:
      case MessageType.NAT_PROBE:
        // The login waiter reads the first; natProbe comes only on a probe connection (nat-probe.ts).
    }
  }

  /** The Noise handshake on a fresh socket; the socket is destroyed when it fails. */
  async #handshake (socket: Socket, signal: AbortSignal, tcp: Socket): Promise<Wire> {
    const { clientID, auth, transport } = this.config
    this.#lastTimestampMs = Math.max(Date.now(), this.#lastTimestampMs + 1)
    try {
      const secure = await secureConnect(socket, {
        clientId: clientID,
        clientKey: this.#clientKey,
        psk: this.#psk,
        serverKey: auth.serverKey ?? undefined,
        plaintext: transport.insecurePlaintext,
        timestampMs: this.#lastTimestampMs,
        timeoutMs: transport.handshakeTimeout * 1000,
        signal,
        logger: this.#log,
      })
      return secure.wire
    } catch (err) {
      socket.destroy()
      tcp.destroy()
      throw err
    }
  }

  #startupWarnings (): void {
    const { auth, transport } = this.config
    if (auth.serverKey === null) {
      this.#log.warn({}, 'auth.serverKey is not set: the relay is not authenticated (anyone in the middle could pose as it) and a weak auth.token can be guessed offline from recorded traffic; pin the key from tunnel keygen')
    } else {
      this.#log.info({ keyId: formatKeyId(auth.serverKey) }, 'relay key pinned')
    }
    if (transport.insecurePlaintext) this.#log.warn({}, 'transport.insecurePlaintext is on: after the handshake, tunnelled bytes are NOT encrypted or authenticated')
  }

  async #login (session: ClientSession): Promise<void> {
    const { user, clientID } = this.config
    const metas = this.config.metadatas
    const r = await login(session, { clientId: clientID, user, ...(metas === undefined ? {} : { metas }) })
    if (!r.ok) throw new TunnelError(r.code ?? 'TUN_AUTH_REFUSED', r.message ?? 'the relay refused the login')
    this.#capabilities = new Set(r.capabilities ?? [])
    this.#loggedIn = session
    this.#log.info({ sessionId: r.sessionId, relay: this.#relay, version: r.version, capabilities: [...this.#capabilities], transport: this.#carrier?.transport, via: this.#carrier?.via }, 'logged in')
    this.emit('login', r.sessionId ?? '')
  }
}

function closedOrStopped (session: ClientSession, signal: AbortSignal): Promise<TunnelError | undefined> {
  return new Promise((resolve) => {
    // Already stopped (close() during the login): the abort event has fired and will not again.
    if (session.closed || signal.aborted) { resolve(undefined); return }
    const onAbort = (): void => { resolve(undefined) }
    signal.addEventListener('abort', onAbort, { once: true })
    session.once('close', (err) => {
      signal.removeEventListener('abort', onAbort)
      resolve(err)
    })
  })
}

/** How long a resolved STUN server address is reused before its name is looked up again. */
export const STUN_RESOLVE_CACHE_MS = 60_000

/** The STUN server of xtcp (natHoleStunServer, else the relay's own), resolved lazily and cached; undefined when it cannot be. */
function stunResolver (config: ClientConfig, log: Logger): () => Promise<StunAddress | undefined> {
  let cached: { at: number, address: StunAddress | undefined } | undefined
  return async () => {
    const now = performance.now()
    if (cached !== undefined && now - cached.at < STUN_RESOLVE_CACHE_MS) return cached.address
    let address: StunAddress | undefined
    try {
      address = await stunServerFor(config)
    } catch (err) {
      log.warn({ code: (err as TunnelError).code }, `xtcp: no STUN server: ${(err as Error).message}; only local addresses are offered for punching`)
    }
    cached = { at: now, address }
    return address
  }
}
