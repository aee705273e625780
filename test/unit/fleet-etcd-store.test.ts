// The fleet's ownership store against a real etcd (Debian's etcd-server) started by the test:
// put-if-absent claims bound to the owner's lease, the same owner across relays, races between
// relays, leases that outlive a session for their TTL, goodbye, and the store going away.
import { createServer, connect, type Socket } from 'node:net'
import { Etcd3 } from 'etcd3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseServerConfig } from '../../shared/config/index.js'
import { errorCode } from '../../shared/errors.js'
import { EtcdOwnershipStore, type OwnedKey } from '../../server/fleet/index.js'
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js'
import { silentLogger } from '../../shared/log.js'
import { missingTool } from '../helpers/system-tools.js'

/** Race rounds: the acceptance asks for 50. */
const RACE_ROUNDS = 50
/** Owner lease TTL (s) in the expiry tests: short, above etcd's least TTL. */
const SHORT_TTL_S = 3
/** Polls of a condition that waits on etcd's clock (lease expiry), at POLL_MS apart. */
const POLL_MS = 200
const POLL_LIMIT = 100

const A = 'client-key-A'
const B = 'client-key-B'

describe.skipIf(missingTool('etcd', 'etcd-server'))('fleet ownership in etcd', () => {
  let etcd: EtcdCluster
  const stores: EtcdOwnershipStore[] = []
  let prefixes = 0

  beforeAll(async () => { etcd = await startEtcd(1) }, 30_000)
  afterAll(async () => {
    await Promise.all(stores.map(async (s) => { await s.close() }))
    await etcd.close()
  }, 30_000)

  /** A relay's store in a fresh fleet (its own prefix), or in `prefix`'s fleet. */
  async function relayStore (node: string, prefix?: string, extra: { ownerTtlS?: number, requestTimeout?: number, endpoints?: string[] } = {}): Promise<EtcdOwnershipStore> {
    const p = prefix ?? `/t${++prefixes}/`
    const yaml = `fleet:\n  nodeName: ${node}\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [${(extra.endpoints ?? etcd.endpoints).join(', ')}]\n    prefix: ${p}\n    requestTimeout: ${extra.requestTimeout ?? 2}\n`
    const config = parseServerConfig(yaml, 'frps.yml', {}).config.fleet
    if (config === null) throw new Error('no fleet block')
    const store = new EtcdOwnershipStore({ config, ownershipGraceS: 0, log: silentLogger(), ...(extra.ownerTtlS === undefined ? {} : { ownerTtlS: extra.ownerTtlS }) })
    stores.push(store)
    await store.start()
    return store
  }

  const name = (id: string): OwnedKey => ({ kind: 'name', id })
  const port = (n: number): OwnedKey => ({ kind: 'port', id: `tcp/${n}` })

  async function until (check: () => Promise<boolean>): Promise<boolean> {
    for (let i = 0; i < POLL_LIMIT; i++) {
      if (await check()) return true
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    return false
  }

  it('gives a key to the first client key that claims it; the same key again is still its own, another key is refused', async () => {
    const r1 = await relayStore('r1')
    await r1.attach(A)
    await r1.attach(B)
    expect(await r1.claim(name('web'), A)).toBe(true)
    expect(await r1.claim(name('web'), A)).toBe(true)
    expect(await r1.claim(name('web'), B)).toBe(false)
    expect(await r1.claim(port(8080), B)).toBe(true)
    expect(await r1.claim(port(8080), A)).toBe(false)
    expect(r1.stats.conflicts).toBe(2)
  })

  it('lets one client key hold its names through two relays, and refuses another key on either', async () => {
    const r1 = await relayStore('r1')
    const r2 = await relayStore('r2', r1prefix(r1))
    await r1.attach(A)
    await r2.attach(A)
    await r2.attach(B)
    expect(await r1.claim(name('web'), A)).toBe(true)
    expect(await r2.claim(name('web'), A)).toBe(true)
    expect(await r2.claim(name('web'), B)).toBe(false)
    const relays = await r1.relays()
    expect(relays.map((r) => [r.nodeName, r.clients])).toEqual([['r1', 1], ['r2', 2]])
  })

  it('gives a name and a port claimed at the same moment on two relays by two client keys to exactly one of them, 50 times', async () => {
    const r1 = await relayStore('r1')
    const r2 = await relayStore('r2', r1prefix(r1))
    await r1.attach(A)
    await r2.attach(B)
    let wonByA = 0
    for (let i = 0; i < RACE_ROUNDS; i++) {
      const [a, b, pa, pb] = await Promise.all([r1.claim(name(`race-${i}`), A), r2.claim(name(`race-${i}`), B), r1.claim(port(10_000 + i), A), r2.claim(port(10_000 + i), B)])
      expect(a !== b).toBe(true)
      expect(pa !== pb).toBe(true)
      if (a) wonByA++
    }
    expect(r1.stats.conflicts + r2.stats.conflicts).toBe(2 * RACE_ROUNDS)
    expect(wonByA).toBeLessThanOrEqual(RACE_ROUNDS)
  })

  it('frees a released key for another client key, but not a key the releaser does not own', async () => {
    const r1 = await relayStore('r1')
    await r1.attach(A)
    await r1.attach(B)
    expect(await r1.claim(name('api'), A)).toBe(true)
    await r1.release(name('api'), B)
    expect(await r1.claim(name('api'), B)).toBe(false)
    await r1.release(name('api'), A)
    expect(await r1.claim(name('api'), B)).toBe(true)
  })

  it('keeps what a client owned reserved after its last session ends until the lease TTL passes, then frees it', async () => {
    const r1 = await relayStore('r1', undefined, { ownerTtlS: SHORT_TTL_S })
    await r1.attach(A)
    await r1.attach(B)
    expect(await r1.claim(name('db'), A)).toBe(true)
    r1.detach(A, false)
    expect(await r1.claim(name('db'), B)).toBe(false)
    expect(await until(async () => await r1.claim(name('db'), B))).toBe(true)
  }, 30_000)

  it('keeps a client\'s keys while another relay still serves it, when its session on one relay ends', async () => {
    const r1 = await relayStore('r1', undefined, { ownerTtlS: SHORT_TTL_S })
    const r2 = await relayStore('r2', r1prefix(r1), { ownerTtlS: SHORT_TTL_S })
    await r1.attach(A)
    await r2.attach(A)
    await r2.attach(B)
    expect(await r1.claim(name('svc'), A)).toBe(true)
    r1.detach(A, true)
    // Three TTLs later r2's keepalives have held the lease: B is still refused.
    await new Promise((resolve) => setTimeout(resolve, 3 * SHORT_TTL_S * 1000))
    expect(await r2.claim(name('svc'), B)).toBe(false)
  }, 30_000)

  it('frees everything a client owned at once when it says goodbye on the last relay serving it', async () => {
    const r1 = await relayStore('r1')
    await r1.attach(A)
    await r1.attach(B)
    expect(await r1.claim(name('bye'), A)).toBe(true)
    r1.detach(A, true)
    expect(await until(async () => await r1.claim(name('bye'), B))).toBe(true)
  }, 30_000)

  it('refuses new claims with TUN_FLEET_UNAVAILABLE while etcd is stopped, keeps what was owned, and claims again once it is back', async () => {
    const r1 = await relayStore('r1', undefined, { requestTimeout: 1 })
    await r1.attach(A)
    await r1.attach(B)
    expect(await r1.claim(name('kept'), A)).toBe(true)
    await etcd.stop()
    try {
      let code: string | undefined
      try { await r1.claim(name('new'), A) } catch (err) { code = errorCode(err, 'TUN_LISTEN') }
      expect(code).toBe('TUN_FLEET_UNAVAILABLE')
      expect(r1.stats.unavailable).toBeGreaterThan(0)
    } finally {
      await etcd.start()
    }
    expect(await until(async () => await r1.claim(name('new'), A).catch(() => false))).toBe(true)
    expect(await r1.claim(name('kept'), B)).toBe(false)
  }, 60_000)

  it('watches the routes again after etcd cancels the watches because it compacted the history they would resume from', async () => {
    const cut = await startCuttableProxy(Number(new URL(etcd.endpoints[0] ?? '').port))
    const direct = new Etcd3({ hosts: etcd.endpoints })
    try {
      const r1 = await relayStore('r1', undefined, { endpoints: [`http://127.0.0.1:${cut.port}`] })
      const ns = direct.namespace(r1.prefix)
      let changes = 0
      const stop = r1.watchRoutes(() => { changes++ })
      try {
        expect(await until(async () => await Promise.resolve(r1.routeWatches === 4))).toBe(true)
        const before = changes
        await ns.put('own/domain/http/a.example').value('A')
        expect(await until(async () => await Promise.resolve(changes > before))).toBe(true)

        // The relay loses etcd; meanwhile routes change and etcd compacts its history past them.
        cut.cut()
        await ns.put('own/domain/http/b.example').value('B')
        const { header } = await ns.put('own/domain/http/c.example').value('C')
        await direct.kv.compact({ revision: header.revision, physical: true })
        cut.resume()

        // On its way back the watches resume from a revision that is gone: etcd cancels each.
        expect(await until(async () => await Promise.resolve(r1.stats.watchesRenewed >= 4 && r1.routeWatches === 4))).toBe(true)
        const after = changes
        await ns.put('own/domain/http/d.example').value('D')
        expect(await until(async () => await Promise.resolve(changes > after))).toBe(true)
      } finally {
        stop()
      }
      expect(r1.routeWatches).toBe(0)
    } finally {
      direct.close()
      await cut.close()
    }
  }, 60_000)
})

/** The prefix a store was made with, for a second relay of the same fleet. */
function r1prefix (store: EtcdOwnershipStore): string {
  return store.prefix
}

interface CuttableProxy {
  port: number
  /** Drops every connection through it and refuses new ones until resume(). */
  cut: () => void
  resume: () => void
  close: () => Promise<void>
}

/** A TCP proxy to 127.0.0.1:`target` that a test can cut, to take etcd away from one client only. */
async function startCuttableProxy (target: number): Promise<CuttableProxy> {
  const open = new Set<Socket>()
  let refusing = false
  const server = createServer((visitor) => {
    if (refusing) { visitor.destroy(); return }
    const upstream = connect(target, '127.0.0.1')
    for (const s of [visitor, upstream]) {
      open.add(s)
      s.on('close', () => { open.delete(s); visitor.destroy(); upstream.destroy() })
      s.on('error', () => {})
    }
    visitor.pipe(upstream).pipe(visitor)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const dropAll = (): void => { for (const s of open) s.destroy() }
  return {
    port: address.port,
    cut: () => { refusing = true; dropAll() },
    resume: () => { refusing = false },
    close: async () => {
      dropAll()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    },
  }
}
