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

/** Path (validator form) → offsets of its key and value in `text`. */
export function tomlPathOffsets (text: string): Map<string, PathOffsets> {
  const out = new Map<string, PathOffsets>()
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
      if (array !== null) {
        const name = joinPath(keys)
        const index = arrayCounts.get(name) ?? 0
        arrayCounts.set(name, index + 1)
        table = [...keys, index]
      } else {
        table = keys
      }
      const at = lineStart + lead
      if (!out.has(joinPath(table))) out.set(joinPath(table), { key: at, value: at })
      continue
    }
    const eq = findEquals(body)
    if (eq === -1) continue
    const keys = splitKey(body.slice(0, eq))
    if (keys === undefined) continue
    const afterEq = body.slice(eq + 1)
    const valueAt = lineStart + lead + eq + 1 + (afterEq.length - afterEq.trimStart().length)
    const path = joinPath([...table, ...keys])
    out.set(path, { key: lineStart + lead, value: valueAt })
    // Intermediate dotted keys (`transport` of `transport.x = 1`) point at the first line naming them.
    for (let n = 1; n < keys.length; n++) {
      const parent = joinPath([...table, ...keys.slice(0, n)])
      if (!out.has(parent)) out.set(parent, { key: lineStart + lead, value: lineStart + lead })
    }
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
    const hit = offsets.get(p)
    if (hit !== undefined) return exact && !key ? hit.value : hit.key
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['))
    if (cut <= 0) return undefined
    p = p.slice(0, cut)
    exact = false
  }
}
