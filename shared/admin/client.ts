// The admin API as seen from `tunnel status`, `reload`, `diag --admin` and `bench --admin`:
// one bounded HTTP request (time limit, response size limit) to a target, its JSON parsed.
// A refused connection or a timeout is TUN_ADMIN_UNREACHABLE; a 401 is TUN_ADMIN_AUTH; the
// caller decides what other statuses mean.
import { TunnelError } from '../errors.js'
import { nodeHttp } from '../lazy-builtins.js'
import type { AdminTarget } from './target.js'

export const ADMIN_REQUEST_TIMEOUT_MS = 10_000
/** Largest answer read (a diag report of a busy relay is well under this). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024

export interface AdminReply {
  status: number
  /** Parsed JSON, or the text when the answer is not JSON (/metrics). */
  data: unknown
  text: string
  contentType: string
}

export interface AdminRequestOptions {
  method?: 'GET' | 'POST'
  timeoutMs?: number
  body?: unknown
}

export function adminRequest (target: AdminTarget, path: string, options: AdminRequestOptions = {}): Promise<AdminReply> {
  const method = options.method ?? 'GET'
  const timeoutMs = options.timeoutMs ?? ADMIN_REQUEST_TIMEOUT_MS
  const url = new URL(path, target.base)
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
  return new Promise((resolve, reject) => {
    let settled = false
    const fail = (err: TunnelError): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      reject(err)
    }
    const req = nodeHttp().request(url, {
      method,
      headers: {
        accept: 'application/json, text/plain',
        ...(target.authorization === undefined ? {} : { authorization: target.authorization }),
        ...(payload === undefined ? { 'content-length': 0 } : { 'content-type': 'application/json', 'content-length': payload.length }),
      },
    }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_RESPONSE_BYTES) { fail(new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered more than ${MAX_RESPONSE_BYTES} bytes`)); return }
        chunks.push(chunk)
      })
      res.on('error', (err) => { fail(unreachable(target, err)) })
      res.on('end', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        const text = Buffer.concat(chunks, size).toString('utf8')
        const status = res.statusCode ?? 0
        const contentType = String(res.headers['content-type'] ?? '')
        if (status === 401) {
          const how = target.authorization === undefined ? 'it needs credentials' : 'the credentials were refused'
          reject(new TunnelError('TUN_ADMIN_AUTH', `the admin API at ${target.label} answered 401: ${how} (webServer.user/password or webServer.token; --admin http://USER:PASSWORD@HOST:PORT or --admin-token)`))
          return
        }
        let data: unknown = text
        if (contentType.startsWith('application/json')) {
          try {
            data = JSON.parse(text)
          } catch {
            reject(new TunnelError('TUN_ADMIN_REQUEST', `the admin API at ${target.label} answered ${status} with malformed JSON`))
            return
          }
        }
        resolve({ status, data, text, contentType })
      })
    })
    const timer = setTimeout(() => { fail(new TunnelError('TUN_ADMIN_UNREACHABLE', `the admin API at ${target.label} did not answer within ${timeoutMs} ms`)) }, timeoutMs)
    req.on('error', (err) => { fail(unreachable(target, err)) })
    req.end(payload)
  })
}

function unreachable (target: AdminTarget, err: Error): TunnelError {
  const code = (err as NodeJS.ErrnoException).code
  const why = code === 'ECONNREFUSED' ? 'connection refused (is the relay or client running, with this webServer.addr and port?)' : err.message
  return new TunnelError('TUN_ADMIN_UNREACHABLE', `cannot reach the admin API at ${target.label}: ${why}`, { cause: err })
}

/** The `error` of a JSON error answer, or the status line. */
export function replyError (reply: AdminReply): string {
  const d = reply.data
  if (d !== null && typeof d === 'object' && typeof (d as { error?: unknown }).error === 'string') return (d as { error: string }).error
  return `HTTP ${reply.status}`
}
