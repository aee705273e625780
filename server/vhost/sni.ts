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
/**
 * TLS records a ClientHello may span. Real stacks send it in one record (two when it passes
 * 16 KiB), DPI-evading tools cut it into a handful; tiny records only multiply the per-record
 * work. Kept well above what any cut of a hello of a few hundred bytes into one-byte records needs.
 */
export const MAX_HELLO_RECORDS = 1024

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
export function readClientHello (buf: Uint8Array, maxBytes = MAX_CLIENT_HELLO_BYTES, maxRecords = MAX_HELLO_RECORDS): HelloResult {
  return new ClientHelloReader(maxBytes, maxRecords).push(buf)
}

/**
 * The same reader, fed chunk by chunk as a connection delivers them: every byte is looked at
 * once (record headers as they complete, the handshake message copied once into a buffer of its
 * declared size, its body parsed once when complete), so a hello cut into many records and TCP
 * segments costs what its bytes cost. After a final answer (hello or invalid) it keeps giving it.
 */
export class ClientHelloReader {
  readonly #maxBytes: number
  readonly #maxRecords: number
  /** Bytes received so far. */
  #seen = 0
  /** Work units: input bytes looked at plus message bytes parsed (a test counts them). */
  examined = 0
  /** TLS records started so far. */
  records = 0
  /** The header of the record being read (complete when #headerLen is 5). */
  readonly #header = new Uint8Array(RECORD_HEADER_BYTES)
  #headerLen = 0
  /** Fragment bytes of the current record still to come. */
  #fragmentLeft = 0
  /** Where the current record ends, in bytes since the start. */
  #recordEnd = 0
  /** The handshake message: its 4-byte header first, then the buffer of its declared size. */
  readonly #head = new Uint8Array(4)
  #message: Uint8Array | undefined
  #have = 0
  #result: HelloResult = more

  constructor (maxBytes = MAX_CLIENT_HELLO_BYTES, maxRecords = MAX_HELLO_RECORDS) {
    this.#maxBytes = maxBytes
    this.#maxRecords = maxRecords
  }

  get result (): HelloResult { return this.#result }

  push (chunk: Uint8Array): HelloResult {
    if (this.#result.kind !== 'more') return this.#result
    let i = 0
    while (i < chunk.length) {
      if (this.#fragmentLeft === 0) {
        // A record header, byte by byte.
        const b = chunk[i] as number
        this.examined++
        this.#seen++
        i++
        const at = this.#headerLen++
        this.#header[at] = b
        if (at === 0) {
          if (b !== CONTENT_HANDSHAKE) return this.#end(invalid(this.records === 0 ? 'not a TLS handshake' : 'handshake interrupted by another record type'))
          if (++this.records > this.#maxRecords) return this.#end(invalid(`a ClientHello in more than ${this.#maxRecords} records`))
        } else if (at === 1 && b !== 3) {
          return this.#end(invalid('not TLS 1.x'))
        } else if (at === RECORD_HEADER_BYTES - 1) {
          const len = ((this.#header[3] as number) << 8) | b
          if (len === 0 || len > MAX_RECORD_BYTES) return this.#end(invalid(`record length ${len}`))
          this.#recordEnd = this.#seen + len
          if (this.#recordEnd > this.#maxBytes) return this.#end(invalid(`a ClientHello longer than ${this.#maxBytes} bytes`))
          this.#fragmentLeft = len
          this.#headerLen = 0
        }
        continue
      }
      // Fragment bytes: as many as this chunk holds of this record.
      const take = Math.min(this.#fragmentLeft, chunk.length - i)
      this.examined += take
      this.#seen += take
      this.#fragmentLeft -= take
      const done = this.#handshakeBytes(chunk.subarray(i, i + take))
      i += take
      if (done !== undefined) return this.#end(done)
    }
    if (this.#seen >= this.#maxBytes) return this.#end(invalid(`no complete ClientHello in ${this.#maxBytes} bytes`))
    return more
  }

  /** Adds handshake-stream bytes; a final answer once the message is complete or its header wrong. */
  #handshakeBytes (bytes: Uint8Array): HelloResult | undefined {
    let off = 0
    if (this.#message === undefined) {
      const n = Math.min(4 - this.#have, bytes.length)
      this.#head.set(bytes.subarray(0, n), this.#have)
      this.#have += n
      off = n
      if (this.#have < 4) return undefined
      if (this.#head[0] !== HANDSHAKE_CLIENT_HELLO) return invalid('first handshake message is not a ClientHello')
      const bodyLen = ((this.#head[1] as number) << 16) | ((this.#head[2] as number) << 8) | (this.#head[3] as number)
      if (bodyLen + 4 > this.#maxBytes) return invalid(`a ClientHello longer than ${this.#maxBytes} bytes`)
      this.#message = new Uint8Array(bodyLen)
      this.#have = 0
    }
    const message = this.#message
    const n = Math.min(message.length - this.#have, bytes.length - off)
    message.set(bytes.subarray(off, off + n), this.#have)
    this.#have += n
    if (this.#have < message.length) return undefined
    this.examined += message.length
    const name = parseBody(message)
    if (typeof name === 'object') return name
    return { kind: 'hello', serverName: name === '' ? undefined : name }
  }

  #end (r: HelloResult): HelloResult {
    this.#result = r
    return r
  }
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
