// frp's config templates (Go text/template), the part frp documents, rendered on the raw text
// before YAML or TOML parsing as frp does:
//   {{ .Envs.NAME }}                        an environment variable (env.ts has our stricter rules)
//   {{- range $_, $v := parseNumberRangePair "6000-6006,6007" "7000-7006,7007" }}
//   ... {{ $v.First }} ... {{ $v.Second }} ...
//   {{- end }}                              one copy of the body per pair (port ranges)
//   {{ range $i, $p := parseNumberRange "6000-6002" }} ... {{ $p }} ... {{ end }}
// plus `{{- ` / ` -}}` whitespace trimming, `{{/* comments */}}`, `.`/`.First` inside a range,
// `$.Envs.NAME` and string literals. Anything else (if, with, pipelines, functions) is an error
// naming the action, never guessed. Every piece of output records where it came from, so a
// problem in the third copy of a range body points at the body's line in the file the user wrote.
// Templates inside `#` comments are left alone, as before.

import type { EnvProblem, Env } from './env.js'
import { envProblem, inComment } from './env.js'
import type { Span } from './locate.js'

/** Numbers one parseNumberRange / parseNumberRangePair argument may expand to (every port is 65,535). */
export const MAX_RANGE_NUMBERS = 65_536
/** Ranges inside ranges at most. */
export const MAX_RANGE_DEPTH = 4
/** The rendered file at most (characters): a range cannot blow a small file up without bound. */
export const MAX_RENDERED_CHARS = 8 * 1024 * 1024

const OPEN = '{{'
const CLOSE = '}}'
const SUPPORTED = 'only {{ .Envs.NAME }}, {{ range ... := parseNumberRange / parseNumberRangePair ... }} ... {{ end }} and the range\'s variables are supported'
const SPACE = new Set([' ', '\t', '\r', '\n'])

export interface Rendered {
  text: string
  /** Where each piece of `text` came from (in output order, covering all of it). */
  spans: Span[]
  problems: EnvProblem[]
}

type Value = { kind: 'root' } | { kind: 'number', n: number } | { kind: 'pair', first: number, second: number }

type Expr =
  | { kind: 'env', name: string, viaRoot: boolean }
  | { kind: 'var', name: string, field: string | undefined }
  | { kind: 'dot', field: string | undefined }
  | { kind: 'literal', value: string }

type Arg = { kind: 'literal', value: string } | { kind: 'env', name: string }

interface RangeNode {
  kind: 'range'
  at: number
  index: string | undefined
  element: string | undefined
  fn: 'parseNumberRange' | 'parseNumberRangePair'
  args: Arg[]
  body: Node[]
}

type Node =
  | { kind: 'text', start: number, end: number }
  | { kind: 'output', at: number, expr: Expr }
  | RangeNode

interface Action { start: number, end: number, inner: string, trimLeft: boolean, trimRight: boolean }

// ------------------------------------------------------------------ lexing

/** Text and actions in file order; `{{` inside a `#` comment is text. */
function lex (original: string, problems: EnvProblem[]): Array<{ kind: 'text', start: number, end: number } | ({ kind: 'action' } & Action)> {
  const out: Array<{ kind: 'text', start: number, end: number } | ({ kind: 'action' } & Action)> = []
  let copied = 0
  for (let open = original.indexOf(OPEN); open !== -1; open = original.indexOf(OPEN, open + OPEN.length)) {
    if (inComment(original, open)) continue
    const nl = original.indexOf('\n', open)
    const close = original.indexOf(CLOSE, open + OPEN.length)
    if (close === -1 || (nl !== -1 && close > nl)) {
      problems.push({ code: 'TUN_CONFIG_INVALID', offset: open, message: `"{{" is not closed by "}}" on the same line; ${SUPPORTED}` })
      continue
    }
    let inner = original.slice(open + OPEN.length, close)
    const trimLeft = inner.length >= 2 && inner[0] === '-' && SPACE.has(inner[1] ?? '')
    const trimRight = inner.length >= 2 && inner.at(-1) === '-' && SPACE.has(inner.at(-2) ?? '')
    if (trimLeft) inner = inner.slice(1)
    if (trimRight) inner = inner.slice(0, -1)
    out.push({ kind: 'text', start: copied, end: open })
    out.push({ kind: 'action', start: open, end: close + CLOSE.length, inner: inner.trim(), trimLeft, trimRight })
    copied = close + CLOSE.length
    open = close
  }
  out.push({ kind: 'text', start: copied, end: original.length })
  // Go's trim markers remove the white space next to the action, line breaks included.
  for (let i = 0; i < out.length; i++) {
    const t = out[i]
    if (t?.kind !== 'action') continue
    const before = out[i - 1]
    const after = out[i + 1]
    if (t.trimLeft && before?.kind === 'text') while (before.end > before.start && SPACE.has(original[before.end - 1] ?? '')) before.end--
    if (t.trimRight && after?.kind === 'text') while (after.start < after.end && SPACE.has(original[after.start] ?? '')) after.start++
  }
  return out
}

