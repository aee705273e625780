// The way from the relay to one http proxy's service: mux streams on the owning client's
// session (the client dials localIP:localPort for each, as for tcp). Keep-alive: a stream that
// finished a response waits, idle, for the next request to the same proxy (a new local
// connection per request would cost a connect each time).
//
// The vhost (visitor-connection.ts) writes requests itself and takes streams with take() and
// gives them back with give(): a pool with bounds (UPSTREAM_MAX_IDLE per pool name,
// UPSTREAM_IDLE_MS or less if the service's Keep-Alive says so), a choice of stream per request
// (getName/target: a group's member per request) and rules on closing (closeIdle, dropIdle,
// destroy, poolable). This was an http.Agent once; nothing sends requests through node:http
// here any more, and extending the agent loaded node:http into every relay (issue 21: a relay
// without vhost ports needs none of it), so only the agent's pool naming is kept.
import type { ClientRequestArgs } from 'node:http'
import type { Duplex } from 'node:stream'
import { MuxDuplex, type Session } from '../../shared/mux/index.js'
import type { Endpoint } from '../../shared/wire/index.js'
import { TunnelError } from '../../shared/errors.js'
import { StreamTally } from '../stream-tally.js'

/** Idle streams kept per proxy, and how long each waits for a request (the service may say less). */
export const UPSTREAM_MAX_IDLE = 128
export const UPSTREAM_IDLE_MS = 30_000
/** Pools are named by host:port (as node's agent did); every request of one proxy uses these, so they share one pool. */
export const UPSTREAM_HOST = 'tunnel-upstream'
export const UPSTREAM_PORT = 80

/**
 * How often an upstream with idle fast-path streams looks for those whose time is up. A stream
 * is dropped at the first look less than this before its time, so none outlives it (and none
 * goes more than this early). One timer per upstream instead of one per pooled stream: a
 * keep-alive request took a stream from the pool and gave it back, arming and clearing a timer
 * each time.
 */
export const IDLE_SWEEP_MS = 1_000

/** An idle stream of the fast path: its pool name and when it must be gone (Date.now() ms). */
interface IdleStream {
  readonly stream: MuxDuplex
  readonly name: string
  readonly until: number
}

/** Where one stream of an upstream goes: a session and the proxy name its client knows. */
export interface UpstreamTarget {
  session: Session
  proxy: string
  /** Counts the stream for this target instead of the upstream's own tally. */
  tally?: StreamTally
  /** Told about the stream's duplex (a group tracks its members' pooled streams). */
  opened?: (duplex: MuxDuplex) => void
}

export class Upstream {
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
  /** The fast path's idle streams by pool name, most recent last; and its busy ones, with their pool name. */
  readonly #rawIdle = new Map<string, IdleStream[]>()
  readonly #rawBusy = new Map<MuxDuplex, string>()
  #rawIdleCount = 0
  #sweep: NodeJS.Timeout | undefined
  /**
   * Streams that visitor connections keep, idle, between their own requests (routes whose service
   * gets a PROXY header per stream): not in the pool, but closed with the idle ones.
   */
  readonly #held = new Set<MuxDuplex>()

  /**
   * Idle streams of node's agent pool, by pool name: none, since no request goes through
   * node:http (kept for subclasses that close a member's idle streams in both pools).
   */
  readonly freeSockets: Readonly<Record<string, Duplex[] | undefined>> = {}

  constructor (session: Session, proxy: string, listener: Endpoint) {
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
    this.dropHeld(() => true)
  }

  /** A visitor connection keeps `stream`, idle, for its next request (see #held). */
  hold (stream: MuxDuplex): void {
    this.#held.add(stream)
  }

  /** The visitor connection takes `stream` back for a request, or lets it go. */
  unhold (stream: MuxDuplex): void {
    this.#held.delete(stream)
  }

