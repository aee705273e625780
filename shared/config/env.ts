// frp's environment templating, `{{ .Envs.NAME }}`: the rules for one variable's value. The
// template itself is rendered by template.ts on the raw text before YAML or TOML parsing (so an
// unquoted `remotePort: {{ .Envs.PORT }}` becomes a number, as in frp). Stricter than frp: an
// unset variable is an error (frp renders `<no value>`) and a value with a line break is refused
// (it could inject YAML keys). Templates inside `#` comments are left alone.

import type { ErrorCode } from '../errors.js'

export type Env = Readonly<Record<string, string | undefined>>

/** A template that could not be rendered; `offset` is into the original text. */
export interface EnvProblem {
  code: ErrorCode
  offset: number
  message: string
}

/**
 * True when `offset` sits in a `#` comment: a `#` at the start of the line or after a space,
 * outside a quoted scalar (YAML's rule, applied to one line; a quote opens only where a
 * scalar can start, so the apostrophe in `it's` does not).
 */
export function inComment (text: string, offset: number): boolean {
  let quote = ''
  for (let i = text.lastIndexOf('\n', offset - 1) + 1; i < offset; i++) {
    const c = text[i]
    if (quote === '"' && c === '\\') i++
    else if (quote !== '') { if (c === quote) quote = '' }
    else if ((c === '"' || c === "'") && /[\s:[{,=-]/.test(text[i - 1] ?? ' ')) quote = c
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ' '))) return true
  }
  return false
}

/** Why `{{ .Envs.NAME }}` cannot be used with `value` (undefined = unset), or undefined when it can. */
export function envProblem (name: string, value: string | undefined): string | undefined {
  if (value === undefined) return `environment variable ${name} is not set (used as {{ .Envs.${name} }}); set it or edit the file`
  if (/[\r\n]/.test(value)) return `environment variable ${name} contains a line break, which could change the YAML structure; remove it`
  return undefined
}
