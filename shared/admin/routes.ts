// The admin API's endpoints, built from what the relay or client provides: a status report,
// a diagnostics target, the metrics, a reload handler. The composition root picks which exist.
//   GET  /api/status   the status report (shared/admin/status.ts)
//   GET  /api/diag     the diagnostics report of this process's own sockets (?watch=S, 0-60)
//   GET  /metrics      Prometheus text exposition
//   POST /api/reload   the reload outcome: 200 when applied (in full or in part), 422 when refused
//   GET  /api/history  traffic per proxy over the last hour (?since=T: only samples after T)
import { buildReport, collectFacts, type DiagTarget, type DiagReport } from '../diag/index.js'
import { DEFAULT_API_DIAG_WATCH_S, DIAG_PATH, HISTORY_PATH, MAX_API_DIAG_WATCH_S, METRICS_PATH, RELOAD_PATH, STATUS_PATH } from './endpoints.js'
import type { TrafficHistory } from './history.js'
import { errorResponse, json, text, type AdminResponse } from './http.js'
import type { ReloadHandler } from './reload.js'
import type { AdminRequest, AdminRoute } from './server.js'
import type { StatusReport } from './status.js'

export function statusRoute (report: () => Promise<StatusReport>): AdminRoute {
  return { method: 'GET', path: STATUS_PATH, handle: async () => json(200, await report()) }
}

/** What GET /metrics needs of the metrics (shared/metrics/TunnelMetrics): the exposition of a report. */
export interface MetricsSource {
  readonly contentType: string
  render: (report: () => Promise<StatusReport>) => Promise<string>
}

export function metricsRoute (metrics: MetricsSource, report: () => Promise<StatusReport>): AdminRoute {
  return { method: 'GET', path: METRICS_PATH, handle: async () => text(200, await metrics.render(report), metrics.contentType) }
}

/**
 * Every request runs its own reload: the handler queues them (client/reload-from-file.ts), and
 * each reads the file when its turn comes, so a request made after an edit applies that edit
 * (sharing a running reload's answer would not).
 */
export function reloadRoute (reload: ReloadHandler): AdminRoute {
  return {
    method: 'POST',
    path: RELOAD_PATH,
    handle: async () => {
      const o = await reload()
      return json(o.status === 'refused' ? 422 : 200, o)
    },
  }
}

/** `?watch=S` as milliseconds, or an error answer naming the bounds. */
export function parseWatch (req: AdminRequest): number | AdminResponse {
  const raw = req.query.get('watch')
  if (raw === null || raw === '') return DEFAULT_API_DIAG_WATCH_S * 1000
  const s = Number(raw)
  if (!Number.isFinite(s) || s < 0 || s > MAX_API_DIAG_WATCH_S) {
    return errorResponse(400, 'TUN_ADMIN_REQUEST', `watch=${raw.slice(0, 20)}: expected 0 to ${MAX_API_DIAG_WATCH_S} seconds`)
  }
  return Math.round(s * 1000)
}

/** One diagnostic at a time (each spawns ss); a second request meanwhile gets 429. */
/** `extra` adds to the report what only the running process can tell (the client: the relay's side). */
export function diagRoute (target: () => Promise<DiagTarget>, extra?: () => Promise<Partial<DiagReport>>): AdminRoute {
  let busy = false
  return {
    method: 'GET',
    path: DIAG_PATH,
    handle: async (req) => {
      const windowMs = parseWatch(req)
      if (typeof windowMs !== 'number') return windowMs
      if (busy) return errorResponse(429, 'TUN_ADMIN_REQUEST', 'a diagnostic is already running; try again when it is done', { 'retry-after': '1' })
      busy = true
      try {
        const facts = await collectFacts(await target(), { windowMs, signal: req.signal })
        return json(200, { ...buildReport(facts), ...(await extra?.()) })
      } finally {
        busy = false
      }
    },
  }
}

/** `?since=T` (ms since the epoch) as a number, 0 when absent, or an error answer. */
export function parseSince (req: AdminRequest): number | AdminResponse {
  const raw = req.query.get('since')
  if (raw === null || raw === '') return 0
  const t = Number(raw)
  if (!Number.isFinite(t) || t < 0) return errorResponse(400, 'TUN_ADMIN_REQUEST', `since=${raw.slice(0, 20)}: expected a time in ms since the epoch`)
  return t
}

export function historyRoute (history: TrafficHistory): AdminRoute {
  return {
    method: 'GET',
    path: HISTORY_PATH,
    handle: (req) => {
      const since = parseSince(req)
      return typeof since === 'number' ? json(200, history.report(since)) : since
    },
  }
}