  /** Closes the held streams that `which` picks (their visitor connections forget them on close). */
  protected dropHeld (which: (s: Duplex) => boolean): void {
    for (const s of [...this.#held]) {
      if (!which(s)) continue
      this.#held.delete(s)
      s.destroy()
    }
  }

  /** Closes the fast path's idle streams that `which` picks. */
  protected dropRawIdle (which: (s: Duplex) => boolean): void {
    for (const list of [...this.#rawIdle.values()]) for (const e of [...list]) if (which(e.stream)) this.#dropIdle(e)
  }

  /** Takes an idle stream out of its pool and closes it. */
  #dropIdle (e: IdleStream): void {
    const pool = this.#rawIdle.get(e.name)
    const at = pool === undefined ? -1 : pool.indexOf(e)
    if (pool !== undefined && at >= 0) {
      pool.splice(at, 1)
      this.#rawIdleCount--
      if (pool.length === 0) this.#rawIdle.delete(e.name)
    }
    e.stream.destroy()
  }

  /** Drops the idle streams whose time is up by the next look, and looks again while any are left. */
  #sweepIdle (): void {
    this.#sweep = undefined
    const by = Date.now() + IDLE_SWEEP_MS
    for (const list of [...this.#rawIdle.values()]) for (const e of [...list]) if (e.until <= by) this.#dropIdle(e)
    this.#armSweep()
  }

  #armSweep (): void {
    if (this.#sweep !== undefined || this.#rawIdleCount === 0) return
    this.#sweep = setTimeout(() => { this.#sweepIdle() }, IDLE_SWEEP_MS)
    this.#sweep.unref()
  }

  destroy (): void {
    this.dropRawIdle(() => true)
    for (const s of [...this.#rawBusy.keys()]) s.destroy()
    clearTimeout(this.#sweep)
    this.#sweep = undefined
  }

  /** Whether a stream that finished its exchange may wait for the next request. */
  poolable (socket: Duplex): boolean {
    void socket
    return !this.#closing && this.healthy
  }

  /** Streams of the fast path: idle and busy (for tests and status). */
  get rawStreams (): { idle: number, busy: number } {
    return { idle: this.#rawIdleCount, busy: this.#rawBusy.size }
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
    if (idle !== undefined) {
      const now = Date.now()
      let reuse: IdleStream | undefined
      // Most recent first; one whose time is up (the sweep has not come by yet) is closed instead.
      for (let e = idle.pop(); e !== undefined; e = idle.pop()) {
        this.#rawIdleCount--
        if (e.until > now) { reuse = e; break }
        e.stream.destroy()
      }
      if (idle.length === 0) this.#rawIdle.delete(name)
      if (reuse !== undefined) {
        this.#rawBusy.set(reuse.stream, name)
        callback(undefined, reuse.stream, true)
        return
      }
    }
    let failed = false
    const stream = this.createConnection(options, (err) => { failed = true; callback(err ?? new TunnelError('TUN_LOCAL_DIAL', 'no stream'), undefined, false) })
    if (failed || !(stream instanceof MuxDuplex)) return
    this.#rawBusy.set(stream, name)
    stream.once('close', () => { this.#rawBusy.delete(stream) })
    callback(undefined, stream, false)
  }

  /**
   * Gives back a stream whose exchange is complete: pooled when it may be (poolable, the pool not
   * full), for `idleMs` at most; destroyed otherwise. A pooled stream that ends, fails or sends
   * anything while idle is dropped.
   */
  give (stream: MuxDuplex, idleMs = UPSTREAM_IDLE_MS): void {
    const name = this.#rawBusy.get(stream)
    this.#rawBusy.delete(stream)
    if (name === undefined || stream.destroyed || stream.stream.closed || idleMs <= 0 || !this.poolable(stream)) { stream.destroy(); return }
    let list = this.#rawIdle.get(name)
    if (list === undefined) { list = []; this.#rawIdle.set(name, list) }
    if (list.length >= UPSTREAM_MAX_IDLE) { stream.destroy(); return }
    const entry: IdleStream = { stream, name, until: Date.now() + Math.min(idleMs, UPSTREAM_IDLE_MS) }
    list.push(entry)
    this.#rawIdleCount++
    const drop = (): void => { this.#dropIdle(entry) }
    stream.holdReads(false)
    stream.direct({ data: drop, end: drop, drain: () => {}, close: drop })
    this.#armSweep()
  }

  /** Whether a stream may be kept for the next request (node's agent asked this; the same as poolable). */
  keepSocketAlive (socket: Duplex): boolean {
    return this.poolable(socket)
  }

  /**
   * The pool a request's stream comes from and goes back to: `host:port:` of the request, as
   * node's agent named it (every request of one proxy has the same; a group adds its member).
   */
  getName (options: ClientRequestArgs = {}): string {
    return `${options.host ?? 'localhost'}:${options.port ?? ''}:`
  }

  /** Where the next stream goes; undefined when nowhere (a 502). A load-balancing group picks a member here. */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a group's upstream reads from them the member a request was given
  protected target (_options: ClientRequestArgs): UpstreamTarget | undefined {
    return this.healthy ? { session: this.#session, proxy: this.#proxy } : undefined
  }

  /** A new stream to the service: on the target's session, counted and told to the target. */
  createConnection (options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
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
      // The caller reads only the error then; the callback's type (node's agent's) wants a stream anyway.
      process.nextTick(() => { callback?.(err as Error, undefined as unknown as Duplex) })
      return undefined
    }
  }
}
