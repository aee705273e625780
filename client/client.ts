// The client agent: dial the relay, log in, register proxies, serve streams; on any loss,
// reconnect with exponential backoff and full jitter. A refused login is permanent. reload()
// applies a new proxy list on the live session (register / unregister one proxy at a time)
// without touching the others (docs/operations.md, "Reloading the client's proxies").
import type { Socket } from 'node:net'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { backoffDelay, sleep, type BackoffPolicy, DEFAULT_BACKOFF } from '../shared/backoff.js'
import type { ClientConfig, ProxyConfig } from '../shared/config/types.js'
import { TunnelError } from '../shared/errors.js'
import type { ReloadOutcome } from '../shared/reload-outcome.js'
import { formatBandwidth } from '../shared/limit/bandwidth.js'
import { Session } from '../shared/mux/session.js'
import type { Wire } from '../shared/mux/wire.js'
import { derivePsk, formatKeyId } from '../shared/transport/keys.js'
import { formatHostPort, normalizeAddress } from '../shared/net/address.js'
import { GoAwayCode, ResetCode } from '../shared/wire/frame.js'
import { MessageType, parseDiagResult, parseProxyResult, parseUnregisterResult, type ProxyResult } from '../shared/wire/messages.js'
import { parsePeerView, type PeerView } from '../shared/diag/peer-view.js'
import { ControlRequests } from './control-requests.js'
import { dial } from './dial.js'
import { login } from './login.js'
import { isPermanent } from './permanent.js'
import { diffProxies, type ProxyDiff } from './proxy-diff.js'
import { proxySpec, registerBatches, wireName } from './proxy-spec.js'
import { fixedSettingChanges } from './settings-diff.js'
import { secureConnect } from './secure-connect.js'
import { TcpForwarder } from './tcp-forwarder.js'
import { UdpFlows } from './udp-flows.js'
import { UdpForwarder } from './udp-forwarder.js'

export const CONTROL_KEEPALIVE_MS = 30_000
/** How long relayView() waits for the relay's side of the control connection. */
export const RELAY_VIEW_TIMEOUT_MS = 5_000
/** How long a reload waits for the relay's answer to one register or unregister. */
export const RELOAD_ANSWER_TIMEOUT_MS = 10_000

export interface ClientEvents {
  /** One per proxy after each login. */
  proxy: [result: ProxyResult]
  login: [sessionId: string]
  disconnect: [err: TunnelError | undefined]
  /** A connection or login attempt failed; the client retries (unless it is permanent). */
  attemptFailed: [err: TunnelError]
}

/** One configured proxy and the forwarder that serves it, for status and metrics. */
export type ForwarderEntry =
  | { name: string, type: 'tcp' | 'http' | 'https', forwarder: TcpForwarder }
  | { name: string, type: 'udp', forwarder: UdpForwarder }

export interface ClientOptions {
  backoff?: BackoffPolicy
  /** The jitter of the reconnect backoff, uniform in [0, 1) (tests inject one); default Math.random. */
  random?: () => number
  /** How long a reload waits for each answer of the relay (default RELOAD_ANSWER_TIMEOUT_MS). */
  reloadAnswerTimeoutMs?: number
}

