// Root logger factory: pino JSON by default, pretty (in-process, synchronous) on a TTY.
// Logs go to stderr so stdout stays for results. Secrets are redacted by path.
import { createRequire } from 'node:module'
import { pino, type Logger, type LevelWithSilent } from 'pino'
import type { PrettyOptions, PrettyStream } from 'pino-pretty'

// pino-pretty (and its colour and date libraries) is loaded only when a log is pretty: a relay or
// client under a service manager logs JSON and never holds it (issue 21, idle memory).
const requireCjs = createRequire(import.meta.url)
const loadPretty = (): (options: PrettyOptions) => PrettyStream => requireCjs('pino-pretty') as (options: PrettyOptions) => PrettyStream

export type { Logger } from 'pino'
export type LogFormat = 'auto' | 'json' | 'pretty'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** Paths that may hold a secret anywhere in a logged object. */
export const REDACT_PATHS = [
  'token', '*.token', 'auth.token', '*.auth.token', 'privateKey', '*.privateKey', 'auth.privateKey',
  '*.auth.privateKey', 'psk', '*.psk', 'secretKey', '*.secretKey', 'config.auth.token', 'config.auth.privateKey',
  'password', '*.password',
]

export interface LoggerOptions {
  level?: LevelWithSilent
  format?: LogFormat
  /** The stream logs go to; defaults to stderr (fd 2). */
  fd?: number
}

export function createLogger (options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2
  const isTty = fd === 2 ? process.stderr.isTTY === true : process.stdout.isTTY === true
  const format = options.format ?? 'auto'
  const usePretty = format === 'pretty' || (format === 'auto' && isTty)
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  }
  if (usePretty) {
    const colorize = isTty && process.env.NO_COLOR === undefined
    const pretty = loadPretty()
    return pino(base, pretty({ sync: true, colorize, destination: fd, ignore: 'pid,hostname' }))
  }
  return pino(base, pino.destination({ fd, sync: true }))
}

/** A logger that drops everything: for library users and tests that pass none. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
