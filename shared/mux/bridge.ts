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
import type { Socket } from 'node:net'
import type { TunnelError } from '../errors.js'
import type { TokenBucket } from '../limit/index.js'
import { ResetCode } from '../wire/index.js'
import type { MuxStream } from './stream.js'
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

export function bridge (stream: MuxStream, socket: Socket, done?: (result: BridgeResult) => void, options: BridgeOptions = {}): void {
  const limiter = options.limiter
  let held = 0
  let socketEnded = false
  let bytesToSocket = 0
  let bytesFromSocket = 0
  let streamError: TunnelError | undefined
  let finished = false
  let streamClosed = false
  let socketClosed = false
  // Why reading from the socket is paused: the stream's queue is full, or the limiter is in debt.
  let streamBlocked = false
  let readTimer: NodeJS.Timeout | undefined
  // Limited only: bytes from the stream not yet written, and whether its FIN waits behind them.
  let pending: Buffer[] = []
  let endAfterPending = false
  let writeTimer: NodeJS.Timeout | undefined
  // Writes to the socket are corked until this fires (see writeToSocket).
  let corked: NodeJS.Immediate | undefined

  const finish = (): void => {
    if (finished || !streamClosed || !socketClosed) return
    finished = true
    done?.({ bytesToSocket, bytesFromSocket, error: streamError })
  }

  const resumeReading = (): void => {
    if (!streamBlocked && readTimer === undefined && !socket.destroyed) socket.resume()
  }

  // Limited only: the bucket was in debt; read again once it is not (another connection may
  // have pushed it deeper meanwhile, so look again when the timer fires).
  const onReadTimer = (): void => {
    readTimer = undefined
    const more = limiter?.delayMs() ?? 0
    if (more > 0) readTimer = setTimeout(onReadTimer, more)
    else resumeReading()
  }

  const onChunk = (chunk: Buffer): void => {
    bytesFromSocket += chunk.length
    if (!stream.write(chunk)) {
      streamBlocked = true
      socket.pause()
    }
    if (limiter === undefined) return
    const wait = limiter.charge(chunk.length)
    if (wait > 0 && readTimer === undefined) {
      socket.pause()
      readTimer = setTimeout(onReadTimer, wait)
    }
  }
  if (options.reader === undefined) socket.on('data', onChunk)
  else options.reader.attach(onChunk)
  socket.on('end', () => {
    socketEnded = true
    stream.end()
  })
  socket.on('drain', () => {
    if (held === 0) return
    const n = held
    held = 0
    stream.consume(n)
  })
  socket.on('error', () => { /* reported through 'close' with hadError */ })
  socket.on('close', (hadError) => {
    socketClosed = true
    clearTimeout(readTimer)
    clearTimeout(writeTimer)
    clearImmediate(corked)
    readTimer = undefined
    writeTimer = undefined
    corked = undefined
    pending = []
    // A clean close after both FINs needs nothing; anything else aborts the stream.
    if (hadError || !socketEnded) stream.reset(hadError ? ResetCode.SOCKET_ERROR : ResetCode.CANCEL)
    finish()
  })

  // One control-connection read can hold pieces of several frames for this socket: cork so
  // they leave in one writev, uncorked at the end of this event-loop turn (setImmediate), after
  // every read of the turn and the work it queued (an unregister runs in a later microtask).
  // Bytes and a reset that reach us together leave as the reset alone: destroying a corked
  // socket drops its bytes, as a kernel drops its send queue on an abortive close. Flushing them
  // first would put the bytes and the RST in the peer's receive queue together, and a peer on
  // libuv 1.46 (Node 20) then reads the bytes and reports a clean end, never the reset; with
  // allowHalfOpen it waits for ever (test/regressions/flake-visitor-reset.test.ts).
  const uncork = (): void => {
    corked = undefined
    socket.uncork()
  }
  const writeToSocket = (chunk: Buffer): void => {
    bytesToSocket += chunk.length
    if (corked === undefined) {
      socket.cork()
      corked = setImmediate(uncork)
    }
    if (socket.write(chunk) && held === 0) stream.consume(chunk.length)
    else held += chunk.length
  }
  // Limited only: writes what the bucket allows, then waits for it to refill.
  const pump = (): void => {
    writeTimer = undefined
    if (socket.destroyed || limiter === undefined) return
    while (pending.length > 0) {
      const wait = limiter.delayMs()
      if (wait > 0) {
        writeTimer = setTimeout(pump, wait)
        return
      }
      const chunk = pending.shift() as Buffer
      limiter.charge(chunk.length)
      writeToSocket(chunk)
    }
    if (endAfterPending) {
      endAfterPending = false
      socket.end()
    }
  }

  stream.attach({
    data (chunk) {
      if (socket.destroyed) return
      if (limiter === undefined) { writeToSocket(chunk); return }
      pending.push(chunk)
      if (writeTimer === undefined) pump()
    },
    end () {
      if (socket.destroyed) return
      if (pending.length > 0) endAfterPending = true
      else socket.end()
    },
    drain () {
      streamBlocked = false
      resumeReading()
    },
    close (err) {
      streamClosed = true
      streamError = err
      if (err !== undefined && !socket.destroyed) {
        pending = []
        clearTimeout(writeTimer)
        writeTimer = undefined
        // Tell the socket's peer the way TCP does: a reset, not a clean end.
        if (socket.readyState === 'opening') socket.destroy()
        else socket.resetAndDestroy()
      }
      finish()
    },
  })
}
