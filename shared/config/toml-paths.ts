// Where each key of a TOML file is (pure): frp's documented format is TOML, and a problem in a
// frpc.toml must name its line and column like one in a frpc.yml. The TOML library gives only
// values, so this scans the text for table headers (`[a.b]`, `[[proxies]]`, counting array
// entries) and `key = value` lines (dotted and quoted keys), and records the offsets of each key
// and its value under the same dotted path the validator reports (`proxies[1].transport.x`).
// Keys inside inline tables and arrays fall back to the line of the key that holds them.

export interface PathOffsets {
  key: number
  value: number
}

/** `a.b."c.d"` → ['a', 'b', 'c.d']; undefined when it is not a key this scanner understands. */
export function splitKey (text: string): string[] | undefined {
  const parts: string[] = []
  let i = 0
  const s = text.trim()
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++
    const q = s[i]
    if (q === '"' || q === '\'') {
      const end = s.indexOf(q, i + 1)
      if (end === -1) return undefined
      parts.push(s.slice(i + 1, end))
      i = end + 1
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i))
      if (m === null) return undefined
      parts.push(m[0])
      i += m[0].length
    }
    while (s[i] === ' ' || s[i] === '\t') i++
    if (i < s.length) {
      if (s[i] !== '.') return undefined
      i++
    }
  }
  return parts.length === 0 ? undefined : parts
}

/** The validator's form of a path: `proxies[0].transport.bandwidthLimit`. */
function joinPath (segments: ReadonlyArray<string | number>): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('')
}

/** One line that names something: a table header or a `key = value`. */
interface TomlEntry {
  kind: 'table' | 'array' | 'value'
  /** Validator form: `proxies[2].plugin`, `auth.token`. */
  path: string
  /** For an array header, the array (`proxies` of `[[proxies]]`). */
  array?: string
  /** Dotted parents a `key = value` line makes (`transport` of `transport.x = 1`). */
  parents: string[]
  key: number
  value: number
}

/** The lines of `text` that name a table or a value, in order (a line scanner, not a parser). */
function * scanToml (text: string): Generator<TomlEntry> {
  const arrayCounts = new Map<string, number>()
  let table: Array<string | number> = []
  let offset = 0
  for (const line of text.split('\n')) {
    const lineStart = offset
    offset += line.length + 1
    const lead = line.length - line.trimStart().length
    const body = line.trim()
    if (body === '' || body.startsWith('#')) continue
    const array = /^\[\[\s*([^\]]+?)\s*\]\]/.exec(body)
    const plain = array === null ? /^\[\s*([^\]]+?)\s*\]/.exec(body) : null
    const header = array ?? plain
    if (header !== null) {
      const keys = splitKey(header[1] ?? '')
      if (keys === undefined) continue
      const at = lineStart + lead
      // `[proxies.plugin]` after `[[proxies]]` belongs to the last proxy: proxies[N].plugin.
      const parent = inArrays(keys.slice(0, array !== null ? -1 : keys.length), arrayCounts)
      if (array !== null) {
        const name = joinPath([...parent, ...keys.slice(-1)])
        const index = arrayCounts.get(name) ?? 0
        arrayCounts.set(name, index + 1)
        table = [...parent, ...keys.slice(-1), index]
        yield { kind: 'array', path: joinPath(table), array: name, parents: [], key: at, value: at }
      } else {
        table = parent
        yield { kind: 'table', path: joinPath(table), parents: [], key: at, value: at }
      }
      continue
    }
    const eq = findEquals(body)
    if (eq === -1) continue
    const keys = splitKey(body.slice(0, eq))
    if (keys === undefined) continue
    const afterEq = body.slice(eq + 1)
    const valueAt = lineStart + lead + eq + 1 + (afterEq.length - afterEq.trimStart().length)
    const parents = keys.slice(1).map((_, n) => joinPath([...table, ...keys.slice(0, n + 1)]))
    yield { kind: 'value', path: joinPath([...table, ...keys]), parents, key: lineStart + lead, value: valueAt }
  }
}

