// What a reload of the client's proxies did (SIGHUP, `tunnel reload`, POST /api/reload).
// `ok` is false when the new file was refused or a proxy could not be applied; `errors` says why,
// one line each. The names are proxy names as written in frpc.yml.

export interface ReloadOutcome {
  ok: boolean
  added: string[]
  removed: string[]
  changed: string[]
  errors: string[]
}
