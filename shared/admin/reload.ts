// What a reload did, as POST /api/reload answers it and `tunnel reload` prints it. The client's
// reload logic produces it; the admin API and the CLI only carry and show it.

import type { ReloadOutcome } from '../reload-outcome.js'

export type { ReloadOutcome }

export type ReloadHandler = () => Promise<ReloadOutcome>

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')

/** A ReloadOutcome from untrusted JSON, or undefined when it does not have that shape. */
export function parseReloadOutcome (data: unknown): ReloadOutcome | undefined {
  if (data === null || typeof data !== 'object') return undefined
  const d = data as Record<string, unknown>
  if (typeof d.ok !== 'boolean' || !isStringArray(d.added) || !isStringArray(d.removed) || !isStringArray(d.changed) || !isStringArray(d.errors)) return undefined
  return { ok: d.ok, added: d.added, removed: d.removed, changed: d.changed, errors: d.errors }
}

/** `reload: ok (added web, removed -, changed ssh)` or `reload refused:` + one error per line. */
export function formatReloadOutcome (o: ReloadOutcome): string {
  const list = (names: string[]): string => (names.length === 0 ? '-' : names.join(', '))
  if (o.ok) {
    const nothing = o.added.length + o.removed.length + o.changed.length === 0
    return nothing ? 'reload: ok, nothing changed\n' : `reload: ok\n  added    ${list(o.added)}\n  removed  ${list(o.removed)}\n  changed  ${list(o.changed)}\n`
  }
  if (isPartial(o)) {
    // The new list is in force; only the proxies named in the errors did not come up (or down).
    return `reload applied in part:\n  added    ${list(o.added)}\n  removed  ${list(o.removed)}\n  changed  ${list(o.changed)}\n  failed:\n${o.errors.map((e) => `    ${e}`).join('\n')}\n`
  }
  return `reload refused; the running config stays:\n${o.errors.map((e) => `  ${e}`).join('\n')}\n`
}

/** Not ok, but changes were applied: some proxy was refused by the relay or not answered. */
export function isPartial (o: ReloadOutcome): boolean {
  return !o.ok && o.added.length + o.removed.length + o.changed.length > 0
}
