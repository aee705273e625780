// Is a file a relay's (frps) or a client's (frpc)? Decided by its top-level keys, read by parsing
// the file as frp would (TOML, YAML or JSON, after rendering its templates with placeholders), so
// `user = "admin"` inside a `[webServer]` table, an indented TOML file or a JSON file is judged by
// what its top level holds, not by how its lines start. The key sets come from the two schemas
// and the frp keys table, so a key added to either side counts at once. A file that parses as
// neither (a syntax error) is read line by line for top-level keys; a tie goes by the file name
// (frps* / frpc*), else client. `tunnel verify --kind` overrides all of it.
import { basename } from 'node:path'
import { parse as parseTomlText } from 'smol-toml'
import { parse as parseYamlText } from 'yaml'
import type { ConfigKind } from './load.js'
import { FRP_KEYS, schemaFor, type Side } from './schema.js'
import { renderTemplate } from './template.js'
import { isLegacyIni, legacyIniKind } from './legacy-ini.js'
import { isRecord, keysAt } from './validate.js'

/** Top-level keys only one side has (ours and frp's, supported or not). */
function sideOnlyKeys (side: Side): Set<string> {
  const other: Side = side === 'server' ? 'client' : 'server'
  const topLevel = (s: Side): Set<string> => new Set([
    ...keysAt(schemaFor(s), []),
    ...FRP_KEYS.filter((r) => r.sides.includes(s)).map((r) => r.path.split(/[.[]/)[0] ?? ''),
  ])
  const mine = topLevel(side)
  const theirs = topLevel(other)
  // Lower case: frp matches key names regardless of case (key-case.ts).
  return new Set([...mine].filter((k) => k !== '' && !theirs.has(k)).map((k) => k.toLowerCase()))
}

let keySets: { client: Set<string>, server: Set<string> } | undefined
function sets (): { client: Set<string>, server: Set<string> } {
  keySets ??= { client: sideOnlyKeys('client'), server: sideOnlyKeys('server') }
  return keySets
}

function parsedKeys (text: string, toml: boolean): string[] | undefined {
  try {
    const data: unknown = toml ? parseTomlText(text) : parseYamlText(text, { uniqueKeys: false, merge: true, maxAliasCount: 100 })
    return isRecord(data) ? Object.keys(data) : undefined
  } catch {
    return undefined
  }
}

/** Top-level keys by lines: `key:` at column 0 (YAML), `key =` before the first table, and table names (TOML). */
function scannedKeys (text: string): string[] {
  const keys: string[] = []
  let inTable = false
  for (const line of text.split('\n')) {
    const table = /^\s*\[\[?\s*["']?([A-Za-z0-9_-]+)/.exec(line)
    if (table !== null) { keys.push(table[1] ?? ''); inTable = true; continue }
    const yaml = /^["']?([A-Za-z][A-Za-z0-9_]*)["']?[ \t]*:/.exec(line)
    if (yaml !== null) { keys.push(yaml[1] ?? ''); continue }
    const toml = inTable ? null : /^\s*["']?([A-Za-z][A-Za-z0-9_-]*)["']?\s*[.=]/.exec(line)
    if (toml !== null) keys.push(toml[1] ?? '')
  }
  return keys
}

/** The file's top-level keys: parsed in the format its name says, then the other, then by lines. */
export function topLevelKeys (text: string, file: string): string[] {
  const rendered = renderTemplate(text, {}, { unsetAs: '0' }).text
  const toml = file.toLowerCase().endsWith('.toml')
  return parsedKeys(rendered, toml) ?? parsedKeys(rendered, !toml) ?? scannedKeys(rendered)
}

/** Server or client, from the top-level keys; then from the name (frps* / frpc*); else client. */
export function detectConfigKind (text: string, file: string): ConfigKind {
  // frp's legacy INI: by the keys only one side's [common] reads, and its sections.
  const legacy = isLegacyIni(text, file) ? legacyIniKind(renderTemplate(text, {}, { unsetAs: '0' }).text) : undefined
  if (legacy !== undefined) return legacy
  const keys = topLevelKeys(text, file).map((k) => k.toLowerCase())
  const { client, server } = sets()
  const c = keys.filter((k) => client.has(k)).length
  const s = keys.filter((k) => server.has(k)).length
  if (c !== s) return c > s ? 'client' : 'server'
  return basename(file).toLowerCase().startsWith('frps') ? 'server' : 'client'
}
