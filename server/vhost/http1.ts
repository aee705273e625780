// The HTTP/1.1 message framing the vhost's fast path reads itself (RFC 9112): request and
// response heads, and the chunked body framing, which it only follows (the bytes are passed on
// as they came). Strict where leniency lets two parsers disagree about where a message ends:
// bare LF, obs-fold, a space before the colon, control characters, Content-Length together with
// Transfer-Encoding in a request, Transfer-Encoding in an HTTP/1.0 request, several or malformed
// Content-Length values, a request Transfer-Encoding whose last coding is not chunked, malformed
// chunk sizes: each is refused, never repaired. Heads are bounded by the caller
// (VHOST_MAX_HEADER_BYTES); chunk-size lines and trailers here. Pure: no I/O.

/** A chunk-size line (size, extensions, CRLF) is at most this long. */
export const MAX_CHUNK_LINE_BYTES = 4096
/** Trailer fields after the last chunk, in bytes at most (as a head). */
export const MAX_TRAILER_BYTES = 16 * 1024
/** Hex digits of a chunk size at most (13 keep it below 2^53). */
const MAX_CHUNK_SIZE_DIGITS = 13
/** Decimal digits of a Content-Length at most (below 2^53). */
const MAX_LENGTH_DIGITS = 15

const CR = 0x0d
const LF = 0x0a

/** Where the head ends: the index just past its blank line, or -1 while it has not arrived. */
export function headEnd (buf: Buffer, from = 0): number {
  const i = buf.indexOf('\r\n\r\n', Math.max(0, from - 3), 'latin1')
  return i < 0 ? -1 : i + 4
}

/** Whether `buf` has a LF without a CR before it (a head that would never end by CRLF CRLF). */
export function hasBareLf (buf: Buffer, from = 0): boolean {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) if (i === 0 || buf[i - 1] !== CR) return true
  return false
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A request target: no spaces or control characters. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/

/** tchar (RFC 9110 section 5.6.2) by character code, for codes below 128: 1 = allowed. */
const TCHAR = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1

/** The Connection tokens of a head without a Connection header (shared: never changed). */
const NO_TOKENS: ReadonlySet<string> = new Set()

export interface Framing {
  /** Lower-case names listed in Connection headers. */
  connection: ReadonlySet<string>
  /** The Content-Length, or undefined. */
  contentLength: number | undefined
  /** Transfer-Encoding is present and its last coding is chunked. */
  chunked: boolean
  /** Transfer-Encoding is present (chunked or not). */
  transferEncoding: boolean
}

export interface RequestHead extends Framing {
  method: string
  target: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number
  /** name, value, name, value, ... as sent (values trimmed of surrounding whitespace). */
  raw: string[]
  /** The header names of `raw` in lower case, one per pair (names[i] is raw[2 * i]'s). */
  names: string[]
}

export interface ResponseHead extends Framing {
  status: number
  reason: string
  minor: number
  raw: string[]
  /** The header names of `raw` in lower case, one per pair. */
  names: string[]
}

export interface HeadError {
  error: string
}

/** Whether `s[from, to)` is a token (non-empty, tchar only). */
function isToken (s: string, from: number, to: number): boolean {
  if (to <= from) return false
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c >= 128 || TCHAR[c] === 0) return false
  }
  return true
}

/**
 * Splits a head (latin1 text without its blank line) into its first line and header pairs,
 * checking as it goes: lines end in CRLF only (a LF without its CR is refused), no obs-fold, a
 * token before the colon, and values of visible ASCII, space, tab and obs-text only. One pass
 * by character codes: this runs for every request and every response the vhost passes.
 */
