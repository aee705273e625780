// Raw HTTP requests to an admin API (node:http, so tests control every header, Host included),
// and an in-process AdminServer that is closed when the test ends (closeAdminServers()).
import { request } from 'node:http'
import { AdminServer, type AdminServerOptions } from '../../shared/admin/server.js'
import { silentLogger } from '../../shared/log.js'

export interface RawReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Every header's values as sent, one entry per header line. */
  distinct: Record<string, string[]>
  text: string
  json: unknown
}

export interface RawRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string | Buffer
  host?: string
}

export function rawRequest (port: number, r: RawRequest = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: r.host ?? '127.0.0.1', port, method: r.method ?? 'GET', path: r.path ?? '/api/status', headers: r.headers ?? {}, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => { chunks.push(c) })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try { json = JSON.parse(text) } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, distinct: res.headersDistinct as Record<string, string[]>, text, json })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('admin request timed out')) })
    req.on('error', reject)
    req.end(r.body)
  })
}

export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

const servers = new Set<AdminServer>()

/** Starts an AdminServer on 127.0.0.1 (port 0) with a silent logger unless one is given. */
export async function startAdmin (options: Partial<AdminServerOptions> & Pick<AdminServerOptions, 'routes'>): Promise<{ server: AdminServer, port: number, url: string }> {
  const server = new AdminServer({
    addr: '127.0.0.1',
    port: 0,
    credentials: { user: '', password: '', token: '' },
    log: silentLogger(),
    ...options,
  })
  servers.add(server)
  const { port } = await server.start()
  return { server, port, url: `http://127.0.0.1:${port}` }
}

export async function closeAdminServers (): Promise<void> {
  const list = [...servers]
  servers.clear()
  await Promise.all(list.map(async (s) => { await s.close() }))
}