// ------------------------------------------------------------------ parsing

const VAR = String.raw`\$[A-Za-z0-9_]*`
const RANGE = new RegExp(String.raw`^range\s+(?:(${VAR})\s*(?:,\s*(${VAR})\s*)?:=\s*)?(parseNumberRangePair|parseNumberRange)\b\s*(.*)$`, 's')
const ENV = /^(\$?)\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/
const VAR_FIELD = /^(\$[A-Za-z0-9_]+)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$/
const DOT_FIELD = /^\.([A-Za-z_][A-Za-z0-9_]*)?$/
const KEYWORDS = /^(if|else|with|define|template|block|break|continue)\b/

/** A Go string literal ("…" with escapes, or `…` raw), or undefined. */
function stringLiteral (text: string): string | undefined {
  if (text.length >= 2 && text.startsWith('`') && text.endsWith('`') && !text.slice(1, -1).includes('`')) return text.slice(1, -1)
  if (!/^"(?:[^"\\\n]|\\.)*"$/.test(text)) return undefined
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

/** `"a" "b"`, `.Envs.X`: the arguments of a range function, or a reason. */
function parseArgs (text: string): Arg[] | string {
  const args: Arg[] = []
  const re = /\s*("(?:[^"\\\n]|\\.)*"|`[^`]*`|\$?\.Envs\.[A-Za-z_][A-Za-z0-9_]*)\s*/y
  let i = 0
  while (i < text.length) {
    re.lastIndex = i
    const m = re.exec(text)
    if (m === null) return `cannot read the argument ${JSON.stringify(text.slice(i, i + 30))}: write a quoted string such as "6000-6006,6007"`
    const token = m[1] ?? ''
    const env = ENV.exec(token)
    if (env !== null) args.push({ kind: 'env', name: env[2] ?? '' })
    else args.push({ kind: 'literal', value: stringLiteral(token) ?? '' })
    i = re.lastIndex
  }
  return args
}

function parseExpr (inner: string): Expr | undefined {
  const env = ENV.exec(inner)
  if (env !== null) return { kind: 'env', name: env[2] ?? '', viaRoot: env[1] === '$' }
  const v = VAR_FIELD.exec(inner)
  if (v !== null) return { kind: 'var', name: v[1] ?? '', field: v[2] }
  const d = DOT_FIELD.exec(inner)
  if (d !== null) return { kind: 'dot', field: d[1] }
  const lit = stringLiteral(inner)
  return lit === undefined ? undefined : { kind: 'literal', value: lit }
}

const shortAction = (inner: string): string => `{{ ${inner.length > 40 ? inner.slice(0, 40) + '…' : inner} }}`