function fields (text: string): { first: string, raw: string[], names: string[] } | HeadError {
  let lineEnd = text.indexOf('\r\n')
  if (lineEnd < 0) lineEnd = text.length
  const first = text.slice(0, lineEnd)
  if (first.includes('\n')) return { error: 'bare LF' }
  const raw: string[] = []
  const names: string[] = []
  let at = lineEnd + 2
  while (at <= text.length) {
    let end = text.indexOf('\r\n', at)
    if (end < 0) end = text.length
    const c0 = text.charCodeAt(at)
    if (c0 === 0x20 || c0 === 0x09) return { error: 'obs-fold (a header line starting with whitespace)' }
    const colon = text.indexOf(':', at)
    if (colon < 0 || colon >= end) {
      return text.lastIndexOf('\n', end - 1) >= at ? { error: 'bare LF' } : { error: 'a header line without a name and a colon' }
    }
    if (colon === at) return { error: 'a header line without a name and a colon' }
    if (!isToken(text, at, colon)) return text.lastIndexOf('\n', colon) >= at ? { error: 'bare LF' } : { error: 'a header name that is not a token' }
    let from = colon + 1
    let to = end
    while (from < to && (text.charCodeAt(from) === 0x20 || text.charCodeAt(from) === 0x09)) from++
    while (to > from && (text.charCodeAt(to - 1) === 0x20 || text.charCodeAt(to - 1) === 0x09)) to--
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i)
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return c === 0x0a ? { error: 'bare LF' } : { error: 'a control character in a header value' }
    }
    const name = text.slice(at, colon)
    raw.push(name, text.slice(from, to))
    names.push(name.toLowerCase())
    at = end + 2
  }
  return { first, raw, names }
}

/** Content-Length, Transfer-Encoding and Connection of a header list, or what is wrong with them. */
function framing (raw: readonly string[], names: readonly string[], request: boolean): Framing | HeadError {
  let connection: Set<string> | undefined
  let contentLength: number | undefined
  const codings: string[] = []
  let transferEncoding = false
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    const value = raw[2 * i + 1] as string
    if (name === 'content-length') {
      if (contentLength !== undefined) return { error: 'more than one Content-Length' }
      if (!/^\d+$/.test(value) || value.length > MAX_LENGTH_DIGITS) return { error: 'a Content-Length that is not a number' }
      contentLength = Number(value)
    } else if (name === 'transfer-encoding') {
      transferEncoding = true
      for (const c of value.split(',')) {
        const coding = c.trim().toLowerCase()
        if (coding === '') continue
        if (!TOKEN.test(coding)) return { error: 'a Transfer-Encoding that is not a list of codings' }
        codings.push(coding)
      }
    } else if (name === 'connection') {
      for (const t of value.split(',')) {
        const token = t.trim().toLowerCase()
        if (token !== '') (connection ??= new Set()).add(token)
      }
    }
  }
  const chunkedAt = codings.indexOf('chunked')
  const chunked = codings.length > 0 && chunkedAt === codings.length - 1
  if (transferEncoding) {
    if (chunkedAt >= 0 && !chunked) return { error: 'chunked is not the last transfer coding' }
    if (request) {
      if (contentLength !== undefined) return { error: 'both Content-Length and Transfer-Encoding' }
      if (!chunked) return { error: 'a request Transfer-Encoding whose last coding is not chunked' }
    }
  }
  return { connection: connection ?? NO_TOKENS, contentLength, chunked, transferEncoding }
}

/** A request head (latin1 text up to, not including, its blank line), or what is wrong with it. */
export function parseRequestHead (text: string): RequestHead | HeadError {
  const f = fields(text)
  if ('error' in f) return f
  const parts = f.first.split(' ')
  if (parts.length !== 3) return { error: 'a request line that is not "method target version"' }
  const [method, target, version] = parts as [string, string, string]
  if (!TOKEN.test(method)) return { error: 'a method that is not a token' }
  if (!TARGET.test(target)) return { error: 'a request target with spaces or control characters' }
  const minor = version === 'HTTP/1.1' ? 1 : version === 'HTTP/1.0' ? 0 : -1
  if (minor < 0) return { error: 'not HTTP/1.0 or HTTP/1.1' }
  const fr = framing(f.raw, f.names, true)
  if ('error' in fr) return fr
  // RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  if (minor === 0 && fr.transferEncoding) return { error: 'Transfer-Encoding in an HTTP/1.0 request' }
  return { method, target, minor, raw: f.raw, names: f.names, connection: fr.connection, contentLength: fr.contentLength, chunked: fr.chunked, transferEncoding: fr.transferEncoding }
}

/** A response head (latin1 text up to, not including, its blank line), or what is wrong with it. */
export function parseResponseHead (text: string): ResponseHead | HeadError {
  const f = fields(text)
  if ('error' in f) return f
  const m = STATUS_LINE.exec(f.first)
  if (m === null) return { error: 'not an HTTP/1.x status line' }
  const fr = framing(f.raw, f.names, false)
  if ('error' in fr) return fr
  return { status: Number(m[2]), reason: m[3] ?? '', minor: Number(m[1]), raw: f.raw, names: f.names, connection: fr.connection, contentLength: fr.contentLength, chunked: fr.chunked, transferEncoding: fr.transferEncoding }
}

