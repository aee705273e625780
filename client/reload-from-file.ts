// One reload from frpc.yml, for SIGHUP and the admin API alike: read and check the file with the
// same loader as at start (so every problem carries file:line:col), then Client.reload. A file
// that does not load is refused with its errors and nothing changes. Reloads of one client run
// one at a time, file read included, so the last request sees the last file.
import type { Logger } from 'pino'
import { loadClientConfig, type Loaded, type ClientConfig } from '../shared/config/index.js'
import { ConfigError, formatConfigIssue, placeConfigIssue, TunnelError } from '../shared/errors.js'
import { refusedReload, type ReloadError, type ReloadOutcome } from '../shared/reload-outcome.js'

export type ClientConfigLoader = (file: string) => Promise<Loaded<ClientConfig>>

/** What a reload applies to: a Client, or a FleetClient (each of its connections). */
export interface Reloadable {
  reload: (next: ClientConfig) => Promise<ReloadOutcome>
}

const queues = new WeakMap<Reloadable, Promise<unknown>>()

/** Never rejects: every failure is in the outcome's errors (and logged at error level). */
export function reloadFromFile (client: Reloadable, configPath: string, log: Logger, load: ClientConfigLoader = loadClientConfig): Promise<ReloadOutcome> {
  const run = (queues.get(client) ?? Promise.resolve()).then(async () => await reloadOnce(client, configPath, log, load))
  queues.set(client, run.catch(() => {}))
  return run
}

async function reloadOnce (client: Reloadable, configPath: string, log: Logger, load: ClientConfigLoader): Promise<ReloadOutcome> {
  log.info({ file: configPath }, 'reloading the proxies')
  let loaded: Loaded<ClientConfig>
  try {
    loaded = await load(configPath)
  } catch (err) {
    const errors = describeLoadError(err, log)
    log.error({ file: configPath, errors: errors.map((e) => `${e.message} (${e.code})`) }, 'reload refused: the file is invalid; the running proxies are unchanged')
    return refusedReload(errors)
  }
  for (const w of loaded.warnings) {
    const { file, line, col, path } = w.location
    log.warn({ file, line, col, path }, w.message)
  }
  try {
    return await client.reload(loaded.config)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    log.error({ err: message }, 'reload failed')
    return refusedReload([{ proxy: null, code: err instanceof TunnelError ? err.code : 'TUN_RELOAD_REFUSED', message }])
  }
}

/** One error per problem (its place in the file in the message), each also logged at error level. */
function describeLoadError (err: unknown, log: Logger): ReloadError[] {
  if (err instanceof ConfigError) {
    return err.issues.map((issue) => {
      const { file, line, col, path } = issue.location
      log.error({ code: issue.code, file, line, col, path }, formatConfigIssue(issue))
      return { proxy: null, code: issue.code, message: placeConfigIssue(issue) }
    })
  }
  const code = err instanceof TunnelError ? err.code : 'TUN_CONFIG_READ'
  const message = err instanceof Error ? err.message : String(err)
  log.error({ code }, message)
  return [{ proxy: null, code, message }]
}
