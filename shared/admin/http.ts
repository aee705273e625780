// Small HTTP helpers of the admin API: the response shapes handlers return, writing them, and
// reading a request body with a size limit. JSON is always `application/json; charset=utf-8`
// with a trailing newline (pleasant with curl); errors are `{ error, code }`. Every answer carries
// the same strict headers: a Content-Security-Policy that allows scripts, styles and requests
// from this origin only (no inline script or style element, no other host), no framing, no
// referrer, no MIME sniffing.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorCode } from '../errors.js'

/** Request bodies are read up to this size; larger ones get 413. */
export const MAX_BODY_BYTES = 64 * 1024

export type AdminResponse =
  | { status: number, json: unknown, headers?: Record<string, string | string[]> }
  | { status: number, text: string, contentType: string, headers?: Record<string, string | string[]> }

export const json = (status: number, body: unknown, headers?: Record<string, string | string[]>): AdminResponse =>
  headers === undefined ? { status, json: body } : { status, json: body, headers }

export const text = (status: number, body: string, contentType: string, headers?: Record<string, string | string[]>): AdminResponse =>
  headers === undefined ? { status, text: body, contentType } : { status, text: body, contentType, headers }

export const errorBody = (code: ErrorCode, message: string): { error: string, code: ErrorCode } => ({ error: message, code })

export const errorResponse = (status: number, code: ErrorCode, message: string, headers?: Record<string, string | string[]>): AdminResponse =>
  json(status, errorBody(code, message), headers)

/**
 * The dashboard's policy (and every other answer's): its own scripts, styles, images and API
 * only. No 'unsafe-inline' anywhere: uPlot and Preact set styles through the CSSOM, which a
 * policy does not restrict; markup-level style attributes and <style>/<script> elements are refused.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

export function writeResponse (res: ServerResponse, r: AdminResponse): void {
  const isJson = 'json' in r
  const body = isJson ? JSON.stringify(r.json, null, 2) + '\n' : r.text
  res.writeHead(r.status, {
    'content-type': isJson ? 'application/json; charset=utf-8' : r.contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    ...(r.headers ?? {}),
  })
  res.end(body)
}

export type BodyResult = { ok: true, body: Buffer } | { ok: false, reason: 'too-large' | 'aborted' }

/** The whole request body, or why not; stops reading past `limit` bytes. */
export function readBody (req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (Number.isFinite(declared) && declared > limit) {
    req.resume()
    return Promise.resolve({ ok: false, reason: 'too-large' })
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const settle = (r: BodyResult): void => {
      if (settled) return
      settled = true
      resolve(r)
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        settle({ ok: false, reason: 'too-large' })
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => { settle({ ok: true, body: Buffer.concat(chunks, size) }) })
    req.on('error', () => { settle({ ok: false, reason: 'aborted' }) })
    req.on('close', () => { settle({ ok: false, reason: 'aborted' }) })
  })
}
