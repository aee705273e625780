// The relay's admin API: which endpoints it serves and where their answers come from. Status
// and diagnostics always; /metrics with enablePrometheus; no reload (the relay does not reload).
import { diagRoute, metricsRoute, statusRoute, type AdminRoute } from '../shared/admin/index.js'
import { TunnelMetrics } from '../shared/metrics/index.js'
import { relayStatus } from './admin-status.js'
import { relayTarget } from './diag-target.js'
import type { Relay } from './relay.js'

export function relayAdminRoutes (relay: Relay): AdminRoute[] {
  const report = async (): ReturnType<typeof relayStatus> => await relayStatus(relay)
  const routes = [
    statusRoute(report),
    diagRoute(async () => await Promise.resolve(relayTarget(relay.config, [], relay.address?.port ?? relay.config.bindPort))),
  ]
  if (relay.config.enablePrometheus) routes.push(metricsRoute(new TunnelMetrics({ processMetrics: true }), report))
  return routes
}
