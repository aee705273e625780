// A plugin service's answer (frp's server plugin protocol, doc/server_plugin.md), read without
// trusting it (pure): a JSON object whose `reject` refuses the operation with `reject_reason`,
// and otherwise `unchange: true` keeps the content or `content` replaces it. frp's own document
// writes `"unchange": "false"` as a string, so "true" and "false" strings are read as booleans.
// Unlike frp, an answer that changes nothing and sends no content keeps the content (frp would
// zero it).

export type PluginAnswer =
  | { reject: true, reason: string }
  | { reject: false, content: Record<string, unknown> | undefined }

function flag (value: unknown, key: string): boolean | { error: string } {
  if (value === undefined || value === null) return false
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  return { error: `${key} is ${typeof value === 'string' ? JSON.stringify(value.slice(0, 20)) : typeof value}, not a boolean` }
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function parsePluginAnswer (text: string): PluginAnswer | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { error: 'the answer is not JSON' }
  }
  if (!isObject(value)) return { error: 'the answer is not a JSON object' }
  const reject = flag(value.reject, 'reject')
  if (typeof reject !== 'boolean') return reject
  if (reject) {
    const reason = typeof value.reject_reason === 'string' ? value.reject_reason : ''
    return { reject: true, reason }
  }
  const unchange = flag(value.unchange, 'unchange')
  if (typeof unchange !== 'boolean') return unchange
  if (unchange || value.content === undefined || value.content === null) return { reject: false, content: undefined }
  if (!isObject(value.content)) return { error: 'content is not a JSON object' }
  return { reject: false, content: value.content }
}
