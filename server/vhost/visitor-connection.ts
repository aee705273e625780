// One visitor connection of the http vhost port, read and written by the relay itself (the fast
// path of issue 21): each request's head is parsed (http1.ts: strict framing), routed and checked
// by the vhost (admit), rewritten (hop-by-hop headers out, X-Forwarded-* and the proxy's headers
// in) and written to a pooled stream of the route's upstream; the request body and the whole
// response then pass as bytes, their framing (Content-Length, chunked, or the response's close)
// followed only to know where each message ends. So a keep-alive connection is routed request by
// request, as before: the next request may go to another proxy. Pipelined requests wait in a
// bounded buffer until the response before them is complete.
//
// Bounds: a head is at most VHOST_MAX_HEADER_BYTES (431 beyond) and must arrive within
// VHOST_HEADERS_TIMEOUT_MS; an idle connection closes after VHOST_KEEPALIVE_TIMEOUT_MS; bytes
// read ahead of the current exchange are at most MAX_PIPELINED_BYTES (reading pauses beyond);
// a response head must arrive within the vhost's responseHeaderTimeoutMs after the request
// (504), and is at most VHOST_MAX_HEADER_BYTES (502 beyond). Back-pressure both ways: a side that
// cannot write pauses the other's reading.
import type { Duplex } from 'node:stream'
import type { MuxDuplex } from '../../shared/mux/index.js'
import type { Endpoint } from '../../shared/wire/index.js'
import { ChunkedScanner, hasBareLf, headEnd, isHeadError, parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from './http1.js'
import { addSet, headerValue, headerValues, passHead, rewriteHeaders, setHeaders, type HeaderSets } from './header-rewrite.js'
import { normalizeAddress } from '../../shared/net/index.js'
import { FORWARD_SLACK_MS } from './fleet-forward.js'
import { DETAILS } from './pages.js'
import { UPSTREAM_IDLE_MS, type Upstream } from './upstream.js'
import type { HttpRoute } from './vhost-route.js'

/** Request (and response) header bytes at most, as node's default. */
export const VHOST_MAX_HEADER_BYTES = 16 * 1024
/** A visitor must send a request's headers within this (slow-header attacks). */
export const VHOST_HEADERS_TIMEOUT_MS = 30_000
/** An idle keep-alive visitor connection is closed after this. */
export const VHOST_KEEPALIVE_TIMEOUT_MS = 30_000
/** Bytes read from a visitor ahead of its current exchange (pipelined requests) at most; reading pauses beyond. */
export const MAX_PIPELINED_BYTES = 64 * 1024
/** A connection answered with Connection: close is destroyed this long after, if the visitor lingers. */
export const RAW_LINGER_MS = 5_000

/** A request the vhost forwards: where to, and what it is called there. */
export interface Forward {
  route: HttpRoute
  /** Normalised host (for pages and logs). */
  host: string
  /** The Host as the visitor sent it (with its port), or the authority of an absolute-form target. */
  hostHeader: string
  /** The request target to send on: origin-form. */
  path: string
}

/**
 * A request for a host no proxy of this relay serves, that another relay of the fleet may serve
 * (fleet-forward.ts): it goes there as the visitor sent it, and that relay's answer comes back.
 */
export interface FleetForward {
  /** Opens a link stream to a relay serving `host` (undefined: none does, a 404). */
  open: (visitor: Endpoint, listener: Endpoint) => Promise<MuxDuplex | undefined>
  /** The forward failed: the route is looked up again next time. */
  failed: () => void
  host: string
}

/** A request the vhost answers itself. */
export interface Refusal {
  status: number
  host: string
  headers?: Record<string, string>
  detail?: string
}

/** What a visitor connection needs from its vhost. */
export interface VhostCore {
  /** Routes and checks one request (counting it); a Forward, a fleet forward, or the answer to give. */
  admit: (head: RequestHead, visitor: string, viaFleet: boolean) => Forward | FleetForward | Refusal
  /** The HTML of the relay's own answer. */
  page: (status: number, host: string, detail?: string) => string
  /** Counters: the service could not be reached (502), did not answer in time (504), a malformed request (400/431), an upgrade passed. */
  count: (what: 'badGateway' | 'gatewayTimeout' | 'badRequest' | 'upgrades' | 'notFound' | 'forwarded') => void
  responseHeaderTimeoutMs: number
  /** Byte pipe after a 101. */
  splice: (visitor: Duplex, service: Duplex) => void
  debug: (route: HttpRoute | undefined, fields: Record<string, unknown>, msg: string) => void
}

/** What a visitor connection reads from and writes to: a TCP socket, or a stream another relay of the fleet forwarded. */
export type VisitorSocket = Duplex & { readonly remotePort?: number | undefined, readonly localAddress?: string | undefined, readonly localPort?: number | undefined, setNoDelay?: ((noDelay?: boolean) => unknown) | undefined }

/** Where an exchange's request goes: a stream of the proxy's upstream, or of a link to another relay. */
interface Way {
  /** A stream for the request (reused: it came from a pool). */
  take: (callback: (err: Error | undefined, stream: MuxDuplex | undefined, reused: boolean) => void) => void
  /** The exchange is done with its stream and the stream may carry another request. */
  give: (stream: MuxDuplex, idleMs: number | undefined) => void
  /** The route's header settings on responses. */
  responseHeaders: Readonly<Record<string, string>>
  /** How long the response head may take after the request. */
  timeoutMs: number
  route: HttpRoute | undefined
  /** A fleet forward: its failures drop the cached route. */
  fleet: FleetForward | undefined
  /** The connection is done with this way: a stream it keeps for the visitor's next request closes. */
  release: () => void
}

/** No relay of the fleet serves the host: the visitor gets the 404. */
class NotServed extends Error {}

/** Methods that may be sent again when a pooled stream turned out dead (as Go's Transport does). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout',
  431: 'Request Header Fields Too Large', 502: 'Bad Gateway', 504: 'Gateway Timeout',
}

const enum State { Head, Body, Wait, Closed, Spliced }
const enum Framing { None, Length, Chunked, Close }

/** One request in flight: its upstream stream, the request body still to send, the response's progress. */
interface Exchange {
  head: RequestHead
  /** Normalised host (pages and logs). */
  host: string
  way: Way
  /** The rewritten request head (kept for the one retry). */
  out: string
  upgrade: boolean
  stream: MuxDuplex | undefined
  reused: boolean
  attempt: number
  /** Request body: bytes left (Length) or the chunk scanner. */
  bodyLeft: number
  bodyChunks: ChunkedScanner | undefined
  requestDone: boolean
  /** Response: head bytes so far, then framing. */
  resBuf: Buffer | undefined
  resStarted: boolean
  resHeadSent: boolean
  resFraming: Framing
  resLeft: number
  resChunks: ChunkedScanner | undefined
  resDone: boolean
  /** The service asked for its connection to close, or its Keep-Alive hint in ms (0: none). */
  serviceCloses: boolean
  keepAliveMs: number
  /** We sent our own 100 Continue: the service's is not passed on. */
  continued: boolean
  /** The response-header clock runs for this exchange (the connection's #resTimer). */
  waiting: boolean
  /** Takes this exchange's listeners off its stream. */
  detach: () => void
  /** The visitor could not take more: the stream is paused until it drains. */
  draining: boolean
}

export class VisitorConnection {
  readonly #socket: VisitorSocket
  readonly #core: VhostCore
  readonly #visitor: string
  /** Another relay of the fleet forwarded this connection: its requests are never forwarded again. */
  readonly #viaFleet: boolean
  #state = State.Head
  /** Bytes read and not yet used: the head being read, or what came after the current request. */
  #buf: Buffer | undefined
  /** The buffer #buf grows in while it is whole (appends copy into its spare room, doubling). */
  #store: Buffer | undefined
  /** How far into #buf a head's end and bare LFs were looked for already (each byte once). */
  #scanned = 0
  readonly #timer: NodeJS.Timeout
  #ex: Exchange | undefined
  /** Close after the current response (the visitor asked, HTTP/1.0, a close-delimited response, ...). */
  #closeAfter = false
  #paused = false
  #stopping = false
  /** The way of the last request's route (#routeWay). */
  #lastWay: Way | undefined
  /** The response-header clock (see #requestSent) and its duration. */
  #resTimer: NodeJS.Timeout | undefined
  #resTimerMs = 0

  constructor (socket: VisitorSocket, core: VhostCore, visitor: string, viaFleet = false) {
    this.#socket = socket
    this.#core = core
    this.#visitor = visitor
    this.#viaFleet = viaFleet
    socket.setNoDelay?.(true)
    this.#timer = setTimeout(() => { this.#onIdle() }, VHOST_HEADERS_TIMEOUT_MS)
    socket.on('data', this.#onData)
    socket.on('end', this.#onVisitorEnd)
    socket.on('error', () => { this.destroy() })
    socket.once('close', () => { this.#onVisitorClose() })
  }

  /** No request in flight. */
  get idle (): boolean { return this.#ex === undefined && this.#state === State.Head }

  /** Closes the connection once no request is in flight (the vhost stops). */
  stop (): void {
    this.#stopping = true
    if (this.idle && (this.#buf === undefined || this.#buf.length === 0)) this.#end()
  }

  destroy (): void {
    this.#state = State.Closed
    clearTimeout(this.#timer)
    clearTimeout(this.#resTimer)
    this.#lastWay?.release()
    const ex = this.#ex
    this.#ex = undefined
    if (ex !== undefined) { ex.waiting = false; ex.detach(); ex.stream?.destroy() }
    this.#socket.destroy()
  }

  // ---- visitor side ----

  readonly #onData = (chunk: Buffer): void => {
    switch (this.#state) {
      case State.Head:
        this.#append(chunk)
        this.#next()
        break
      case State.Body:
        this.#sendBody(chunk)
        break
      case State.Wait:
        this.#append(chunk)
        if ((this.#buf?.length ?? 0) > MAX_PIPELINED_BYTES) this.#pause()
        break
      default:
        break
    }
  }

  #append (chunk: Buffer): void {
    const buf = this.#buf
    if (buf === undefined || buf.length === 0) {
      this.#buf = chunk
      this.#scanned = 0
      return
    }
    // A head arriving in small pieces grows in place: amortised, not a copy of all of it per piece.
    const need = buf.length + chunk.length
    const store = this.#store
    if (store !== undefined && buf.buffer === store.buffer && buf.byteOffset === store.byteOffset && need <= store.length) {
      chunk.copy(store, buf.length)
      this.#buf = store.subarray(0, need)
      return
    }
    const grown = Buffer.allocUnsafe(Math.max(need, Math.min(2 * need, need + MAX_PIPELINED_BYTES)))
    buf.copy(grown, 0)
    chunk.copy(grown, buf.length)
    this.#store = grown
    this.#buf = grown.subarray(0, need)
  }

  /** What is left of the buffer after `from` bytes were used. */
  #consume (buf: Buffer, from: number): void {
    this.#buf = from >= buf.length ? undefined : buf.subarray(from)
    this.#scanned = 0
  }

  #pause (): void {
    if (this.#paused) return
    this.#paused = true
    this.#socket.pause()
  }

  #resume (): void {
    if (!this.#paused) return
    this.#paused = false
    this.#socket.resume()
  }

  readonly #onVisitorEnd = (): void => {
    // As node:http (allowHalfOpen off): a visitor that ends its side ends the exchange in flight.
    if (this.#state === State.Spliced) return
    const ex = this.#ex
    if (ex === undefined) { this.#end(); return }
    this.destroy()
  }

  #onVisitorClose (): void {
    clearTimeout(this.#timer)
    clearTimeout(this.#resTimer)
    this.#lastWay?.release()
    if (this.#state === State.Spliced) return
    this.#state = State.Closed
    const ex = this.#ex
    this.#ex = undefined
    if (ex !== undefined) { ex.waiting = false; ex.detach(); ex.stream?.destroy() }
  }

  #onIdle (): void {
    if (this.#state !== State.Head || this.#ex !== undefined) return
    // A head begun and not finished in time: 408; an idle keep-alive connection: closed quietly.
    if (this.#buf !== undefined && this.#buf.length > 0) this.#page(408, '', true, false)
    else this.#end()
  }

  #end (): void {
    if (this.#state === State.Closed) return
    this.#state = State.Closed
    clearTimeout(this.#timer)
    clearTimeout(this.#resTimer)
    this.#lastWay?.release()
    this.#socket.end()
    setTimeout(() => { this.#socket.destroy() }, RAW_LINGER_MS).unref()
  }

  /** Parses the next request head from the buffer, if it is all there. */
  #next (): void {
    while (this.#state === State.Head && this.#ex === undefined) {
      let buf = this.#buf
      if (buf === undefined || buf.length === 0) {
        if (this.#stopping) this.#end()
        return
      }
      // Empty lines before a request line are ignored (RFC 9112 section 2.2).
      if (this.#scanned === 0) {
        let skip = 0
        while (skip + 1 < buf.length && buf[skip] === 0x0d && buf[skip + 1] === 0x0a) skip += 2
        if (skip > 0) {
          this.#consume(buf, skip)
          if (this.#buf === undefined) return
          buf = this.#buf
        }
      }
      const end = headEnd(buf, this.#scanned)
      if (end < 0 || end > VHOST_MAX_HEADER_BYTES) {
        if (end > VHOST_MAX_HEADER_BYTES || buf.length > VHOST_MAX_HEADER_BYTES) {
          this.#core.count('badRequest')
          this.#page(431, '', true, false, DETAILS.malformed)
        } else if (hasBareLf(buf, Math.max(0, this.#scanned - 1))) {
          this.#core.count('badRequest')
          this.#page(400, '', true, false, DETAILS.malformed)
        } else {
          this.#scanned = buf.length
        }
        return
      }
      const head = parseRequestHead(buf.toString('latin1', 0, end - 4))
      this.#consume(buf, end)
      if (isHeadError(head)) {
        this.#core.count('badRequest')
        this.#page(400, '', true, false, DETAILS.malformed)
        return
      }
      this.#request(head)
    }
  }

  #request (head: RequestHead): void {
    const hasBody = head.chunked || (head.contentLength ?? 0) > 0
    const isHead = head.method === 'HEAD'
    if (head.minor === 0 ? !head.connection.has('keep-alive') : head.connection.has('close')) this.#closeAfter = true
    const upgradeValue = headerValue(head, 'upgrade')
    if (head.method === 'CONNECT') {
      this.#core.count('badRequest')
      this.#page(400, '', true, isHead, DETAILS.malformed)
      return
    }
    const r = this.#core.admit(head, this.#visitor, this.#viaFleet)
    if ('status' in r) {
      // An unread body would have to be read and thrown away to keep the connection: close instead.
      this.#page(r.status, r.host, hasBody || r.status === 400 || this.#closeAfter, isHead, r.detail, r.headers)
      return
    }
    const upgrade = upgradeValue !== undefined && head.connection.has('upgrade')
    if (upgrade && hasBody) {
      // An upgrade carries no body (h2c with a POST body is not passed on): a body would be lost,
      // and the service would wait for it until the 504.
      this.#core.count('badRequest')
      this.#page(400, r.host, true, isHead, DETAILS.upgradeWithBody)
      return
    }
    // The head/idle timer keeps running: it ignores a connection with an exchange in flight, and
    // #finish re-arms it (a cleared timer could not be refreshed).
    let continued = false
    const expect = headerValue(head, 'expect')
    if (expect !== undefined && expect.toLowerCase() === '100-continue' && head.minor === 1 && !upgrade) {
      this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n')
      continued = true
    }
    const ex: Exchange = {
      head,
      host: r.host,
      way: 'open' in r ? this.#fleetWay(r) : this.#routeWay(r.route),
      out: 'open' in r ? passedHead(head, upgrade ? upgradeValue : undefined) : requestHead(head, r, this.#visitor, upgrade ? upgradeValue : undefined),
      upgrade,
      stream: undefined,
      reused: false,
      attempt: 0,
      bodyLeft: head.chunked ? 0 : head.contentLength ?? 0,
      bodyChunks: head.chunked ? new ChunkedScanner() : undefined,
      requestDone: false,
      resBuf: undefined,
      resStarted: false,
      resHeadSent: false,
      resFraming: Framing.None,
      resLeft: 0,
      resChunks: undefined,
      resDone: false,
      serviceCloses: false,
      keepAliveMs: 0,
      continued,
      waiting: false,
      detach: () => {},
      draining: false,
    }
    this.#ex = ex
    this.#state = hasBody ? State.Body : State.Wait
    this.#open(ex)
  }

  /** The way to a proxy's service: its upstream's pooled streams (the last one kept: a keep-alive connection mostly asks one route). */
  #routeWay (route: HttpRoute): Way {
    if (this.#lastWay?.route === route) return this.#lastWay
    this.#lastWay?.release()
    this.#lastWay = route.perVisitor ? this.#visitorWay(route) : this.#newRouteWay(route)
    return this.#lastWay
  }

  /**
   * The way to a proxy whose service gets a PROXY header naming the visitor on each stream: a
   * stream of its own, kept between this connection's requests (for the service's Keep-Alive at
   * most, UPSTREAM_IDLE_MS or less) and never given to another visitor through the pool.
   */
  #visitorWay (route: HttpRoute): Way {
    const upstream: Upstream = route.upstream
    let kept: MuxDuplex | undefined
    let expiry: NodeJS.Timeout | undefined
    const drop = (): void => {
      clearTimeout(expiry)
      const s = kept
      kept = undefined
      if (s === undefined) return
      upstream.unhold(s)
      s.destroy()
    }
    return {
      take: (callback) => {
        const s = kept
        kept = undefined
        clearTimeout(expiry)
        if (s !== undefined) upstream.unhold(s)
        if (s !== undefined && !s.destroyed && !s.stream.closed && upstream.poolable(s)) { callback(undefined, s, true); return }
        s?.destroy()
        upstream.visitor = { address: this.#visitor, port: this.#socket.remotePort ?? 0 }
        upstream.take(callback)
      },
      give: (stream, idleMs) => {
        drop()
        const ms = Math.min(idleMs ?? UPSTREAM_IDLE_MS, UPSTREAM_IDLE_MS)
        if (this.#state === State.Closed || stream.destroyed || stream.stream.closed || ms <= 0 || !upstream.poolable(stream)) { stream.destroy(); return }
        kept = stream
        // The proxy going or failing its health check closes it as it does the pool's idle streams.
        upstream.hold(stream)
        // Anything the service sends or does while no request is out ends the stream.
        stream.holdReads(false)
        stream.direct({ data: drop, end: drop, drain: () => {}, close: drop })
        expiry = setTimeout(drop, ms)
        expiry.unref()
      },
      responseHeaders: route.responseHeaders,
      timeoutMs: this.#core.responseHeaderTimeoutMs,
      route,
      fleet: undefined,
      release: drop,
    }
  }

  #newRouteWay (route: HttpRoute): Way {
    const upstream: Upstream = route.upstream
    return {
      take: (callback) => {
        upstream.visitor = { address: this.#visitor, port: this.#socket.remotePort ?? 0 }
        upstream.take(callback)
      },
      give: (stream, idleMs) => { upstream.give(stream, idleMs) },
      responseHeaders: route.responseHeaders,
      timeoutMs: this.#core.responseHeaderTimeoutMs,
      route,
      fleet: undefined,
      release: () => {},
    }
  }

  /** The way to another relay of the fleet: one link stream per request, never pooled. */
  #fleetWay (fleet: FleetForward): Way {
    return {
      take: (callback) => {
        const listener = { address: normalizeAddress(this.#socket.localAddress ?? ''), port: this.#socket.localPort ?? 0 }
        fleet.open({ address: this.#visitor, port: this.#socket.remotePort ?? 0 }, listener).then((stream) => {
          if (stream === undefined) { callback(new NotServed(), undefined, false); return }
          this.#core.count('forwarded')
          callback(undefined, stream, false)
        }, (err: unknown) => {
          fleet.failed()
          callback(err instanceof Error ? err : new Error(String(err)), undefined, false)
        })
      },
      give: (stream) => { stream.destroy() },
      responseHeaders: {},
      // That relay answers 504 itself after its own timeout: ours waits a little longer.
      timeoutMs: this.#core.responseHeaderTimeoutMs + FORWARD_SLACK_MS,
      route: undefined,
      fleet,
      release: () => {},
    }
  }

  /** Takes a stream of the exchange's way and sends the head (and what the body has so far). */
  #open (ex: Exchange): void {
    ex.way.take((err, stream, reused) => {
      if (this.#ex !== ex) { if (stream !== undefined) ex.way.give(stream, 0); return }
      if (err instanceof NotServed) { this.#notServed(ex); return }
      if (err !== undefined || stream === undefined) { this.#failed(ex, err ?? new Error('no stream'), false); return }
      ex.stream = stream
      ex.reused = reused
      let live = true
      stream.direct({
        data: (c) => { if (live && ex.stream === stream) this.#onService(ex, c) },
        end: () => { if (live && ex.stream === stream) this.#onServiceEnd(ex, undefined) },
        drain: () => { if (live && ex.stream === stream && this.#state === State.Body) this.#resume() },
        close: (e) => { if (live && ex.stream === stream) this.#onServiceEnd(ex, e) },
      })
      ex.detach = () => { live = false }
      stream.writeDirect(Buffer.from(ex.out, 'latin1'))
      if (this.#state === State.Body) {
        const rest = this.#buf
        this.#buf = undefined
        if (rest !== undefined && rest.length > 0) this.#sendBody(rest)
      } else {
        this.#requestSent(ex)
      }
    })
  }

  /** Passes request body bytes on; what follows the body is kept for the next request. */
  #sendBody (chunk: Buffer): void {
    const ex = this.#ex
    if (ex === undefined) return
    if (ex.stream === undefined) { this.#append(chunk); return }
    let n: number
    if (ex.bodyChunks !== undefined) {
      n = ex.bodyChunks.feed(chunk)
      if (ex.bodyChunks.error !== undefined) {
        // The body's end is unknown: neither side can go on.
        this.#core.count('badRequest')
        this.destroy()
        return
      }
    } else {
      n = Math.min(ex.bodyLeft, chunk.length)
      ex.bodyLeft -= n
    }
    const body = n === chunk.length ? chunk : chunk.subarray(0, n)
    if (n < chunk.length) this.#append(chunk.subarray(n))
    // The stream's drain resumes the visitor (see #open).
    if (body.length > 0 && !ex.stream.writeDirect(body)) this.#pause()
    const done = ex.bodyChunks !== undefined ? ex.bodyChunks.done : ex.bodyLeft === 0
    if (done) {
      this.#state = State.Wait
      this.#requestSent(ex)
    }
  }

  /** The whole request is at the service: the response-header clock starts (unless it is here). */
  #requestSent (ex: Exchange): void {
    ex.requestDone = true
    if (this.#paused && (this.#buf?.length ?? 0) <= MAX_PIPELINED_BYTES) this.#resume()
    if (ex.resDone) { this.#finish(ex); return }
    if (ex.resStarted) return
    ex.waiting = true
    // One timer per connection, restarted for each request (one exchange is in flight at a time):
    // cheaper than a timer made and cleared per request. Its callback reads the exchange then.
    const ms = ex.way.timeoutMs
    if (this.#resTimer !== undefined && this.#resTimerMs === ms) { this.#resTimer.refresh(); return }
    clearTimeout(this.#resTimer)
    this.#resTimerMs = ms
    this.#resTimer = setTimeout(() => {
      const current = this.#ex
      if (current?.waiting === true) this.#timedOut(current)
    }, ms)
    this.#resTimer.unref()
  }

  // ---- service side ----

  #onService (ex: Exchange, chunk: Buffer): void {
    if (this.#ex !== ex) return
    // The response head and the body bytes of one read leave in one write (writev).
    this.#socket.cork()
    try {
      this.#serviceBytes(ex, chunk)
    } finally {
      this.#socket.uncork()
    }
  }

  #serviceBytes (ex: Exchange, chunk: Buffer): void {
    if (!ex.resStarted) {
      ex.resStarted = true
      ex.waiting = false
    }
    let data = chunk
    while (data.length > 0 && this.#ex === ex) {
      if (!ex.resHeadSent) {
        const rest = this.#responseHead(ex, data)
        if (rest === undefined) return
        data = rest
        continue
      }
      if (ex.resDone) {
        // Bytes past the end of the response: the stream is not fit for another request.
        ex.serviceCloses = true
        return
      }
      let n: number
      if (ex.resFraming === Framing.Chunked) {
        n = (ex.resChunks as ChunkedScanner).feed(data)
        if ((ex.resChunks as ChunkedScanner).error !== undefined) { this.destroy(); return }
        if ((ex.resChunks as ChunkedScanner).done) ex.resDone = true
      } else if (ex.resFraming === Framing.Length) {
        n = Math.min(ex.resLeft, data.length)
        ex.resLeft -= n
        if (ex.resLeft === 0) ex.resDone = true
      } else {
        n = data.length
      }
      const part = n === data.length ? data : data.subarray(0, n)
      data = data.subarray(n)
      if (!this.#socket.write(part) && !ex.draining && ex.stream !== undefined) {
        const stream = ex.stream
        ex.draining = true
        stream.holdReads(true)
        this.#socket.once('drain', () => {
          ex.draining = false
          if (ex.stream === stream && this.#ex === ex) stream.holdReads(false)
        })
      }
      if (ex.resDone) {
        if (data.length > 0) ex.serviceCloses = true
        this.#responseDone(ex)
        return
      }
    }
  }

  /** Reads the response head from `data` (with what came before); returns the bytes after it, or undefined to wait for more. */
  #responseHead (ex: Exchange, data: Buffer): Buffer | undefined {
    const buf = ex.resBuf === undefined ? data : Buffer.concat([ex.resBuf, data])
    const end = headEnd(buf)
    if (end < 0 || end > VHOST_MAX_HEADER_BYTES) {
      if (end > VHOST_MAX_HEADER_BYTES || buf.length > VHOST_MAX_HEADER_BYTES) { this.#failed(ex, new Error('the response head is too large'), true); return undefined }
      if (hasBareLf(buf)) { this.#failed(ex, new Error('the service\'s response has a bare LF'), true); return undefined }
      ex.resBuf = buf
      return undefined
    }
    ex.resBuf = undefined
    const res = parseResponseHead(buf.toString('latin1', 0, end - 4))
    if (isHeadError(res)) { this.#failed(ex, new Error(`the service's response is malformed: ${res.error}`), true); return undefined }
    const rest = buf.subarray(end)
    if (res.status === 101 && ex.upgrade) {
      this.#upgraded(ex, res, rest)
      return undefined
    }
    if (res.status >= 100 && res.status < 200) {
      // An interim response (103 Early Hints, ...): passed on, then the final one is read. Our
      // own 100 Continue was sent already.
      if (!(res.status === 100 && ex.continued)) this.#socket.write(buf.subarray(0, end))
      return rest
    }
    ex.resHeadSent = true
    const noBody = ex.head.method === 'HEAD' || res.status === 204 || res.status === 304
    if (noBody) ex.resFraming = Framing.None
    else if (res.chunked) { ex.resFraming = Framing.Chunked; ex.resChunks = new ChunkedScanner() }
    else if (res.transferEncoding) ex.resFraming = Framing.Close
    else if (res.contentLength !== undefined) { ex.resFraming = Framing.Length; ex.resLeft = res.contentLength }
    else ex.resFraming = Framing.Close
    if (res.connection.has('close') || res.minor === 0 || ex.resFraming === Framing.Close) ex.serviceCloses = true
    ex.keepAliveMs = keepAliveHint(res)
    // A close-delimited body ends the visitor's connection too; a refused upgrade closes it.
    if (ex.resFraming === Framing.Close || ex.upgrade) this.#closeAfter = true
    // The common answer (HTTP/1.1, framed by Content-Length, nothing to set or add) leaves as the
    // service's own bytes, its hop-by-hop lines cut out; any other is written anew.
    if (res.minor === 1 && buf[12] === 0x20 && !res.transferEncoding && !this.#closeAfter && isEmpty(ex.way.responseHeaders)) this.#socket.write(passHead(buf.subarray(0, end), res))
    else this.#socket.write(responseHead(res, ex.way.responseHeaders, this.#closeAfter), 'latin1')
    if (ex.resFraming === Framing.None || (ex.resFraming === Framing.Length && ex.resLeft === 0)) {
      ex.resDone = true
      if (rest.length > 0) ex.serviceCloses = true
      this.#responseDone(ex)
      return undefined
    }
    return rest
  }

  #onServiceEnd (ex: Exchange, err: Error | undefined): void {
    if (this.#ex !== ex) return
    if (ex.resDone) return
    if (ex.resHeadSent) {
      if (ex.resFraming === Framing.Close && err === undefined) {
        ex.resDone = true
        ex.serviceCloses = true
        this.#responseDone(ex)
      } else {
        // Cut off in the middle of the response: the visitor's is cut off too.
        this.destroy()
      }
      return
    }
    // Nothing of the response yet. An idle pooled stream the service closed just as it was
    // taken: sent again once on a new stream when nothing of the request is lost (no body).
    const hasBody = ex.head.chunked || (ex.head.contentLength ?? 0) > 0
    if (ex.attempt === 0 && ex.reused && !ex.resStarted && !hasBody && !ex.upgrade && IDEMPOTENT.has(ex.head.method)) {
      ex.waiting = false
      ex.detach()
      ex.stream?.destroy()
      ex.stream = undefined
      ex.attempt = 1
      ex.requestDone = false
      this.#open(ex)
      return
    }
    this.#failed(ex, err ?? new Error('the service closed the connection before its response'), false)
  }

  #timedOut (ex: Exchange): void {
    if (this.#ex !== ex || ex.resStarted) return
    this.#core.count('gatewayTimeout')
    this.#core.debug(ex.way.route, { host: ex.host, viaFleet: ex.way.fleet !== undefined }, 'vhost request timed out')
    this.#abandon(ex, 504)
  }

  #failed (ex: Exchange, err: Error, malformed: boolean): void {
    if (this.#ex !== ex) return
    this.#core.count('badGateway')
    // A link that failed before the answer: the next request looks the route up again.
    if (!ex.resHeadSent) ex.way.fleet?.failed()
    this.#core.debug(ex.way.route, { host: ex.host, code: (err as NodeJS.ErrnoException).code, err: err.message, malformed, viaFleet: ex.way.fleet !== undefined }, 'vhost request failed')
    if (ex.resHeadSent) { this.destroy(); return }
    this.#abandon(ex, 502)
  }

  /** No relay of the fleet serves the host after all: the 404 this relay would give. */
  #notServed (ex: Exchange): void {
    if (this.#ex !== ex) return
    this.#core.count('notFound')
    this.#core.debug(undefined, { host: ex.host, status: 404, remote: this.#visitor }, 'vhost request not routed')
    this.#abandon(ex, 404)
  }

  /** The exchange ends with our own page (404, 502, 504) instead of the service's response. */
  #abandon (ex: Exchange, status: number): void {
    ex.waiting = false
    ex.detach()
    ex.stream?.destroy()
    this.#ex = undefined
    const isHead = ex.head.method === 'HEAD'
    const close = !ex.requestDone || this.#closeAfter || ex.head.chunked || (ex.head.contentLength ?? 0) > 0 || ex.upgrade
    this.#state = State.Head
    this.#page(status, ex.host, close, isHead)
    if (this.#state === State.Head) {
      this.#resume()
      this.#next()
    }
  }

  #responseDone (ex: Exchange): void {
    if (ex.requestDone) { this.#finish(ex); return }
    // The service answered before the request body was all there: the rest of the body cannot
    // be told from a next request any more by the service; both connections end.
    this.#closeAfter = true
    ex.serviceCloses = true
    this.#finish(ex)
  }

  /** The exchange is complete: the stream goes back to the pool (or away), the next request is read. */
  #finish (ex: Exchange): void {
    ex.waiting = false
    this.#ex = undefined
    const stream = ex.stream
    if (stream !== undefined) {
      ex.detach()
      if (ex.serviceCloses || !ex.requestDone) stream.destroy()
      else ex.way.give(stream, ex.keepAliveMs === 0 ? undefined : ex.keepAliveMs)
    }
    if (this.#closeAfter || this.#stopping) { this.#end(); return }
    this.#state = State.Head
    this.#resume()
    this.#timer.refresh()
    this.#next()
  }

  #upgraded (ex: Exchange, res: ResponseHead, rest: Buffer): void {
    const stream = ex.stream
    if (stream === undefined) return
    ex.waiting = false
    this.#ex = undefined
    this.#state = State.Spliced
    clearTimeout(this.#timer)
    clearTimeout(this.#resTimer)
    this.#core.count('upgrades')
    ex.detach()
    stream.holdReads(false)
    stream.direct(undefined)
    this.#socket.off('data', this.#onData)
    this.#socket.off('end', this.#onVisitorEnd)
    const headers = setHeaders([...res.raw], ex.way.responseHeaders)
    this.#socket.write(statusLine(res) + joinHeaders(headers), 'latin1')
    if (rest.length > 0) this.#socket.write(rest)
    const early = this.#buf
    this.#buf = undefined
    if (early !== undefined && early.length > 0) stream.writeDirect(early)
    this.#resume()
    this.#core.splice(this.#socket, stream)
  }

  /** The relay's own answer; with `close` the connection ends after it. */
  #page (status: number, host: string, close: boolean, omitBody: boolean, detail?: string, headers: Record<string, string> = {}): void {
    if (this.#state === State.Closed || this.#socket.destroyed) return
    const body = this.#core.page(status, host, detail)
    let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n`
    if (close) text += 'Connection: close\r\n'
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`
    this.#socket.write(`${text}\r\n${omitBody ? '' : body}`)
    if (close || this.#closeAfter) { this.#end(); return }
    this.#state = State.Head
    this.#timer.refresh()
  }
}

/** What the service must not get from the visitor's request: our own 100 Continue answered it. */
const DROP_EXPECT: ReadonlySet<string> = new Set(['expect'])
/** ... nor the credentials the relay consumed (a route with httpUser/httpPassword). */
const DROP_EXPECT_AUTH: ReadonlySet<string> = new Set(['expect', 'authorization'])
/** A response framed by Transfer-Encoding: a Content-Length beside it is dropped (RFC 9112 6.3). */
const DROP_CONTENT_LENGTH: ReadonlySet<string> = new Set(['content-length'])

/** The request head the service gets: origin-form target, end-to-end headers, the relay's own. */
function requestHead (head: RequestHead, t: Forward, visitor: string, upgrade: string | undefined): string {
  const sets: HeaderSets = new Map()
  addSet(sets, 'Host', t.route.hostHeaderRewrite ?? t.hostHeader)
  addSet(sets, 'X-Forwarded-For', forwardedFor(head, visitor))
  addSet(sets, 'X-Real-IP', visitor)
  addSet(sets, 'X-Forwarded-Proto', 'http')
  addSet(sets, 'X-Forwarded-Host', t.hostHeader)
  for (const [name, value] of Object.entries(t.route.requestHeaders)) addSet(sets, name, value)
  if (upgrade !== undefined) {
    addSet(sets, 'Connection', 'Upgrade')
    addSet(sets, 'Upgrade', upgrade)
  }
  // The relay consumed the credentials; the service does not get the proxy's password.
  let h = rewriteHeaders(head, t.route.auth !== undefined ? DROP_EXPECT_AUTH : DROP_EXPECT, sets)
  // The body passes as it came: its framing header goes with it.
  if (head.chunked) h += `Transfer-Encoding: ${headerValues(head, 'transfer-encoding').join(', ')}\r\n`
  return `${head.method} ${t.path} HTTP/1.${head.minor}\r\n${h}\r\n`
}

/**
 * The request head another relay of the fleet gets: as the visitor sent it (its target, Host and
 * end-to-end headers; that relay routes, checks and rewrites it as its own visitor's).
 */
function passedHead (head: RequestHead, upgrade: string | undefined): string {
  let sets: HeaderSets | undefined
  if (upgrade !== undefined) {
    sets = new Map()
    addSet(sets, 'Connection', 'Upgrade')
    addSet(sets, 'Upgrade', upgrade)
  }
  let h = rewriteHeaders(head, DROP_EXPECT, sets)
  if (head.chunked) h += `Transfer-Encoding: ${headerValues(head, 'transfer-encoding').join(', ')}\r\n`
  return `${head.method} ${head.target} HTTP/1.${head.minor}\r\n${h}\r\n`
}

/** X-Forwarded-For with the visitor appended to what earlier proxies wrote (one header). */
function forwardedFor (head: RequestHead, visitor: string): string {
  let out = ''
  for (const value of headerValues(head, 'x-forwarded-for')) {
    for (const part of value.split(',')) {
      const v = part.trim()
      if (v !== '') out += `${v}, `
    }
  }
  return out + visitor
}

/** The response head the visitor gets: end-to-end headers, the framing header kept, the proxy's own set. */
function responseHead (res: ResponseHead, set: Readonly<Record<string, string>>, close: boolean): string {
  let sets: HeaderSets | undefined
  for (const [name, value] of Object.entries(set)) addSet(sets ??= new Map<string, { name: string, value: string }>(), name, value)
  const h = res.transferEncoding
    ? rewriteHeaders(res, DROP_CONTENT_LENGTH, sets, ['Transfer-Encoding', headerValues(res, 'transfer-encoding').join(', ')])
    : rewriteHeaders(res, undefined, sets)
  return `${statusLine(res)}${h}${close ? 'Connection: close\r\n' : ''}\r\n`
}

function isEmpty (o: Readonly<Record<string, string>>): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false
  return true
}

function statusLine (res: ResponseHead): string {
  return `HTTP/1.1 ${res.status} ${res.reason}\r\n`
}

function joinHeaders (h: readonly string[]): string {
  let out = ''
  for (let i = 0; i + 1 < h.length; i += 2) out += `${h[i] as string}: ${h[i + 1] as string}\r\n`
  return out + '\r\n'
}

/** How long the service keeps an idle connection, from its Keep-Alive header (ms, a second less, as node's agent); 0 = no hint. */
function keepAliveHint (res: ResponseHead): number {
  const v = headerValue(res, 'keep-alive')
  const m = v === undefined ? null : /(?:^|[,\s])timeout=(\d+)/i.exec(v)
  if (m?.[1] === undefined) return 0
  const ms = Number(m[1]) * 1000 - 1000
  return ms <= 0 ? -1 : ms
}
