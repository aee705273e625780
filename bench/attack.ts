// The attack bench: a real relay and client (encrypted, with the relay's admin API) in front of
// the bench services, then each attack of bench/attacks/ for a fixed time, one after another,
// each in a worker thread (bench/attacks/worker.ts) so the attacker's CPU does not slow the probe.
// While an attack runs, every half second: the relay's RSS (/proc), its event-loop delay (its
// status report: p99 and max over the last seconds), and one echo round trip through the tunnel
// by an honest visitor. The table puts each attack next to an idle baseline measured the same
// way in the same run; afterwards the honest client must still be logged in (no reconnect).
//   node dist/bench/attack.js [--seconds S] [--attacks a,b] [--json] [--smoke]
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { fetchStatus, parseAdminUrl } from '../shared/admin/index.js'
import { ATTACKS, type Attack, type AttackResult, type AttackTarget } from './attacks/index.js'
import { readMemory } from './lib/proc-stats.js'
import { ProcessGroup } from './lib/procs.js'
import { ADMIN_TOKEN, BENCH_CLIENT_ID, LOOPBACK, startServices, startTunnel, VHOST_HOST, type Tunnel } from './lib/targets.js'

const MIB = 1024 * 1024
const SAMPLE_MS = 500
/** Time for the relay to settle between attacks (queues drain, sockets close). */
const SETTLE_MS = 2_000
/** An honest round trip that takes longer than this counts as failed. */
const PROBE_TIMEOUT_MS = 2_000

interface Options { seconds: number, attacks: string[] | undefined, json: boolean, timeoutS: number }

interface Row {
  attack: string
  what: string
  rssMaxMiB: number
  rssAfterMiB: number
  loopP99Ms: number
  loopMaxMs: number
  probeP50Ms: number
  probeMaxMs: number
  probeFailures: number
  result: AttackResult | { error: string }
}

function parseArgs (argv: readonly string[]): Options {
  const o: Options = { seconds: 10, attacks: undefined, json: false, timeoutS: 900 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = (): string => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v }
    if (a === '--seconds') o.seconds = Number(value())
    else if (a === '--attacks') o.attacks = value().split(',')
    else if (a === '--json') o.json = true
    else if (a === '--smoke') { o.seconds = 1; o.timeoutS = 120 }
    else if (a === '--timeout') o.timeoutS = Number(value())
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`Usage: node dist/bench/attack.js [--seconds S] [--attacks ${ATTACKS.map((x) => x.name).join(',')}] [--json] [--smoke] [--timeout S]\n`)
      process.exit(0)
    } else throw new Error(`unknown option ${String(a)}`)
  }
  if (!Number.isFinite(o.seconds) || o.seconds <= 0 || o.seconds > 120) throw new Error('--seconds must be 0-120')
  return o
}

/** One echo round trip through the tunnel's tcp proxy, in ms (Infinity when it fails or times out). */
async function probe (port: number): Promise<number> {
  const started = performance.now()
  return await new Promise<number>((resolve) => {
    const socket = connect({ host: LOOPBACK, port })
    const done = (ms: number): void => { clearTimeout(timer); socket.destroy(); resolve(ms) }
    const timer = setTimeout(() => { done(Infinity) }, PROBE_TIMEOUT_MS)
    socket.on('error', () => { done(Infinity) })
    socket.once('connect', () => { socket.write('ping\n') })
    socket.once('data', () => { done(performance.now() - started) })
  })
}

/** Samples the relay while `work` runs (or for `ms` when there is none). */
async function measure (tunnel: Tunnel, label: string, what: string, ms: number, work?: (signal: AbortSignal) => Promise<AttackResult>): Promise<Row> {
  const admin = parseAdminUrl(`http://${LOOPBACK}:${tunnel.adminPort ?? 0}`, ADMIN_TOKEN)
  const stop = new AbortController()
  const timer = setTimeout(() => { stop.abort() }, ms)
  const running = work === undefined ? Promise.resolve<AttackResult>({ sent: 0, unit: '-' }) : work(stop.signal).catch((err: unknown) => ({ error: String(err) }))
  const rss: number[] = []
  const probes: number[] = []
  // Stays -Infinity (shown as -) when no status request was answered (the admin API itself blocked).
  let loopP99 = -Infinity
  let loopMax = -Infinity
  while (!stop.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))
    rss.push(readMemory(tunnel.relay.pid).rssBytes)
    probes.push(await probe(tunnel.ports.echo))
    const status = await fetchStatus(admin).catch(() => undefined)
    const loop = status?.process.eventLoopDelayMs
    if (loop !== undefined) { loopP99 = Math.max(loopP99, loop.p99Ms); loopMax = Math.max(loopMax, loop.maxMs) }
  }
  clearTimeout(timer)
  const result = await running
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const ok = probes.filter(Number.isFinite).sort((a, b) => a - b)
  return {
    attack: label,
    what,
    rssMaxMiB: Math.max(...rss) / MIB,
    rssAfterMiB: readMemory(tunnel.relay.pid).rssBytes / MIB,
    loopP99Ms: loopP99,
    loopMaxMs: loopMax,
    probeP50Ms: ok[Math.floor(ok.length / 2)] ?? NaN,
    probeMaxMs: ok.at(-1) ?? NaN,
    probeFailures: probes.length - ok.length,
    result,
  }
}