function parse (original: string, problems: EnvProblem[]): Node[] {
  const root: Node[] = []
  const stack: Array<{ list: Node[], range: RangeNode | undefined }> = [{ list: root, range: undefined }]
  const top = (): { list: Node[], range: RangeNode | undefined } => stack[stack.length - 1] ?? { list: root, range: undefined }
  for (const t of lex(original, problems)) {
    if (t.kind === 'text') {
      if (t.end > t.start) top().list.push(t)
      continue
    }
    const { inner, start } = t
    if (inner.startsWith('/*') && inner.endsWith('*/')) continue
    if (inner === 'end') {
      if (stack.length === 1) problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: '{{ end }} without a {{ range }} to end; remove it' })
      else stack.pop()
      continue
    }
    const range = RANGE.exec(inner)
    if (range !== null) {
      const args = parseArgs(range[4] ?? '')
      const fn = range[3] === 'parseNumberRangePair' ? 'parseNumberRangePair' : 'parseNumberRange'
      const want = fn === 'parseNumberRangePair' ? 2 : 1
      // `range $v := f` binds the element; `range $i, $v := f` the index and the element.
      const node: RangeNode = { kind: 'range', at: start, index: range[2] === undefined ? undefined : range[1], element: range[2] ?? range[1], fn, args: typeof args === 'string' ? [] : args, body: [] }
      if (typeof args === 'string') problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: `${fn}: ${args}` })
      else if (args.length !== want) problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: `${fn} takes ${want === 1 ? 'one range' : 'two ranges'} (like "6000-6006,6007"${want === 2 ? ' "7000-7006,7007"' : ''}), got ${args.length}` })
      if (stack.length > MAX_RANGE_DEPTH) problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: `ranges nest at most ${MAX_RANGE_DEPTH} deep` })
      top().list.push(node)
      stack.push({ list: node.body, range: node })
      continue
    }
    if (inner.startsWith('range')) {
      problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: `unsupported range "${shortAction(inner)}": range over parseNumberRange "6000-6006" or parseNumberRangePair "6000-6006" "7000-7006"` })
      stack.push({ list: [], range: undefined }) // its {{ end }} still closes something
      continue
    }
    let expr = KEYWORDS.test(inner) ? undefined : parseExpr(inner)
    // Outside a range "." is the whole data: only .Envs.NAME means something there.
    if (expr?.kind === 'dot' && stack.length === 1) expr = undefined
    if (expr === undefined) problems.push({ code: 'TUN_CONFIG_INVALID', offset: start, message: `unsupported template "${shortAction(inner)}": ${SUPPORTED}` })
    else top().list.push({ kind: 'output', at: start, expr })
  }
  for (const open of stack.slice(1)) {
    if (open.range !== undefined) problems.push({ code: 'TUN_CONFIG_INVALID', offset: open.range.at, message: 'this range has no {{ end }}; add {{- end }} after its body' })
  }
  return root
}

// ------------------------------------------------------------------ evaluating

/** frp's ParseRangeNumbers: `1000-2000,2001,3000-3005`, bounded. */
export function parseRangeNumbers (text: string): number[] | string {
  const numbers: number[] = []
  const num = (s: string): number | undefined => (/^[+-]?\d{1,15}$/.test(s.trim()) ? Number(s.trim()) : undefined)
  for (const part of text.trim().split(',')) {
    const ends = part.split('-')
    const lo = num(ends[0] ?? '')
    const hi = ends.length === 2 ? num(ends[1] ?? '') : lo
    if (ends.length > 2 || lo === undefined || hi === undefined) return `${JSON.stringify(part.trim())} is not a number or a range like 6000-6006`
    if (hi < lo) return `${JSON.stringify(part.trim())} ends before it starts`
    if (numbers.length + (hi - lo + 1) > MAX_RANGE_NUMBERS) return `more than ${MAX_RANGE_NUMBERS} numbers`
    for (let n = lo; n <= hi; n++) numbers.push(n)
  }
  return numbers
}

interface Scope { vars: ReadonlyMap<string, Value>, dot: Value }

class Renderer {
  text = ''
  readonly spans: Span[] = []
  readonly problems: EnvProblem[] = []
  #full = false

  constructor (private readonly original: string, private readonly env: Env, private readonly unsetAs: string | undefined) {}

  problem (offset: number, message: string, code: EnvProblem['code'] = 'TUN_CONFIG_INVALID'): void {
    if (!this.problems.some((p) => p.offset === offset && p.message === message)) this.problems.push({ code, offset, message })
  }

