// Turns zod issues into ConfigIssues that say where (file:line:col of the YAML node), what, and
// what to change; adds the checks one field cannot make alone (unique names, start <= end, ...).
// Every problem is collected; nothing stops at the first. Secret values are never echoed.

import { z } from 'zod'
import type { Document } from 'yaml'
import type { ConfigIssue, ErrorCode } from '../errors.js'
import { FRP_KEYS, SECRET_KEYS, schemaFor, type Side } from './schema.js'
import { locate, patternPath, type ConfigPath, type SourceMap } from './locate.js'
import { PLUGIN_TYPES, UNSUPPORTED_PLUGINS, isVirtualNet, pluginKeys } from './plugin-schema.js'

type ZodIssue = z.core.$ZodIssue

export interface CheckContext {
  side: Side
  doc: Document
  map: SourceMap
  /** The plain data zod saw (nulls and top-level `.` keys already removed). */
  data: unknown
  /** A file `includes` added: the including file's `user` (the owner of the proxies it adds). */
  includedBy?: { user: string }
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function valueAt (data: unknown, path: ConfigPath): unknown {
  let cur = data
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg]
    else if (isRecord(cur) && typeof seg === 'string' && Object.hasOwn(cur, seg)) cur = cur[seg]
    else return undefined
  }
  return cur
}

/** A short rendering of a value for a message; empty for secrets. */
function shown (path: ConfigPath, value: unknown): string {
  if (SECRET_KEYS.has(String(path.at(-1)))) return ''
  if (value === null || value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a number, boolean or bigint from YAML/TOML by now; TypeScript only knows `{}`
  return String(value)
}
const got = (path: ConfigPath, value: unknown): string => {
  const s = shown(path, value)
  return s === '' ? '' : `, got ${s}`
}

function issue (ctx: CheckContext, code: ErrorCode, path: ConfigPath, message: string, key = false): ConfigIssue {
  return { code, message, location: locate(ctx.doc, ctx.map, path, { key }) }
}

// ------------------------------------------------------------------ where a key may appear

function unwrap (schema: unknown): unknown {
  let s = schema
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap()
  return s
}

/** The schema at `path` (through objects, arrays and unions), or undefined. */
export function schemaAt (root: z.ZodType, path: ConfigPath): unknown {
  let s = unwrap(root)
  for (const seg of path) {
    if (s instanceof z.ZodArray) s = unwrap(s.element)
    else if (s instanceof z.ZodObject) s = Object.hasOwn(s.shape, String(seg)) ? unwrap(s.shape[String(seg)]) : undefined
    else if (s instanceof z.ZodUnion) {
      const options = s.options as readonly unknown[]
      s = unwrap(options.find((o) => o instanceof z.ZodObject && Object.hasOwn(o.shape, String(seg))))
      if (s instanceof z.ZodObject) s = unwrap(s.shape[String(seg)])
    } else return undefined
  }
  return s
}

/** The keys valid at `path`, e.g. `[]` → top-level keys. */
export function keysAt (root: z.ZodType, path: ConfigPath): string[] {
  const s = schemaAt(root, path)
  if (s instanceof z.ZodObject) return Object.keys(s.shape)
  if (s instanceof z.ZodUnion) {
    return [...new Set((s.options as readonly unknown[]).flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : [])))]
  }
  return []
}

/** Optimal string alignment distance (Levenshtein plus adjacent swaps). */
export function editDistance (a: string, b: string): number {
  const w = b.length + 1
  const d = new Array<number>((a.length + 1) * w).fill(0)
  const at = (i: number, j: number): number => d[i * w + j] ?? 0
  for (let i = 0; i <= a.length; i++) d[i * w] = i
  for (let j = 0; j <= b.length; j++) d[j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1)
      d[i * w + j] = v
    }
  }
  return at(a.length, b.length)
}

/** The known key a typo most likely meant (`bindAdur` → `bindAddr`, `local_port` → `localPort`). */
export function didYouMean (key: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[_-]/g, '')
  if (key.length > 64) return undefined
  const others = candidates.filter((c) => c !== key)
  const same = others.find((c) => norm(c) === norm(key))
  if (same !== undefined) return same
  let best: string | undefined
  let bestDistance = Math.min(2, Math.floor(key.length / 2))
  for (const c of others) {
    const distance = editDistance(key.toLowerCase(), c.toLowerCase())
    if (distance <= bestDistance) { best = c; bestDistance = distance - 1 }
  }
  return best
}

