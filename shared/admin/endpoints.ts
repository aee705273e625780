// The admin API's paths and request bounds, shared by the server's routes and the CLI's calls.
export const STATUS_PATH = '/api/status'
export const DIAG_PATH = '/api/diag'
export const RELOAD_PATH = '/api/reload'
export const METRICS_PATH = '/metrics'

/** The longest sampling window /api/diag accepts (a request must not hold a connection long). */
export const MAX_API_DIAG_WATCH_S = 60
export const DEFAULT_API_DIAG_WATCH_S = 1

/** The dashboard's page (its assets are under /assets/). */
export const DASHBOARD_PATH = '/'
/** Traffic per proxy over the last hour (shared/admin/history.ts); ?since=T for newer samples only. */
export const HISTORY_PATH = '/api/history'
/** Client: the relay's view of the control connection over time (MSS, RTT, retransmits). */
export const PATH_HISTORY_PATH = '/api/path'
/** Client: the config file the client runs with (GET), checked (POST .../check) or applied (POST .../apply). */
export const CONFIG_PATH = '/api/config'
export const CONFIG_CHECK_PATH = '/api/config/check'
export const CONFIG_APPLY_PATH = '/api/config/apply'
