// The way from the relay to one http proxy's service: an http.Agent whose connections are mux
// streams on the owning client's session (the client dials localIP:localPort for each, as for
// tcp). Keep-alive: a stream that finished a response waits, idle, for the next request to
// the same proxy (a new local connection per request would cost a connect each time).
//
// The vhost's fast path (visitor-connection.ts) writes requests itself and takes streams with
// take() and gives them back with give(): a pool of its own beside the agent's, with the same
// bounds (UPSTREAM_MAX_IDLE per pool name, UPSTREAM_IDLE_MS or less if the service's Keep-Alive
// says so), the same choice of stream (getName/target: a group's member per request), and the
// same rules on closing (closeIdle, dropIdle, destroy, poolable).
import { Agent, type ClientRequestArgs } from 'node:http'
import type { Duplex } from 'node:stream'
import { MuxDuplex, type Session } from '../../shared/mux/index.js'
import type { Endpoint } from '../../shared/wire/index.js'
import { TunnelError } from '../../shared/errors.js'
import { StreamTally } from '../stream-tally.js'

/** Idle streams kept per proxy, and how long each waits for a request (the service may say less). */
export const UPSTREAM_MAX_IDLE = 128
export const UPSTREAM_IDLE_MS = 30_000
/** The agent pools by host:port; every request of one proxy uses these, so they share one pool. */
export const UPSTREAM_HOST = 'tunnel-upstream'
export const UPSTREAM_PORT = 80

/** The pool name each fast-path stream was opened under, and an idle one's timer. */
const rawName = new WeakMap<Duplex, string>()
const idleTimers = new WeakMap<Duplex, NodeJS.Timeout>()

/** Where one stream of an upstream goes: a session and the proxy name its client knows. */
export interface UpstreamTarget {
  session: Session
  proxy: string
  /** Counts the stream for this target instead of the upstream's own tally. */
  tally?: StreamTally
  /** Told about the stream's duplex (a group tracks its members' pooled streams). */
  opened?: (duplex: MuxDuplex) => void
}

export class Upstream extends Agent {
  readonly #session: Session
  readonly #proxy: string
  readonly #listener: Endpoint
  /** False while the proxy's client reports its service unhealthy: no stream is opened (502). */
  healthy = true
  /** The visitor whose request opens the next stream (for the open header; requests are pooled). */
  visitor: Endpoint = { address: '', port: 0 }
  opened = 0
  /** Bytes of every stream this upstream opened, for the admin API. */
  readonly tally = new StreamTally()
  #closing = false
  /** The fast path's idle streams by pool name, most recent last; and its busy ones. */
  readonly #rawIdle = new Map<string, MuxDuplex[]>()
  readonly #rawBusy = new Set<MuxDuplex>()

  constructor (session: Session, proxy: string, listener: Endpoint) {
    super({ keepAlive: true, maxFreeSockets: UPSTREAM_MAX_IDLE, timeout: UPSTREAM_IDLE_MS, scheduling: 'lifo' })
    this.#session = session
    this.#proxy = proxy
    this.#listener = listener
  }

  /**
   * The proxy is going (its client left or is being replaced): idle streams are closed now and
   * busy ones when their response is done, so the client's session can drain.
   */
  closeIdle (): void {
    this.#closing = true
    this.dropIdle()
  }

  /** Closes the idle streams (a proxy taken out by its health check must not get pooled requests). */
  dropIdle (): void {
    for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy()
    this.dropRawIdle(() => true)
  }

