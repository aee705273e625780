// Settings other than `proxies` that differ between the running config and a new one (pure).
// They shape the connection (serverAddr, auth, clientID, user, transport.*, ...) or the
// process (log.level) and apply only when the client starts, so a reload that changes one is
// refused as a whole. Any top-level setting is covered, including ones added later: a setting
// nobody taught reload about needs a restart.
import type { ClientConfig } from '../../shared/config/index.js'
import { sameSettings } from './proxy-diff.js'

/** Not settings: where the file is, and the lists a reload applies. */
const RELOADABLE = new Set(['source', 'proxies', 'visitors'])

/** Dotted paths (`serverAddr`, `auth.token`, `transport.heartbeatInterval`) whose values differ. */
export function fixedSettingChanges (before: ClientConfig, after: ClientConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)])
  const out: string[] = []
  for (const key of keys) {
    if (RELOADABLE.has(key)) continue
    out.push(...differences(key, (before as unknown as Record<string, unknown>)[key], (after as unknown as Record<string, unknown>)[key]))
  }
  return out
}

function differences (path: string, a: unknown, b: unknown): string[] {
  if (sameSettings(a, b)) return []
  if (!isPlainObject(a) || !isPlainObject(b)) return [path]
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].flatMap((k) => differences(`${path}.${k}`, a[k], b[k]))
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype
}
