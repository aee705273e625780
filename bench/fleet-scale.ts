// `node dist/bench/fleet-scale.js`: how fast the fleet's store takes registrations. N simulated
// clients (each its own client key) log in through R relays' stores (round robin) and register P
// proxies each: a login is attach (the owner's lease and the relay's attach key) + the clientID
// claim, a registration one put-if-absent transaction for a proxy name. Each relay's store runs
// in a worker thread of its own (as each relay is a process of its own), with C/R clients at
// once. Prints registrations per second and latency percentiles. Against --etcd URL[,URL...] (a
// lab's cluster), or a one-member etcd this script starts (Debian's etcd-server) in a temp
// folder and stops. Bounded: at most --clients clients and --max-seconds of registering (the
// whole run stays under a minute by default). See docs/fleet.md for the figures.
import { parseArgs } from 'node:util'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { EtcdOwnershipStore } from '../server/fleet/index.js'
import type { FleetConfig } from '../shared/config/index.js'
import { silentLogger } from '../shared/log.js'
import { startEtcd } from './lib/etcd.js'

interface Options { clients: number, proxies: number, relays: number, concurrency: number, etcd: string | undefined, maxSeconds: number }

/** What one relay's worker is given. */
interface RelayJob { relay: number, relays: number, clients: number, proxies: number, concurrency: number, endpoints: string[], prefix: string, maxSeconds: number }
/** What it answers: its latencies (ms) and failures. */
interface RelayResult { logins: number[], registrations: number[], failed: number }
type FromRelay = { ready: true } | { result: RelayResult } | { error: string }

/** Seconds one store request may take here (a loaded machine's tail, not a relay's default). */
const REQUEST_TIMEOUT_S = 10
/** The owners' lease TTL (s): frps.yml's default ownershipGrace. */
const OWNERSHIP_GRACE_S = 60
/** How long a worker may take to join the fleet, and to leave it, before the run gives up. */
const WORKER_START_MS = 20_000
const WORKER_CLOSE_MS = 10_000

function options (): Options {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '10000' },
      proxies: { type: 'string', default: '3' },
      relays: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '192' },
      etcd: { type: 'string' },
      'max-seconds': { type: 'string', default: '50' },
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

/** One relay (a worker thread): joins the fleet, waits for "go", logs in clients relay, relay + relays, ... and registers their proxies; keeps them until "close". */
async function relayWorker (job: RelayJob): Promise<void> {
  const port = parentPort
  if (port === null) throw new Error('not a worker')
  const config: FleetConfig = { nodeName: `relay-${job.relay}`, advertiseAddr: `127.0.0.1:${7000 + job.relay}`, etcd: { endpoints: job.endpoints, prefix: job.prefix, caFile: null, certFile: null, keyFile: null, requestTimeout: REQUEST_TIMEOUT_S } }
  const store = new EtcdOwnershipStore({ config, ownershipGraceS: OWNERSHIP_GRACE_S, log: silentLogger() })
  await store.start()
  const go = new Promise<void>((resolve) => { port.once('message', () => { resolve() }) })
  port.postMessage({ ready: true } satisfies FromRelay)
  await go
  const logins: number[] = []
  const registrations: number[] = []
  let failed = 0
  let next = job.relay
  const deadline = performance.now() + job.maxSeconds * 1000
  const client = async (): Promise<void> => {
    while (next < job.clients && performance.now() < deadline) {
      const i = next
      next += job.relays
      const identity = `simulated-client-key-${i}`
      try {
        const t0 = performance.now()
        await store.attach(identity)
        if (!await store.claim({ kind: 'client', id: `client-${i}` }, identity)) failed++
        logins.push(performance.now() - t0)
        for (let p = 0; p < job.proxies; p++) {
          const t1 = performance.now()
          if (!await store.claim({ kind: 'name', id: `client-${i}.proxy-${p}` }, identity)) failed++
          registrations.push(performance.now() - t1)
        }
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, client))
  const close = new Promise<void>((resolve) => { port.once('message', () => { resolve() }) })
  port.postMessage({ result: { logins, registrations, failed } } satisfies FromRelay)
  await close
  await store.close()
}

/** Resolves with the worker's next message, or rejects when it fails, exits or takes longer than `ms`. */
function nextMessage (worker: Worker, ms: number): Promise<FromRelay> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`a relay's worker did not answer within ${ms} ms`)) }, ms)
    const onMessage = (m: FromRelay): void => { done(); if ('error' in m) reject(new Error(m.error)); else resolve(m) }
    const onError = (err: Error): void => { done(); reject(err) }
    const onExit = (code: number): void => { done(); reject(new Error(`a relay's worker exited (${code})`)) }
    const done = (): void => {
      clearTimeout(timer)
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
  })
}

async function main (): Promise<void> {
  const o = options()
  const own = o.etcd === undefined ? await startEtcd() : undefined
  const endpoints = (o.etcd ?? own?.url ?? '').split(',')
  const prefix = `/scale-${process.pid}-${Date.now()}/`
  const workers: Worker[] = []
  try {
    for (let r = 0; r < o.relays; r++) {
      const job: RelayJob = { relay: r, relays: o.relays, clients: o.clients, proxies: o.proxies, concurrency: Math.max(1, Math.ceil(o.concurrency / o.relays)), endpoints, prefix, maxSeconds: o.maxSeconds }
      workers.push(new Worker(new URL(import.meta.url), { workerData: job }))
    }
    await Promise.all(workers.map(async (w) => await nextMessage(w, WORKER_START_MS)))
    const started = performance.now()
    const results = Promise.all(workers.map(async (w) => await nextMessage(w, (o.maxSeconds + REQUEST_TIMEOUT_S * (o.proxies + 3)) * 1000)))
    for (const w of workers) w.postMessage('go')
    const answers = await results
    const seconds = (performance.now() - started) / 1000
    const logins: number[] = []
    const registrations: number[] = []
    let failed = 0
    for (const a of answers) {
      if (!('result' in a)) throw new Error('a relay\'s worker answered out of turn')
      for (const v of a.result.logins) logins.push(v)
      for (const v of a.result.registrations) registrations.push(v)
      failed += a.result.failed
    }
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
    const closed = workers.map(async (w) => { await new Promise<void>((resolve) => { w.once('exit', () => { resolve() }); w.postMessage('close') }) })
    const guard = setTimeout(() => { for (const w of workers) void w.terminate() }, WORKER_CLOSE_MS)
    await Promise.all(closed)
    clearTimeout(guard)
  } finally {
    await Promise.all(workers.map(async (w) => { await w.terminate() }))
    await own?.stop()
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`fleet-scale: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
} else {
  relayWorker(workerData as RelayJob).catch((err: unknown) => {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies FromRelay)
  })
}
