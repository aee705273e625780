// The client agent: dial the relay, log in, register proxies, serve streams; on any loss,
// reconnect with exponential backoff and full jitter. A refused login is permanent.
import { hostname } from 'node:os'
import { connect, type Socket } from 'node:net'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { backoffDelay, sleep, type BackoffPolicy, DEFAULT_BACKOFF } from '../shared/backoff.js'
import type { ClientConfig, ProxyConfig } from '../shared/config/types.js'
import { TunnelError } from '../shared/errors.js'
import { Session } from '../shared/mux/session.js'
import type { Wire } from '../shared/mux/wire.js'
import { derivePsk, formatKeyId } from '../shared/transport/keys.js'
import { formatHostPort } from '../shared/net/address.js'
import { GoAwayCode, ResetCode } from '../shared/wire/frame.js'
import { CONTROL_PROTOCOL_VERSION, MessageType, parseLoginResult, parseProxyResult, type ProxyResult } from '../shared/wire/messages.js'
import { isPermanent } from './permanent.js'
import { proxySpec, registerBatches } from './proxy-spec.js'
import { secureConnect } from './secure-connect.js'
import { TcpForwarder } from './tcp-forwarder.js'
import { UdpFlows } from './udp-flows.js'
import { UdpForwarder } from './udp-forwarder.js'

export const LOGIN_TIMEOUT_MS = 10_000
export const CONTROL_KEEPALIVE_MS = 30_000

export interface ClientEvents {
  /** One per proxy after each login. */
  proxy: [result: ProxyResult]
  login: [sessionId: string]
  disconnect: [err: TunnelError | undefined]
}

export interface ClientOptions {
  backoff?: BackoffPolicy
}

export class Client extends EventEmitter<ClientEvents> {
  readonly #config: ClientConfig
  readonly #log: Logger
  readonly #backoff: BackoffPolicy
  readonly #forwarders = new Map<string, TcpForwarder>()
  readonly #udpForwarders = new Map<string, UdpForwarder>()
  readonly #stop = new AbortController()
  #session: Session | undefined
  #graceMs = 0
  /** The token as the handshake's PSK, derived once. */
  readonly #psk: Uint8Array
  /** Handshake timestamps strictly increase, even if the clock does not. */
  #lastTimestampMs = 0
  reconnects = 0

  constructor (config: ClientConfig, log: Logger, options: ClientOptions = {}) {
    super()
    this.#config = config
    this.#log = log
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF
    this.#psk = derivePsk(config.auth.token)
    for (const p of config.proxies) {
      if (p.type === 'udp') this.#udpForwarders.set(wireName(config, p), new UdpForwarder(p, log.child({ proxy: p.name, udp: true })))
      else this.#forwarders.set(wireName(config, p), new TcpForwarder(p, log.child({ proxy: p.name })))
    }
  }

