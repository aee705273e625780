// What a reload did, as POST /api/reload answers it and `tunnel reload` prints it. The client's
// reload logic produces it; the admin API and the CLI only carry and show it.
import { z } from 'zod'
import { isErrorCode } from '../errors.js'
import type { ReloadOutcome } from '../reload-outcome.js'
import { printable, quotedName } from '../diag/index.js'

export type { ReloadOutcome }

export type ReloadHandler = () => Promise<ReloadOutcome>

const names = z.array(z.string())
const reloadOutcomeSchema = z.object({
  status: z.enum(['applied', 'partial', 'refused']),
  added: names,
  removed: names,
  changed: names,
  errors: z.array(z.object({
    proxy: z.string().nullable(),
    visitor: z.string().optional(),
    // A code this CLI does not know (a newer client) is shown as a generic refusal.
    code: z.string().transform((c) => (isErrorCode(c) ? c : 'TUN_RELOAD_REFUSED' as const)),
    message: z.string(),
  })),
  visitors: z.object({ added: names, removed: names, changed: names }).optional(),
})

/** A ReloadOutcome from untrusted JSON, or undefined when it does not have that shape. */
export function parseReloadOutcome (data: unknown): ReloadOutcome | undefined {
  const r = reloadOutcomeSchema.safeParse(data)
  if (!r.success) return undefined
  const { visitors, errors, ...rest } = r.data
  return {
    ...rest,
    errors: errors.map(({ visitor, ...e }) => (visitor === undefined ? e : { ...e, visitor })),
    ...(visitors === undefined ? {} : { visitors }),
  }
}

/** `reload: applied (added web, removed -, changed ssh)`, `applied in part` with the failures, or `refused` with the errors. */
export function formatReloadOutcome (o: ReloadOutcome): string {
  const list = (items: string[]): string => (items.length === 0 ? '-' : items.map(quotedName).join(', '))
  const errors = o.errors.map((e) => `${e.proxy === null ? (e.visitor === undefined ? '' : `visitor ${quotedName(e.visitor)}: `) : `proxy ${quotedName(e.proxy)}: `}${printable(e.message)} (${e.code})`)
  const v = o.visitors
  const visitorChanges = v === undefined ? '' : `  visitors added ${list(v.added)}, removed ${list(v.removed)}, changed ${list(v.changed)}\n`
  const changes = `  added    ${list(o.added)}\n  removed  ${list(o.removed)}\n  changed  ${list(o.changed)}\n${visitorChanges}`
  switch (o.status) {
    case 'applied': {
      const nothing = o.added.length + o.removed.length + o.changed.length + (v === undefined ? 0 : v.added.length + v.removed.length + v.changed.length) === 0
      return nothing ? 'reload: applied, nothing changed\n' : `reload: applied\n${changes}`
    }
    case 'partial':
      // The new list is in force; only the proxies named in the errors did not come up (or down).
      return `reload applied in part:\n${changes}  failed:\n${errors.map((e) => `    ${e}`).join('\n')}\n`
    case 'refused':
      return `reload refused; the running config stays:\n${errors.map((e) => `  ${e}`).join('\n')}\n`
  }
}
