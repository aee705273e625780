// Header lists as node:http gives them (`rawHeaders`: name, value, name, value, ...) and what the
// relay's vhost, a reverse proxy, does to them: drop hop-by-hop headers (and those named in
// Connection), then set its own. Names keep their spelling and order; pure functions.

/** Hop-by-hop headers (RFC 9110 section 7.6.1) and the proxy-only ones; never forwarded as such. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate',
])

/** A parsed head's headers: `raw` as sent (name, value, ...) and each name in lower case. */
export interface HeaderList {
  readonly raw: readonly string[]
  /** names[i] is raw[2 * i] in lower case. */
  readonly names: readonly string[]
}

/** Headers the relay sets, by lower-case name: the spelling to use when appended, and the value. */
export type HeaderSets = Map<string, { name: string, value: string }>

/** The value of the first header called `name` (lower case), or undefined. */
export function headerValue (h: HeaderList, name: string): string | undefined {
  const i = h.names.indexOf(name)
  return i < 0 ? undefined : h.raw[2 * i + 1]
}

/** Every value of `name` (lower case), in order. */
export function headerValues (h: HeaderList, name: string): string[] {
  const out: string[] = []
  for (let i = h.names.indexOf(name); i >= 0; i = h.names.indexOf(name, i + 1)) out.push(h.raw[2 * i + 1] as string)
  return out
}

/**
 * Headers a Connection header may not remove: the message framing and the target. A visitor
 * that lists Content-Length there would otherwise have its body forwarded unframed, and the
 * service would read it as a second request nobody routed or checked (request smuggling).
 */
const NOT_DROPPABLE: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host'])

/** Lower-case names listed in Connection headers (`Connection: close, X-Foo`); undefined when none. */
function connectionTokens (h: HeaderList): Set<string> | undefined {
  let out: Set<string> | undefined
  for (let i = h.names.indexOf('connection'); i >= 0; i = h.names.indexOf('connection', i + 1)) {
    for (const t of (h.raw[2 * i + 1] as string).split(',')) {
      const name = t.trim().toLowerCase()
      if (name !== '' && !NOT_DROPPABLE.has(name) && !HOP_BY_HOP.has(name)) (out ??= new Set()).add(name)
    }
  }
  return out
}

/** Adds `name: value` to `sets` (a later set of the same name, in any case, replaces the value). */
export function addSet (sets: HeaderSets, name: string, value: string): void {
  const lower = name.toLowerCase()
  const had = sets.get(lower)
  sets.set(lower, { name: had?.name ?? name, value })
}

/**
 * The header lines (`Name: value` CRLF each, no blank line) a proxy sends on: `h` without its
 * hop-by-hop headers, the headers named in Connection and `drop` (lower-case names), followed by
 * the `extra` pairs; then each header of `sets` replaces the first header of its name in place
 * (dropping the others) or, when there is none, is appended, in the order of `sets`. Names keep
 * their spelling. The same list as dropping, pushing and setting header by header, in one pass:
 * this runs for every request and response of the vhost.
 */
export function rewriteHeaders (h: HeaderList, drop: ReadonlySet<string> | undefined, sets: HeaderSets | undefined, extra?: readonly string[]): string {
  const listed = connectionTokens(h)
  let placed: Set<string> | undefined
  let out = ''
  const line = (name: string, lower: string, value: string): void => {
    const set = sets?.get(lower)
    if (set === undefined) { out += `${name}: ${value}\r\n`; return }
    if (placed?.has(lower) === true) return
    (placed ??= new Set()).add(lower)
    out += `${name}: ${set.value}\r\n`
  }
  const { raw, names } = h
  for (let i = 0; i < names.length; i++) {
    const lower = names[i] as string
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) === true || drop?.has(lower) === true) continue
    line(raw[2 * i] as string, lower, raw[2 * i + 1] as string)
  }
  if (extra !== undefined) for (let i = 0; i + 1 < extra.length; i += 2) line(extra[i] as string, (extra[i] as string).toLowerCase(), extra[i + 1] as string)
  if (sets !== undefined) for (const [lower, set] of sets) if (placed?.has(lower) !== true) out += `${set.name}: ${set.value}\r\n`
  return out
}

/** Replaces every header called `name` (any case) by one `name: value`, at the first one's place (raw pairs, all headers kept). */
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

/** Whether rewriteHeaders(h) without drop, sets or extras would drop any header. */
function dropsAny (h: HeaderList, listed: ReadonlySet<string> | undefined): boolean {
  for (const lower of h.names) if (HOP_BY_HOP.has(lower) || listed?.has(lower) === true) return true
  return false
}

/**
 * A head's bytes as they came, without its hop-by-hop headers and those named in Connection: the
 * same header lines as rewriteHeaders(h) with nothing set or added, taken from `head` (the
 * bytes up to and including the blank line, as parsed into `h`: one header per line after the
 * first) instead of written again. The whole head itself when nothing is dropped.
 */
export function passHead (head: Buffer, h: HeaderList): Buffer {
  const listed = connectionTokens(h)
  if (!dropsAny(h, listed)) return head
  const parts: Buffer[] = []
  let keptFrom = 0
  let at = head.indexOf('\r\n', 0, 'latin1') + 2
  for (const lower of h.names) {
    const next = head.indexOf('\r\n', at, 'latin1') + 2
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) === true) {
      if (at > keptFrom) parts.push(head.subarray(keptFrom, at))
      keptFrom = next
    }
    at = next
  }
  parts.push(head.subarray(keptFrom))
  return Buffer.concat(parts)
}
