// Where a config problem is: YAML node → offset in the parsed (env-substituted) text →
// offset in the original file → 1-based line and column. Pure; no I/O.

import { LineCounter, isAlias, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml'
import type { ConfigLocation } from '../errors.js'
import { tomlOffsetOf, type PathOffsets } from './toml-paths.js'

/**
 * Where a piece of the rendered text (template.ts) came from: `copy` pieces are the file's own
 * text starting at origStart (a range body may be copied several times); the others are a
 * template's value, all of it pointing at its `{{`.
 */
export interface Span {
  outStart: number
  outEnd: number
  origStart: number
  copy: boolean
}

/** Maps offsets in the text YAML parsed back to line and column in the file the user wrote. */
export class SourceMap {
  readonly file: string
  readonly #lines = new LineCounter()
  /** Sorted by outStart and covering the rendered text; empty = the text is the file's own. */
  readonly #spans: readonly Span[]
  /** A TOML file's key positions (toml-paths.ts); YAML files locate through their document. */
  #toml: ReadonlyMap<string, PathOffsets> | undefined

  constructor (file: string, original: string, spans: readonly Span[] = []) {
    this.file = file
    this.#spans = spans
    this.#lines.addNewLine(0)
    for (let i = original.indexOf('\n'); i !== -1; i = original.indexOf('\n', i + 1)) {
      this.#lines.addNewLine(i + 1)
    }
  }

  /** The original-file offset of an offset in the rendered text. Inside a template's value → its `{{`. */
  originalOffset (outOffset: number): number {
    const spans = this.#spans
    if (spans.length === 0) return outOffset
    let lo = 0
    let hi = spans.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((spans[mid]?.outStart ?? 0) <= outOffset) lo = mid
      else hi = mid - 1
    }
    const s = spans[lo]
    if (s === undefined) return outOffset
    const into = Math.max(0, outOffset - s.outStart)
    return s.copy ? s.origStart + into : s.origStart
  }

  /** A location from an offset in the original file. */
  atOriginal (origOffset: number, path: string): ConfigLocation {
    const { line, col } = this.#lines.linePos(Math.max(0, origOffset))
    return { file: this.file, line, col, path }
  }

  /** A location from an offset in the substituted text (what YAML node ranges refer to). */
  at (outOffset: number, path: string): ConfigLocation {
    return this.atOriginal(this.originalOffset(outOffset), path)
  }

  useTomlPaths (offsets: ReadonlyMap<string, PathOffsets>): void { this.#toml = offsets }
  get tomlPaths (): ReadonlyMap<string, PathOffsets> | undefined { return this.#toml }

  /** A location with no line: the problem is about the file as a whole or a key it lacks. */
  whole (path: string): ConfigLocation {
    return { file: this.file, line: 0, col: 0, path }
  }
}

export type ConfigPath = readonly PropertyKey[]

/** `['proxies', 0, 'remotePort']` → `proxies[0].remotePort`. */
export function formatPath (path: ConfigPath): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else out += (out === '' ? '' : '.') + String(seg)
  }
  return out
}

/** `['proxies', 3, 'transport']` → `proxies[].transport`: the form the key tables use. */
export function patternPath (path: ConfigPath): string {
  return formatPath(path.map((seg) => (typeof seg === 'number' ? -1 : seg))).replaceAll('[-1]', '[]')
}

function isMergeKey (key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || key.source === '<<')
}

function deref (doc: Document, node: unknown): unknown {
  let cur = node
  for (let hops = 0; isAlias(cur) && hops < 100; hops++) cur = cur.resolve(doc)
  return cur
}

/** The pair for `key` in a map, looking through `<<` merges as YAML merge keys do. */
export function findPair (doc: Document, map: unknown, key: PropertyKey, depth = 0): Pair | undefined {
  const node = deref(doc, map)
  if (!isMap(node) || depth > 20) return undefined
  const want = String(key)
  for (const pair of node.items) {
    if (!isMergeKey(pair.key) && isScalar(pair.key) && String(pair.key.value) === want) return pair
  }
  // frp matches key names regardless of case (key-case.ts reads `subdomainHost` as subDomainHost).
  const folded = want.toLowerCase()
  for (const pair of node.items) {
    if (!isMergeKey(pair.key) && isScalar(pair.key) && String(pair.key.value).toLowerCase() === folded) return pair
  }
  for (const pair of node.items) {
    if (!isMergeKey(pair.key)) continue
    const source = deref(doc, pair.value)
    const sources = isSeq(source) ? source.items : [source]
    for (const s of sources) {
      const found = findPair(doc, s, key, depth + 1)
      if (found !== undefined) return found
    }
  }
  return undefined
}

function child (doc: Document, node: unknown, seg: PropertyKey): unknown {
  const cur = deref(doc, node)
  if (isSeq(cur) && typeof seg === 'number') return cur.items[seg]
  return findPair(doc, cur, seg)?.value ?? undefined
}

function rangeStart (node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0]
}

/**
 * The offset of the node at `path`, or of its nearest existing ancestor when the node is
 * missing (a required key that is absent points at the map that lacks it). `key: true`
 * points at the last segment's key instead of its value (unknown keys).
 */
export function offsetOf (doc: Document, path: ConfigPath, opts: { key?: boolean } = {}): number | undefined {
  let node: unknown = doc.contents
  let best = rangeStart(deref(doc, node))
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as PropertyKey
    if (opts.key === true && i === path.length - 1 && typeof seg !== 'number') {
      const pair = findPair(doc, node, seg)
      return rangeStart(pair?.key) ?? best
    }
    node = child(doc, node, seg)
    if (node === undefined || node === null) return best
    best = rangeStart(deref(doc, node)) ?? rangeStart(node) ?? best
    // Point at the alias itself when the value is `*anchor`, at the anchored node below it.
    if (isAlias(node) && i === path.length - 1) best = rangeStart(node) ?? best
  }
  return best
}

/** Where `path` is in the file, as a ConfigLocation with its dotted path. */
export function locate (doc: Document, map: SourceMap, path: ConfigPath, opts: { key?: boolean } = {}): ConfigLocation {
  const toml = map.tomlPaths
  const offset = toml === undefined ? offsetOf(doc, path, opts) : tomlOffsetOf(toml, formatPath(path), opts.key === true)
  return offset === undefined ? map.whole(formatPath(path)) : map.at(offset, formatPath(path))
}
