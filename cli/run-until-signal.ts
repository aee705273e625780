// Signals: the first SIGINT/SIGTERM starts a graceful stop; a second one exits at once (130).
// SIGHUP never ends the process: onHangup() gives it a job (the client reloads, the relay says
// it cannot). Install the handlers before anything announces readiness, so a supervisor that
// signals as soon as it sees "listening" still gets a graceful stop (or a reload).
import { ExitCode } from './exit-codes.js'
import type { Logger } from 'pino'

export { DEFAULT_GRACE_MS } from '../shared/timing.js'

/** Installs the handlers now; the promise resolves with the first signal's name. */
export function untilSignal (log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false
    const handler = (signal: NodeJS.Signals): void => {
      if (seen) {
        log.warn({ signal }, 'second signal: exiting now')
        process.exit(ExitCode.INTERRUPTED)
      }
      seen = true
      log.info({ signal }, 'shutting down gracefully (send the signal again to exit now)')
      resolve(signal)
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  })
}

/**
 * Runs `handler` on every SIGHUP instead of Node's default (exit). Returns the function that
 * removes it.
 */
export function onHangup (handler: () => void): () => void {
  process.on('SIGHUP', handler)
  return () => { process.off('SIGHUP', handler) }
}
