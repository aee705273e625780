// The Wire a direct (xtcp) mux session runs on: a udx stream (reliable, ordered, congestion
// controlled over the punched UDP path) carrying the same encrypted records as the control
// connection (shared/transport/record.ts), with the path's own keys (intro.ts). A record that
// fails authentication ends the path at once (TUN_RECORD_AUTH).
import type { UdxStream } from 'udx-native'
import { TunnelError } from '../../shared/errors.js'
import type { Wire } from '../../shared/mux/index.js'
import { CipherState, RecordOpener, RecordSealer } from '../../shared/transport/index.js'

export interface UdxWire extends Wire {
  /** Bytes of records written to the udx stream in all. */
  readonly bytesWritten: () => number
}

export function udxWire (stream: UdxStream, sendKey: Buffer, recvKey: Buffer): UdxWire {
  const sealer = new RecordSealer(new CipherState(sendKey))
  const opener = new RecordOpener(new CipherState(recvKey))
  let written = 0
  let failure: TunnelError | undefined
  let lastError: Error | undefined
  stream.on('error', (err) => { lastError = err })
  const pending = (): number => stream._writableState.buffered
  return {
    write (chunks) {
      if (stream.destroyed || failure !== undefined) return
      for (const b of sealer.seal(chunks)) {
        written += b.length
        stream.write(b)
      }
    },
    pendingBytes: pending,
    takenBytes: () => written - pending(),
    bytesWritten: () => written,
    onData (cb) {
      stream.on('data', (chunk: Buffer) => {
        if (failure !== undefined) return
        let plain: Buffer[]
        try {
          plain = opener.push(chunk)
        } catch (err) {
          failure = err instanceof TunnelError ? err : new TunnelError('TUN_RECORD_AUTH', String(err))
          stream.destroy()
          return
        }
        for (const p of plain) cb(p)
      })
    },
    onDrain (cb) { stream.on('drain', cb) },
    onClose (cb) {
      stream.on('close', () => {
        cb(failure ?? (lastError === undefined ? undefined : new TunnelError('TUN_SESSION_CLOSED', `the direct path failed: ${lastError.message}`, { cause: lastError })))
      })
    },
    pauseReading () { stream.pause() },
    resumeReading () { stream.resume() },
    close (abort) {
      if (abort) stream.destroy()
      else stream.end()
    },
  }
}
