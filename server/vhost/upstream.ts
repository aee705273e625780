// The way from the relay to one http proxy's service: an http.Agent whose connections are mux
// streams on the owning client's session (the client dials localIP:localPort for each, as for
// tcp). Keep-alive: a stream that finished a response waits, idle, for the next request to
// the same proxy (a new local connection per request would cost a connect each time).
import { Agent, type ClientRequestArgs } from 'node:http'
import type { Duplex } from 'node:stream'
import { MuxDuplex, type Session } from '../../shared/mux/index.js'
import type { Endpoint } from '../../shared/wire/index.js'
import { StreamTally } from '../stream-tally.js'

/** Idle streams kept per proxy, and how long each waits for a request (the service may say less). */
export const UPSTREAM_MAX_IDLE = 128
export const UPSTREAM_IDLE_MS = 30_000
/** The agent pools by host:port; every request of one proxy uses these, so they share one pool. */
export const UPSTREAM_HOST = 'tunnel-upstream'
export const UPSTREAM_PORT = 80

export class Upstream extends Agent {
  readonly #session: Session
  readonly #proxy: string
  readonly #listener: Endpoint
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

  override keepSocketAlive (socket: Duplex): boolean {
    if (this.#closing) return false
    // Node's own rules (the service's Keep-Alive hint, the idle timeout) decide otherwise.
    return (Agent.prototype.keepSocketAlive as (s: Duplex) => boolean).call(this, socket)
  }

  override createConnection (_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    try {
      const stream = this.#session.openStream({ proxy: this.#proxy, visitor: this.visitor, listener: this.#listener })
      this.opened++
      const duplex = new MuxDuplex(stream)
      duplex.once('close', this.tally.track(stream))
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
