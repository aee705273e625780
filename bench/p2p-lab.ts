// The xtcp bench (lab, root): two NAT'd sites and a relay in network namespaces
// (test/lab/netlab/p2plab.sh, both NATs plain masquerade), a home client with an xtcp proxy and
// an stcp proxy in front of one echo service, and a visitor client with an xtcp visitor (the
// punched path) and an stcp visitor (the relay's path). With --delay MS (default 10; 0 for none)
// the home NAT's uplink and the relay's link each get MS of one-way delay (p2plab.sh delay:
// netlab-impair.py, as this kernel has no sch_netem), so the punched path's round trip is 2×MS
// and the relayed path's 6×MS, as when the relay is far from both. Interleaved repetitions of
// bulk echo throughput and 64-byte round trips through each; the result is the punched path's
// figures as ratios to the relayed path's, measured in the same run.
//   npm run build --silent && node dist/bench/p2p-lab.js [--delay MS] [--reps N] [--mib M] [--rr N] [--json]
// Bounded: every probe has a deadline, the whole run takes well under a minute at the defaults.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url))
const P2PLAB = join(ROOT, 'test/lab/netlab/p2plab.sh')
const PROBE = join(ROOT, 'test/lab/probe.mjs')
const RELAY = '10.201.2.10'
const ECHO_PORT = 8000
const P2P_PORT = 6000
const RELAYED_PORT = 6001
/** A probe's deadline. */
const PROBE_TIMEOUT_MS = 30_000
/** How long the clients may take to come up and punch. */
const READY_TIMEOUT_MS = 20_000
/** The largest one-way delay --delay takes (the relayed path's round trip is six of them). */
const MAX_DELAY_MS = 100

interface Probe { ok: boolean, why: string, ms: number, received?: number, p50Us?: number, p99Us?: number }

const children: ChildProcess[] = []

function inNs (ns: string, args: string[]): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(c)
  return c
}

async function probe (ns: string, args: string[]): Promise<Probe> {
  const c = inNs(ns, [PROBE, ...args])
  let out = ''
  c.stdout?.setEncoding('utf8').on('data', (t: string) => { out += t })
  return await new Promise((resolve) => {
    c.once('exit', () => {
      try { resolve(JSON.parse(out) as Probe) } catch { resolve({ ok: false, why: `no result: ${out}`, ms: 0 }) }
    })
  })
}

