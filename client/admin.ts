// The client's admin API: status, diagnostics of its control connection (both ends: the relay's
// side is asked over the connection), /metrics (frp's client
// has no enablePrometheus, so it is always on with the admin API), and reload when a handler is
// given (the composition root decides how a reload is applied).
import { type ReloadHandler, diagRoute, metricsRoute, reloadRoute, statusRoute, type AdminRoute } from '../shared/admin/index.js'
import { TunnelMetrics } from '../shared/metrics/index.js'
import type { Client } from './client.js'
import { clientTarget } from './diag-target.js'
import { TunnelError } from '../shared/errors.js'
import type { ClientStatus } from './status.js'

export interface ClientAdminOptions {
  /** POST /api/reload; without it the endpoint does not exist (404). */
  reload?: ReloadHandler
}

export function clientAdminRoutes (client: Client, status: ClientStatus, options: ClientAdminOptions = {}): AdminRoute[] {
  const report = async (): ReturnType<ClientStatus['report']> => await status.report()
  const routes = [
    statusRoute(report),
    diagRoute(async () => {
      const peer = client.relayPeer
      return await Promise.resolve(clientTarget(client.config, peer === undefined ? null : [peer], []))
    }, async () => {
      // The other end of the same connection, asked over it: both sides' MSS, path MTU, RTT.
      const view = await client.relayView()
      return { relaySide: view instanceof TunnelError ? { error: `${view.message} (${view.code})` } : view }
    }),
    metricsRoute(new TunnelMetrics({ processMetrics: true }), report),
  ]
  if (options.reload !== undefined) routes.push(reloadRoute(options.reload))
  return routes
}
