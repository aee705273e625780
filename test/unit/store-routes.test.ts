// The store API's request shapes (frp's ProxyDefinition) and its routes over a store double:
// what is refused before the store is asked, the answers' status codes, and the admin server's
// one-segment routes (`/api/store/proxies/*`) for PUT and DELETE.
import { describe, expect, it } from 'vitest'
import { entryFromBody, storeRoutes, type ProxyStoreApi, type StoreChange, type StoreEntry, type StoreKind } from '../../shared/admin/index.js'
import type { AdminRequest, AdminRoute } from '../../shared/admin/server.js'

const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))
const applied = { status: 'applied' as const, added: [], removed: [], changed: [], errors: [] }

describe('entryFromBody', () => {
  it('turns frp\'s { name, type, <type>: {...} } into the stored entry', () => {
    expect(entryFromBody('proxies', body({ name: 'ssh', type: 'tcp', tcp: { localPort: 22, remotePort: 6000 } }))).toEqual({ name: 'ssh', type: 'tcp', localPort: 22, remotePort: 6000 })
    expect(entryFromBody('visitors', body({ name: 'v', type: 'stcp', stcp: { serverName: 'ssh', secretKey: 'k', bindPort: 9000 } }))).toMatchObject({ name: 'v', type: 'stcp', bindPort: 9000 })
  })

  it('refuses what frp refuses: no name, an unknown type, no block, two blocks, a block of another type, a URL name that differs', () => {
    expect(entryFromBody('proxies', body('not json'))).toMatch(/not JSON/)
    expect(entryFromBody('proxies', body([1]))).toMatch(/JSON object/)
    expect(entryFromBody('proxies', body({ name: ' ', type: 'tcp', tcp: {} }))).toBe('proxy name is required')
    expect(entryFromBody('proxies', body({ name: 'a', type: 'ftp', ftp: {} }))).toMatch(/invalid proxy type "ftp"/)
    expect(entryFromBody('visitors', body({ name: 'a', type: 'tcp', tcp: {} }))).toMatch(/invalid visitor type "tcp": one of stcp, sudp, xtcp/)
    expect(entryFromBody('proxies', body({ name: 'a', type: 'tcp' }))).toMatch(/exactly one proxy type block is required \(found none\)/)
    expect(entryFromBody('proxies', body({ name: 'a', type: 'tcp', tcp: {}, udp: {} }))).toMatch(/found tcp, udp/)
    expect(entryFromBody('proxies', body({ name: 'a', type: 'tcp', udp: {} }))).toMatch(/block "udp" does not match type "tcp"/)
    expect(entryFromBody('proxies', body({ name: 'a', type: 'tcp', tcp: [] }))).toMatch(/must be an object/)
    expect(entryFromBody('proxies', body({ name: 'a', type: 'tcp', tcp: {} }), 'b')).toMatch(/name in the URL \(b\) must match the name in the body \(a\)/)
  })
})

class FakeStore implements ProxyStoreApi {
  readonly entries: Record<StoreKind, StoreEntry[]> = { proxies: [], visitors: [] }
  async list (kind: StoreKind): Promise<StoreEntry[]> { return await Promise.resolve([...this.entries[kind]]) }
  async get (kind: StoreKind, name: string): Promise<StoreEntry | undefined> { return await Promise.resolve(this.entries[kind].find((e) => e.name === name)) }
  async create (kind: StoreKind, entry: StoreEntry): Promise<StoreChange> {
    if (this.entries[kind].some((e) => e.name === entry.name)) return { ok: false, status: 409, code: 'TUN_STORE_CONFLICT', message: 'exists' }
    this.entries[kind].push(entry)
    return await Promise.resolve({ ok: true, entry, outcome: applied })
  }

  async update (kind: StoreKind, name: string, entry: StoreEntry): Promise<StoreChange> {
    const i = this.entries[kind].findIndex((e) => e.name === name)
    if (i === -1) return { ok: false, status: 404, code: 'TUN_STORE_NOT_FOUND', message: 'no' }
    this.entries[kind][i] = entry
    return await Promise.resolve({ ok: true, entry, outcome: applied })
  }

  async remove (kind: StoreKind, name: string): Promise<StoreChange> {
    const before = this.entries[kind].length
    this.entries[kind] = this.entries[kind].filter((e) => e.name !== name)
    if (this.entries[kind].length === before) return { ok: false, status: 404, code: 'TUN_STORE_NOT_FOUND', message: 'no' }
    return await Promise.resolve({ ok: true, entry: null, outcome: applied })
  }
}

async function send (routes: AdminRoute[], method: AdminRequest['method'], path: string, payload?: unknown): Promise<{ status: number, json: unknown }> {
  const route = routes.find((r) => r.method === method && (r.path === path || (r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1)) && !path.slice(r.path.length - 1).includes('/'))))
  if (route === undefined) throw new Error(`no route for ${method} ${path}`)
  const r = await route.handle({ method, path, query: new URLSearchParams(), body: payload === undefined ? Buffer.alloc(0) : body(payload), headers: {}, signal: new AbortController().signal })
  return { status: r.status, json: 'json' in r ? r.json : r.text }
}

describe('storeRoutes', () => {
  it('creates, reads, lists (by name), updates and deletes in frp\'s shapes', async () => {
    const store = new FakeStore()
    const routes = storeRoutes(store)
    for (const name of ['web', 'api']) {
      expect(await send(routes, 'POST', '/api/store/proxies', { name, type: 'http', http: { localPort: 80, customDomains: [`${name}.example.com`] } })).toMatchObject({ status: 200, json: { name, type: 'http', reload: applied } })
    }
    expect(((await send(routes, 'GET', '/api/store/proxies')).json as { proxies: Array<{ name: string }> }).proxies.map((p) => p.name)).toEqual(['api', 'web'])
    expect(await send(routes, 'GET', '/api/store/proxies/web')).toMatchObject({ status: 200, json: { name: 'web', http: { localPort: 80 } } })
    expect(await send(routes, 'PUT', '/api/store/proxies/web', { name: 'web', type: 'http', http: { localPort: 8080 } })).toMatchObject({ status: 200, json: { http: { localPort: 8080 } } })
    expect(await send(routes, 'DELETE', '/api/store/proxies/web')).toMatchObject({ status: 200 })
    expect(await send(routes, 'GET', '/api/store/proxies/web')).toMatchObject({ status: 404, json: { code: 'TUN_STORE_NOT_FOUND' } })
    expect(await send(routes, 'POST', '/api/store/proxies', { name: 'api', type: 'tcp', tcp: {} })).toMatchObject({ status: 409, json: { code: 'TUN_STORE_CONFLICT' } })
    expect(await send(routes, 'GET', '/api/store/proxies/%E0%A4%A')).toMatchObject({ status: 400, json: { code: 'TUN_ADMIN_REQUEST' } })
    expect(store.entries.visitors).toEqual([])
  })

  it('answers 403 on every route without a store (no credentials on the API)', async () => {
    const routes = storeRoutes(undefined)
    expect(routes).toHaveLength(10)
    for (const r of routes) {
      const res = await r.handle({ method: r.method, path: r.path.replace('*', 'x'), query: new URLSearchParams(), body: Buffer.from('{}'), headers: {}, signal: new AbortController().signal })
      expect(res.status).toBe(403)
    }
  })
})
