// The head of an HTTP CONNECT request on the tcpmux port (frp's tcpmux httpconnect), read
// without trusting it: at most MAX_CONNECT_HEAD_BYTES up to the empty line, a request line
// `CONNECT host:port HTTP/1.x`, header lines, and from them the target's host (normalised as a
// Host header is: lower case, no port, no trailing dot) and the Proxy-Authorization basic
// credentials. Pure: fed the bytes received so far, it says `more`, `invalid` (with the status to
// answer) or `ok` (with where the head ends; bytes after it belong to the tunnel).
import { hostFromHeader } from '../../shared/http/index.js'

/** The head (request line, headers, empty line) may be this long at most. */
export const MAX_CONNECT_HEAD_BYTES = 8 * 1024
const CRLFCRLF = Buffer.from('\r\n\r\n')
const REQUEST_LINE = /^([A-Za-z]+) ([^\s]+) HTTP\/1\.[01]$/
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/

export type ConnectHead =
  | { kind: 'more' }
  | { kind: 'invalid', status: 400 | 405 | 431, reason: string }
  | { kind: 'ok', host: string, port: number, user: string | undefined, password: string | undefined, headBytes: number }

export function readConnectHead (buf: Buffer): ConnectHead {
  const end = buf.indexOf(CRLFCRLF)
  if (end === -1 || end + CRLFCRLF.length > MAX_CONNECT_HEAD_BYTES) {
    if (buf.length >= MAX_CONNECT_HEAD_BYTES || (end !== -1 && end + CRLFCRLF.length > MAX_CONNECT_HEAD_BYTES)) {
      return { kind: 'invalid', status: 431, reason: `the request head is longer than ${MAX_CONNECT_HEAD_BYTES} bytes` }
    }
    return { kind: 'more' }
  }
  const text = buf.subarray(0, end).toString('latin1')
  if (/[^\t\r\n\x20-\x7e\x80-\xff]/.test(text)) return { kind: 'invalid', status: 400, reason: 'control characters in the request head' }
  const [first = '', ...lines] = text.split('\r\n')
  const m = REQUEST_LINE.exec(first)
  if (m === null) return { kind: 'invalid', status: 400, reason: 'not an HTTP/1 request line' }
  if (m[1] !== 'CONNECT') return { kind: 'invalid', status: 405, reason: `method ${(m[1] ?? '').slice(0, 16)} on the tcpmux port: only CONNECT is served` }
  const target = m[2] ?? ''
  const portText = /:(\d{1,5})$/.exec(target)?.[1]
  const port = portText === undefined ? NaN : Number(portText)
  const host = hostFromHeader(target)
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return { kind: 'invalid', status: 400, reason: 'the CONNECT target is not host:port' }
  let user: string | undefined
  let password: string | undefined
  for (const line of lines) {
    const h = HEADER_LINE.exec(line)
    if (h === null) return { kind: 'invalid', status: 400, reason: 'a malformed header line' }
    if ((h[1] ?? '').toLowerCase() !== 'proxy-authorization') continue
    const creds = basicCredentials(h[2] ?? '')
    if (creds === undefined) continue
    user = creds.user
    password = creds.password
  }
  return { kind: 'ok', host, port, user, password, headBytes: end + CRLFCRLF.length }
}

/** `Basic base64(user:password)`, or undefined for another scheme or bad base64. */
export function basicCredentials (value: string): { user: string, password: string } | undefined {
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})$/i.exec(value.trim())
  if (m === null) return undefined
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon === -1) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
