// One log line per refused or dropped handshake, rate-limited (a stranger decides how often
// they happen): warn with the code, the reason and the normalised source address; at most one
// line per (code, reason, source) per 10 s, with the count suppressed since the last one.
// A peer that closes early or does not speak the protocol at all (a port scanner) is debug.
import type { Logger } from 'pino'
import { HandshakeError, type TunnelError, type ErrorCode } from '../shared/errors.js'
import type { LogLimiter } from './log-limiter.js'

const QUIET_REASONS = new Set(['closed', 'magic'])

export interface RefusalFields {
  code: ErrorCode | undefined
  /** A reason word, or the error (its reason and message are logged). */
  reason: string | TunnelError
  source: string
  clientId?: string | undefined
}

export function logRefusal (log: Logger, limiter: LogLimiter, f: RefusalFields, msg: string): void {
  const reason = typeof f.reason === 'string' ? f.reason : f.reason instanceof HandshakeError ? f.reason.reason : f.reason.code
  const detail = typeof f.reason === 'string' ? undefined : f.reason.message
  const fields = { code: f.code, reason, source: f.source, clientId: f.clientId, detail }
  if (QUIET_REASONS.has(reason)) { log.debug(fields, msg); return }
  const suppressed = limiter.allow(`${f.code ?? ''}|${reason}|${f.source}`)
  if (suppressed === undefined) return
  log.warn({ ...fields, suppressed }, msg)
}
