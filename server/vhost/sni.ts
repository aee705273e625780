// Reads the server name (SNI, RFC 6066) from the first bytes of a TLS connection without
// terminating TLS: the relay looks at the ClientHello, picks the proxy, and passes every byte
// on unchanged. Pure and bounded: it looks at no more than `maxBytes`, never throws, answers
// "need more" only while a complete hello could still arrive, and refuses anything that is not a
// well-formed ClientHello as soon as it can tell (the first byte of plain HTTP, for example).
//
// TLS record:        type u8 (22 = handshake) | version u16 (3.x) | length u16 (<= 2^14) | fragment
// Handshake message: type u8 (1 = ClientHello) | length u24 | body; one message may span records.
// ClientHello body:  version u16 | random 32 | session_id <0..32> | cipher_suites <2..2^16-2>
//                    | compression_methods <1..2^8-1> | extensions <0..2^16-1> (absent in SSLv3)
// server_name ext 0: list <1..2^16-1> of { name_type u8 (0 = host_name) | name <1..2^16-1> }
import { normalizeHostName } from '../../shared/http/index.js'

/** Bytes the relay reads at most before deciding (a ClientHello with post-quantum key shares is ~2 KB). */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024

const RECORD_HEADER_BYTES = 5
const MAX_RECORD_BYTES = 16_384
const CONTENT_HANDSHAKE = 22
const HANDSHAKE_CLIENT_HELLO = 1
const EXT_SERVER_NAME = 0
const NAME_TYPE_HOST = 0

export type HelloResult =
  /** Not enough bytes yet. */
  | { kind: 'more' }
  /** A complete ClientHello; `serverName` undefined when it has no SNI. */
  | { kind: 'hello', serverName: string | undefined }
  | { kind: 'invalid', reason: string }

const more = { kind: 'more' } as const
const invalid = (reason: string): HelloResult => ({ kind: 'invalid', reason })

/** Looks at `buf` (everything received so far) for a ClientHello. */
export function readClientHello (buf: Uint8Array, maxBytes = MAX_CLIENT_HELLO_BYTES): HelloResult {
  const handshake: Uint8Array[] = []
  let have = 0
  let need = -1 // handshake bytes needed in all (header + body), once the header is known
  let off = 0
  while (true) {
    if (buf.length > off && buf[off] !== CONTENT_HANDSHAKE) return invalid(off === 0 ? 'not a TLS handshake' : 'handshake interrupted by another record type')
    if (buf.length > off + 1 && buf[off + 1] !== 3) return invalid('not TLS 1.x')
    if (buf.length < off + RECORD_HEADER_BYTES) return tooMuch(buf, maxBytes)
    const len = ((buf[off + 3] as number) << 8) | (buf[off + 4] as number)
    if (len === 0 || len > MAX_RECORD_BYTES) return invalid(`record length ${len}`)
    const end = off + RECORD_HEADER_BYTES + len
    if (end > maxBytes) return invalid(`a ClientHello longer than ${maxBytes} bytes`)
    const fragment = buf.subarray(off + RECORD_HEADER_BYTES, Math.min(end, buf.length))
    handshake.push(fragment)
    have += fragment.length
    if (need < 0 && have >= 4) {
      const head = concat(handshake, 4)
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return invalid('first handshake message is not a ClientHello')
      const bodyLen = ((head[1] as number) << 16) | ((head[2] as number) << 8) | (head[3] as number)
      if (bodyLen + 4 > maxBytes) return invalid(`a ClientHello longer than ${maxBytes} bytes`)
      need = 4 + bodyLen
    }
    if (need >= 0 && have >= need) {
      const message = concat(handshake, need)
      const name = parseBody(message.subarray(4))
      if (typeof name === 'object') return name
      return { kind: 'hello', serverName: name === '' ? undefined : name }
    }
    if (buf.length < end) return tooMuch(buf, maxBytes)
    off = end
  }
}

function tooMuch (buf: Uint8Array, maxBytes: number): HelloResult {
  return buf.length >= maxBytes ? invalid(`no complete ClientHello in ${maxBytes} bytes`) : more
}

function concat (parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    if (at >= n) break
    const take = p.subarray(0, n - at)
    out.set(take, at)
    at += take.length
  }
  return out
}

/** A bounds-checked cursor; every read returns undefined past the end. */
class Cursor {
  off = 0
  constructor (readonly b: Uint8Array, readonly end = b.length) {}
  get left (): number { return this.end - this.off }
  u8 (): number | undefined { return this.left >= 1 ? this.b[this.off++] : undefined }
  u16 (): number | undefined {
    if (this.left < 2) return undefined
    const v = ((this.b[this.off] as number) << 8) | (this.b[this.off + 1] as number)
    this.off += 2
    return v
  }

  skip (n: number): boolean {
    if (this.left < n) return false
    this.off += n
    return true
  }

  /** A sub-cursor over the next `n` bytes (which this one skips). */
  take (n: number): Cursor | undefined {
    if (this.left < n) return undefined
    const c = new Cursor(this.b, this.off + n)
    c.off = this.off
    this.off += n
    return c
  }
}

/** The host name ('' for none), or an invalid result. */
function parseBody (body: Uint8Array): string | HelloResult {
  const c = new Cursor(body)
  if (!c.skip(2 + 32)) return invalid('truncated ClientHello')
  const sid = c.u8()
  if (sid === undefined || sid > 32 || !c.skip(sid)) return invalid('bad session id')
  const suites = c.u16()
  if (suites === undefined || suites < 2 || suites % 2 !== 0 || !c.skip(suites)) return invalid('bad cipher suites')
  const comp = c.u8()
  if (comp === undefined || comp < 1 || !c.skip(comp)) return invalid('bad compression methods')
  if (c.left === 0) return '' // no extensions at all
  const extLen = c.u16()
  if (extLen === undefined || extLen !== c.left) return invalid('bad extensions length')
  const seen = new Set<number>()
  let name = ''
  while (c.left > 0) {
    const type = c.u16()
    const len = c.u16()
    const data = len === undefined ? undefined : c.take(len)
    if (type === undefined || data === undefined) return invalid('truncated extension')
    if (seen.has(type)) return invalid(`extension ${type} twice`)
    seen.add(type)
    if (type !== EXT_SERVER_NAME) continue
    const parsed = parseServerName(data)
    if (typeof parsed === 'object') return parsed
    name = parsed
  }
  return name
}

function parseServerName (c: Cursor): string | HelloResult {
  const listLen = c.u16()
  if (listLen === undefined || listLen === 0 || listLen !== c.left) return invalid('bad server_name list')
  let host: string | undefined
  while (c.left > 0) {
    const type = c.u8()
    const len = c.u16()
    if (type === undefined || len === undefined || len === 0 || c.left < len) return invalid('truncated server name')
    const start = c.off
    c.skip(len)
    if (type !== NAME_TYPE_HOST) continue
    if (host !== undefined) return invalid('two host names')
    let text = ''
    for (let i = start; i < start + len; i++) {
      const ch = c.b[i] as number
      if (ch < 0x21 || ch > 0x7e) return invalid('server name is not ASCII')
      text += String.fromCharCode(ch)
    }
    const normal = normalizeHostName(text)
    if (normal === undefined) return invalid('server name is not a host name')
    host = normal
  }
  return host ?? ''
}