  emit (value: string, origStart: number, copy: boolean): void {
    if (value === '' || this.#full) return
    if (this.text.length + value.length > MAX_RENDERED_CHARS) {
      this.#full = true
      this.problem(origStart, `the rendered file would be larger than ${MAX_RENDERED_CHARS / 1024 / 1024} MiB; make the range smaller`)
      return
    }
    this.spans.push({ outStart: this.text.length, outEnd: this.text.length + value.length, origStart, copy })
    this.text += value
  }

  envValue (name: string, at: number): string | undefined {
    const value = Object.hasOwn(this.env, name) ? this.env[name] : this.unsetAs
    const p = envProblem(name, value)
    if (p !== undefined) { this.problem(at, p, 'TUN_CONFIG_ENV'); return undefined }
    return value
  }

  value (expr: Expr, at: number, scope: Scope): string | undefined {
    let v: Value | undefined
    let field: string | undefined
    switch (expr.kind) {
      case 'literal': return expr.value
      case 'env':
        if (!expr.viaRoot && scope.dot.kind !== 'root') {
          this.problem(at, `inside a range "." is the range's item (as in frp's Go templates): write {{ $.Envs.${expr.name} }}`)
          return undefined
        }
        return this.envValue(expr.name, at)
      case 'var':
        v = scope.vars.get(expr.name)
        field = expr.field
        if (v === undefined) { this.problem(at, `${expr.name} is not defined here: name it in the range (range $_, ${expr.name} := ...)`); return undefined }
        break
      case 'dot':
        v = scope.dot
        field = expr.field
        break
    }
    if (v.kind === 'pair' && (field === 'First' || field === 'Second')) return String(field === 'First' ? v.first : v.second)
    if (v.kind === 'number' && field === undefined) return String(v.n)
    const what = v.kind === 'pair' ? 'a pair from parseNumberRangePair: use .First or .Second' : v.kind === 'number' ? 'a number from parseNumberRange, without fields' : 'the whole template data: use .Envs.NAME'
    this.problem(at, `cannot print ${field === undefined ? 'it' : `.${field} of it`}: it is ${what}`)
    return undefined
  }

  items (node: RangeNode, scope: Scope): Value[] {
    const lists: number[][] = []
    for (const arg of node.args) {
      const text = arg.kind === 'literal' ? arg.value : (scope.dot.kind === 'root' ? this.envValue(arg.name, node.at) : undefined)
      if (text === undefined) return []
      const numbers = parseRangeNumbers(text)
      if (typeof numbers === 'string') { this.problem(node.at, `${node.fn}: ${numbers}`); return [] }
      lists.push(numbers)
    }
    const [first = [], second] = lists
    if (node.fn === 'parseNumberRange') return first.map((n) => ({ kind: 'number', n }))
    if (second === undefined) return []
    if (second.length !== first.length) {
      this.problem(node.at, `parseNumberRangePair: the two ranges must have as many numbers each, got ${first.length} and ${second.length}`)
      return []
    }
    return first.map((n, i) => ({ kind: 'pair', first: n, second: second[i] ?? n }))
  }

  run (nodes: readonly Node[], scope: Scope): void {
    for (const node of nodes) {
      if (node.kind === 'text') this.emit(this.original.slice(node.start, node.end), node.start, true)
      else if (node.kind === 'output') {
        const v = this.value(node.expr, node.at, scope)
        if (v !== undefined) this.emit(v, node.at, false)
      } else {
        this.items(node, scope).forEach((item, i) => {
          const vars = new Map(scope.vars)
          if (node.index !== undefined) vars.set(node.index, { kind: 'number', n: i })
          if (node.element !== undefined) vars.set(node.element, item)
          this.run(node.body, { vars, dot: item })
        })
      }
      if (this.#full) return
    }
  }
}

/**
 * Renders frp's templates in `original`. `unsetAs` stands in for unset variables (kind
 * detection renders files whose environment is not there); by default an unset one is a problem.
 */
export function renderTemplate (original: string, env: Env, options: { unsetAs?: string } = {}): Rendered {
  const problems: EnvProblem[] = []
  const nodes = parse(original, problems)
  const r = new Renderer(original, env, options.unsetAs)
  r.problems.push(...problems)
  r.run(nodes, { vars: new Map(), dot: { kind: 'root' } })
  return { text: r.text, spans: r.spans, problems: r.problems.sort((a, b) => a.offset - b.offset) }
}
