// `node dist/bench/peers.js`: direct vs our tunnel vs OpenSSH `ssh -R`, in one run on loopback,
// interleaved repetitions, medians and ratios to direct, printed as one table. See bench/README.md.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { environment, type Environment } from './lib/env.js'
import { type Child, ProcessGroup } from './lib/procs.js'
import { cells, table, type PeerCell, type PeerSample } from './peers-report.js'
import { peerScenarios, type PeerScenario, type ScenarioSizes } from './peers-scenarios.js'
import { ensureSshd, startSshPeer } from './peers-ssh.js'
import { startOurTunnel, startServices, type PeerPorts } from './peers-targets.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url))
const STOP_GRACE_MS = 3_000
const PEER_NAMES = ['direct', 'tunnel', 'ssh'] as const

const USAGE = `Usage: node dist/bench/peers.js [options]   (npm run build first)

Runs the same workloads direct, through our tunnel (relay + client processes) and through
OpenSSH \`ssh -R\` (a throwaway sshd on a loopback port), interleaved, and prints medians
with ratios to direct. Installs openssh-server with apt-get when sshd is missing (root only).

  --reps N           repetitions (default 3; smoke 1)
  --seconds S        time cap of each run (default 3; smoke 0.3)
  --peers LIST       subset of ${PEER_NAMES.join(',')} (default all; direct is always run)
  --udp-rate N       datagrams per second offered in the udp run (default 20000)
  --udp-size N       datagram bytes (default 1200)
  --connect-c N      concurrent connects in the new-connection run (default 8)
  --no-install       do not apt-get install openssh-server (skip ssh when missing)
  --json             machine-readable report on stdout (progress on stderr)
  --smoke            tiny sizes, 1 repetition, no warm-up: proves the suite runs
  --timeout S        abort everything (killing every child by PID) after S seconds (default 900)
  -h, --help         this text
`

interface Options {
  reps: number
  sizes: ScenarioSizes
  peers: string[]
  install: boolean
  json: boolean
  smoke: boolean
  timeoutSeconds: number
}

class UsageError extends Error {}

function parseOptions (argv: string[]): Options | undefined {
  let v
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        reps: { type: 'string' }, seconds: { type: 'string' }, peers: { type: 'string' }, 'udp-rate': { type: 'string' },
        'udp-size': { type: 'string' }, 'connect-c': { type: 'string' }, 'no-install': { type: 'boolean' },
        json: { type: 'boolean' }, smoke: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (v.help === true) return undefined
  const num = (raw: string | undefined, name: string, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} ${raw}: expected ${min} to ${max}`)
    return n
  }
  const smoke = v.smoke === true
  const peers = (v.peers ?? PEER_NAMES.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const p of peers) if (!(PEER_NAMES as readonly string[]).includes(p)) throw new UsageError(`--peers: unknown peer ${p}`)
  return {
    reps: Math.round(num(v.reps, 'reps', smoke ? 1 : 3, 1, 50)),
    sizes: {
      seconds: num(v.seconds, 'seconds', smoke ? 0.3 : 3, 0.1, 60),
      udpRate: num(v['udp-rate'], 'udp-rate', smoke ? 2_000 : 20_000, 1, 1_000_000),
      udpSize: Math.round(num(v['udp-size'], 'udp-size', 1200, 24, 65_507)),
      connectConcurrency: Math.round(num(v['connect-c'], 'connect-c', 8, 1, 1_000)),
    },
    peers: ['direct', ...peers.filter((p) => p !== 'direct')],
    install: v['no-install'] !== true,
    json: v.json === true,
    smoke,
    timeoutSeconds: num(v.timeout, 'timeout', 900, 1, 86_400),
  }
}

const progress = (text: string): void => { process.stderr.write(`${text}\n`) }

interface Peer {
  name: string
  label: string
  ports: PeerPorts
}

interface Report {
  tool: 'tunnel-bench-peers'
  env: Environment
  options: Options
  peers: Array<{ name: string, label: string }>
  cells: PeerCell[]
  samples: PeerSample[]
  notes: string[]
  table: string
  totalSeconds: number
}

function checkAlive (children: readonly Child[]): void {
  for (const c of children) if (!c.running) throw new Error(`${c.name} (pid ${c.pid}) exited (${String(c.exitStatus)}):\n${c.describeTail()}`)
}

async function runAll (o: Options, peers: Peer[], children: Child[], notes: string[]): Promise<PeerSample[]> {
  const scenarios = peerScenarios(o.sizes)
  const runnable = (sc: PeerScenario, p: Peer): boolean => !sc.udp || p.ports.udp !== undefined
  if (!o.smoke) {
    progress('warm-up pass (discarded)')
    const warm = peerScenarios({ ...o.sizes, seconds: Math.min(0.5, o.sizes.seconds) })
    for (const sc of warm) for (const p of peers) if (runnable(sc, p)) await sc.run(p.ports)
  }
  const samples: PeerSample[] = []
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const [i, sc] of scenarios.entries()) {
      const shift = (rep + i) % peers.length
      for (const p of [...peers.slice(shift), ...peers.slice(0, shift)]) {
        if (!runnable(sc, p)) continue
        const r = await sc.run(p.ports)
        checkAlive(children)
        samples.push({ peer: p.name, scenario: sc.name, rep, values: r.values, failures: r.failures })
        if (r.failures > 0) notes.push(`${sc.name} ${p.name} rep ${rep}: ${r.failures} failed operation(s)`)
        progress(`rep ${rep}/${o.reps} ${sc.name.padEnd(7)} ${p.name.padEnd(6)} ${Object.entries(r.values).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`)
      }
    }
  }
  return samples
}

async function run (o: Options, group: ProcessGroup, cleanups: Array<() => Promise<void>>): Promise<Report> {
  const started = performance.now()
  const notes: string[] = []
  const env = environment(ROOT, undefined)
  const services = await startServices(group, CLI_JS)
  const children: Child[] = [...services.children]
  const peers: Peer[] = [{ name: 'direct', label: 'direct', ports: services.ports }]
  if (o.peers.includes('tunnel')) {
    const t = await startOurTunnel(group, CLI_JS, services.ports, true)
    cleanups.push(t.cleanup)
    notes.push(...t.notes)
    children.push(t.relay, t.client)
    peers.push({ name: 'tunnel', label: `tunnel (this tree, ${env.commit}${env.dirty ? '+' : ''})`, ports: t.ports })
    progress(`tunnel: relay pid ${t.relay.pid}, client pid ${t.client.pid}, ports ${JSON.stringify(t.ports)}`)
  }
  if (o.peers.includes('ssh') && ensureSshd(o.install, (s) => { notes.push(s); progress(s) })) {
    const s = await startSshPeer(group, services.ports)
    cleanups.push(s.cleanup)
    peers.push({ name: 'ssh', label: `${s.version} \`ssh -R\``, ports: s.ports })
    progress(`ssh: ${s.version}, ports ${JSON.stringify(s.ports)}`)
  }
  if (peers.some((p) => p.ports.udp === undefined)) notes.push(`udp: ${peers.filter((p) => p.ports.udp === undefined).map((p) => p.name).join(', ')} cannot carry UDP (–)`)
  const samples = await runAll(o, peers, children, notes)
  const scenarios = peerScenarios(o.sizes)
  const all = cells(peers.map((p) => p.name), scenarios, samples)
  const labels = peers.map((p) => ({ name: p.name, label: p.label }))
  return {
    tool: 'tunnel-bench-peers',
    env,
    options: o,
    peers: labels,
    cells: all,
    samples,
    notes,
    table: table(labels, scenarios.flatMap((s) => s.metrics), all),
    totalSeconds: (performance.now() - started) / 1000,
  }
}

