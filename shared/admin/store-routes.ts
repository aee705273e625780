// frp's Store API on the client's admin API (store.path set): proxies and visitors added, changed
// and removed at run time, in frp's request shapes, so frp's web UI habits and scripts work:
//   GET    /api/store/proxies          { proxies: [definition, ...] } sorted by name
//   POST   /api/store/proxies          body: a definition → 200 the definition (+ reload outcome)
//   GET    /api/store/proxies/NAME     the definition, 404 when the store has none
//   PUT    /api/store/proxies/NAME     body: the definition (same name) → 200
//   DELETE /api/store/proxies/NAME     → 200
// and the same under /api/store/visitors. A definition is `{ name, type, <type>: { ...frp keys } }`
// (exactly one block, named by the type). These routes only check shapes and carry results; the
// store itself (file, reload, rollback) is the client's (client/store.ts).
import type { ErrorCode } from '../errors.js'
import { errorResponse, json, type AdminResponse } from './http.js'
import type { ReloadOutcome } from './reload.js'
import type { AdminRequest, AdminRoute } from './server.js'

export const STORE_PROXIES_PATH = '/api/store/proxies'
export const STORE_VISITORS_PATH = '/api/store/visitors'

export type StoreKind = 'proxies' | 'visitors'

/** The types each list takes (frp's). */
export const STORE_TYPES: Readonly<Record<StoreKind, readonly string[]>> = {
  proxies: ['tcp', 'udp', 'http', 'https', 'tcpmux', 'stcp', 'sudp', 'xtcp'],
  visitors: ['stcp', 'sudp', 'xtcp'],
}

/** One proxy or visitor as the store file keeps it: frp's typed config, name and type included. */
export type StoreEntry = Record<string, unknown> & { name: string, type: string }

/** What a change did: the entry now in force and the reload's outcome, or why nothing changed. */
export type StoreChange =
  | { ok: true, entry: StoreEntry | null, outcome: ReloadOutcome }
  | { ok: false, status: 400 | 404 | 409 | 500, code: ErrorCode, message: string, outcome?: ReloadOutcome }

export interface ProxyStoreApi {
  list: (kind: StoreKind) => Promise<StoreEntry[]>
  get: (kind: StoreKind, name: string) => Promise<StoreEntry | undefined>
  create: (kind: StoreKind, entry: StoreEntry) => Promise<StoreChange>
  update: (kind: StoreKind, name: string, entry: StoreEntry) => Promise<StoreChange>
  remove: (kind: StoreKind, name: string) => Promise<StoreChange>
}

/** frp's definition of an entry: its name, type, and the block named by the type. */
export function definitionOf (entry: StoreEntry): Record<string, unknown> {
  return { name: entry.name, type: entry.type, [entry.type]: entry }
}

/**
 * The entry a request body defines, or why it is not one (frp's checks: a name, a known type,
 * exactly one type block and it matches the type; on update the URL's name is the body's).
 */
export function entryFromBody (kind: StoreKind, body: Buffer, pathName?: string): StoreEntry | string {
  const what = kind === 'proxies' ? 'proxy' : 'visitor'
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch (err) {
    return `the body is not JSON: ${(err as Error).message}`
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `the body must be a JSON object: { "name": ..., "type": ..., "<type>": { ... } }`
  const def = value as Record<string, unknown>
  if (typeof def.name !== 'string' || def.name.trim() === '') return `${what} name is required`
  const types = STORE_TYPES[kind]
  if (typeof def.type !== 'string' || !types.includes(def.type)) return `invalid ${what} type ${JSON.stringify(def.type ?? null)}: one of ${types.join(', ')}`
  if (pathName !== undefined && pathName !== def.name) return `${what} name in the URL (${pathName}) must match the name in the body (${def.name})`
  const blocks = types.filter((t) => def[t] !== undefined && def[t] !== null)
  if (blocks.length !== 1) return `exactly one ${what} type block is required (found ${blocks.length === 0 ? 'none' : blocks.join(', ')})`
  const [blockType] = blocks
  if (blockType !== def.type) return `${what} type block ${JSON.stringify(blockType)} does not match type ${JSON.stringify(def.type)}`
  const block = def[blockType]
  if (typeof block !== 'object' || block === null || Array.isArray(block)) return `the ${blockType} block must be an object of frp ${what} keys`
  return { ...(block as Record<string, unknown>), name: def.name, type: def.type }
}

const locked = (): AdminResponse => errorResponse(403, 'TUN_ADMIN_CONFIG_LOCKED', 'the store API needs credentials on the admin API (a change exposes local services): set webServer.password or webServer.token and restart the client')

/** The name in `/api/store/<kind>/NAME`, decoded, or an error answer. */
function nameIn (req: AdminRequest): string | AdminResponse {
  const raw = req.path.slice(req.path.lastIndexOf('/') + 1)
  try {
    return decodeURIComponent(raw)
  } catch {
    return errorResponse(400, 'TUN_ADMIN_REQUEST', 'the name in the URL is not valid percent-encoding')
  }
}

function answer (change: StoreChange): AdminResponse {
  if (!change.ok) {
    const body = { error: change.message, code: change.code, ...(change.outcome === undefined ? {} : { reload: change.outcome }) }
    return json(change.status, body)
  }
  return json(200, { ...(change.entry === null ? {} : definitionOf(change.entry)), reload: change.outcome })
}

/** The ten routes; `store` undefined (the API has no credentials) answers 403 on each. */
export function storeRoutes (store: ProxyStoreApi | undefined): AdminRoute[] {
  const routes: AdminRoute[] = []
  for (const kind of ['proxies', 'visitors'] as const) {
    const base = kind === 'proxies' ? STORE_PROXIES_PATH : STORE_VISITORS_PATH
    const what = kind === 'proxies' ? 'proxy' : 'visitor'
    const notFound = (name: string): AdminResponse => errorResponse(404, 'TUN_STORE_NOT_FOUND', `the store has no ${what} ${JSON.stringify(name)}`)
    routes.push(
      {
        method: 'GET',
        path: base,
        handle: async () => {
          if (store === undefined) return locked()
          const entries = await store.list(kind)
          return json(200, { [kind]: entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(definitionOf) })
        },
      },
      {
        method: 'POST',
        path: base,
        handle: async (req) => {
          if (store === undefined) return locked()
          const entry = entryFromBody(kind, req.body)
          if (typeof entry === 'string') return errorResponse(400, 'TUN_ADMIN_REQUEST', entry)
          return answer(await store.create(kind, entry))
        },
      },
      {
        method: 'GET',
        path: `${base}/*`,
        handle: async (req) => {
          if (store === undefined) return locked()
          const name = nameIn(req)
          if (typeof name !== 'string') return name
          const entry = await store.get(kind, name)
          return entry === undefined ? notFound(name) : json(200, definitionOf(entry))
        },
      },
      {
        method: 'PUT',
        path: `${base}/*`,
        handle: async (req) => {
          if (store === undefined) return locked()
          const name = nameIn(req)
          if (typeof name !== 'string') return name
          const entry = entryFromBody(kind, req.body, name)
          if (typeof entry === 'string') return errorResponse(400, 'TUN_ADMIN_REQUEST', entry)
          return answer(await store.update(kind, name, entry))
        },
      },
      {
        method: 'DELETE',
        path: `${base}/*`,
        handle: async (req) => {
          if (store === undefined) return locked()
          const name = nameIn(req)
          if (typeof name !== 'string') return name
          return answer(await store.remove(kind, name))
        },
      },
    )
  }
  return routes
}
