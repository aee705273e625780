// The Wire a mux session runs on after the handshake: every write batch is sealed into records
// (record.ts) and written with one cork/uncork (one writev); every read is opened incrementally
// and only authenticated plaintext reaches the session. A record that fails authentication
// destroys the socket at once and the session closes with TUN_RECORD_AUTH.
// Without keys (transport.insecurePlaintext) bytes pass through unchanged.
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { TunnelError } from '../errors.js'
import { closeReason, closeSocket, releaseRead, type Wire } from '../mux/index.js'
import type { CipherState } from './noise.js'
import { DEFAULT_RECORD_LIMITS, RecordOpener, RecordSealer, type RecordLimits } from './record.js'

export interface TransportCiphers {
  send: CipherState
  recv: CipherState
}

export interface RecordWireOptions {
  /** undefined = transport.insecurePlaintext: no records, bytes as they are. */
  ciphers: TransportCiphers | undefined
  limits?: RecordLimits
  /** Bytes that arrived right after the handshake, before this wire existed. */
  initial?: Buffer
  logger?: Logger
}

export interface RecordStats {
  recordsIn: number
  recordsOut: number
  rekeysIn: number
  rekeysOut: number
}

export interface RecordWire extends Wire {
  stats: () => RecordStats
}

/**
 * `socket` must be paused (the handshake reader leaves it so); reading resumes once the session
 * has registered its data callback, after any `initial` bytes were delivered.
 */
export function recordWire (socket: Socket, options: RecordWireOptions): RecordWire {
  const limits = options.limits ?? DEFAULT_RECORD_LIMITS
  const sealer = options.ciphers === undefined ? undefined : new RecordSealer(options.ciphers.send, limits)
  // Pooled reads (a socket made with a PooledReader) go back to the pool once opened.
  const opener = options.ciphers === undefined ? undefined : new RecordOpener(options.ciphers.recv, limits, releaseRead)
  let lastError: Error | undefined
  let failure: TunnelError | undefined
  /** The session asked to stop reading; reading starts (onData) or resumes only without it. */
  let paused = false
  let reading = false
  socket.on('error', (err) => { lastError = err })

  const fail = (err: unknown): void => {
    if (failure !== undefined) return
    failure = err instanceof TunnelError ? err : new TunnelError('TUN_RECORD_AUTH', String(err), { cause: err })
    options.logger?.warn({ code: failure.code, recordsIn: opener?.records ?? 0 }, 'closing the control connection: the record stream failed')
    socket.destroy()
  }

  const open = (chunk: Buffer, deliver: (plain: Buffer) => void): void => {
    if (failure !== undefined) return
    if (opener === undefined) { deliver(chunk); return }
    let plain: Buffer[]
    try {
      plain = opener.push(chunk)
    } catch (err) {
      fail(err)
      return
    }
    for (const p of plain) {
      if (failure !== undefined || socket.destroyed) return
      deliver(p)
    }
  }

  return {
    // Sealing copies every byte into ciphertext before write() returns; plaintext is written by reference.
    copiesOnWrite: sealer !== undefined,
    write (chunks) {
      if (socket.destroyed || failure !== undefined) return
      let out: Buffer[]
      if (sealer === undefined) out = chunks
      else {
        try {
          out = sealer.seal(chunks)
        } catch (err) {
          fail(err)
          return
        }
      }
      if (out.length === 1) { socket.write(out[0] as Buffer); return }
      socket.cork()
      for (const b of out) socket.write(b)
      socket.uncork()
    },
    pendingBytes: () => socket.writableLength,
    takenBytes: () => socket.bytesWritten - socket.writableLength,
    onData (cb) {
      const initial = options.initial
      setImmediate(() => {
        if (initial !== undefined && initial.length > 0) open(initial, cb)
        socket.on('data', (chunk: Buffer) => { open(chunk, cb) })
        reading = true
        if (!paused) socket.resume()
      })
    },
    pauseReading () {
      paused = true
      socket.pause()
    },
    resumeReading () {
      paused = false
      if (reading) socket.resume()
    },
    onDrain (cb) { socket.on('drain', cb) },
    onClose (cb) {
      socket.on('close', () => {
        cb(failure ?? closeReason(lastError))
      })
    },
    close (abort) { closeSocket(socket, abort) },
    stats: () => ({
      recordsIn: opener?.records ?? 0,
      recordsOut: sealer?.records ?? 0,
      rekeysIn: opener?.rekeys ?? 0,
      rekeysOut: sealer?.rekeys ?? 0,
    }),
  }
}
