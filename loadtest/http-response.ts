// Incremental HTTP/1.1 response reader for the load generator: status line, headers, and a body
// framed by Content-Length, chunked encoding, or the end of the connection. It keeps only what
// it needs (status, keep-alive) and never buffers a body. Malformed input throws HttpParseError.

/** Longest status line + headers accepted (far above any real server's). */
export const MAX_HEAD_BYTES = 64 * 1024
const CRLF = Buffer.from('\r\n')
const HEAD_END = Buffer.from('\r\n\r\n')

export class HttpParseError extends Error {}

export interface HttpResponseInfo {
  status: number
  /** False when the server said Connection: close (or spoke HTTP/1.0 without keep-alive). */
  keepAlive: boolean
  bodyBytes: number
}

type State =
  | { kind: 'head' }
  | { kind: 'length', left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data', left: number }
  | { kind: 'trailer' }
  | { kind: 'until-close' }

interface Head {
  status: number
  keepAlive: boolean
  length: number | undefined
  chunked: boolean
}

export function parseHead (text: string): Head {
  const lines = text.split('\r\n')
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '')
  if (m === null) throw new HttpParseError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`)
  let keepAlive = m[1] === '1'
  let length: number | undefined
  let chunked = false
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new HttpParseError(`malformed header line: ${JSON.stringify(line.slice(0, 60))}`)
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim().toLowerCase()
    if (name === 'content-length') {
      if (!/^\d+$/.test(value)) throw new HttpParseError(`bad Content-Length: ${value}`)
      length = Number(value)
    } else if (name === 'transfer-encoding') {
      chunked = value.split(',').map((s) => s.trim()).includes('chunked')
    } else if (name === 'connection') {
      const tokens = value.split(',').map((s) => s.trim())
      if (tokens.includes('close')) keepAlive = false
      else if (tokens.includes('keep-alive')) keepAlive = true
    }
  }
  return { status: Number(m[2]), keepAlive, length, chunked }
}

export class HttpResponseReader {
  #state: State = { kind: 'head' }
  #buf: Buffer = Buffer.alloc(0)
  #head: Head | undefined
  #body = 0

  /** True between responses (nothing of the next one read yet). */
  get idle (): boolean { return this.#state.kind === 'head' && this.#buf.length === 0 }

  /** Feeds bytes; returns the responses they completed. */
  push (chunk: Buffer): HttpResponseInfo[] {
    const done: HttpResponseInfo[] = []
    let data = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    this.#buf = Buffer.alloc(0)
    while (data.length > 0) {
      const used = this.#step(data, done)
      if (used < 0) { // needs more bytes: keep the rest
        if (data.length > MAX_HEAD_BYTES) throw new HttpParseError(`no end of headers or chunk line within ${MAX_HEAD_BYTES} B`)
        this.#buf = Buffer.from(data)
        break
      }
      data = data.subarray(used)
    }
    return done
  }

  /** The connection ended: completes a response framed by the close; throws if one is cut short. */
  end (): HttpResponseInfo | undefined {
    if (this.#state.kind === 'until-close') return this.#complete(false)
    if (!this.idle) throw new HttpParseError('the connection closed in the middle of a response')
    return undefined
  }

  #complete (keepAlive: boolean): HttpResponseInfo {
    const info = { status: this.#head?.status ?? 0, keepAlive, bodyBytes: this.#body }
    this.#state = { kind: 'head' }
    this.#head = undefined
    this.#body = 0
    return info
  }

  /** Consumes from `data`; returns the bytes used, or -1 when a line or head is incomplete. */
  #step (data: Buffer, done: HttpResponseInfo[]): number {
    const s = this.#state
    switch (s.kind) {
      case 'head': {
        const end = data.indexOf(HEAD_END)
        if (end < 0) return -1
        const head = parseHead(data.toString('latin1', 0, end))
        this.#head = head
        if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) {
          if (head.status >= 200) done.push(this.#complete(head.keepAlive))
          else this.#state = { kind: 'head' } // interim response: the real one follows
        } else if (head.chunked) this.#state = { kind: 'chunk-size' }
        else if (head.length !== undefined) {
          this.#state = { kind: 'length', left: head.length }
          if (head.length === 0) done.push(this.#complete(head.keepAlive))
        } else this.#state = { kind: 'until-close' }
        return end + HEAD_END.length
      }
      case 'length': {
        const n = Math.min(s.left, data.length)
        s.left -= n
        this.#body += n
        if (s.left === 0) done.push(this.#complete(this.#head?.keepAlive ?? false))
        return n
      }
      case 'chunk-size': {
        const eol = data.indexOf(CRLF)
        if (eol < 0) return -1
        const sizeText = data.toString('latin1', 0, eol).split(';')[0]?.trim() ?? ''
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new HttpParseError(`bad chunk size: ${JSON.stringify(sizeText)}`)
        const size = parseInt(sizeText, 16)
        this.#state = size === 0 ? { kind: 'trailer' } : { kind: 'chunk-data', left: size + 2 }
        return eol + CRLF.length
      }
      case 'chunk-data': {
        const n = Math.min(s.left, data.length)
        this.#body += Math.min(n, Math.max(0, s.left - 2)) // the chunk's closing CRLF is not body
        s.left -= n
        if (s.left === 0) this.#state = { kind: 'chunk-size' }
        return n
      }
      case 'trailer': {
        const eol = data.indexOf(CRLF)
        if (eol < 0) return -1
        if (eol === 0) done.push(this.#complete(this.#head?.keepAlive ?? false))
        return eol + CRLF.length
      }
      case 'until-close':
        this.#body += data.length
        return data.length
    }
  }
}
