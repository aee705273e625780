// Pumps bytes between a mux stream and a TCP socket in both directions with back-pressure:
// the socket is paused while the stream's queue is full, and credit for received bytes is
// returned only once the socket took them (held while the socket's buffer is over its mark).
// Half-close travels as FIN both ways; an error or abrupt close travels as RESET / TCP RST.
//
// With a bandwidth limiter (a token bucket shared by the proxy's connections) both directions
// are paced without extra buffering: bytes read from the socket are charged and the socket
// stays paused while the bucket is in debt; bytes from the stream wait in a queue that the
// stream's receive window bounds (their credit is returned only after they are written), and
// are written as the bucket allows.
//
// Memory (issue 21, fifth round): a bridge is one object whose socket listeners are functions
// shared by every bridge (they find theirs through a symbol on the socket), not some fifteen
// closures and their scope per connection: about 1 KB less of each idle stream on each side.
import type { Socket } from 'node:net'
import type { TunnelError } from '../errors.js'
import type { TokenBucket } from '../limit/index.js'
import { ResetCode } from '../wire/index.js'
import type { MuxStream, StreamHandler } from './stream.js'
import type { PooledReader } from './read-pool.js'

export interface BridgeResult {
  bytesToSocket: number
  bytesFromSocket: number
  error: TunnelError | undefined
}

export interface BridgeOptions {
  /** Paces both directions (frp's transport.bandwidthLimit); shared by the proxy's connections. */
  limiter?: TokenBucket | undefined
  /**
   * The socket was made with this reader's onread (read-pool.ts): its reads arrive through the
   * reader, copied out of the shared read buffer, instead of as 'data' events.
   */
  reader?: PooledReader | undefined
}

/** Where a bridged socket keeps its bridge, for the shared listeners below. */
const BRIDGE = Symbol('bridge')
type BridgedSocket = Socket & { [BRIDGE]?: Bridge }

function onSocketData (this: BridgedSocket, chunk: Buffer): void { this[BRIDGE]?.fromSocket(chunk) }
function onSocketEnd (this: BridgedSocket): void { this[BRIDGE]?.socketEnded() }
function onSocketDrain (this: BridgedSocket): void { this[BRIDGE]?.socketDrained() }
function onSocketError (): void { /* reported through 'close' with hadError */ }
function onSocketClose (this: BridgedSocket, hadError: boolean): void { this[BRIDGE]?.socketClosed(hadError) }
function uncorkBridge (b: Bridge): void { b.uncork() }
function readTimerFired (b: Bridge): void { b.onReadTimer() }
function writeTimerFired (b: Bridge): void { b.pump() }

/** The listener functions a bridge puts on its socket, the same for every bridge (tests count on it). */
export const BRIDGE_SOCKET_LISTENERS = { data: onSocketData, end: onSocketEnd, drain: onSocketDrain, error: onSocketError, close: onSocketClose } as const

export function bridge (stream: MuxStream, socket: Socket, done?: (result: BridgeResult) => void, options: BridgeOptions = {}): void {
  const b = new Bridge(stream, socket, done, options.limiter)
  ;(socket as BridgedSocket)[BRIDGE] = b
  if (options.reader === undefined) socket.on('data', onSocketData)
  else options.reader.attach((chunk) => { b.fromSocket(chunk) })
  socket.on('end', onSocketEnd)
  socket.on('drain', onSocketDrain)
  socket.on('error', onSocketError)
  socket.on('close', onSocketClose)
  stream.attach(b)
}

/** One bridged connection; it is the stream's handler (data, end, drain, close). */
class Bridge implements StreamHandler {
  readonly #stream: MuxStream
  readonly #socket: Socket
  readonly #done: ((result: BridgeResult) => void) | undefined
  readonly #limiter: TokenBucket | undefined
  #held = 0
  #socketEnded = false
  #bytesToSocket = 0
  #bytesFromSocket = 0
  #streamError: TunnelError | undefined
  #finished = false
  #streamClosed = false
  #socketClosed = false
  // Why reading from the socket is paused: the stream's queue is full, or the limiter is in debt.
  #streamBlocked = false
  #readTimer: NodeJS.Timeout | undefined
  // Limited only: bytes from the stream not yet written, and whether its FIN waits behind them.
  #pending: Buffer[] | undefined
  #endAfterPending = false
  #writeTimer: NodeJS.Timeout | undefined
  // Writes to the socket are corked until this fires (see #writeToSocket).
  #corked: NodeJS.Immediate | undefined

  constructor (stream: MuxStream, socket: Socket, done: ((result: BridgeResult) => void) | undefined, limiter: TokenBucket | undefined) {
    this.#stream = stream
    this.#socket = socket
    this.#done = done
    this.#limiter = limiter
  }

  #finish (): void {
    if (this.#finished || !this.#streamClosed || !this.#socketClosed) return
    this.#finished = true
    this.#done?.({ bytesToSocket: this.#bytesToSocket, bytesFromSocket: this.#bytesFromSocket, error: this.#streamError })
  }