function text (r: Report): string {
  const e = r.env
  return [
    `tunnel bench peers  ${e.date}  commit ${e.commit}${e.dirty ? ' (+uncommitted changes)' : ''}`,
    `node ${e.node}  kernel ${e.kernel}  ${e.cpu} x${e.cpus}, ${(e.memoryBytes / 2 ** 30).toFixed(0)} GiB RAM  load average at start ${e.loadAverage1m.toFixed(2)}`,
    `${r.options.reps} interleaved repetitions of ${r.options.sizes.seconds} s, medians; (ratio) = fraction of direct: peer/direct for rates, direct/peer for latencies${r.options.smoke ? '  [SMOKE: sizes too small to mean anything]' : ''}`,
    '',
    r.table,
    '',
    ...r.notes.map((n) => `note: ${n}`),
    `total ${r.totalSeconds.toFixed(1)} s`,
  ].join('\n')
}

async function main (argv: string[]): Promise<number> {
  let o: Options | undefined
  try {
    o = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`peers: ${err.message}\n${USAGE}`)
    return 2
  }
  if (o === undefined) {
    process.stdout.write(USAGE)
    return 0
  }
  const group = new ProcessGroup()
  const cleanups: Array<() => Promise<void>> = []
  const killEverything = (): void => { group.killAllNow() }
  process.on('exit', killEverything)
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      progress(`peers: ${signal}: killing pids ${group.pids.join(', ') || '(none)'}`)
      killEverything()
      for (const d of cleanups) void d() // best effort: the process exits on the next line
      process.exit(code)
    })
  }
  const watchdog = setTimeout(() => {
    progress(`peers: not finished within --timeout: killing pids ${group.pids.join(', ') || '(none)'}`)
    killEverything()
    process.exit(1)
  }, o.timeoutSeconds * 1000)
  watchdog.unref()
  try {
    const report = await run(o, group, cleanups)
    process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${text(report)}\n`)
    return 0
  } catch (err) {
    progress(`peers: failed: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    clearTimeout(watchdog)
    await group.stopAll(STOP_GRACE_MS)
    for (const c of cleanups) await c()
  }
}

process.exitCode = await main(process.argv.slice(2))
// Exit even if a socket of the generator lingers; every child is already stopped.
process.exit()
