// Starting the admin API of a relay or client (webServer in its config): off when the config has
// none. The bind rules were checked when the config loaded; AdminServer checks them again.
import { ExitCode } from './exit-codes.js'
import type { Logger } from 'pino'
import type { AdminServer, AdminRouteSet } from '../shared/admin/index.js'
import type { AdminConfig } from '../shared/config/index.js'
import { TunnelError } from '../shared/errors.js'

export type AdminStart = { ok: true, server: AdminServer | undefined } | { ok: false, exitCode: number }

/**
 * Starts the API, or says which exit code the command should end with (2 refused, 1 bind failure).
 * `routes` loads the routes' modules (the metrics registry, the dashboard) only when the API is on.
 */
export async function startAdminServer (admin: AdminConfig | null, routes: () => Promise<AdminRouteSet>, log: Logger): Promise<AdminStart> {
  if (admin === null) return { ok: true, server: undefined }
  const built = await routes()
  const { AdminServer } = await import('../shared/admin/index.js')
  const server = new AdminServer({
    addr: admin.addr,
    port: admin.port,
    credentials: { user: admin.user, password: admin.password, token: admin.token },
    routes: built.routes,
    log,
    logFields: { endpoints: built.routes.filter((r) => !r.path.startsWith('/assets/')).map((r) => `${r.method} ${r.path}`) },
    ...(built.stop === undefined ? {} : { onClose: built.stop }),
  })
  try {
    await server.start()
    return { ok: true, server }
  } catch (err) {
    built.stop?.()
    if (!(err instanceof TunnelError)) throw err
    log.error({ code: err.code }, `admin API: ${err.message}`)
    process.stderr.write(`tunnel: admin API: ${err.message} (${err.code})\n`)
    return { ok: false, exitCode: err.code === 'TUN_ADMIN_INSECURE' ? ExitCode.REFUSED : ExitCode.FAILED }
  }
}
