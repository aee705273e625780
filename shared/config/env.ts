// frp's environment templating, `{{ .Envs.NAME }}`, applied to the raw text before YAML parsing
// (so an unquoted `remotePort: {{ .Envs.PORT }}` becomes a number, as in frp). Stricter than frp:
// an unset variable is an error (frp renders `<no value>`), a value with a line break is refused
// (it could inject YAML), and no other template syntax is accepted. Templates inside `#` comments
// are left alone. Every replacement is recorded so errors can point into the original file.

import type { ErrorCode } from '../errors.js'
import type { Replacement } from './locate.js'

export type Env = Readonly<Record<string, string | undefined>>

/** A template that could not be substituted; `offset` is into the original text. */
export interface EnvProblem {
  code: ErrorCode
  offset: number
  message: string
}

export interface Substituted {
  text: string
  replacements: Replacement[]
  problems: EnvProblem[]
}

const OPEN = '{{'
const CLOSE = '}}'
const ENV_REF = /^\s*\.Envs\.([A-Za-z_][A-Za-z0-9_]*)\s*$/
const SUPPORTED = 'only {{ .Envs.NAME }} templates are supported'

/**
 * True when `offset` sits in a `#` comment: a `#` at the start of the line or after a space,
 * outside a quoted scalar (YAML's rule, applied to one line; a quote opens only where a
 * scalar can start, so the apostrophe in `it's` does not).
 */
function inComment (text: string, offset: number): boolean {
  let quote = ''
  for (let i = text.lastIndexOf('\n', offset - 1) + 1; i < offset; i++) {
    const c = text[i]
    if (quote === '"' && c === '\\') i++
    else if (quote !== '') { if (c === quote) quote = '' }
    else if ((c === '"' || c === "'") && /[\s:[{,-]/.test(text[i - 1] ?? ' ')) quote = c
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ' '))) return true
  }
  return false
}

function lineEnd (text: string, from: number): number {
  const nl = text.indexOf('\n', from)
  return nl === -1 ? text.length : nl
}

export function substituteEnv (original: string, env: Env): Substituted {
  const replacements: Replacement[] = []
  const problems: EnvProblem[] = []
  let out = ''
  let copied = 0
  for (let open = original.indexOf(OPEN); open !== -1; open = original.indexOf(OPEN, open + OPEN.length)) {
    if (inComment(original, open)) continue
    const close = original.indexOf(CLOSE, open + OPEN.length)
    if (close === -1 || close > lineEnd(original, open)) {
      problems.push({ code: 'TUN_CONFIG_INVALID', offset: open, message: `"{{" is not closed by "}}" on the same line; ${SUPPORTED}` })
      continue
    }
    const end = close + CLOSE.length
    const inner = original.slice(open + OPEN.length, close)
    const name = ENV_REF.exec(inner)?.[1]
    if (name === undefined) {
      problems.push({ code: 'TUN_CONFIG_INVALID', offset: open, message: `unsupported template "{{${inner.slice(0, 40)}}}": ${SUPPORTED}` })
      open = close
      continue
    }
    const value = Object.hasOwn(env, name) ? env[name] : undefined
    if (value === undefined) {
      problems.push({ code: 'TUN_CONFIG_ENV', offset: open, message: `environment variable ${name} is not set (used as {{ .Envs.${name} }}); set it or edit the file` })
    } else if (/[\r\n]/.test(value)) {
      problems.push({ code: 'TUN_CONFIG_ENV', offset: open, message: `environment variable ${name} contains a line break, which could change the YAML structure; remove it` })
    } else {
      out += original.slice(copied, open)
      replacements.push({ outStart: out.length, outEnd: out.length + value.length, origStart: open, origEnd: end })
      out += value
      copied = end
    }
    open = close
  }
  out += original.slice(copied)
  return { text: out, replacements, problems }
}
