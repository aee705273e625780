// Which admin API a command talks to: `--admin URL` (credentials as URL userinfo or
// --admin-token), or the webServer block of the config file given with -c (the same file the
// relay or client runs with; its kind is detected from its keys). Also the exit code each
// admin failure means for these commands: 1 when the process cannot be reached, else 2.
import { ExitCode } from './exit-codes.js'
import { adminTargetFromConfig, parseAdminUrl, type AdminTarget } from '../shared/admin/index.js'
import { detectConfigKind, loadClientConfig, loadServerConfig, readConfigFile } from '../shared/config/index.js'
import { ConfigError, TunnelError } from '../shared/errors.js'

export interface AdminArgs {
  config?: string | undefined
  admin?: string | undefined
  adminToken?: string | undefined
}

export async function resolveAdminTarget (args: AdminArgs): Promise<AdminTarget> {
  if (args.admin !== undefined && args.admin !== '') return parseAdminUrl(args.admin, args.adminToken)
  if (args.config === undefined) throw new TunnelError('TUN_USAGE', 'name the process to ask: -c FILE (its frps.yml or frpc.yml, with webServer) or --admin http://HOST:PORT')
  const text = await readConfigFile(args.config)
  const kind = detectConfigKind(text, args.config)
  const admin = kind === 'server' ? (await loadServerConfig(args.config)).config.webServer : (await loadClientConfig(args.config)).config.webServer
  const target = adminTargetFromConfig(admin, args.config)
  if (args.adminToken === undefined || args.adminToken === '') return target
  return { ...target, authorization: `Bearer ${args.adminToken}` }
}

/** Prints why and returns the exit code: FAILED when unreachable, REFUSED for everything else (usage, config, auth, refusal). */
export function reportAdminFailure (command: string, err: unknown): ExitCode {
  if (err instanceof ConfigError) {
    process.stderr.write(`tunnel ${command}: invalid config\n${err.message}\n`)
    return ExitCode.REFUSED
  }
  if (!(err instanceof TunnelError)) throw err
  process.stderr.write(`tunnel ${command}: ${err.message} (${err.code})\n`)
  return err.code === 'TUN_ADMIN_UNREACHABLE' ? ExitCode.FAILED : ExitCode.REFUSED
}

/** The yargs options every admin-client command shares. */
export const ADMIN_OPTIONS = {
  admin: { type: 'string', describe: 'The admin API to ask, http://[USER:PASSWORD@]HOST:PORT (instead of reading webServer from -c). Credentials on the command line are visible in ps: prefer -c' },
  'admin-token': { type: 'string', describe: 'Bearer token for the admin API (webServer.token)' },
} as const