/** A table (or list of tables) with a proxy's keys: `[[rdp]]` or `[rdp]` written for `[[proxies]]`. */
function looksLikeProxies (value: unknown): boolean {
  const entries = Array.isArray(value) ? value : [value]
  return entries.length > 0 && entries.every((e) => isRecord(e) && ['name', 'type', 'localPort', 'localIP', 'remotePort'].some((k) => Object.hasOwn(e, k)))
}

function unknownKey (ctx: CheckContext, parent: ConfigPath, key: string): ConfigIssue {
  const path = [...parent, key]
  const pattern = patternPath(path)
  const other: Side = ctx.side === 'server' ? 'client' : 'server'
  const rows = FRP_KEYS.filter((r) => r.path === pattern)
  const refused = rows.find((r) => r.sides.includes(ctx.side))
  let message: string
  if (refused !== undefined) {
    message = `is an frp setting this version does not support yet: ${refused.why}`
  } else if (rows.some((r) => r.sides.includes(other)) || (parent.length === 0 && keysAt(schemaFor(other), []).includes(key))) {
    message = `is a ${other} setting (${other === 'server' ? 'frps' : 'frpc'}.yml), not a ${ctx.side} one; is this the right file?`
  } else if (parent.length === 0 && ctx.side === 'client' && looksLikeProxies(valueAt(ctx.data, path))) {
    message = `unknown key; in frp v1 every proxy is an entry of proxies (TOML: a [[proxies]] table with name = ${JSON.stringify(key)}; INI's [${key}] sections became these)`
  } else {
    // A plugin's keys depend on its type: suggest from that type's keys alone.
    const candidates = (patternPath(parent) === 'proxies[].plugin' ? pluginKeys(valueAt(ctx.data, [...parent, 'type'])) : undefined) ?? keysAt(schemaFor(ctx.side), parent)
    const guess = didYouMean(key, candidates)
    const ignored = new Set(FRP_KEYS.filter((r) => r.action === 'ignore').map((r) => r.path))
    const main = candidates.filter((c) => !ignored.has(patternPath([...parent, c])))
    message = guess !== undefined ? `unknown key; did you mean ${guess}?` : main.length > 0 ? `unknown key; valid keys here: ${main.join(', ')}` : 'unknown key'
  }
  return issue(ctx, 'TUN_CONFIG_UNKNOWN_KEY', path, message, true)
}

// ------------------------------------------------------------------ one zod issue → ours

const FRP_PROXY_TYPES = new Set<unknown>([])
/** The proxy types this version runs. */
const PROXY_TYPES: ReadonlySet<unknown> = new Set(['tcp', 'udp', 'http', 'https', 'tcpmux', 'stcp', 'sudp', 'xtcp'])
/** The visitor types this version runs. */
const VISITOR_TYPES: ReadonlySet<unknown> = new Set(['stcp', 'sudp', 'xtcp'])
const TRANSPORTS = new Set(['kcp', 'quic'])
const MISSING_HINTS: Record<string, string> = {
  'proxies[].name': 'every proxy needs a name',
  'proxies[].type': 'add `type: tcp`, `udp`, `http`, `https` or `tcpmux`',
  'proxies[].localPort': 'add the port of the local service',
  'visitors[].name': 'every visitor needs a name',
  'visitors[].type': 'add `type: stcp`, `sudp` or `xtcp` (the type of the proxy it visits)',
  'visitors[].serverName': 'name the secret proxy to visit',
  'visitors[].bindPort': 'add the local port applications connect to',
  'proxies[].plugin.localAddr': 'add host:port of the local service',
  'proxies[].plugin.localPath': 'add the folder to serve',
  'proxies[].plugin.unixPath': 'add the path of the Unix socket',
  'allowPorts[].start': 'a range needs both start and end',
  'allowPorts[].end': 'a range needs both start and end',
}
/** auth.method oidc: running the file without the check it asks for would be worse than refusing it. */
const OIDC_REFUSED = 'oidc is not supported: clients here prove themselves with auth.token (the handshake\'s pre-shared key) and their own key (auth.clientKeys on the relay), never an OIDC token, so this file would run without the authentication it asks for; use auth.method token'
const RANGE_SHAPE = 'must be { start: FROM, end: TO } or { single: PORT }'

function valueMessage (path: ConfigPath, value: unknown, values: readonly unknown[]): string {
  const v = typeof value === 'string' ? value : shown(path, value)
  switch (patternPath(path)) {
    case 'proxies[].type':
      if (FRP_PROXY_TYPES.has(v)) return `type ${String(v)} is an frp proxy type this version does not support; only tcp, udp, http, https, tcpmux, stcp, sudp and xtcp are`
      return `type ${v} is not a proxy type; use tcp, udp, http, https, tcpmux, stcp, sudp or xtcp`
    case 'visitors[].type':
      return `type ${v} is not a visitor type; use stcp, sudp or xtcp`
    case 'auth.method':
      return v === 'oidc' ? OIDC_REFUSED : `must be token${got(path, value)}`
    case 'transport.protocol':
      return TRANSPORTS.has(v) ? `${v} is not supported: Node.js 20 has no QUIC and there is no maintained KCP library for it; use tcp, websocket or wss (with transport.tls.enable for a TLS-looking connection)` : `must be tcp, websocket or wss${got(path, value)}`
    default:
      return `must be one of ${values.map(String).join(', ')}${got(path, value)}`
  }
}