/** Path (validator form) → offsets of its key and value in `text`. */
export function tomlPathOffsets (text: string): Map<string, PathOffsets> {
  const out = new Map<string, PathOffsets>()
  for (const e of scanToml(text)) {
    // The array itself (`rdp` of `[[rdp]]`) is where an unknown or refused key is reported.
    if (e.array !== undefined && !out.has(e.array)) out.set(e.array, { key: e.key, value: e.key })
    if (e.kind === 'value') out.set(e.path, { key: e.key, value: e.value })
    else if (!out.has(e.path)) out.set(e.path, { key: e.key, value: e.key })
    // Intermediate dotted keys point at the first line naming them.
    for (const parent of e.parents) if (!out.has(parent)) out.set(parent, { key: e.key, value: e.key })
  }
  return out
}

/** A key or table the text defines twice (TOML forbids it): the second place and the first. */
export interface TomlDuplicate {
  path: string
  first: number
  again: number
}

/**
 * The definitions that repeat an earlier one: `a = 1` twice, `[t]` twice, `[t]` after
 * `t.x = 1`, a value where a table was. (A `[a.b]` header only implies `a`, which may come later.)
 */
export function tomlDuplicates (text: string): TomlDuplicate[] {
  const defined = new Map<string, { at: number, how: 'value' | 'table' | 'dotted' }>()
  const out: TomlDuplicate[] = []
  for (const e of scanToml(text)) {
    if (e.kind === 'array') continue
    const before = defined.get(e.path)
    if (before !== undefined) out.push({ path: e.path, first: before.at, again: e.key })
    else defined.set(e.path, { at: e.key, how: e.kind === 'value' ? 'value' : 'table' })
    for (const parent of e.parents) {
      const p = defined.get(parent)
      if (p === undefined) defined.set(parent, { at: e.key, how: 'dotted' })
      else if (p.how === 'value') out.push({ path: parent, first: p.at, again: e.key })
    }
  }
  return out
}

/** `['proxies', 'plugin']` → `['proxies', 3, 'plugin']` when `[[proxies]]` has been seen 4 times. */
function inArrays (keys: readonly string[], arrayCounts: ReadonlyMap<string, number>): Array<string | number> {
  const out: Array<string | number> = []
  for (const k of keys) {
    out.push(k)
    const count = arrayCounts.get(joinPath(out))
    if (count !== undefined) out.push(count - 1)
  }
  return out
}

/** The `=` that ends a key (outside quotes), or -1. */
function findEquals (body: string): number {
  let quote: string | undefined
  for (let i = 0; i < body.length; i++) {
    const c = body[i]
    if (quote !== undefined) { if (c === quote) quote = undefined; continue }
    if (c === '"' || c === '\'') quote = c
    else if (c === '=') return i
    else if (c === '#') return -1
  }
  return -1
}

/**
 * The offset for `path` (validator form): the key or the value when recorded, else the nearest
 * recorded parent (a missing key points at the table that lacks it); undefined when none is.
 */
export function tomlOffsetOf (offsets: ReadonlyMap<string, PathOffsets>, path: string, key: boolean): number | undefined {
  let p = path
  let exact = true
  for (;;) {
    const hit = offsets.get(p) ?? caseFolded(offsets, p)
    if (hit !== undefined) return exact && !key ? hit.value : hit.key
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['))
    if (cut <= 0) return undefined
    p = p.slice(0, cut)
    exact = false
  }
}

/** frp matches key names regardless of case (key-case.ts): `subDomainHost` is where `subdomainHost` is written. */
function caseFolded (offsets: ReadonlyMap<string, PathOffsets>, path: string): PathOffsets | undefined {
  const want = path.toLowerCase()
  for (const [p, o] of offsets) if (p.toLowerCase() === want) return o
  return undefined
}