  /** Closes the fast path's idle streams that `which` picks. */
  protected dropRawIdle (which: (s: Duplex) => boolean): void {
    for (const list of [...this.#rawIdle.values()]) for (const s of [...list]) if (which(s)) s.destroy()
  }

  override destroy (): void {
    super.destroy()
    this.dropRawIdle(() => true)
    for (const s of [...this.#rawBusy]) s.destroy()
  }

  /** Whether a stream that finished its exchange may wait for the next request. */
  poolable (socket: Duplex): boolean {
    void socket
    return !this.#closing && this.healthy
  }

  /** Streams of the fast path: idle and busy (for tests and status). */
  get rawStreams (): { idle: number, busy: number } {
    let idle = 0
    for (const list of this.#rawIdle.values()) idle += list.length
    return { idle, busy: this.#rawBusy.size }
  }

  /**
   * A stream for one request of the fast path: an idle one of the request's pool (reused: true),
   * else a new one. Calls back at once, or on the next tick with the error (no healthy service,
   * session closed or its stream limit reached: a 502). The caller speaks to it in direct mode
   * (MuxDuplex.direct) and gives it back with give().
   */
  take (callback: (err: Error | undefined, stream: MuxDuplex | undefined, reused: boolean) => void): void {
    const options: ClientRequestArgs = { host: UPSTREAM_HOST, port: UPSTREAM_PORT }
    const name = this.getName(options)
    const idle = this.#rawIdle.get(name)
    const reuse = idle?.pop()
    if (idle !== undefined && idle.length === 0) this.#rawIdle.delete(name)
    if (reuse !== undefined) {
      clearTimeout(idleTimers.get(reuse))
      this.#rawBusy.add(reuse)
      callback(undefined, reuse, true)
      return
    }
    let failed = false
    const stream = this.createConnection(options, (err) => { failed = true; callback(err ?? new TunnelError('TUN_LOCAL_DIAL', 'no stream'), undefined, false) })
    if (failed || !(stream instanceof MuxDuplex)) return
    rawName.set(stream, name)
    this.#rawBusy.add(stream)
    stream.once('close', () => { this.#rawBusy.delete(stream) })
    callback(undefined, stream, false)
  }

  /**
   * Gives back a stream whose exchange is complete: pooled when it may be (poolable, the pool not
   * full), for `idleMs` at most; destroyed otherwise. A pooled stream that ends, fails or sends
   * anything while idle is dropped.
   */
  give (stream: MuxDuplex, idleMs = UPSTREAM_IDLE_MS): void {
    this.#rawBusy.delete(stream)
    const name = rawName.get(stream)
    if (name === undefined || stream.destroyed || stream.stream.closed || idleMs <= 0 || !this.poolable(stream)) { stream.destroy(); return }
    let list = this.#rawIdle.get(name)
    if (list === undefined) { list = []; this.#rawIdle.set(name, list) }
    if (list.length >= UPSTREAM_MAX_IDLE) { stream.destroy(); return }
    list.push(stream)
    const pool = list
    const drop = (): void => {
      clearTimeout(idleTimers.get(stream))
      const at = pool.indexOf(stream)
      if (at >= 0) pool.splice(at, 1)
      if (pool.length === 0 && this.#rawIdle.get(name) === pool) this.#rawIdle.delete(name)
      stream.destroy()
    }
    stream.holdReads(false)
    stream.direct({ data: drop, end: drop, drain: () => {}, close: drop })
    const timer = setTimeout(drop, Math.min(idleMs, UPSTREAM_IDLE_MS))
    timer.unref()
    idleTimers.set(stream, timer)
  }

  override keepSocketAlive (socket: Duplex): boolean {
    if (this.#closing || !this.healthy) return false
    // Node's own rules (the service's Keep-Alive hint, the idle timeout) decide otherwise.
    return (Agent.prototype.keepSocketAlive as (s: Duplex) => boolean).call(this, socket)
  }

  /** Where the next stream goes; undefined when nowhere (a 502). A load-balancing group picks a member here. */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a group's upstream reads from them the member a request was given
  protected target (_options: ClientRequestArgs): UpstreamTarget | undefined {
    return this.healthy ? { session: this.#session, proxy: this.#proxy } : undefined
  }

  override createConnection (options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    try {
      const target = this.target(options)
      if (target === undefined) throw new TunnelError('TUN_LOCAL_DIAL', 'no healthy service: its client\'s health check fails')
      const stream = target.session.openStream({ proxy: target.proxy, visitor: this.visitor, listener: this.#listener })
      this.opened++
      const duplex = new MuxDuplex(stream)
      duplex.once('close', (target.tally ?? this.tally).track(stream))
      target.opened?.(duplex)
      // An idle stream that fails (its session ended) has no request to tell: nothing to crash.
      duplex.on('error', () => {})
      return duplex
    } catch (err) {
      // Session closed, or its stream limit reached: the request fails with this error (a 502).
      // node's oncreate reads only the error then; the declared type wants a stream anyway.
      process.nextTick(() => { callback?.(err as Error, undefined as unknown as Duplex) })
      return undefined
    }
  }
}
