// The client dashboard's config editor over the admin API: the routes and the shapes they
// answer. What a check or an apply does is the client's (client/config-editor.ts); these routes
// only carry text in and results out, and refuse everything while the API has no credentials
// (the file holds auth.token, and an API without credentials is open to every local user).
//   GET  /api/config         { file, format, text, revision }
//   POST /api/config/check   body: the text        → 200 ConfigCheck
//   POST /api/config/apply   body: the text, header If-Match: the revision it was edited from
//                            → 200 (applied, partial) / 422 (refused) ConfigApplied, 409 conflict
import type { ErrorCode } from '../errors.js'
import { CONFIG_APPLY_PATH, CONFIG_CHECK_PATH, CONFIG_PATH } from './endpoints.js'
import { errorResponse, json, type AdminResponse } from './http.js'
import type { ReloadOutcome } from './reload.js'
import type { AdminRequest, AdminRoute } from './server.js'

/** The largest config text the editor takes (frpc.yml files are a few KiB). */
export const MAX_CONFIG_BYTES = 256 * 1024

export interface ConfigText {
  /** The path the client was started with (-c). */
  file: string
  format: 'yaml' | 'toml'
  text: string
  /** SHA-256 of the text (hex): what apply must name in If-Match. */
  revision: string
}

/** One problem or warning at its place; line and col are 1-based, 0 when the problem has no place. */
export interface ConfigIssueAt {
  line: number
  col: number
  path: string
  /** null for a warning. */
  code: ErrorCode | null
  message: string
}

export interface ConfigCheck {
  ok: boolean
  errors: ConfigIssueAt[]
  warnings: ConfigIssueAt[]
}

export interface ConfigApplied {
  check: ConfigCheck
  /** The reload's outcome (status refused, with the check's errors, when nothing was written). */
  outcome: ReloadOutcome
  /** The file's revision afterwards (unchanged when nothing was written). */
  revision: string
  /** Where the previous file was kept, when one was written. */
  backup: string | null
}

export type ApplyResult = ConfigApplied | { conflict: string }

export interface ConfigEditorApi {
  read: () => Promise<ConfigText>
  check: (text: string) => ConfigCheck
  apply: (text: string, revision: string) => Promise<ApplyResult>
}

const locked = (): AdminResponse => errorResponse(403, 'TUN_ADMIN_CONFIG_LOCKED', 'the config editor needs credentials on the admin API: set webServer.password or webServer.token and restart the client')

const textOf = (req: AdminRequest): string => req.body.toString('utf8')

/** The three routes; `editor` undefined (no credentials) answers 403 on each. */
export function configRoutes (editor: ConfigEditorApi | undefined): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: CONFIG_PATH,
      handle: async () => (editor === undefined ? locked() : json(200, await editor.read())),
    },
    {
      method: 'POST',
      path: CONFIG_CHECK_PATH,
      maxBodyBytes: MAX_CONFIG_BYTES,
      handle: (req) => (editor === undefined ? locked() : json(200, editor.check(textOf(req)))),
    },
    {
      method: 'POST',
      path: CONFIG_APPLY_PATH,
      maxBodyBytes: MAX_CONFIG_BYTES,
      handle: async (req) => {
        if (editor === undefined) return locked()
        const revision = (req.headers['if-match'] ?? '').replace(/^"|"$/g, '')
        if (revision === '') return errorResponse(428, 'TUN_ADMIN_REQUEST', 'apply needs If-Match: the revision of the text it was edited from (GET /api/config)')
        const r = await editor.apply(textOf(req), revision)
        if ('conflict' in r) return errorResponse(409, 'TUN_ADMIN_CONFIG_CONFLICT', r.conflict)
        return json(r.outcome.status === 'refused' ? 422 : 200, r)
      },
    },
  ]
}
