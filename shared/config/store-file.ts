// frpc's `store: { path }` (frp's Store API): a JSON file of proxies and visitors that the admin
// API adds, changes and removes at run time (client/store.ts), and that joins the config at start
// and on every reload like an included file, each problem at its own file:line:col. A store file
// that does not exist yet is an empty store, as in frp.
import { readFileSync, statSync } from 'node:fs'
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import { keyFilePath } from './keys.js'
import { locate } from './locate.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'

/** The store file's size at most (thousands of proxies). */
export const MAX_STORE_FILE_BYTES = 4 * 1024 * 1024

/** The store file `store.path` names (relative to the config's folder), or null without one. */
export function storeFilePath (configFile: string, path: string | undefined): string | null {
  return path === undefined || path === '' ? null : keyFilePath(configFile, path)
}

/** The store file's text to join the config, nothing when it does not exist, or why it cannot be read. */
export function readStoreFile (ctx: CheckContext): { file?: { path: string, text: string }, issues: ConfigIssue[] } {
  const raw = valueAt(ctx.data, ['store', 'path'])
  const path = storeFilePath(ctx.map.file, typeof raw === 'string' ? raw : undefined)
  if (path === null) return { issues: [] }
  const problem = (message: string): { issues: ConfigIssue[] } => ({ issues: [{ code: 'TUN_CONFIG_READ', message, location: locate(ctx.doc, ctx.map, ['store', 'path'], { key: false }) }] })
  try {
    const st = statSync(path)
    if (!st.isFile()) return problem(`${path} is not a regular file`)
    if (st.size > MAX_STORE_FILE_BYTES) return problem(`${path} is ${st.size} bytes, more than a store file may have (${MAX_STORE_FILE_BYTES})`)
    const text = readFileSync(path, 'utf8')
    return { file: { path, text: text.trim() === '' ? '{}' : text }, issues: [] }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { issues: [] } // an empty store: the first change creates the file
    return problem(`cannot read ${path} (${code ?? String(err)})`)
  }
}

/** store.path where the API cannot change the store: no admin API, or one without credentials. */
export function storeWarnings (ctx: CheckContext): Array<{ message: string, location: ConfigLocation }> {
  const path = valueAt(ctx.data, ['store', 'path'])
  if (ctx.side !== 'client' || typeof path !== 'string' || path === '') return []
  const w = valueAt(ctx.data, ['webServer'])
  const at = locate(ctx.doc, ctx.map, ['store', 'path'])
  if (!isRecord(w) || !Number.isInteger(w.port)) return [{ message: 'store.path is set but webServer.port is not: the stored proxies are loaded, but no API can change them', location: at }]
  const set = (k: string): boolean => typeof w[k] === 'string' && w[k] !== ''
  if (set('password') || set('token')) return []
  return [{ message: 'the store API (/api/store/*) needs credentials: without webServer.password or webServer.token it answers 403 (TUN_ADMIN_CONFIG_LOCKED); the stored proxies are still loaded', location: at }]
}
