// A relay plugin service for tests (frp's server plugin protocol): records every request it gets
// and answers what `decide` says for it (allow unchanged by default). Closed by closePluginServices().
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface PluginRequest {
  op: string
  /** The query's version and op. */
  query: Record<string, string>
  reqid: string | undefined
  body: { version?: string, op?: string, content?: Record<string, unknown> }
}

/** What the service answers: a JSON answer, an HTTP status without one, or nothing at all (a hang). */
export type PluginReply = { json: unknown } | { status: number } | 'hang'

export interface PluginService {
  port: number
  requests: PluginRequest[]
  close: () => Promise<void>
}

const services = new Set<Server>()

export async function startPluginService (decide: (r: PluginRequest) => PluginReply = () => ({ json: { reject: false, unchange: true } })): Promise<PluginService> {
  const requests: PluginRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      let body: PluginRequest['body'] = {}
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PluginRequest['body'] } catch { /* recorded as empty */ }
      const r: PluginRequest = { op: url.searchParams.get('op') ?? '', query: Object.fromEntries(url.searchParams), reqid: req.headers['x-frp-reqid'] as string | undefined, body }
      requests.push(r)
      const reply = decide(r)
      if (reply === 'hang') return
      if ('status' in reply) { res.writeHead(reply.status).end(); return }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply.json))
    })
  })
  services.add(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: async () => { await closeOne(server) },
  }
}

async function closeOne (server: Server): Promise<void> {
  services.delete(server)
  server.closeAllConnections()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}

export async function closePluginServices (): Promise<void> {
  await Promise.all([...services].map(closeOne))
}