  /**
   * Runs until close(). Rejects with a TunnelError for permanent failures: a refused login,
   * or (with loginFailExit) a first connection that fails.
   */
  async run (): Promise<void> {
    const signal = this.#stop.signal
    let attempt = 0
    let everLoggedIn = false
    this.#startupWarnings()
    while (!signal.aborted) {
      let session: Session | undefined
      try {
        session = await this.#connect(signal)
        await this.#login(session)
        everLoggedIn = true
        attempt = 0
        this.#register(session)
        const err = await closedOrStopped(session, signal)
        if (signal.aborted) break
        this.emit('disconnect', err)
        this.#log.warn({ code: err?.code, reason: err?.message }, 'lost the relay: reconnecting')
      } catch (err) {
        session?.close()
        const e = err instanceof TunnelError ? err : new TunnelError('TUN_CONNECT', String(err), { cause: err })
        if (isPermanent(e, everLoggedIn)) throw e
        if (!everLoggedIn && this.#config.loginFailExit) throw e
        if (signal.aborted) break
        this.#log.warn({ code: e.code, reason: e.message }, 'cannot reach the relay')
        if (everLoggedIn && isPermanent(e, false)) this.#log.error({ code: e.code }, 'the relay refused us in cleartext (unauthenticated, so retried): check the configs on both sides')
      }
      const delay = backoffDelay(attempt++, this.#backoff)
      this.reconnects++
      this.#log.info({ delayMs: delay, attempt }, 'reconnecting')
      await sleep(delay, signal)
    }
    await this.#shutdownSession()
  }

  /** Graceful stop: go-away (the relay frees our ports at once), drain up to graceMs. */
  close (graceMs = 10_000): void {
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

  async #connect (signal: AbortSignal): Promise<Session> {
    const { serverAddr, serverPort, transport } = this.#config
    const target = formatHostPort(serverAddr, serverPort)
    const socket = await dial(serverAddr, serverPort, transport.dialServerTimeout * 1000, signal)
    socket.setNoDelay(true)
    socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS)
    const wire = await this.#handshake(socket, signal)
    const session = new Session(wire, {
      role: 'client',
      logger: this.#log,
      heartbeatIntervalMs: Math.max(0, transport.heartbeatInterval * 1000),
      heartbeatTimeoutMs: Math.max(0, transport.heartbeatTimeout * 1000),
    })
    this.#session = session
    session.on('stream', (stream) => {
      const fwd = stream.open === undefined ? undefined : this.#forwarders.get(stream.open.proxy)
      if (fwd === undefined) { stream.reset(ResetCode.REFUSED); return }
      fwd.handle(stream)
    })
    if (this.#udpForwarders.size > 0) new UdpFlows(session, this.#udpForwarders, this.#log) // lives as long as the session
    session.on('goaway', (code) => {
      this.#log.info({ goAway: code }, 'relay is going away')
    })
    this.#log.debug({ relay: target }, 'connected to the relay')
    return session
  }

  /** The Noise handshake on a fresh socket; the socket is destroyed when it fails. */
  async #handshake (socket: Socket, signal: AbortSignal): Promise<Wire> {
    const { clientID, auth, transport } = this.#config
    this.#lastTimestampMs = Math.max(Date.now(), this.#lastTimestampMs + 1)
    try {
      const secure = await secureConnect(socket, {
        clientId: clientID,
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
      throw err
    }
  }

  #startupWarnings (): void {
    const { auth, transport } = this.#config
    if (auth.serverKey === null) {
      this.#log.warn({}, 'auth.serverKey is not set: the relay is not authenticated (anyone in the middle could pose as it) and a weak auth.token can be guessed offline from recorded traffic; pin the key from tunnel keygen')
    } else {
      this.#log.info({ keyId: formatKeyId(auth.serverKey) }, 'relay key pinned')
    }
    if (transport.insecurePlaintext) this.#log.warn({}, 'transport.insecurePlaintext is on: after the handshake, tunnelled bytes are NOT encrypted or authenticated')
  }

  #login (session: Session): Promise<void> {
    const { user, clientID } = this.#config
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { done(new TunnelError('TUN_LOGIN_TIMEOUT', `the relay did not answer the login within ${LOGIN_TIMEOUT_MS} ms`)) }, LOGIN_TIMEOUT_MS)
      const onControl = (m: Record<string, unknown>): void => {
        if (m.type !== MessageType.LOGIN_RESULT) return
        const r = parseLoginResult(m)
        if (r.ok) {
          this.#log.info({ sessionId: r.sessionId, relay: formatHostPort(this.#config.serverAddr, this.#config.serverPort) }, 'logged in')
          this.emit('login', r.sessionId ?? '')
          done(undefined)
        } else {
          done(new TunnelError(r.code ?? 'TUN_AUTH_REFUSED', r.message ?? 'the relay refused the login'))
        }
      }
      const onClose = (err: TunnelError | undefined): void => {
        done(err ?? new TunnelError('TUN_SESSION_CLOSED', 'the relay closed the connection during login'))
      }
      const done = (err: TunnelError | undefined): void => {
        clearTimeout(timer)
        session.off('control', onControl)
        session.off('close', onClose)
        if (err === undefined) resolve()
        else reject(err)
      }
      session.on('control', onControl)
      session.on('close', onClose)
      session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, clientId: clientID, user, hostname: hostname() })
    })
  }

  #register (session: Session): void {
    session.on('control', (m) => {
      if (m.type !== MessageType.PROXY_RESULT) return
      const r = parseProxyResult(m)
      if (r.ok) this.#log.info({ proxy: r.name, remotePort: r.remotePort, ...(r.domains === undefined ? {} : { domains: r.domains }) }, 'proxy registered')
      else this.#log.error({ proxy: r.name, code: r.code }, `proxy refused by the relay: ${r.message ?? ''}`)
      this.emit('proxy', r)
    })
    const specs = this.#config.proxies.map((p) => proxySpec(wireName(this.#config, p), p))
    for (const proxies of registerBatches(specs)) session.sendControl({ type: MessageType.REGISTER, proxies })
  }
}

/** frp registers `{user}.{name}` when user is set. */
function wireName (config: ClientConfig, proxy: ProxyConfig): string {
  return config.user === '' ? proxy.name : `${config.user}.${proxy.name}`
}

function closedOrStopped (session: Session, signal: AbortSignal): Promise<TunnelError | undefined> {
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

function dial (host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    const fail = (err: Error): void => {
      cleanup()
      socket.destroy()
      reject(new TunnelError('TUN_CONNECT', `cannot connect to the relay at ${formatHostPort(host, port)}: ${err.message}`, { cause: err }))
    }
    const onAbort = (): void => { fail(new Error('stopped')) }
    const timer = setTimeout(() => { fail(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('error', fail)
      signal.removeEventListener('abort', onAbort)
    }
    socket.once('error', fail)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => { cleanup(); resolve(socket) })
  })
}
