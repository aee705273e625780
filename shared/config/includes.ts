// frpc's `includes: ["./confd/*.yml"]`: more files whose proxies (and visitors) join this one's.
// As in frp, wildcards (`*`, `?`, `[a-z]`, `[^x]`, Go's filepath.Match) may only be in the file
// name, and only `proxies` and `visitors` are taken from an included file; unlike frp, a relative
// pattern is relative to the folder of the file that names it (frp takes the working directory),
// files match in name order, and a missing folder is an error at the `includes` entry. The files
// are read synchronously: this runs at start and on reload, like the key files in keys.ts.
// load.ts parses each file with its own SourceMap, so every problem keeps its own file:line:col.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import type { ConfigIssue, ConfigLocation } from '../errors.js'
import type { ConfigWarning } from './checks.js'
import { locate, type ConfigPath } from './locate.js'
import { MAX_INCLUDE_PATTERNS } from './schema.js'
import { isRecord, valueAt, type CheckContext } from './validate.js'

/** Files all patterns together may include at most. */
export const MAX_INCLUDED_FILES = 256
/** One included file's size at most. */
export const MAX_INCLUDED_FILE_BYTES = 1024 * 1024
/** The keys an included file contributes (frp: LoadAdditionalClientConfigs). */
export const INCLUDED_KEYS: readonly string[] = ['proxies', 'visitors']

/** Go's filepath.Match for one path segment: `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\` escapes. */
export function globMatch (pattern: string, name: string): boolean {
  const re = globRegExp(pattern)
  return re !== undefined && re.test(name)
}

function globRegExp (pattern: string): RegExp | undefined {
  let out = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? ''
    if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '\\') out += escapeRe(pattern[++i] ?? '\\')
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end === -1) return undefined // Go: ErrBadPattern
      let body = pattern.slice(i + 1, end)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      out += `[${negate ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`
      i = end
    } else out += escapeRe(c)
  }
  try {
    return new RegExp(out + '$', 'u')
  } catch {
    return undefined
  }
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const hasGlob = (s: string): boolean => /[*?[\\]/.test(s)

export interface IncludedFile {
  /** As shown in messages: joined to the including file's folder, not made absolute. */
  path: string
  text: string
}

export interface FoundIncludes {
  files: IncludedFile[]
  issues: ConfigIssue[]
  warnings: ConfigWarning[]
}

/** Reads the files `includes` names (sorted by name within each pattern), each once. */
export function readIncludes (ctx: CheckContext): FoundIncludes {
  const found: FoundIncludes = { files: [], issues: [], warnings: [] }
  const patterns = valueAt(ctx.data, ['includes'])
  if (!Array.isArray(patterns) || patterns.length > MAX_INCLUDE_PATTERNS) return found // the schema reports the shape
  const self = resolve(ctx.map.file)
  const seen = new Set<string>([self])
  patterns.forEach((pattern: unknown, i) => {
    if (typeof pattern !== 'string' || pattern === '') return
    const at = (): ConfigLocation => locate(ctx.doc, ctx.map, ['includes', i])
    const problem = (code: ConfigIssue['code'], message: string): void => { found.issues.push({ code, message, location: at() }) }
    const dir = isAbsolute(pattern) ? dirname(pattern) : join(dirname(ctx.map.file), dirname(pattern))
    const name = basename(pattern)
    if (hasGlob(dirname(pattern))) return problem('TUN_CONFIG_INVALID', 'wildcards may only be in the file name (as in frp): write ./confd/*.yml, not ./*/x.yml')
    if (globRegExp(name) === undefined) return problem('TUN_CONFIG_INVALID', `${JSON.stringify(name)} is not a valid pattern (an unclosed [)`)
    let entries: string[]
    try {
      entries = readdirSync(dir).sort()
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code ?? String(err)})`
      return problem('TUN_CONFIG_READ', `the folder ${dir} ${why} (${pattern} is relative to the folder of ${basename(ctx.map.file)})`)
    }
    let matched = 0
    for (const entry of entries.filter((e) => globMatch(name, e))) {
      const path = join(dir, entry)
      let size: number
      try {
        const st = statSync(path)
        if (!st.isFile()) continue
        size = st.size
      } catch {
        continue // gone since the listing, or a dangling link: frp skips what it cannot stat too
      }
      matched++
      if (seen.has(resolve(path))) {
        if (resolve(path) === self) found.warnings.push({ message: `${pattern} matches this file itself; it is not included again`, location: at() })
        continue
      }
      seen.add(resolve(path))
      if (found.files.length >= MAX_INCLUDED_FILES) return problem('TUN_CONFIG_INVALID', `includes names more than ${MAX_INCLUDED_FILES} files; merge some`)
      if (size > MAX_INCLUDED_FILE_BYTES) { problem('TUN_CONFIG_READ', `${path} is ${size} bytes, more than an included file may have (${MAX_INCLUDED_FILE_BYTES})`); continue }
      try {
        found.files.push({ path, text: readFileSync(path, 'utf8') })
      } catch (err) {
        problem('TUN_CONFIG_READ', `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
      }
    }
    if (matched === 0) found.warnings.push({ message: `${pattern} matches no file in ${dir}`, location: at() })
  })
  return found
}

