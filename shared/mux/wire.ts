// The byte pipe under a mux session. The plain one writes to a TCP socket; the encrypted
// record layer (shared/transport/record-wire.ts) implements the same interface.
import type { Socket } from 'node:net'
import { TunnelError } from '../errors.js'

export interface Wire {
  /** Writes one batch of buffers with as few syscalls as possible (one writev). */
  write (chunks: Buffer[]): void
  /**
   * write() has copied the bytes of its buffers by the time it returns (an encrypted wire seals
   * them into records), so the caller may reuse them. Absent or false: the wire keeps references
   * until the kernel takes the bytes.
   */
  readonly copiesOnWrite?: boolean
  /** Bytes accepted but not yet handed to the kernel. */
  pendingBytes (): number
  /** Bytes the kernel has taken so far (the peer's progress: it stops when the peer stops reading). */
  takenBytes (): number
  onData (cb: (chunk: Buffer) => void): void
  onDrain (cb: () => void): void
  onClose (cb: (err: TunnelError | undefined) => void): void
  /**
   * Stops reading from the peer (the session does so while the peer does not take what we send,
   * so it cannot make us queue more replies); the bytes wait in the kernel, and TCP pushes back.
   */
  pauseReading (): void
  /** Reads again after pauseReading(). */
  resumeReading (): void
  /** Flush and end (abort = false) or drop everything at once (abort = true). */
  close (abort: boolean): void
}

/** How long a graceful close may wait for the peer to take our last bytes. */
export const CLOSE_FLUSH_TIMEOUT_MS = 5_000

export function socketWire (socket: Socket): Wire {
  let lastError: Error | undefined
  socket.on('error', (err) => { lastError = err })
  return {
    write (chunks) {
      if (socket.destroyed) return
      if (chunks.length === 1) { socket.write(chunks[0] as Buffer); return }
      socket.cork()
      for (const c of chunks) socket.write(c)
      socket.uncork()
    },
    pendingBytes: () => socket.writableLength,
    takenBytes: () => socket.bytesWritten - socket.writableLength,
    onData (cb) { socket.on('data', cb) },
    onDrain (cb) { socket.on('drain', cb) },
    onClose (cb) {
      socket.on('close', () => { cb(closeReason(lastError)) })
    },
    pauseReading () { socket.pause() },
    resumeReading () { socket.resume() },
    close (abort) { closeSocket(socket, abort) },
  }
}

/** Why a control socket closed: undefined for a clean close. */
export function closeReason (lastError: Error | undefined): TunnelError | undefined {
  return lastError === undefined ? undefined : new TunnelError('TUN_SESSION_CLOSED', `control connection failed: ${lastError.message}`, { cause: lastError })
}

/** Flush and end (destroyed after CLOSE_FLUSH_TIMEOUT_MS if the peer does not take it), or drop at once. */
export function closeSocket (socket: Socket, abort: boolean): void {
  if (socket.destroyed) return
  if (abort) { socket.destroy(); return }
  socket.end()
  setTimeout(() => socket.destroy(), CLOSE_FLUSH_TIMEOUT_MS).unref()
}