function typeMessage (path: ConfigPath, value: unknown, expected: string): string {
  if (value === undefined) {
    const hint = MISSING_HINTS[patternPath(path)]
    return hint === undefined ? 'is missing' : `is missing: ${hint}`
  }
  const g = got(path, value)
  switch (expected) {
    case 'int':
    case 'number':
      if (typeof value === 'number') return `must be a whole number${g}`
      return typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? `must be a number, not a string (remove the quotes)${g}` : `must be a number${g}`
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' ? `must be a string (put it in quotes)${g}` : `must be a string${g}`
    case 'boolean':
      return `must be true or false${g}`
    case 'array':
      return `must be a list${g}`
    case 'object':
    case 'record':
      return `must be a mapping (key: value)${g}`
    default:
      return `must be ${expected}${g}`
  }
}

function rangeIssue (ctx: CheckContext, iss: ZodIssue & { code: 'too_small' | 'too_big' }, path: ConfigPath): ConfigIssue {
  const value = valueAt(ctx.data, path)
  if (iss.origin === 'string' && iss.code === 'too_big') return issue(ctx, 'TUN_CONFIG_INVALID', path, `is longer than ${String(iss.maximum)} characters${got(path, value)}`)
  if (iss.origin === 'string') return issue(ctx, 'TUN_CONFIG_INVALID', path, 'must not be empty')
  if (iss.origin === 'array') return issue(ctx, 'TUN_CONFIG_INVALID', path, `has the wrong number of items${got(path, value)}`)
  const s = schemaAt(schemaFor(ctx.side), path)
  const min = s instanceof z.ZodNumber && s.minValue !== null ? s.minValue : iss.code === 'too_small' ? iss.minimum : undefined
  const max = s instanceof z.ZodNumber && s.maxValue !== null ? s.maxValue : iss.code === 'too_big' ? iss.maximum : undefined
  const bounds = min !== undefined && max !== undefined ? `outside ${min}-${max}` : min !== undefined ? `below ${min}` : `above ${String(max)}`
  return issue(ctx, 'TUN_CONFIG_RANGE', path, `${shown(path, value)} is ${bounds}`)
}

/** A plugin whose type is missing or not one this version runs. */
function pluginTypeIssue (ctx: CheckContext, path: ConfigPath, value: unknown): ConfigIssue {
  const types = PLUGIN_TYPES.join(', ')
  if (value === undefined) return issue(ctx, 'TUN_CONFIG_INVALID', path, `is missing: a plugin needs a type (${types})`)
  if (typeof value === 'string' && Object.hasOwn(UNSUPPORTED_PLUGINS, value)) return issue(ctx, 'TUN_CONFIG_INVALID', path, `is an frp plugin this version does not support: ${UNSUPPORTED_PLUGINS[value] ?? ''}`)
  const guess = typeof value === 'string' ? didYouMean(value, PLUGIN_TYPES) : undefined
  return issue(ctx, 'TUN_CONFIG_INVALID', path, `${shown(path, value)} is not a plugin type; ${guess === undefined ? `use one of ${types}` : `did you mean ${guess}?`}`)
}

function unionIssues (ctx: CheckContext, iss: ZodIssue & { code: 'invalid_union' }, path: ConfigPath): ConfigIssue[] {
  const value = valueAt(ctx.data, path)
  if (patternPath(path) === 'proxies[].plugin.type') return [pluginTypeIssue(ctx, path, value)]
  if (!isRecord(value) || !['start', 'end', 'single'].some((k) => Object.hasOwn(value, k))) {
    return [issue(ctx, 'TUN_CONFIG_INVALID', path, `${RANGE_SHAPE}${got(path, value)}`)]
  }
  const branches = [...iss.errors].sort((a, b) => a.length - b.length)
  return (branches[0] ?? []).flatMap((e) => fromZod(ctx, e, path))
}

/** `{ single, start }` fails both union branches; say so once instead of per key. */
function mixedRange (ctx: CheckContext, path: ConfigPath): ConfigPath | undefined {
  const entry = path.slice(0, 2)
  if (path[0] !== 'allowPorts' || entry.length < 2) return undefined
  const value = valueAt(ctx.data, entry)
  return isRecord(value) && Object.hasOwn(value, 'single') && (Object.hasOwn(value, 'start') || Object.hasOwn(value, 'end')) ? entry : undefined
}

