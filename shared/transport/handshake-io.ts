// Reading one handshake message from a socket: bytes are collected (bounded) until a pure
// parser says the message is complete; the wait ends with the signal (the handshake deadline),
// with the socket closing, or with the parser refusing the bytes. The socket is left paused
// with its listeners removed, and bytes past the message are handed back for the next reader.
import type { Socket } from 'node:net'
import { HandshakeError, type TunnelError } from '../errors.js'

export type Parser<T> = (buf: Buffer) => { value: T, used: number } | undefined

export interface ReadResult<T> {
  value: T
  /** Bytes that arrived after the message. */
  rest: Buffer
}

/**
 * Resolves with the parsed message; rejects with the parser's HandshakeError, with
 * TUN_HANDSHAKE_TIMEOUT when the signal aborts, or with `closed()` when the peer goes away.
 */
export function readHandshakeMessage<T> (
  socket: Socket,
  parse: Parser<T>,
  options: { maxBytes: number, signal: AbortSignal, initial?: Buffer, closed: () => TunnelError },
): Promise<ReadResult<T>> {
  return new Promise((resolve, reject) => {
    let buf = options.initial ?? Buffer.alloc(0)
    let done = false
    const finish = (outcome: ReadResult<T> | Error): void => {
      if (done) return
      done = true
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('end', onClose)
      options.signal.removeEventListener('abort', onAbort)
      socket.pause()
      if (outcome instanceof Error) reject(outcome)
      else resolve(outcome)
    }
    const attempt = (): void => {
      let parsed: ReturnType<Parser<T>>
      try {
        parsed = parse(buf)
      } catch (err) {
        // Parsers throw a HandshakeError; anything else is a parser bug, still a refusal.
        finish(err instanceof Error ? err : new HandshakeError('TUN_HANDSHAKE_INVALID', String(err), { reason: 'parser failed' }))
        return
      }
      if (parsed !== undefined) {
        finish({ value: parsed.value, rest: buf.subarray(parsed.used) })
        return
      }
      if (buf.length >= options.maxBytes) finish(new HandshakeError('TUN_HANDSHAKE_INVALID', 'the handshake message is too long', { reason: 'too long' }))
    }
    const onData = (chunk: Buffer): void => {
      // Bounded: an incomplete message of maxBytes is refused by attempt(), so buf never holds
      // more than maxBytes plus one socket read (what follows a complete message is kept).
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      attempt()
    }
    const onClose = (): void => { finish(options.closed()) }
    const onAbort = (): void => {
      finish(new HandshakeError('TUN_HANDSHAKE_TIMEOUT', 'the handshake did not finish within transport.handshakeTimeout', { reason: 'deadline' }))
    }
    if (options.signal.aborted) { onAbort(); return }
    options.signal.addEventListener('abort', onAbort, { once: true })
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.once('end', onClose)
    if (buf.length > 0) attempt()
    if (!done) socket.resume()
  })
}
