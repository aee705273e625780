// Pumps bytes between a mux stream and a TCP socket in both directions with back-pressure:
// the socket is paused while the stream's queue is full, and credit for received bytes is
// returned only once the socket took them (held while the socket's buffer is over its mark).
// Half-close travels as FIN both ways; an error or abrupt close travels as RESET / TCP RST.
import type { Socket } from 'node:net'
import type { TunnelError } from '../errors.js'
import { ResetCode } from '../wire/frame.js'
import type { MuxStream } from './stream.js'

export interface BridgeResult {
  bytesToSocket: number
  bytesFromSocket: number
  error: TunnelError | undefined
}

export function bridge (stream: MuxStream, socket: Socket, done?: (result: BridgeResult) => void): void {
  let held = 0
  let socketEnded = false
  let bytesToSocket = 0
  let bytesFromSocket = 0
  let streamError: TunnelError | undefined
  let finished = false
  let streamClosed = false
  let socketClosed = false

  const finish = (): void => {
    if (finished || !streamClosed || !socketClosed) return
    finished = true
    done?.({ bytesToSocket, bytesFromSocket, error: streamError })
  }

  socket.on('data', (chunk: Buffer) => {
    bytesFromSocket += chunk.length
    if (!stream.write(chunk)) socket.pause()
  })
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
    // A clean close after both FINs needs nothing; anything else aborts the stream.
    if (hadError || !socketEnded) stream.reset(hadError ? ResetCode.SOCKET_ERROR : ResetCode.CANCEL)
    finish()
  })

  // One control-connection read can hold pieces of several frames for this socket: cork so
  // they leave in one writev, uncorked once the read has been handled (the microtask runs then).
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  stream.attach({
    data (chunk) {
      if (socket.destroyed) return
      bytesToSocket += chunk.length
      if (!corked) {
        corked = true
        socket.cork()
        queueMicrotask(uncork)
      }
      if (socket.write(chunk) && held === 0) stream.consume(chunk.length)
      else held += chunk.length
    },
    end () {
      if (!socket.destroyed) socket.end()
    },
    drain () {
      if (!socket.destroyed) socket.resume()
    },
    close (err) {
      streamClosed = true
      streamError = err
      if (err !== undefined && !socket.destroyed) {
        // Tell the socket's peer the way TCP does: a reset, not a clean end.
        if (socket.readyState === 'opening') socket.destroy()
        else socket.resetAndDestroy()
      }
      finish()
    },
  })
}
