// The admin API's paths and request bounds, shared by the server's routes and the CLI's calls.
export const STATUS_PATH = '/api/status'
export const DIAG_PATH = '/api/diag'
export const RELOAD_PATH = '/api/reload'
export const METRICS_PATH = '/metrics'

/** The longest sampling window /api/diag accepts (a request must not hold a connection long). */
export const MAX_API_DIAG_WATCH_S = 60
export const DEFAULT_API_DIAG_WATCH_S = 1