export function isHeadError (x: RequestHead | ResponseHead | HeadError): x is HeadError {
  return 'error' in x
}

const enum Chunk { Size, Ext, SizeLf, Data, DataCr, DataLf, Trailer, TrailerLf, Done }

/**
 * Follows a chunked body (RFC 9112 section 7.1) byte by byte without changing it: feed() says how
 * many bytes of the buffer belong to the body (the rest is the next message), and done turns
 * true after the trailer section's blank line. A framing error leaves error set (the caller
 * then drops both connections: the body's end is unknown).
 */
export class ChunkedScanner {
  #state = Chunk.Size
  #digits = 0
  #size = 0
  #remaining = 0
  #line = 0
  #trailer = 0
  #lineStart = true
  error: string | undefined

  get done (): boolean { return this.#state === Chunk.Done }

  /** Bytes of `buf` from `start` that belong to the body (all of them unless it ended or failed). */
  feed (buf: Buffer, start = 0): number {
    let i = start
    const n = buf.length
    while (i < n && this.#state !== Chunk.Done && this.error === undefined) {
      switch (this.#state) {
        case Chunk.Data: {
          const take = Math.min(this.#remaining, n - i)
          i += take
          this.#remaining -= take
          if (this.#remaining === 0) this.#state = Chunk.DataCr
          break
        }
        case Chunk.Size: {
          const c = buf[i] as number
          const hex = hexValue(c)
          if (hex >= 0) {
            if (++this.#digits > MAX_CHUNK_SIZE_DIGITS) { this.error = 'a chunk size too large'; break }
            this.#size = this.#size * 16 + hex
          } else if (this.#digits === 0) {
            this.error = 'a chunk size that is not hex'
            break
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = Chunk.Ext
          } else if (c === CR) {
            this.#state = Chunk.SizeLf
          } else {
            this.error = 'a chunk size line with other characters'
            break
          }
          i++
          this.#count()
          break
        }
        case Chunk.Ext: {
          const c = buf[i] as number
          if (c === CR) this.#state = Chunk.SizeLf
          else if ((c < 0x20 && c !== 0x09) || c === 0x7f) { this.error = 'a control character in a chunk extension'; break }
          i++
          this.#count()
          break
        }
        case Chunk.SizeLf: {
          if (buf[i] !== LF) { this.error = 'a chunk size line without CRLF'; break }
          i++
          this.#line = 0
          this.#digits = 0
          if (this.#size === 0) {
            this.#state = Chunk.Trailer
            this.#lineStart = true
          } else {
            this.#remaining = this.#size
            this.#size = 0
            this.#state = Chunk.Data
          }
          break
        }
        case Chunk.DataCr: {
          if (buf[i] !== CR) { this.error = 'chunk data longer than its size'; break }
          i++
          this.#state = Chunk.DataLf
          break
        }
        case Chunk.DataLf: {
          if (buf[i] !== LF) { this.error = 'chunk data without CRLF'; break }
          i++
          this.#state = Chunk.Size
          break
        }
        case Chunk.Trailer: {
          const c = buf[i] as number
          if (++this.#trailer > MAX_TRAILER_BYTES) { this.error = 'trailers too large'; break }
          if (c === CR) {
            this.#state = Chunk.TrailerLf
          } else if (c === LF || (c < 0x20 && c !== 0x09) || c === 0x7f) {
            this.error = 'a control character or bare LF in the trailers'
            break
          } else if (this.#lineStart && (c === 0x20 || c === 0x09)) {
            this.error = 'obs-fold in the trailers'
            break
          } else {
            this.#lineStart = false
          }
          i++
          break
        }
        case Chunk.TrailerLf: {
          if (buf[i] !== LF) { this.error = 'a trailer line without CRLF'; break }
          i++
          // A blank line ends the trailers; otherwise another field line begins.
          if (this.#lineStart) this.#state = Chunk.Done
          else { this.#state = Chunk.Trailer; this.#lineStart = true }
          break
        }
      }
    }
    return i - start
  }

  #count (): void {
    if (++this.#line > MAX_CHUNK_LINE_BYTES) this.error = 'a chunk size line too long'
  }
}

function hexValue (c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}