export function fromZod (ctx: CheckContext, iss: ZodIssue, prefix: ConfigPath = []): ConfigIssue[] {
  const path = [...prefix, ...iss.path]
  const value = valueAt(ctx.data, path)
  const mixed = mixedRange(ctx, path)
  if (mixed !== undefined) return [issue(ctx, 'TUN_CONFIG_INVALID', mixed, `${RANGE_SHAPE}, not both`)]
  switch (iss.code) {
    case 'unrecognized_keys':
      return iss.keys.map((k) => unknownKey(ctx, path, k))
    case 'invalid_union':
      return unionIssues(ctx, iss, path)
    case 'too_small':
    case 'too_big':
      return [rangeIssue(ctx, iss, path)]
    case 'invalid_value':
      if (value === undefined) return [issue(ctx, 'TUN_CONFIG_INVALID', path, typeMessage(path, value, ''))]
      return [issue(ctx, 'TUN_CONFIG_INVALID', path, valueMessage(path, value, iss.values))]
    case 'invalid_type':
      return [issue(ctx, 'TUN_CONFIG_INVALID', path, typeMessage(path, value, iss.expected))]
    case 'invalid_format':
      if (value === '') return [issue(ctx, 'TUN_CONFIG_INVALID', path, 'must not be empty')]
      if (patternPath(path) === 'proxies[].name') {
        return [issue(ctx, 'TUN_CONFIG_INVALID', path, `${shown(path, value)} is not a valid proxy name: use 1-64 characters`)]
      }
      return [issue(ctx, 'TUN_CONFIG_INVALID', path, `has the wrong format${got(path, value)}`)]
    case 'custom':
      return [issue(ctx, 'TUN_CONFIG_INVALID', path, `${iss.message}${got(path, value)}`)]
    default:
      return [issue(ctx, 'TUN_CONFIG_INVALID', path, `is not valid${got(path, value)}`)]
  }
}

// ------------------------------------------------------------------ the whole file

/**
 * Proxies whose type is a string other than tcp, udp, http, https, tcpmux, stcp and sudp, index →
 * disabled (`enabled: false`). Other issues under such a proxy are noise; a disabled one is
 * skipped entirely, so an frp file can keep, say, an xtcp proxy switched off. `list` visitors:
 * the same for visitors of a type other than stcp and sudp. A proxy or visitor with frp's
 * virtual_net plugin is skipped entirely too (true), with a warning.
 */
export function unsupportedProxies (data: unknown, list: 'proxies' | 'visitors' = 'proxies'): Map<number, boolean> {
  const out = new Map<number, boolean>()
  const known = list === 'proxies' ? PROXY_TYPES : VISITOR_TYPES
  const entries = valueAt(data, [list])
  if (Array.isArray(entries)) {
    entries.forEach((p, i) => {
      if (isRecord(p) && typeof p.type === 'string' && !known.has(p.type)) out.set(i, p.enabled === false)
      // frp's virtual_net is not started (virtual-net.ts warns): skipped whole, like a disabled entry.
      if (isVirtualNet(p)) out.set(i, true)
    })
  }
  return out
}

/** "localPort is missing" on a proxy with a plugin: frp's plugins serve the visitors themselves, so it is noise. */
function pluginLocalPort (ctx: CheckContext, iss: ZodIssue): boolean {
  if (iss.path.length !== 3 || iss.path[0] !== 'proxies' || iss.path[2] !== 'localPort') return false
  const p = valueAt(ctx.data, iss.path.slice(0, 2))
  return isRecord(p) && !Object.hasOwn(p, 'localPort') && isRecord(p.plugin)
}

/** Our issues for zod's, dropping the noise under proxies and visitors of an unsupported type. */
export function mapZodIssues (ctx: CheckContext, issues: readonly ZodIssue[]): ConfigIssue[] {
  const skip = { proxies: unsupportedProxies(ctx.data), visitors: unsupportedProxies(ctx.data, 'visitors') }
  const keep = (iss: ZodIssue): boolean => {
    if (pluginLocalPort(ctx, iss)) return false
    const list = iss.path[0] === 'proxies' || iss.path[0] === 'visitors' ? skip[iss.path[0]] : undefined
    const disabled = list?.get(iss.path[1] as number)
    return disabled === undefined || (disabled === false && iss.path[2] === 'type' && iss.path.length === 3)
  }
  return issues.filter(keep).flatMap((iss) => fromZod(ctx, iss))
}
