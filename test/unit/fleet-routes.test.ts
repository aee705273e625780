// How a fleet relay finds the relays that serve a domain or a proxy name (server/fleet/routes.ts),
// against a scripted store: the owner of the name or the nearest wildcard, the relays attached to
// that owner other than this one, cached until the store's watch reports a change or a forward
// fails; "nobody" believed for NEGATIVE_ROUTE_MS only; a relay that failed goes last.
import { describe, expect, it } from 'vitest'
import { FleetRoutes, MAX_ROUTE_LOOKUPS, NEGATIVE_ROUTE_MS, type OwnedKey, type OwnershipStore } from '../../server/fleet/index.js'

function scriptedStore (owners: Map<string, string>, attached: Map<string, string[]>): { store: OwnershipStore, reads: () => number, change: () => void } {
  let reads = 0
  let watcher: (() => void) | undefined
  const fail = (): never => { throw new Error('not used') }
  const store: OwnershipStore = {
    nodeName: 'self',
    stats: { claims: 0, conflicts: 0, unavailable: 0, leasesRegranted: 0, reclaimed: 0, reclaimLost: 0, watchesRenewed: 0 },
    start: async () => {},
    attach: fail,
    detach: fail,
    claim: fail,
    release: fail,
    drop: fail,
    relays: async () => [],
    relay: async () => undefined,
    owner: async (key: OwnedKey) => { reads++; return owners.get(`${key.kind}/${key.id}`) },
    servedBy: async (identity: string) => { reads++; return attached.get(identity) ?? [] },
    watchRoutes: (changed: () => void) => { watcher = changed; return () => { watcher = undefined } },
    close: async () => {},
  }
  return { store, reads: () => reads, change: () => { watcher?.() } }
}

describe('fleet routes', () => {
  it('finds the relays of a domain\'s owner other than this one, through the nearest wildcard, and caches them until the watch reports a change', async () => {
    const owners = new Map([['domain/http/app.example.test', 'alice'], ['domain/http/*.example.test', 'bob']])
    const attached = new Map([['alice', ['r1', 'self']], ['bob', ['r2', 'r3']]])
    const { store, reads, change } = scriptedStore(owners, attached)
    const routes = new FleetRoutes(store, 'self')
    expect(await routes.find('http', 'APP.example.test')).toEqual(['r1'])
    expect(await routes.find('http', 'blog.example.test')).toEqual(['r2', 'r3'])
    const after = reads()
    expect(await routes.find('http', 'app.example.test')).toEqual(['r1'])
    expect(reads()).toBe(after)
    attached.set('alice', ['r4'])
    change()
    expect(await routes.find('http', 'app.example.test')).toEqual(['r4'])
    routes.close()
  })

  it('believes that nobody serves a domain for NEGATIVE_ROUTE_MS only', async () => {
    let now = 0
    const owners = new Map<string, string>()
    const { store, reads } = scriptedStore(owners, new Map([['carol', ['r9']]]))
    const routes = new FleetRoutes(store, 'self', () => now)
    expect(await routes.find('http', 'new.example.test')).toEqual([])
    const first = reads()
    owners.set('domain/http/new.example.test', 'carol')
    expect(await routes.find('http', 'new.example.test')).toEqual([])
    expect(reads()).toBe(first)
    now += NEGATIVE_ROUTE_MS
    expect(await routes.find('http', 'new.example.test')).toEqual(['r9'])
    routes.close()
  })

  it('puts a relay that failed last, and asks the store again after a failed forward', async () => {
    const { store, reads } = scriptedStore(new Map([['name/home.vault', 'dave']]), new Map([['dave', ['r1', 'r2']]]))
    const routes = new FleetRoutes(store, 'self')
    expect(await routes.findName('home.vault')).toEqual(['r1', 'r2'])
    routes.demote('name', 'home.vault', 'r1')
    expect(await routes.findName('home.vault')).toEqual(['r2', 'r1'])
    const before = reads()
    routes.failedName('home.vault')
    expect(await routes.findName('home.vault')).toEqual(['r1', 'r2'])
    expect(reads()).toBeGreaterThan(before)
    routes.close()
  })

  it('asks the store about at most MAX_ROUTE_LOOKUPS names at once: a flood of made-up hosts past it gets nobody, uncached', async () => {
    const { store } = scriptedStore(new Map(), new Map())
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    let asked = 0
    store.owner = async () => { asked++; await gate; return undefined }
    const routes = new FleetRoutes(store, 'self')
    const pending = Array.from({ length: MAX_ROUTE_LOOKUPS }, async (_, i) => await routes.find('http', `h${i}.example.test`))
    await new Promise((resolve) => setImmediate(resolve))
    expect(await routes.find('http', 'one-more.example.test')).toEqual([])
    expect(routes.lookupsShed).toBe(1)
    expect(asked).toBe(MAX_ROUTE_LOOKUPS)
    release()
    expect((await Promise.all(pending)).every((n) => n.length === 0)).toBe(true)
    routes.close()
  })
})