/** Runs attack `name` in a worker thread (its CPU does not delay the probe here) until `signal` aborts. */
async function inWorker (name: string, target: AttackTarget, signal: AbortSignal): Promise<AttackResult> {
  const worker = new Worker(new URL('./attacks/worker.js', import.meta.url), { workerData: { name, target } })
  try {
    return await new Promise<AttackResult>((resolve, reject) => {
      signal.addEventListener('abort', () => { worker.postMessage('stop') }, { once: true })
      worker.once('message', (m: AttackResult | { error: string }) => { if ('error' in m) reject(new Error(m.error)); else resolve(m) })
      worker.once('error', reject)
      worker.once('exit', (code) => { reject(new Error(`the attack's worker exited (${code}) without a result`)) })
    })
  } finally {
    // An attack that does not stop in time is ended with its thread (its sockets close with it).
    const forced = setTimeout(() => { void worker.terminate() }, 10_000)
    worker.once('exit', () => { clearTimeout(forced) })
  }
}

function table (rows: readonly Row[]): string {
  const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-')
  const head = '| attack | relay RSS max / after (MiB) | event loop p99 / max (ms) | honest rr p50 / max (ms), failed | attacker |\n|---|---|---|---|---|'
  return [head, ...rows.map((r) => {
    const res = 'error' in r.result ? `error: ${r.result.error}` : `${r.result.sent.toLocaleString('en-US')} ${r.result.unit}${r.result.note === undefined ? '' : `; ${r.result.note}`}`
    return `| ${r.attack} | ${f(r.rssMaxMiB)} / ${f(r.rssAfterMiB)} | ${f(r.loopP99Ms)} / ${f(r.loopMaxMs)} | ${f(r.probeP50Ms, 2)} / ${f(r.probeMaxMs, 2)}, ${r.probeFailures} | ${res} |`
  })].join('\n')
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  const dist = fileURLToPath(new URL('../', import.meta.url))
  const group = new ProcessGroup()
  const watchdog = setTimeout(() => { group.killAllNow(); process.stderr.write(`attack bench: over ${o.timeoutS} s, stopped\n`); process.exit(1) }, o.timeoutS * 1000)
  watchdog.unref()
  process.once('SIGINT', () => { group.killAllNow(); process.exit(130) })
  const chosen: Attack[] = o.attacks === undefined ? [...ATTACKS] : o.attacks.map((name) => {
    const a = ATTACKS.find((x) => x.name === name)
    if (a === undefined) throw new Error(`no attack named ${name} (have: ${ATTACKS.map((x) => x.name).join(', ')})`)
    return a
  })
  let tunnel: Tunnel | undefined
  try {
    const services = await startServices(group, `${dist}bench/services.js`)
    tunnel = await startTunnel(group, { cliJs: `${dist}cli/main.js`, logLevel: 'info', services: services.ports, admin: true })
    const t = tunnel
    const target: AttackTarget = { host: LOOPBACK, port: t.relayPort, token: t.token, serverKey: t.serverKey, tcpPort: t.ports.echo, udpPort: t.ports.udpEcho, vhostPort: t.ports.vhost, vhostDomain: VHOST_HOST, vhostHttpsPort: t.vhostHttpsPort, adminPort: t.adminPort ?? 0, adminToken: ADMIN_TOKEN, clientId: BENCH_CLIENT_ID }
    let reconnects = 0
    t.client.on('line', (_source, text) => { if (text.includes('"lost the relay: reconnecting"')) reconnects++ })
    const rows = [await measure(t, 'idle (baseline)', 'nothing but the honest probe', o.seconds * 1000)]
    for (const a of chosen) {
      process.stderr.write(`attack ${a.name}: ${a.what}\n`)
      rows.push(await measure(t, a.name, a.what, o.seconds * 1000, async (signal) => await inWorker(a.name, target, signal)))
    }
    const alive = t.relay.running && t.client.running
    if (o.json) process.stdout.write(JSON.stringify({ seconds: o.seconds, rows, honestClientReconnects: reconnects, alive }, null, 2) + '\n')
    else process.stdout.write(`${table(rows)}\n\nrelay and client still running: ${String(alive)}; honest client reconnects: ${reconnects}\n`)
    if (!alive) process.exitCode = 1
  } finally {
    clearTimeout(watchdog)
    await group.stopAll(2_000)
    await tunnel?.cleanup()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`attack bench: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