async function waitLine (c: ChildProcess, text: string, ms: number): Promise<void> {
  let buf = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`not seen within ${ms} ms: ${text}; last output: ${buf.slice(-1500)}`)) }, ms)
    const on = (t: Buffer): void => {
      buf += t.toString('utf8')
      if (buf.includes(text)) { clearTimeout(timer); resolve() }
    }
    c.stdout?.on('data', on)
    c.stderr?.on('data', on)
  })
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] as number)
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { delay: { type: 'string', default: '10' }, reps: { type: 'string', default: '3' }, mib: { type: 'string', default: '16' }, rr: { type: 'string', default: '100' }, json: { type: 'boolean', default: false } } })
  const delayMs = Math.min(MAX_DELAY_MS, Math.max(0, Math.round(Number(values.delay))))
  const reps = Math.min(10, Math.max(1, Number(values.reps)))
  const mib = Math.min(256, Math.max(1, Number(values.mib)))
  const rrCount = Math.min(10_000, Math.max(10, Number(values.rr)))
  if (process.getuid?.() !== 0) throw new Error('the p2p bench builds network namespaces: run it as root')
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-'))
  execFileSync(P2PLAB, ['up'], { stdio: 'inherit' })
  try {
    if (delayMs > 0) {
      execFileSync(P2PLAB, ['delay', 'home', String(delayMs)], { stdio: 'inherit' })
      execFileSync(P2PLAB, ['delay', 'public', String(delayMs)], { stdio: 'inherit' })
    }
    const write = (name: string, text: string): string => { const f = join(dir, name); writeFileSync(f, text); return f }
    const secret = 'a-long-random-secret-for-the-bench'
    const relay = inNs('tp-public', [CLI_JS, 'server', '-c', write('frps.yml', 'bindAddr: 0.0.0.0\nbindPort: 7000\nauth:\n  token: bench\n'), '--log-format', 'json'])
    await waitLine(relay, 'relay listening', READY_TIMEOUT_MS)
    const echo = inNs('tp-home', [PROBE, 'echo', String(ECHO_PORT)])
    await waitLine(echo, 'listening', READY_TIMEOUT_MS)
    const home = inNs('tp-home', [CLI_JS, 'client', '-c', write('home.yml', [
      `serverAddr: ${RELAY}`, 'serverPort: 7000', 'user: home', 'auth:\n  token: bench', 'proxies:',
      `  - { name: p2p, type: xtcp, localPort: ${ECHO_PORT}, secretKey: ${secret}, allowUsers: ['*'] }`,
      `  - { name: relayed, type: stcp, localPort: ${ECHO_PORT}, secretKey: ${secret}, allowUsers: ['*'] }`,
    ].join('\n') + '\n'), '--log-format', 'json'])
    await waitLine(home, 'home.relayed', READY_TIMEOUT_MS)
    const visitor = inNs('tp-visitor', [CLI_JS, 'client', '-c', write('visitor.yml', [
      `serverAddr: ${RELAY}`, 'serverPort: 7000', 'user: laptop', 'auth:\n  token: bench', 'visitors:',
      `  - { name: p2p, type: xtcp, serverUser: home, serverName: p2p, secretKey: ${secret}, bindPort: ${P2P_PORT}, keepTunnelOpen: true }`,
      `  - { name: relayed, type: stcp, serverUser: home, serverName: relayed, secretKey: ${secret}, bindPort: ${RELAYED_PORT} }`,
    ].join('\n') + '\n'), '--log-format', 'json'])
    await waitLine(visitor, 'direct path up', READY_TIMEOUT_MS)
    const paths = { p2p: P2P_PORT, relayed: RELAYED_PORT } as const
    const mbps: Record<keyof typeof paths, number[]> = { p2p: [], relayed: [] }
    const p50: Record<keyof typeof paths, number[]> = { p2p: [], relayed: [] }
    const p99: Record<keyof typeof paths, number[]> = { p2p: [], relayed: [] }
    for (let rep = 0; rep < reps; rep++) {
      const order: Array<keyof typeof paths> = rep % 2 === 0 ? ['p2p', 'relayed'] : ['relayed', 'p2p']
      for (const path of order) {
        const bulk = await probe('tp-visitor', ['check', '127.0.0.1', String(paths[path]), String(mib * 1024 * 1024), String(PROBE_TIMEOUT_MS)])
        if (!bulk.ok) throw new Error(`${path} bulk failed: ${bulk.why}`)
        // Echo: the bytes crossed both ways.
        mbps[path].push((2 * mib * 8 * 1.048576) / (bulk.ms / 1000))
        const rr = await probe('tp-visitor', ['rr', '127.0.0.1', String(paths[path]), String(rrCount), String(PROBE_TIMEOUT_MS)])
        if (!rr.ok) throw new Error(`${path} rr failed: ${rr.why}`)
        p50[path].push((rr.p50Us ?? NaN) / 1000)
        p99[path].push((rr.p99Us ?? NaN) / 1000)
      }
    }
    const result = {
      delayMs, reps, mib, rrCount,
      /** The links' added round trip: the punched path crosses the home uplink; the relayed one also crosses the relay's link twice. */
      addedRttMs: { p2p: 2 * delayMs, relayed: 6 * delayMs },
      p2p: { mbps: median(mbps.p2p), rrP50Ms: median(p50.p2p), rrP99Ms: median(p99.p2p) },
      relayed: { mbps: median(mbps.relayed), rrP50Ms: median(p50.relayed), rrP99Ms: median(p99.relayed) },
      ratios: {
        throughput: median(mbps.p2p) / median(mbps.relayed),
        rrP50: median(p50.p2p) / median(p50.relayed),
        rrP99: median(p99.p2p) / median(p99.relayed),
      },
    }
    if (values.json) { process.stdout.write(JSON.stringify(result, null, 2) + '\n'); return }
    const f = (n: number, d = 1): string => n.toFixed(d)
    process.stdout.write([
      `xtcp bench (lab: two NAT'd sites, plain masquerade; ${delayMs > 0 ? `${delayMs} ms one-way on the home uplink and the relay's link (added RTT: p2p ${2 * delayMs} ms, relayed ${6 * delayMs} ms)` : 'no added delay'}; ${reps} reps, ${mib} MiB echo, ${rrCount} round trips; medians)`,
      'path      throughput Mbit/s   rr p50 ms   rr p99 ms',
      `p2p       ${f(result.p2p.mbps).padStart(18)}   ${f(result.p2p.rrP50Ms, 3).padStart(9)}   ${f(result.p2p.rrP99Ms, 3).padStart(9)}`,
      `relayed   ${f(result.relayed.mbps).padStart(18)}   ${f(result.relayed.rrP50Ms, 3).padStart(9)}   ${f(result.relayed.rrP99Ms, 3).padStart(9)}`,
      `p2p / relayed: throughput ${f(result.ratios.throughput, 2)}x, rr p50 ${f(result.ratios.rrP50, 2)}x, rr p99 ${f(result.ratios.rrP99, 2)}x`,
      '',
    ].join('\n'))
  } finally {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL')
    execFileSync(P2PLAB, ['down'], { stdio: 'inherit' })
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
