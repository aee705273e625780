// Joins two mux streams of two sessions (the relay's half of a visit: the visitor client's
// stream and the stream toward the home client), byte for byte in both directions, with flow
// control end to end: bytes from one stream are credited back to its sender only once the other
// stream has queued them below its mark (or taken them out of its queue), so a slow reader on
// one side slows the writer on the other and nothing is buffered beyond one window and one
// queue per direction. FIN travels as FIN; a reset or a session's end travels as a reset (the
// refusal codes keep their meaning: REFUSED, FORBIDDEN, RATE_LIMITED).
//
// With a bandwidth limiter (a token bucket shared by the proxy's visits) both directions are
// paced by holding credit back: the bytes already sent go on, the sender waits for its window.
import type { ErrorCode, TunnelError } from '../errors.js'
import type { TokenBucket } from '../limit/index.js'
import { ResetCode } from '../wire/index.js'
import type { MuxStream } from './stream.js'

export interface JoinResult {
  /** Payload bytes that went from `a` to `b`, and back. */
  bytesAtoB: number
  bytesBtoA: number
  /** Why the join ended, when not by both FINs: the first stream's error. */
  error: TunnelError | undefined
}

export interface JoinOptions {
  /** Paces both directions together (frp's transport.bandwidthLimit, server mode). */
  limiter?: TokenBucket | undefined
}

/** The reset that tells one side why the other side's stream ended. */
const RESET_FOR: Partial<Record<ErrorCode, number>> = {
  TUN_LOCAL_DIAL: ResetCode.REFUSED,
  TUN_VISIT_REFUSED: ResetCode.FORBIDDEN,
  TUN_VISIT_RATE_LIMITED: ResetCode.RATE_LIMITED,
}

/** The reset code that carries `err` on: REFUSED, FORBIDDEN or RATE_LIMITED as they came, else CANCEL. */
export function resetCodeFor (err: TunnelError): number {
  return RESET_FOR[err.code] ?? ResetCode.CANCEL
}

interface Direction {
  bytes: number
  data: (chunk: Buffer) => void
  /** The destination's queue drained below its mark. */
  drained: () => void
  stop: () => void
}

function direction (src: MuxStream, dst: MuxStream, limiter: TokenBucket | undefined): Direction {
  let held = 0
  let dstBlocked = false
  let timer: NodeJS.Timeout | undefined
  const release = (): void => {
    if (held === 0 || dstBlocked || timer !== undefined || src.closed) return
    const wait = limiter?.delayMs() ?? 0
    if (wait > 0) {
      timer = setTimeout(() => { timer = undefined; release() }, wait)
      return
    }
    const n = held
    held = 0
    src.consume(n)
  }
  const d: Direction = {
    bytes: 0,
    data (chunk) {
      d.bytes += chunk.length
      if (!dst.write(chunk)) dstBlocked = true
      held += chunk.length
      limiter?.charge(chunk.length)
      release()
    },
    drained () {
      dstBlocked = false
      release()
    },
    stop () {
      clearTimeout(timer)
      timer = undefined
    },
  }
  return d
}

export function joinStreams (a: MuxStream, b: MuxStream, done?: (result: JoinResult) => void, options: JoinOptions = {}): void {
  const ab = direction(a, b, options.limiter)
  const ba = direction(b, a, options.limiter)
  let aClosed = false
  let bClosed = false
  let error: TunnelError | undefined
  const finish = (): void => {
    if (!aClosed || !bClosed) return
    ab.stop()
    ba.stop()
    done?.({ bytesAtoB: ab.bytes, bytesBtoA: ba.bytes, error })
  }
  a.attach({
    data: (chunk) => { ab.data(chunk) },
    end: () => { b.end() },
    drain: () => { ba.drained() },
    close: (err) => {
      aClosed = true
      if (err !== undefined) {
        error ??= err
        b.reset(resetCodeFor(err))
      }
      finish()
    },
  })
  b.attach({
    data: (chunk) => { ba.data(chunk) },
    end: () => { a.end() },
    drain: () => { ab.drained() },
    close: (err) => {
      bClosed = true
      if (err !== undefined) {
        error ??= err
        a.reset(resetCodeFor(err))
      }
      finish()
    },
  })
}
