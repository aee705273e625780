// The public face of shared/admin/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { MAX_API_DIAG_WATCH_S } from './endpoints.js'
export { kernelFacts, processFacts } from './process-facts.js'
export { fetchDiag, fetchStatus, postReload } from './queries.js'
export { type ReloadHandler, formatReloadOutcome } from './reload.js'
export { diagRoute, metricsRoute, reloadRoute, statusRoute } from './routes.js'
export { probeRtt, roundMs } from './rtt.js'
export { type AdminRoute, AdminServer } from './server.js'
export { PROXY_PHASES, type ProxyState, type ProxyStatus, STATUS_SCHEMA, type SessionStatus, type StatusReport } from './status.js'
export { VISITOR_PHASES, type VisitorStatus } from './status.js'
export { formatBytes, renderStatus } from './status-text.js'
export { type AdminTarget, adminTargetFromConfig, parseAdminUrl } from './target.js'
