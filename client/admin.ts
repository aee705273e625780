// The client's admin API: status, diagnostics of its control connection (both ends: the relay's
// side is asked over the connection), /metrics (frp's client has no enablePrometheus, so it is
// always on with the admin API), the traffic history, the path's history, the dashboard, reload
// when a handler is given (the composition root decides how a reload is applied), and the
// config editor when the file is given and the API has credentials, and frp's Store API
// (/api/store/*) when store.path is set (also behind credentials).
import { configRoutes, storeRoutes, dashboardRoutes, diagRoute, historyRoute, json, metricsRoute, probeRtt, reloadRoute, roundMs, statusRoute, TrafficHistory, PATH_HISTORY_PATH, type AdminRoute, type AdminRouteSet, type ReloadHandler } from '../shared/admin/index.js'
import { TunnelMetrics } from '../shared/metrics/index.js'
import { adminOpenWithoutCredentials } from '../shared/config/index.js'
import { readWebAssets } from '../shared/web-assets.js'
import type { Client } from './client.js'
import { ConfigEditor } from './config-editor.js'
import { ProxyStore } from './store.js'
import { clientTarget } from './diag-target.js'
import { PATH_BUSY_RETRY_MS, PathHistory, pathFigures } from './path-history.js'
import { sleep } from '../shared/backoff.js'
import { TunnelError } from '../shared/errors.js'
import type { Logger } from 'pino'
import type { ClientStatus } from './status.js'

export interface ClientAdminOptions {
  /** POST /api/reload; without it the endpoint does not exist (404). */
  reload?: ReloadHandler
  /** The file the client runs with: the dashboard's editor edits it (needs `reload` and credentials). */
  configFile?: string
  log?: Logger
  /** The dashboard's built code (default: read from the package's dist/web/). */
  assets?: ReturnType<typeof readWebAssets>
}

export function clientAdminRoutes (client: Client, status: ClientStatus, options: ClientAdminOptions = {}): AdminRouteSet {
  const report = async (): ReturnType<ClientStatus['report']> => await status.report()
  const history = new TrafficHistory(() => status.proxyCounters())
  history.start()
  const path = new PathHistory(async () => {
    const session = client.session
    const [first, ping] = await Promise.all([client.relayView(), session === undefined || session.closed ? Promise.resolve(null) : probeRtt(session)])
    let view = first
    if (view instanceof TunnelError && view.code === 'TUN_RELAY_BUSY') {
      await sleep(PATH_BUSY_RETRY_MS)
      view = await client.relayView()
    }
    return { ...pathFigures(view), pingMs: roundMs(ping) }
  })
  const routes: AdminRoute[] = [
    statusRoute(report),
    diagRoute(async () => {
      const peer = client.relayPeer
      return await Promise.resolve(clientTarget(client.config, peer === undefined ? null : [peer], []))
    }, async () => {
      // The other end of the same connection, asked over it: both sides' MSS, path MTU, RTT.
      const view = await client.relayView()
      return { relaySide: view instanceof TunnelError ? { error: `${view.message} (${view.code})` } : view }
    }),
    // Open without credentials (non-loopback, no user/password/token): /metrics is all it serves, without series naming proxies or visitors.
    metricsRoute(new TunnelMetrics({ processMetrics: true, tenantLabels: client.config.webServer === null || !adminOpenWithoutCredentials(client.config.webServer) }), report),
    historyRoute(history),
    { method: 'GET', path: PATH_HISTORY_PATH, handle: async () => json(200, await path.report()) },
    ...dashboardRoutes('client', 'assets' in options ? options.assets : readWebAssets()),
  ]
  const { reload, configFile, log } = options
  if (reload !== undefined) routes.push(reloadRoute(reload))
  if (reload !== undefined && configFile !== undefined && log !== undefined) {
    const { password, token } = client.config.webServer ?? { password: '', token: '' }
    const editor = password !== '' || token !== '' ? new ConfigEditor({ file: configFile, running: () => client.config, reload, log }) : undefined
    routes.push(...configRoutes(editor))
  }
  const storeFile = client.config.store
  if (reload !== undefined && storeFile !== null && log !== undefined) {
    const { password, token } = client.config.webServer ?? { password: '', token: '' }
    const store = password !== '' || token !== '' ? new ProxyStore({ file: storeFile, running: () => client.config, reload, log }) : undefined
    routes.push(...storeRoutes(store))
  }
  return { routes, stop: () => { history.stop(); path.stop() } }
}