/** Keys of an included file that are not read (everything but proxies and visitors). */
export function unreadKeys (ctx: CheckContext): ConfigWarning[] {
  if (!isRecord(ctx.data)) return []
  return Object.keys(ctx.data).filter((k) => !INCLUDED_KEYS.includes(k)).map((k) => ({
    message: `${k} is not read from an included file: only proxies and visitors are (as in frp); set it in the file that includes this one`,
    location: locate(ctx.doc, ctx.map, [k], { key: true }),
  }))
}

interface Claim { ctx: CheckContext, index: number }

/** Proxy names, and tcp/udp remote ports, claimed in two different files. */
export function crossFileIssues (contexts: readonly CheckContext[]): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const names = new Map<string, Claim>()
  const ports = new Map<string, Claim>()
  const where = (c: Claim, path: ConfigPath): string => {
    const l = locate(c.ctx.doc, c.ctx.map, path)
    return `${l.file}${l.line > 0 ? ` line ${l.line}` : ''}`
  }
  for (const ctx of contexts) {
    const list = valueAt(ctx.data, ['proxies'])
    if (!Array.isArray(list)) continue
    list.forEach((p: unknown, index) => {
      if (!isRecord(p) || p.enabled === false) return
      const here: Claim = { ctx, index }
      if (typeof p.name === 'string' && p.name !== '') {
        const first = names.get(p.name)
        if (first === undefined) names.set(p.name, here)
        else if (first.ctx !== ctx) {
          issues.push({ code: 'TUN_CONFIG_INVALID', message: `proxy name ${/^[A-Za-z0-9._-]+$/.test(p.name) ? p.name : JSON.stringify(p.name)} is already used in ${where(first, ['proxies', first.index, 'name'])}; names must be unique across included files`, location: locate(ctx.doc, ctx.map, ['proxies', index, 'name']) })
        }
      }
      if (!Number.isSafeInteger(p.remotePort) || (p.remotePort as number) <= 0) return
      const slot = `${String(p.type)}/${String(p.remotePort)}`
      const first = ports.get(slot)
      if (first === undefined) ports.set(slot, here)
      else if (first.ctx !== ctx) {
        issues.push({ code: 'TUN_CONFIG_INVALID', message: `remotePort ${String(p.remotePort)} is already used in ${where(first, ['proxies', first.index, 'remotePort'])}; give each proxy its own port or 0`, location: locate(ctx.doc, ctx.map, ['proxies', index, 'remotePort']) })
      }
    })
  }
  return issues
}