export class Client extends EventEmitter<ClientEvents> {
  /** The running config: a reload replaces its proxies. */
  #config: ClientConfig
  readonly #log: Logger
  readonly #backoff: BackoffPolicy
  readonly #random: () => number
  readonly #forwarders = new Map<string, TcpForwarder>()
  readonly #udpForwarders = new Map<string, UdpForwarder>()
  readonly #stop = new AbortController()
  #session: Session | undefined
  /** The current session's UDP flows. */
  #udpFlows: UdpFlows | undefined
  /** The session whose registration went out: a reload registers and unregisters on it. */
  #live: Session | undefined
  /** Registered names the relay refused (retried by the next reload, and at every login). */
  readonly #refused = new Set<string>()
  /** A reload's registers and unregisters waiting for the relay's answer. */
  readonly #requests: ControlRequests
  /** The reload in progress: the next one waits for it. */
  #reloading: Promise<unknown> = Promise.resolve()
  /** The relay's address as connected (normalised), for diagnostics. */
  #relayPeer: string | undefined
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
    this.#random = options.random ?? Math.random
    this.#requests = new ControlRequests(options.reloadAnswerTimeoutMs ?? RELOAD_ANSWER_TIMEOUT_MS)
    this.#psk = derivePsk(config.auth.token)
    for (const p of config.proxies) this.#startProxy(p)
  }

  /** The proxies of the running config (a reload replaces them). */
  get proxies (): readonly ProxyConfig[] { return this.#config.proxies }

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
        if (!signal.aborted) this.emit('attemptFailed', e)
        if (isPermanent(e, everLoggedIn)) throw e
        if (!everLoggedIn && this.#config.loginFailExit) throw e
        if (signal.aborted) break
        this.#log.warn({ code: e.code, reason: e.message }, 'cannot reach the relay')
        if (everLoggedIn && isPermanent(e, false)) this.#log.error({ code: e.code }, 'the relay refused us in cleartext (unauthenticated, so retried): check the configs on both sides')
      }
      const delay = backoffDelay(attempt++, this.#backoff, this.#random)
      this.reconnects++
      this.#log.info({ delayMs: delay, attempt }, 'reconnecting')
      await sleep(delay, signal)
    }
    await this.#shutdownSession()
  }

  get config (): ClientConfig { return this.#config }
  /** The current (or last) control session. */
  get session (): Session | undefined { return this.#session }
  /** The relay's address of the current connection (normalised), once connected. */
  get relayPeer (): string | undefined { return this.#relayPeer }

  /** The proxies served now, by registered name ({user}.{name}). */
  forwarders (): ForwarderEntry[] {
    return [
      ...[...this.#forwarders].map(([name, forwarder]): ForwarderEntry => ({ name, type: forwarder.proxy.type, forwarder })),
      ...[...this.#udpForwarders].map(([name, forwarder]): ForwarderEntry => ({ name, type: 'udp', forwarder })),
    ]
  }

  /**
   * The relay's side of the control connection (MSS, path MTU, RTT, retransmits, cwnd, as its
   * kernel sees them), asked over the connection itself; a TunnelError when not connected, when
   * the relay cannot tell, or after `timeoutMs`.
   */
  async relayView (timeoutMs = RELAY_VIEW_TIMEOUT_MS): Promise<PeerView | TunnelError> {
    const session = this.#live
    if (session === undefined || session.closed) return new TunnelError('TUN_SESSION_CLOSED', 'not connected to the relay')
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.DIAG_REQUEST, id }), {
      ms: timeoutMs,
      error: () => new TunnelError('TUN_DIAG_SOURCE', `the relay did not report its side within ${timeoutMs} ms (a relay older than this client?)`),
    })
    if (answer instanceof TunnelError) return answer
    if (answer.type !== 'diagResult') return new TunnelError('TUN_PROTOCOL', 'the relay answered a diagRequest with something else')
    if (!answer.ok) return new TunnelError(answer.code ?? 'TUN_DIAG_SOURCE', answer.message ?? 'the relay could not report its side')
    return parsePeerView(answer.view)
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
    this.#relayPeer = normalizeAddress(socket.remoteAddress ?? '')
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
    // Lives as long as the session; reads the live map, so proxies a reload adds work too.
    this.#udpFlows = new UdpFlows(session, this.#udpForwarders, this.#log, normalizeAddress(socket.remoteAddress ?? ''))
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

  async #login (session: Session): Promise<void> {
    const { user, clientID } = this.#config
    const r = await login(session, { clientId: clientID, user })
    if (!r.ok) throw new TunnelError(r.code ?? 'TUN_AUTH_REFUSED', r.message ?? 'the relay refused the login')
    this.#log.info({ sessionId: r.sessionId, relay: formatHostPort(this.#config.serverAddr, this.#config.serverPort) }, 'logged in')
    this.emit('login', r.sessionId ?? '')
  }

  /** Where the proxy's bandwidth limit applies, for the "proxy registered" line. */
  #limitFields (name: string): Record<string, string | number> {
    const p = this.#config.proxies.find((q) => wireName(this.#config.user, q) === name)
    if (p === undefined) return {}
    return {
      ...(p.bandwidthLimit > 0 ? { bandwidthLimit: formatBandwidth(p.bandwidthLimit), bandwidthLimitMode: p.bandwidthLimitMode } : {}),
      ...(p.type === 'tcp' && p.maxVisitors > 0 ? { maxVisitors: p.maxVisitors } : {}),
    }
  }

  #register (session: Session): void {
    session.on('control', (m) => {
      if (m.type === MessageType.PROXY_RESULT) this.#onProxyResult(parseProxyResult(m))
      else if (m.type === MessageType.UNREGISTER_RESULT) this.#requests.answer(parseUnregisterResult(m))
      else if (m.type === MessageType.DIAG_RESULT) this.#requests.answer(parseDiagResult(m))
    })
    session.once('close', () => {
      if (this.#live === session) this.#live = undefined
      this.#requests.sessionClosed()
    })
    this.#refused.clear()
    this.#live = session
    const { user, proxies } = this.#config
    for (const batch of registerBatches(proxies.map((p) => proxySpec(user, p)))) session.sendControl({ type: MessageType.REGISTER, proxies: batch })
  }

  #onProxyResult (r: ProxyResult): void {
    const udp = this.#udpForwarders.get(r.name)
    if (udp !== undefined) udp.publicPort = r.ok ? r.remotePort ?? 0 : 0
    if (r.ok) {
      this.#refused.delete(r.name)
      this.#log.info({ proxy: r.name, remotePort: r.remotePort, ...this.#limitFields(r.name) }, 'proxy registered')
    } else {
      this.#refused.add(r.name)
      this.#log.error({ proxy: r.name, code: r.code }, `proxy refused by the relay: ${r.message ?? ''}`)
    }
    this.emit('proxy', r)
    this.#requests.answer(r)
  }

  // ---- reload ----

  /**
   * Applies `next`'s proxies: added ones come up, removed ones go down (their streams and flows
   * are closed), changed ones restart; the others and their streams are not touched. Any other
   * setting that differs refuses the whole reload (it needs a restart). While disconnected, the
   * new list is what the next login registers. Reloads run one at a time, in call order.
   */
  reload (next: ClientConfig): Promise<ReloadOutcome> {
    const run = this.#reloading.then(async () => await this.#reload(next))
    this.#reloading = run.catch(() => {})
    return run
  }

  async #reload (next: ClientConfig): Promise<ReloadOutcome> {
    const fixed = fixedSettingChanges(this.#config, next)
    if (fixed.length > 0) {
      const message = `${fixed.join(', ')} changed: only proxies can change on a running client; restart it for the rest, or put them back and reload (nothing was applied)`
      this.#log.error({ code: 'TUN_RELOAD_REFUSED', settings: fixed }, `reload refused: ${message}`)
      return { ok: false, added: [], removed: [], changed: [], errors: [`${message} (TUN_RELOAD_REFUSED)`] }
    }
    if (this.#stop.signal.aborted) {
      return { ok: false, added: [], removed: [], changed: [], errors: ['the client is stopping: nothing was applied (TUN_RELOAD_REFUSED)'] }
    }
    const { user } = this.#config
    const diff = diffProxies(this.#config.proxies, next.proxies)
    // Unchanged proxies the relay refused get another try (the operator may have freed the port).
    const refused = new Set(this.#refused)
    const retried = diff.unchanged.filter((p) => refused.has(wireName(user, p)))
    this.#config = { ...this.#config, proxies: next.proxies }
    // The local side changes at once, before any answer: a visitor of a changed proxy reaches
    // the new local service from here on.
    for (const p of diff.removed) this.#stopProxy(p)
    for (const c of diff.changed) {
      const publicPort = this.#udpForwarders.get(wireName(user, c.before))?.publicPort ?? 0
      this.#stopProxy(c.before)
      this.#startProxy(c.after)
      // A change only the client sees keeps the relay's port: no new proxyResult will say it again.
      const udp = this.#udpForwarders.get(wireName(user, c.after))
      if (!c.relay && udp !== undefined) udp.publicPort = publicPort
    }
    for (const p of diff.added) this.#startProxy(p)
    const session = this.#live
    const connected = session !== undefined && !session.closed
    const pending = connected ? this.#applyOnRelay(session, diff, refused, retried) : []
    const errors = (await Promise.all(pending)).filter((e): e is string => e !== undefined)
    const outcome: ReloadOutcome = {
      ok: errors.length === 0,
      added: [...diff.added, ...retried].map((p) => p.name),
      removed: diff.removed.map((p) => p.name),
      changed: diff.changed.map((c) => c.after.name),
      errors,
    }
    const fields = { added: outcome.added, removed: outcome.removed, changed: outcome.changed, connected }
    if (outcome.ok) this.#log.info(fields, 'reloaded')
    else this.#log.warn({ ...fields, errors }, 'reloaded')
    return outcome
  }

  /** Sends every register and unregister the diff needs at once; each promise is an error line or undefined. */
  #applyOnRelay (session: Session, diff: ProxyDiff, refused: ReadonlySet<string>, retried: readonly ProxyConfig[]): Array<Promise<string | undefined>> {
    const { user } = this.#config
    const pending = diff.removed.map(async (p) => await this.#unregister(session, p))
    for (const c of diff.changed) {
      // Only the local side changed: the public port stays open (unless the relay refused it).
      if (!c.relay && !refused.has(wireName(user, c.before))) continue
      // Sent back to back: the relay handles them in order, so the name and port are free again.
      const gone = this.#unregister(session, c.before)
      const back = this.#registerOne(session, c.after)
      pending.push(gone.then(async (err) => err ?? await back))
    }
    for (const p of [...diff.added, ...retried]) pending.push(this.#registerOne(session, p))
    return pending
  }

  #startProxy (p: ProxyConfig): void {
    const name = wireName(this.#config.user, p)
    if (p.type === 'udp') this.#udpForwarders.set(name, new UdpForwarder(p, this.#log.child({ proxy: p.name, udp: true })))
    else this.#forwarders.set(name, new TcpForwarder(p, this.#log.child({ proxy: p.name })))
  }

  /** Takes the proxy's local side away: its streams are reset, its UDP flows closed. */
  #stopProxy (p: ProxyConfig): void {
    const name = wireName(this.#config.user, p)
    this.#refused.delete(name)
    const tcp = this.#forwarders.get(name)
    if (tcp !== undefined) {
      this.#forwarders.delete(name)
      tcp.close()
    }
    const udp = this.#udpForwarders.get(name)
    if (udp !== undefined) {
      this.#udpForwarders.delete(name)
      this.#udpFlows?.retire(udp)
    }
  }

  /** Registers one proxy; resolves with an error line, or undefined when the relay opened it. */
  async #registerOne (session: Session, p: ProxyConfig): Promise<string | undefined> {
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.REGISTER, proxies: [proxySpec(this.#config.user, p)], id }))
    if (answer instanceof TunnelError) {
      return answer.code === 'TUN_SESSION_CLOSED'
        ? `proxy ${p.name}: ${answer.message}; it is registered at the next login (${answer.code})`
        : `proxy ${p.name}: ${answer.message} (${answer.code})`
    }
    if (answer.ok) return undefined
    return `proxy ${p.name}: ${answer.message ?? 'refused by the relay'} (${answer.code ?? 'TUN_LISTEN'})`
  }

  /**
   * Unregisters one proxy. A relay that does not hold it (it refused it before), or a session
   * that ended (the relay freed everything), leaves the proxy gone as asked: no error.
   */
  async #unregister (session: Session, p: ProxyConfig): Promise<string | undefined> {
    const name = wireName(this.#config.user, p)
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.UNREGISTER, name, id }))
    if (answer instanceof TunnelError) return answer.code === 'TUN_SESSION_CLOSED' ? undefined : `proxy ${p.name}: ${answer.message} (${answer.code})`
    if (answer.ok) return undefined
    if (answer.code === 'TUN_PROXY_UNKNOWN') {
      this.#log.debug({ proxy: name }, 'the relay did not hold the proxy')
      return undefined
    }
    return `proxy ${p.name}: ${answer.message ?? 'the relay could not close it'} (${answer.code ?? 'TUN_PROTOCOL'})`
  }
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

