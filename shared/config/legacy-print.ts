// `tunnel verify --print-v1`: a legacy INI file as the frpc.yml / frps.yml that means the same, so
// users can migrate (frp ships no converter). The file's own text is converted without rendering
// its templates, so `{{ .Envs.TOKEN }}` stays a template and no environment value (a secret, often)
// lands in the output; a number or boolean given by a template is written bare, to be one once
// rendered. INI comments are not carried over.
import { stringify } from 'yaml'
import type { ConfigIssue } from '../errors.js'
import { convertLegacyIni } from './legacy-ini.js'
import { SourceMap } from './locate.js'
import type { Side } from './schema.js'

/** The v1 YAML of a legacy INI file, or the problems that kept it from converting. */
export function legacyIniAsV1Yaml (text: string, file: string, side: Side): { yaml: string } | { issues: ConfigIssue[] } {
  const converted = convertLegacyIni(text, side)
  if (converted.issues.length > 0) {
    const map = new SourceMap(file, text)
    return { issues: converted.issues.map((i) => ({ code: i.code, message: i.message, location: map.at(i.offset, '') })) }
  }
  const bare: string[] = []
  for (const path of converted.templated) {
    const holder = parentOf(converted.data, path)
    if (holder === undefined) continue
    bare.push(String(holder.obj[holder.key]))
    holder.obj[holder.key] = `__TUNNEL_BARE_${bare.length - 1}__`
  }
  let yaml = stringify(converted.data, { lineWidth: 0 })
  bare.forEach((raw, i) => { yaml = yaml.replace(`__TUNNEL_BARE_${i}__`, raw) })
  const name = side === 'client' ? 'frpc.yml' : 'frps.yml'
  return { yaml: `# ${name}: converted from ${file} (frp's legacy INI) by tunnel verify --print-v1\n${yaml}` }
}

/** The object holding the last segment of `path` (`proxies[1].localPort`), and that segment. */
function parentOf (data: Record<string, unknown>, path: string): { obj: Record<string | number, unknown>, key: string | number } | undefined {
  const segs = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1] ?? ''))
  let cur: unknown = data
  for (const seg of segs.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  const key = segs.at(-1)
  if (cur === null || typeof cur !== 'object' || key === undefined) return undefined
  return { obj: cur as Record<string | number, unknown>, key }
}
