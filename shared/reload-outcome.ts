// What a reload of the client's proxies did (SIGHUP, `tunnel reload`, POST /api/reload).
// status: applied (everything in force), partial (the new list is in force but some proxy in it
// failed: refused by the relay or not answered), refused (the file or a setting was refused;
// nothing changed). Every error keeps its code: the CLI, the API and scripts decide by `code`,
// never by message text. `proxy` names the proxy as written in frpc.yml, or is null for an
// error about the whole file.
import type { ErrorCode } from './errors.js'

export type ReloadStatus = 'applied' | 'partial' | 'refused'

export interface ReloadError {
  proxy: string | null
  /** The visitor (frpc.yml's visitors:) the error is about, when it is about one (proxy is then null). */
  visitor?: string
  code: ErrorCode
  message: string
}

export interface ReloadOutcome {
  status: ReloadStatus
  added: string[]
  removed: string[]
  changed: string[]
  errors: ReloadError[]
  /** What the reload did to the visitors (absent when it had none before or after). */
  visitors?: { added: string[], removed: string[], changed: string[] }
}

/** A refused reload: nothing was applied. */
export function refusedReload (errors: ReloadError[]): ReloadOutcome {
  return { status: 'refused', added: [], removed: [], changed: [], errors }
}
