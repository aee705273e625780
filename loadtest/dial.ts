// One TCP connection attempt with a timeout, recorded in the run's connect histogram. Failures
// come back as values (OpFailure), not exceptions: a load loop handles thousands of them.
import { connect, type Socket } from 'node:net'
import { OpFailure } from './error-kinds.js'
import type { RunState } from './run-state.js'
import type { Target } from './target.js'

/** Returned when the run ended while the operation was waiting. */
export const ABANDONED = Symbol('abandoned')
export type Abandoned = typeof ABANDONED

export function timeoutFailure (what: string, ms: number): OpFailure {
  return new OpFailure('timeout', `${what} took longer than ${ms} ms`)
}

export function dial (target: Target, timeoutMs: number, state: RunState): Promise<Socket | OpFailure | Abandoned> {
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true })
    const done = (result: Socket | OpFailure | Abandoned): void => {
      clearTimeout(timer)
      state.signal.removeEventListener('abort', onAbort)
      socket.off('connect', onConnect)
      socket.off('error', onError)
      if (result !== socket) {
        socket.on('error', () => {})
        socket.destroy()
      }
      resolve(result)
    }
    const onConnect = (): void => {
      state.recordConnect((performance.now() - started) * 1000)
      done(socket)
    }
    const onError = (err: Error): void => { done(OpFailure.from(err)) }
    const onAbort = (): void => { done(ABANDONED) }
    const timer = setTimeout(() => {
      if (state.open) state.connectTimeouts++
      done(timeoutFailure('connect', timeoutMs))
    }, timeoutMs)
    socket.once('connect', onConnect)
    socket.once('error', onError)
    if (state.signal.aborted) onAbort()
    else state.signal.addEventListener('abort', onAbort, { once: true })
  })
}
