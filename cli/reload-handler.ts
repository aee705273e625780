// What POST /api/reload does in `tunnel client`: read and check the config file again; an
// invalid file is refused with its file:line:col errors (the running config stays), a valid one
// goes to `apply`, which changes the running client and says what it added, removed, changed.
import { loadClientConfig, type ClientConfig, type Env } from '../shared/config/index.js'
import type { ReloadHandler, ReloadOutcome } from '../shared/admin/reload.js'
import { ConfigError, formatConfigIssue } from '../shared/errors.js'

export type ApplyConfig = (next: ClientConfig) => Promise<ReloadOutcome>

export function reloadFromFile (file: string, apply: ApplyConfig, env: Env = process.env): ReloadHandler {
  return async () => {
    let next: ClientConfig
    try {
      next = (await loadClientConfig(file, env)).config
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      return { ok: false, added: [], removed: [], changed: [], errors: err.issues.map(formatConfigIssue) }
    }
    return await apply(next)
  }
}
