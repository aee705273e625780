// The admin API's endpoints as typed calls: each checks the status code and the shape of the
// answer, and turns anything unexpected into a TunnelError that says what happened.
import { type DiagReport, REPORT_SCHEMA, parsePeerView } from '../diag/index.js'
import { TunnelError } from '../errors.js'
import { adminRequest, replyError, type AdminReply } from './client.js'
import { parseReloadOutcome, type ReloadOutcome } from './reload.js'
import { DIAG_PATH, MAX_API_DIAG_WATCH_S, RELOAD_PATH, STATUS_PATH } from './endpoints.js'
import { statusReportSchema, type StatusReport } from './status.js'
import type { AdminTarget } from './target.js'

function unexpected (target: AdminTarget, what: string, reply: AdminReply): TunnelError {
  return new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered ${what} with ${reply.status}: ${replyError(reply)}`)
}

export async function fetchStatus (target: AdminTarget): Promise<StatusReport> {
  const reply = await adminRequest(target, STATUS_PATH)
  if (reply.status !== 200) throw unexpected(target, 'GET /api/status', reply)
  const parsed = statusReportSchema.safeParse(reply.data)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    throw new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered a status of another shape (${first?.path.join('.') ?? ''}: ${first?.message ?? ''}); is it another version of tunnel?`)
  }
  return parsed.data
}

/** The diagnostics report the process makes of its own sockets, sampled over `watchS` seconds. */
export async function fetchDiag (target: AdminTarget, watchS: number): Promise<DiagReport> {
  const s = Math.min(Math.max(0, watchS), MAX_API_DIAG_WATCH_S)
  const reply = await adminRequest(target, `${DIAG_PATH}?watch=${s}`, { timeoutMs: (s + 15) * 1000 })
  if (reply.status !== 200) throw unexpected(target, 'GET /api/diag', reply)
  const d = reply.data as Partial<DiagReport> | null
  if (d === null || typeof d !== 'object' || d.schema !== REPORT_SCHEMA || !Array.isArray(d.findings)) {
    throw new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered a diagnostics report of another shape; is it another version of tunnel?`)
  }
  const report = d as DiagReport
  // The relay's side came from another process: checked field by field like any peer's answer.
  const side: unknown = report.relaySide
  if (side !== undefined) {
    const error = side !== null && typeof side === 'object' && 'error' in side ? side.error : undefined
    report.relaySide = typeof error === 'string' ? { error: error.slice(0, 600) } : parsePeerView(side)
  }
  return report
}

/** POST /api/reload: the outcome (ok or refused); TUN_RELOAD_UNAVAILABLE when the process has no reload. */
export async function postReload (target: AdminTarget, timeoutMs = 30_000): Promise<ReloadOutcome> {
  const reply = await adminRequest(target, RELOAD_PATH, { method: 'POST', timeoutMs })
  if (reply.status === 404) {
    throw new TunnelError('TUN_RELOAD_UNAVAILABLE', `the process at ${target.label} does not offer reload (a relay, or a client without hot reload): restart it to apply a new config`)
  }
  if (reply.status !== 200 && reply.status !== 422) throw unexpected(target, 'POST /api/reload', reply)
  const outcome = parseReloadOutcome(reply.data)
  if (outcome === undefined) throw new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered the reload with an unexpected shape`)
  return outcome
}