  #resumeReading (): void {
    if (!this.#streamBlocked && this.#readTimer === undefined && !this.#socket.destroyed) this.#socket.resume()
  }

  // Limited only: the bucket was in debt; read again once it is not (another connection may
  // have pushed it deeper meanwhile, so look again when the timer fires).
  onReadTimer (): void {
    this.#readTimer = undefined
    const more = this.#limiter?.delayMs() ?? 0
    if (more > 0) this.#readTimer = setTimeout(readTimerFired, more, this)
    else this.#resumeReading()
  }

  fromSocket (chunk: Buffer): void {
    this.#bytesFromSocket += chunk.length
    if (!this.#stream.write(chunk)) {
      this.#streamBlocked = true
      this.#socket.pause()
    }
    const limiter = this.#limiter
    if (limiter === undefined) return
    const wait = limiter.charge(chunk.length)
    if (wait > 0 && this.#readTimer === undefined) {
      this.#socket.pause()
      this.#readTimer = setTimeout(readTimerFired, wait, this)
    }
  }

  socketEnded (): void {
    this.#socketEnded = true
    this.#stream.end()
  }

  socketDrained (): void {
    if (this.#held === 0) return
    const n = this.#held
    this.#held = 0
    this.#stream.consume(n)
  }

  socketClosed (hadError: boolean): void {
    this.#socketClosed = true
    clearTimeout(this.#readTimer)
    clearTimeout(this.#writeTimer)
    clearImmediate(this.#corked)
    this.#readTimer = undefined
    this.#writeTimer = undefined
    this.#corked = undefined
    this.#pending = undefined
    // A clean close after both FINs needs nothing; anything else aborts the stream.
    if (hadError || !this.#socketEnded) this.#stream.reset(hadError ? ResetCode.SOCKET_ERROR : ResetCode.CANCEL)
    this.#finish()
  }

  // One control-connection read can hold pieces of several frames for this socket: cork so
  // they leave in one writev, uncorked at the end of this event-loop turn (setImmediate), after
  // every read of the turn and the work it queued (an unregister runs in a later microtask).
  // Bytes and a reset that reach us together leave as the reset alone: destroying a corked
  // socket drops its bytes, as a kernel drops its send queue on an abortive close. Flushing them
  // first would put the bytes and the RST in the peer's receive queue together, and a peer on
  // libuv 1.46 (Node 20) then reads the bytes and reports a clean end, never the reset; with
  // allowHalfOpen it waits for ever (test/regressions/flake-visitor-reset.test.ts).
  uncork (): void {
    this.#corked = undefined
    this.#socket.uncork()
  }

  #writeToSocket (chunk: Buffer): void {
    this.#bytesToSocket += chunk.length
    const socket = this.#socket
    if (this.#corked === undefined) {
      socket.cork()
      this.#corked = setImmediate(uncorkBridge, this)
    }
    if (socket.write(chunk) && this.#held === 0) this.#stream.consume(chunk.length)
    else this.#held += chunk.length
  }

  // Limited only: writes what the bucket allows, then waits for it to refill.
  pump (): void {
    this.#writeTimer = undefined
    const limiter = this.#limiter
    if (this.#socket.destroyed || limiter === undefined) return
    const pending = this.#pending
    while (pending !== undefined && pending.length > 0) {
      const wait = limiter.delayMs()
      if (wait > 0) {
        this.#writeTimer = setTimeout(writeTimerFired, wait, this)
        return
      }
      const chunk = pending.shift() as Buffer
      limiter.charge(chunk.length)
      this.#writeToSocket(chunk)
    }
    if (this.#endAfterPending) {
      this.#endAfterPending = false
      this.#socket.end()
    }
  }

  // ---- the stream's handler ----

  data (chunk: Buffer): void {
    if (this.#socket.destroyed) return
    if (this.#limiter === undefined) { this.#writeToSocket(chunk); return }
    ;(this.#pending ??= []).push(chunk)
    if (this.#writeTimer === undefined) this.pump()
  }

  end (): void {
    if (this.#socket.destroyed) return
    if (this.#pending !== undefined && this.#pending.length > 0) this.#endAfterPending = true
    else this.#socket.end()
  }

  drain (): void {
    this.#streamBlocked = false
    this.#resumeReading()
  }

  close (err?: TunnelError): void {
    this.#streamClosed = true
    this.#streamError = err
    const socket = this.#socket
    if (err !== undefined && !socket.destroyed) {
      this.#pending = undefined
      clearTimeout(this.#writeTimer)
      this.#writeTimer = undefined
      // Tell the socket's peer the way TCP does: a reset, not a clean end.
      if (socket.readyState === 'opening') socket.destroy()
      else socket.resetAndDestroy()
    }
    this.#finish()
  }
}
