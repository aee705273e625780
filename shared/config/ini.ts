// A small INI reader for frp's legacy files (pure, no I/O). It reads what frp's INI library read
// with the options frp gave it: `[section]` headers, `key = value` or `key: value` lines, `#` and
// `;` comment lines, no inline comments (`a = b # c` is the value `b # c`), a key alone on its
// line is `true`, a value wrapped in one pair of matching quotes loses them, a line ending in `\`
// continues on the next. A key given twice in a section keeps its last value and a section given
// twice is one section (as in frp); both are reported so the file can be cleaned up. Every key
// keeps the offsets of its name and value for line:col reporting.

export interface IniKey {
  name: string
  value: string
  /** Offset of the key's name and of its value in the text read. */
  keyOffset: number
  valueOffset: number
}

export interface IniSection {
  /** '' for keys before the first header. */
  name: string
  /** Offset of the `[` of its (first) header; 0 for the unnamed section. */
  offset: number
  /** In file order, the last value of each name. */
  keys: Map<string, IniKey>
}

export interface IniProblem {
  offset: number
  message: string
  /** A syntax error (the file cannot be read as frp would) or a note (read as frp does). */
  kind: 'syntax' | 'note'
}

export interface IniFile {
  sections: IniSection[]
  problems: IniProblem[]
}

/** Lines one value may continue over with a trailing `\` (a bound on a runaway value). */
export const MAX_INI_CONTINUATION_LINES = 1_000

interface Line { text: string, start: number }

function splitLines (text: string): Line[] {
  const out: Line[] = []
  let start = 0
  for (;;) {
    const nl = text.indexOf('\n', start)
    const end = nl === -1 ? text.length : nl
    out.push({ text: text.slice(start, end).replace(/\r$/, ''), start })
    if (nl === -1) return out
    start = nl + 1
  }
}

/**
 * A value as frp's INI library returns it: a value opening with a backtick runs to the last one;
 * a value wrapped in one pair of ' or " (and holding no other of that quote) loses them.
 */
function unquote (value: string): string {
  if (value.startsWith('`')) {
    const end = value.lastIndexOf('`')
    return end > 0 ? value.slice(1, end) : value.slice(1)
  }
  const q = value[0]
  if (value.length >= 2 && (q === '"' || q === '\'') && value.endsWith(q) && value.indexOf(q, 1) === value.length - 1) return value.slice(1, -1)
  return value
}

/** The INI text as sections of keys, with the problems found. */
export function parseIni (text: string): IniFile {
  const sections: IniSection[] = []
  const byName = new Map<string, IniSection>()
  const problems: IniProblem[] = []
  let current: IniSection = { name: '', offset: 0, keys: new Map() }
  sections.push(current)
  byName.set('', current)
  const lines = splitLines(text.startsWith('\uFEFF') ? ' ' + text.slice(1) : text)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Line
    const lead = line.text.length - line.text.trimStart().length
    const body = line.text.trim()
    const at = line.start + lead
    if (body === '' || body.startsWith('#') || body.startsWith(';')) continue
    if (body.startsWith('[')) {
      const close = body.lastIndexOf(']')
      if (close === -1) {
        problems.push({ kind: 'syntax', offset: at, message: 'this section header has no closing ]' })
        continue
      }
      const name = body.slice(1, close).trim()
      if (name === '') {
        problems.push({ kind: 'syntax', offset: at, message: 'a section needs a name: [name]' })
        continue
      }
      const seen = byName.get(name)
      if (seen !== undefined) {
        problems.push({ kind: 'note', offset: at, message: `section [${name}] appears twice; frp reads both as one section (later keys win)` })
        current = seen
        continue
      }
      current = { name, offset: at, keys: new Map() }
      sections.push(current)
      byName.set(name, current)
      continue
    }
    // `key = value` / `key: value`; a quoted key may hold the delimiters.
    let name: string
    let rest: string
    let restOffset: number
    const quoted = /^(["`])(.*?)\1/.exec(body)
    if (quoted !== null) {
      name = quoted[2] ?? ''
      rest = body.slice(quoted[0].length)
      restOffset = at + quoted[0].length
    } else {
      const m = /[=:]/.exec(body)
      name = (m === null ? body : body.slice(0, m.index)).trim()
      rest = m === null ? '' : body.slice(m.index)
      restOffset = at + (m === null ? body.length : m.index)
    }
    const delim = /^\s*[=:]/.exec(rest)
    let value = 'true'
    let valueOffset = at
    if (delim !== null) {
      const afterDelim = rest.slice(delim[0].length)
      const pad = afterDelim.length - afterDelim.trimStart().length
      valueOffset = restOffset + delim[0].length + pad
      value = afterDelim.trim()
      if (value.endsWith('\\') && !value.startsWith('`')) {
        // A trailing backslash joins the next line (up to an empty one); no quotes are removed then.
        for (let n = 0; value.endsWith('\\') && n < MAX_INI_CONTINUATION_LINES && i + 1 < lines.length; n++) {
          const next = (lines[i + 1] as Line).text.trim()
          value = value.slice(0, -1)
          if (next === '') break
          i++
          value += next
        }
      } else {
        value = unquote(value)
      }
    } else if (rest.trim() !== '') {
      problems.push({ kind: 'syntax', offset: at, message: 'this line is neither a [section], a key = value nor a comment' })
      continue
    }
    if (name === '') {
      problems.push({ kind: 'syntax', offset: at, message: 'a key needs a name before its =' })
      continue
    }
    const before = current.keys.get(name)
    if (before !== undefined) {
      problems.push({ kind: 'note', offset: at, message: `${name} appears twice in [${current.name}]; frp uses the last value` })
      current.keys.delete(name)
    }
    current.keys.set(name, { name, value, keyOffset: at, valueOffset })
  }
  return { sections, problems }
}
