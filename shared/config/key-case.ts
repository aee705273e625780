// frp decodes its files with Go's encoding/json, which matches key names regardless of case: frp's
// own e2e tests write `subdomainHost` for subDomainHost, and users write `localIp` or `serveraddr`.
// A key that differs from a known key only in case is read as that key, with a warning saying
// how to write it; a key that is also present in its right case is left alone (and reported as
// unknown). Keys inside free-form maps (requestHeaders.set, metadatas, ...) are never touched.
import { z } from 'zod'
import type { ConfigWarning } from './checks.js'
import { locate, type ConfigPath } from './locate.js'
import { schemaFor } from './schema.js'
import { isRecord, keysAt, schemaAt, type CheckContext } from './validate.js'

/** Renames case-variant keys in ctx.data to their known spelling; one warning per key renamed. */
export function foldKeyCase (ctx: CheckContext): ConfigWarning[] {
  const root = schemaFor(ctx.side)
  const warnings: ConfigWarning[] = []
  const walk = (value: unknown, path: ConfigPath): void => {
    if (Array.isArray(value)) { value.forEach((v, i) => { walk(v, [...path, i]) }); return }
    if (!isRecord(value)) return
    const s = schemaAt(root, path)
    if (!(s instanceof z.ZodObject) && !(s instanceof z.ZodUnion)) return
    const known = keysAt(root, path)
    for (const key of Object.keys(value)) {
      let name = key
      if (!known.includes(key)) {
        const same = known.filter((k) => k.toLowerCase() === key.toLowerCase())
        const canonical = same[0]
        if (same.length === 1 && canonical !== undefined && !Object.hasOwn(value, canonical)) {
          warnings.push({ message: `${key} is read as ${canonical} (frp matches key names regardless of case); write ${canonical}`, location: locate(ctx.doc, ctx.map, [...path, key], { key: true }) })
          value[canonical] = value[key]
          delete value[key]
          name = canonical
        }
      }
      walk(value[name], [...path, name])
    }
  }
  walk(ctx.data, [])
  return warnings
}
