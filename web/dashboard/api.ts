// Requests to this page's own admin API: relative URLs (the dashboard may live under a path
// prefix behind a reverse proxy), the browser's own credentials (the basic-auth login of the
// page), no cache. An error answer becomes an ApiError with the API's code.

export class ApiError extends Error {
  readonly status: number
  readonly code: string | undefined
  constructor (status: number, code: string | undefined, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface Reply<T> {
  status: number
  data: T
}

async function parse<T> (r: Response): Promise<Reply<T>> {
  const type = r.headers.get('content-type') ?? ''
  const body: unknown = type.startsWith('application/json') ? await r.json() : await r.text()
  return { status: r.status, data: body as T }
}

function failure (reply: Reply<unknown>): ApiError {
  const d = reply.data
  if (d !== null && typeof d === 'object' && 'error' in d) {
    const e = d as { error: unknown, code?: unknown }
    return new ApiError(reply.status, typeof e.code === 'string' ? e.code : undefined, String(e.error))
  }
  return new ApiError(reply.status, undefined, `HTTP ${reply.status}`)
}

/** GET a JSON endpoint; anything but 200 throws an ApiError. */
export async function getJson<T> (path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin', ...(signal === undefined ? {} : { signal }) })
  const reply = await parse<T>(r)
  if (reply.status !== 200) throw failure(reply)
  return reply.data
}

/** POST a text body; statuses in `ok` come back as replies, the others throw an ApiError. */
export async function postText<T> (path: string, body: string, ok: readonly number[], headers: Record<string, string> = {}): Promise<Reply<T>> {
  const r = await fetch(path, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8', accept: 'application/json', ...headers }, cache: 'no-store', credentials: 'same-origin' })
  const reply = await parse<T>(r)
  if (!ok.includes(reply.status)) throw failure(reply)
  return reply
}

export const errorText = (err: unknown): string => (err instanceof ApiError ? `${err.message}${err.code === undefined ? '' : ` (${err.code})`}` : err instanceof Error ? err.message : String(err))
