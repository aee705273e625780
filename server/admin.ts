// The relay's admin API: which endpoints it serves and where their answers come from. Status,
// diagnostics, the traffic history and the dashboard always; /metrics with enablePrometheus; no
// reload (the relay does not reload).
import { dashboardRoutes, diagRoute, historyRoute, metricsRoute, statusRoute, TrafficHistory, type AdminRouteSet } from '../shared/admin/index.js'
import { TunnelMetrics } from '../shared/metrics/index.js'
import { adminOpenWithoutCredentials } from '../shared/config/index.js'
import { readWebAssets } from '../shared/web-assets.js'
import { relayProxyCounters, relayStatus } from './admin-status.js'
import { relayTarget } from './diag-target.js'
import type { Relay } from './relay.js'

export interface RelayAdminOptions {
  /** The dashboard's built code (default: read from the package's dist/web/). */
  assets?: ReturnType<typeof readWebAssets>
}

export function relayAdminRoutes (relay: Relay, options: RelayAdminOptions = {}): AdminRouteSet {
  const report = async (): ReturnType<typeof relayStatus> => await relayStatus(relay)
  const history = new TrafficHistory(() => relayProxyCounters(relay))
  history.start()
  const routes = [
    statusRoute(report),
    diagRoute(async () => await Promise.resolve(relayTarget(relay.config, [], relay.address?.port ?? relay.config.bindPort))),
    historyRoute(history),
    ...dashboardRoutes('relay', 'assets' in options ? options.assets : readWebAssets()),
  ]
  // Open without credentials (non-loopback, no user/password/token): /metrics is all it serves, without series naming tenants.
  const open = relay.config.webServer !== null && adminOpenWithoutCredentials(relay.config.webServer)
  if (relay.config.enablePrometheus) routes.push(metricsRoute(new TunnelMetrics({ processMetrics: true, tenantLabels: !open }), report))
  return { routes, stop: () => { history.stop() } }
}
