// Header lists as node:http gives them (`rawHeaders`: name, value, name, value, ...) and what the
// relay's vhost, a reverse proxy, does to them: drop hop-by-hop headers (and those named in
// Connection), then set its own. Names keep their spelling and order; pure functions.

/** Hop-by-hop headers (RFC 9110 section 7.6.1) and the proxy-only ones; never forwarded as such. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate',
])

/** The value of the first header called `name` (lower case), or undefined. */
export function headerValue (raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) return raw[i + 1]
  }
  return undefined
}

/** Every value of `name` (lower case), in order. */
export function headerValues (raw: readonly string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string)
  }
  return out
}

/**
 * Headers a Connection header may not remove: the message framing and the target. A visitor
 * that lists Content-Length there would otherwise have its body forwarded unframed, and the
 * service would read it as a second request nobody routed or checked (request smuggling).
 */
const NOT_DROPPABLE: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host'])

/** Lower-case names listed in Connection headers (`Connection: close, X-Foo`). */
function connectionTokens (raw: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const v of headerValues(raw, 'connection')) {
    for (const t of v.split(',')) {
      const name = t.trim().toLowerCase()
      if (name !== '' && !NOT_DROPPABLE.has(name)) out.add(name)
    }
  }
  return out
}

/**
 * `raw` without hop-by-hop headers, headers named in Connection, and `drop` (lower-case names).
 * A Transfer-Encoding header is dropped too: node:http frames the forwarded body itself.
 */
export function endToEnd (raw: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const listed = connectionTokens(raw)
  const out: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || drop.has(lower)) continue
    out.push(name, raw[i + 1] as string)
  }
  return out
}

/** Replaces every header called `name` (any case) by one `name: value`, at the first one's place. */
export function setHeader (raw: string[], name: string, value: string): string[] {
  const lower = name.toLowerCase()
  const out: string[] = []
  let placed = false
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== lower) {
      out.push(raw[i] as string, raw[i + 1] as string)
    } else if (!placed) {
      out.push(raw[i] as string, value)
      placed = true
    }
  }
  if (!placed) out.push(name, value)
  return out
}

/** Sets every header of `headers` (name → value) on `raw`. */
export function setHeaders (raw: string[], headers: Readonly<Record<string, string>>): string[] {
  let out = raw
  for (const [name, value] of Object.entries(headers)) out = setHeader(out, name, value)
  return out
}

/** X-Forwarded-For with the visitor appended to what earlier proxies wrote (one header). */
export function appendForwardedFor (raw: readonly string[], visitor: string): string {
  const earlier = headerValues(raw, 'x-forwarded-for').map((v) => v.trim()).filter((v) => v !== '')
  return [...earlier, visitor].join(', ')
}
