// `node dist/bench/fleet-scale.js`: how fast the fleet's store takes registrations. N simulated
// clients (each its own client key) log in through R relays' stores (round robin) and register P
// proxies each: a login is attach (the owner's lease) + the clientID claim, a registration one
// put-if-absent transaction for a proxy name. Runs C clients at once. Prints registrations per
// second and latency percentiles. Against --etcd URL[,URL...] (a lab's cluster), or a one-member
// etcd this script starts (Debian's etcd-server) in a temp folder and stops. Bounded: at most
// --clients clients and --max-seconds of wall time. See docs/fleet.md for the figures.
import { parseArgs } from 'node:util'
import { EtcdOwnershipStore } from '../server/fleet/index.js'
import type { FleetConfig } from '../shared/config/index.js'
import { silentLogger } from '../shared/log.js'
import { startEtcd } from './lib/etcd.js'

interface Options { clients: number, proxies: number, relays: number, concurrency: number, etcd: string | undefined, maxSeconds: number }

function options (): Options {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '10000' },
      proxies: { type: 'string', default: '3' },
      relays: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '64' },
      etcd: { type: 'string' },
      'max-seconds': { type: 'string', default: '55' },
    },
  })
  const int = (v: string | undefined, name: string): number => {
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`)
    return n
  }
  return { clients: int(values.clients, 'clients'), proxies: int(values.proxies, 'proxies'), relays: int(values.relays, 'relays'), concurrency: int(values.concurrency, 'concurrency'), etcd: values.etcd, maxSeconds: int(values['max-seconds'], 'max-seconds') }
}

function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

async function main (): Promise<void> {
  const o = options()
  const own = o.etcd === undefined ? await startEtcd() : undefined
  const endpoints = (o.etcd ?? own?.url ?? '').split(',')
  const prefix = `/scale-${process.pid}-${Date.now()}/`
  const stores: EtcdOwnershipStore[] = []
  try {
    for (let r = 0; r < o.relays; r++) {
      const config: FleetConfig = { nodeName: `relay-${r}`, advertiseAddr: `127.0.0.1:${7000 + r}`, etcd: { endpoints, prefix, caFile: null, certFile: null, keyFile: null, requestTimeout: 10 } }
      const store = new EtcdOwnershipStore({ config, ownershipGraceS: 60, log: silentLogger() })
      await store.start()
      stores.push(store)
    }
    const logins: number[] = []
    const registrations: number[] = []
    let failed = 0
    let next = 0
    const deadline = performance.now() + o.maxSeconds * 1000
    const started = performance.now()
    const worker = async (): Promise<void> => {
      while (next < o.clients && performance.now() < deadline) {
        const i = next++
        const store = stores[i % stores.length] as EtcdOwnershipStore
        const identity = `simulated-client-key-${i}`
        try {
          const t0 = performance.now()
          await store.attach(identity)
          if (!await store.claim({ kind: 'client', id: `client-${i}` }, identity)) failed++
          logins.push(performance.now() - t0)
          for (let p = 0; p < o.proxies; p++) {
            const t1 = performance.now()
            if (!await store.claim({ kind: 'name', id: `client-${i}.proxy-${p}` }, identity)) failed++
            registrations.push(performance.now() - t1)
          }
        } catch {
          failed++
        }
      }
    }
    await Promise.all(Array.from({ length: o.concurrency }, worker))
    const seconds = (performance.now() - started) / 1000
    logins.sort((a, b) => a - b)
    registrations.sort((a, b) => a - b)
    const ms = (v: number): string => `${v.toFixed(1)} ms`
    const report = {
      etcd: own === undefined ? endpoints.join(',') : 'one member started here',
      relays: o.relays,
      clients: logins.length,
      proxiesPerClient: o.proxies,
      concurrency: o.concurrency,
      seconds: Number(seconds.toFixed(1)),
      registrationsPerSecond: Math.round(registrations.length / seconds),
      loginsPerSecond: Math.round(logins.length / seconds),
      registration: { p50: ms(percentile(registrations, 0.5)), p99: ms(percentile(registrations, 0.99)), max: ms(registrations.at(-1) ?? NaN) },
      login: { p50: ms(percentile(logins, 0.5)), p99: ms(percentile(logins, 0.99)) },
      failed,
      completed: logins.length === o.clients,
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } finally {
    await Promise.all(stores.map(async (s) => { await s.close() }))
    await own?.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-scale: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
