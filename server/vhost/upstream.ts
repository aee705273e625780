// The way from the relay to one http proxy's service: an http.Agent whose connections are mux
// streams on the owning client's session (the client dials localIP:localPort for each, as for
// tcp). Keep-alive: a stream that finished a response waits, idle, for the next request to
// the same proxy (a new local connection per request would cost a connect each time).
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
    for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy()
  }

  /** Closes the idle streams (a proxy taken out by its health check must not get pooled requests). */
  dropIdle (): void {
    for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy()
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
