// `npm run bench` / `node dist/bench/run.js`: direct loopback vs the tunnel (real relay and client
// processes), interleaved repetitions, medians and ratios; selected scenarios also through a
// second tunnel with transport.insecurePlaintext, so the cost of encryption is measured in the
// same run. See docs/bench.md.
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { costRows, resultRows } from './lib/aggregate.js'
import { environment } from './lib/env.js'
import { measureHandshake } from './lib/handshake-cost.js'
import { measure, type Mode, type Pids, type Sample } from './lib/measure.js'
import { parseOptions, UsageError, USAGE, type BenchOptions, type ScenarioName } from './lib/options.js'
import { readMemory } from './lib/proc-stats.js'
import { parseJsonLine, type Child, ProcessGroup } from './lib/procs.js'
import { evaluateGoals } from './lib/goals.js'
import { formatReport, formatValue, type ProcessMemory, type Report } from './lib/report.js'
import { makeScenarios, type Scenario, type ScenarioSizes, type Target } from './lib/scenarios.js'
import { LOOPBACK, startServices, startTunnel, type Tunnel } from './lib/targets.js'
import { wrkVersion } from './lib/load-wrk.js'
import { formatTransportRows, runTransports, type TransportRow } from './lib/transports.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url))
const SERVICES_JS = fileURLToPath(new URL('./services.js', import.meta.url))
const STOP_GRACE_MS = 3_000
const MAX_PRODUCT_LOG_LINES = 100
/** pino's level number for warn. */
const PINO_WARN = 40

/** Busy cores outside our processes above which a run is flagged as disturbed (wrk and flood runs excepted: their generators are processes of their own). */
const NOISY_OTHER_CORES = 0.25

const otherCores = (s: Sample): number =>
  (s.machineBusyNs - s.cpuNs.bench - s.cpuNs.services - s.cpuNs.relay - s.cpuNs.client) / 1e9 / s.wallSeconds

const progress = (text: string): void => { process.stderr.write(`${text}\n`) }

/** Collects the warn/error lines a relay or client logs (none are expected during a benchmark). */
function watchLog (child: Child, into: string[]): void {
  child.on('line', (_source, text) => {
    const json = parseJsonLine(text)
    const level = json?.['level']
    if ((typeof level === 'number' && level >= PINO_WARN) || (json === undefined && text.trim() !== '')) {
      if (into.length < MAX_PRODUCT_LOG_LINES) into.push(`${child.name}: ${text}`)
    }
  })
}

function describe (sample: Sample, scenario: Scenario): string {
  return scenario.metrics.map((m) => `${m.key} ${formatValue(sample.metrics[m.key] ?? NaN, m.unit)}`).join(', ')
}

function checkAlive (...children: Child[]): void {
  for (const c of children) {
    if (!c.running) throw new Error(`${c.name} (pid ${c.pid}) exited (${String(c.exitStatus)}) during the benchmark:\n${c.describeTail()}`)
  }
}

const isWrk = (n: ScenarioName): boolean => n.startsWith('wrk')

/** The scenarios to run: the wrk rows only when wrk is installed (or required by --wrk). */
function selectScenarios (options: BenchOptions, notes: string[]): { names: ScenarioName[], wrk: string | undefined } {
  if (!options.scenarios.some(isWrk)) return { names: options.scenarios, wrk: undefined }
  const wrk = options.wrk === 'off' ? undefined : wrkVersion()
  if (options.wrk === 'on' && wrk === undefined) throw new UsageError('--wrk: wrk is not installed (command -v wrk)')
  if (wrk !== undefined) return { names: options.scenarios, wrk }
  if (options.wrk === 'auto') notes.push('wrk rows skipped: wrk is not installed')
  return { names: options.scenarios.filter((n) => !isWrk(n)), wrk: undefined }
}

interface Bed {
  /** `plain` only when some scenario runs through the insecurePlaintext tunnel. */
  targets: Partial<Record<Mode, Target>>
  /** Per mode: direct runs count the encrypted tunnel's relay and client (their idle cost). */
  pids: Partial<Record<Mode, Pids>>
  children: Child[]
}

const HANDSHAKE_RUNS = 50
/** A bare node process is read this long after it started (what any Node program costs at least). */
const BARE_NODE_SETTLE_MS = 1_500

/** RSS of `node` waiting on a timer, on this machine, now: the floor for the memory goals. */
async function bareNodeRss (group: ProcessGroup): Promise<number> {
  const child = group.spawn('bare-node', process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'])
  await new Promise((resolve) => setTimeout(resolve, BARE_NODE_SETTLE_MS))
  const rss = readMemory(child.pid).rssBytes
  await group.stop(child, STOP_GRACE_MS)
  return rss
}

/** The modes a scenario runs in, rotated per repetition so none always runs on a warmer machine. */
function modesFor (name: ScenarioName, options: BenchOptions, turn: number): Mode[] {
  const modes: Mode[] = ['direct', 'tunnel']
  if (options.plain.includes(name)) modes.push('plain')
  if (options.baseCli !== undefined) modes.push('base')
  const k = turn % modes.length
  return [...modes.slice(k), ...modes.slice(0, k)]
}

function targetOf (bed: Bed, mode: Mode): { target: Target, pids: Pids } {
  const target = bed.targets[mode]
  const pids = bed.pids[mode]
  if (target === undefined || pids === undefined) throw new Error(`no ${mode} target`)
  return { target, pids }
}

/** The optional discarded pass, then every repetition: each scenario direct and tunnel, interleaved. */
async function runRepetitions (options: BenchOptions, build: (sizes: ScenarioSizes) => Scenario[], bed: Bed, notes: string[]): Promise<Sample[]> {
  if (options.warmup) {
    progress('warm-up pass (discarded)')
    for (const sc of build({ seconds: Math.min(0.3, options.seconds), mib: Math.min(64, options.mib), rrCount: 500, rrWarmup: 50 })) {
      // The idle scenario needs no warming (and would hold thousands of connections once more).
      if (sc.name === 'idle') continue
      for (const mode of modesFor(sc.name, options, 0)) await sc.run(targetOf(bed, mode).target)
    }
  }
  const scenarios = build({ seconds: options.seconds, mib: options.mib, rrCount: options.rrCount, rrWarmup: options.rrWarmup })
  const samples: Sample[] = []
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [i, sc] of scenarios.entries()) {
      for (const mode of modesFor(sc.name, options, rep + i)) {
        const { target, pids } = targetOf(bed, mode)
        const sample = await measure(sc, mode, rep, target, pids)
        checkAlive(...bed.children)
        samples.push(sample)
        for (const n of sample.notes ?? []) notes.push(`${sc.name} ${mode} rep ${rep}: ${n}`)
        progress(`rep ${rep}/${options.reps} ${sc.name.padEnd(4)} ${mode.padEnd(6)} ${describe(sample, sc)}`)
      }
    }
  }
  return samples
}

function disturbedNote (samples: readonly Sample[]): string | undefined {
  const noisy = samples.filter((x) => !isWrk(x.scenario) && x.scenario !== 'flood' && otherCores(x) > NOISY_OTHER_CORES)
  if (noisy.length === 0) return undefined
  return `${noisy.length} of ${samples.length} runs had more than ${NOISY_OTHER_CORES} cores busy outside the benchmark's processes ` +
    `(other users of the machine): ${noisy.map((x) => `${x.scenario} ${x.mode} rep ${x.rep}`).join(', ')}`
}

async function runBench (options: BenchOptions, group: ProcessGroup, tempDirs: string[]): Promise<Report> {
  const started = performance.now()
  const notes: string[] = []
  const { names, wrk } = selectScenarios(options, notes)
  const env = environment(ROOT, wrk)
  const services = await startServices(group, SERVICES_JS)
  progress(`services pid ${services.child.pid}: sink ${services.ports.sink}, echo ${services.ports.echo}, http ${services.ports.http}, udp echo ${services.ports.udpEcho}, udp sink ${services.ports.udpSink}`)
  const tunnel = await startTunnel(group, { cliJs: CLI_JS, logLevel: options.logLevel, services: services.ports })
  tempDirs.push(tunnel.dir)
  let plain: Tunnel | undefined
  let base: Tunnel | undefined
  try {
    if (options.plain.length > 0) {
      plain = await startTunnel(group, { cliJs: CLI_JS, logLevel: options.logLevel, services: services.ports, plaintext: true })
      tempDirs.push(plain.dir)
      progress(`plaintext tunnel: relay pid ${plain.relay.pid}, client pid ${plain.client.pid}`)
    }
    if (options.baseCli !== undefined) {
      base = await startTunnel(group, { cliJs: options.baseCli, logLevel: options.logLevel, services: services.ports, name: 'base-' })
      tempDirs.push(base.dir)
      progress(`base tunnel (${options.baseCli}): relay pid ${base.relay.pid}, client pid ${base.client.pid}`)
    }
    const { relay, client } = tunnel
    progress(`relay pid ${relay.pid}, client pid ${client.pid}: sink ${tunnel.ports.sink}, echo ${tunnel.ports.echo}, http ${tunnel.ports.http}, vhost ${tunnel.ports.vhost}`)
    const productLog: string[] = []
    watchLog(relay, productLog)
    watchLog(client, productLog)
    if (plain !== undefined) { watchLog(plain.relay, productLog); watchLog(plain.client, productLog) }
    if (base !== undefined) { watchLog(base.relay, productLog); watchLog(base.client, productLog) }
    const bareNodeRssBytes = await bareNodeRss(group)
    const idle = { relay: readMemory(relay.pid), client: readMemory(client.pid) }
    const baseIdle = base === undefined ? undefined : { relay: readMemory(base.relay.pid), client: readMemory(base.client.pid) }
    // V8's memory reducer shrinks an idle process some 8-30 s after it started: the settled reading.
    let settled: { tunnel: { relay: number, client: number }, base?: { relay: number, client: number } } | undefined
    if (options.idleSettleSeconds > 0) {
      const waitMs = options.idleSettleSeconds * 1000 - (performance.now() - tunnel.startedAt)
      progress(`relay and client idle until ${options.idleSettleSeconds} s after their start (--idle-settle)`)
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
      settled = { tunnel: { relay: readMemory(relay.pid).rssBytes, client: readMemory(client.pid).rssBytes } }
      if (base !== undefined) settled.base = { relay: readMemory(base.relay.pid).rssBytes, client: readMemory(base.client.pid).rssBytes }
    }
    const basePids = { bench: process.pid, services: services.child.pid }
    const tunnelPids = { ...basePids, relay: relay.pid, client: client.pid }
    const servicesMemory = { relay: services.child.pid, client: services.child.pid }
    const bed: Bed = {
      targets: {
        direct: { host: LOOPBACK, ports: { ...services.ports, vhost: services.ports.http }, memoryPids: servicesMemory },
        tunnel: { host: LOOPBACK, ports: tunnel.ports, memoryPids: { relay: relay.pid, client: client.pid } },
      },
      pids: { direct: tunnelPids, tunnel: tunnelPids },
      children: [relay, client, services.child],
    }
    if (plain !== undefined) {
      bed.targets.plain = { host: LOOPBACK, ports: plain.ports, memoryPids: { relay: plain.relay.pid, client: plain.client.pid } }
      bed.pids.plain = { ...basePids, relay: plain.relay.pid, client: plain.client.pid }
      bed.children.push(plain.relay, plain.client)
    }
    if (base !== undefined) {
      bed.targets.base = { host: LOOPBACK, ports: base.ports, memoryPids: { relay: base.relay.pid, client: base.client.pid } }
      bed.pids.base = { ...basePids, relay: base.relay.pid, client: base.client.pid }
      bed.children.push(base.relay, base.client)
    }
    const handshake = measureHandshake(options.smoke ? 5 : HANDSHAKE_RUNS)
    progress(`handshake CPU: relay ${handshake.relayMs.toFixed(2)} ms, client ${handshake.clientMs.toFixed(2)} ms (median of ${handshake.runs})`)
    const factories = makeScenarios(options, group)
    const build = (sizes: ScenarioSizes): Scenario[] => names.flatMap((n) => {
      const f = factories.get(n)
      return f === undefined ? [] : [f(sizes)]
    })
    const samples = await runRepetitions(options, build, bed, notes)
    const disturbed = options.smoke ? undefined : disturbedNote(samples)
    if (disturbed !== undefined) notes.push(disturbed)
    const memoryOf = (mode: Mode, pids: { relay: number, client: number }, at: { relay: { rssBytes: number }, client: { rssBytes: number } }, settledAt: { relay: number, client: number } | undefined): { relay: ProcessMemory, client: ProcessMemory } => {
      const end = { relay: readMemory(pids.relay), client: readMemory(pids.client) }
      const ofMode = samples.filter((s) => s.mode === mode)
      const one = (which: 'relay' | 'client'): ProcessMemory => ({
        idleRssBytes: at[which].rssBytes,
        ...(settledAt === undefined ? {} : { settledRssBytes: settledAt[which] }),
        maxRssBytes: Math.max(...ofMode.map((s) => s.rssBytes[which])),
        underLoadMaxRssBytes: Math.max(...ofMode.map((s) => s.rssMaxBytes[which])),
        peakRssBytes: end[which].peakRssBytes,
      })
      return { relay: one('relay'), client: one('client') }
    }
    let transports: TransportRow[] | undefined
    if (options.transports && names.some((n) => n === 'tcp1' || n === 'rr' || n === 'http')) {
      const sizes = { seconds: options.seconds, mib: Math.min(options.mib, options.smoke ? 8 : 512), rrCount: options.rrCount, rrWarmup: options.rrWarmup }
      transports = await runTransports(group, { cliJs: CLI_JS, logLevel: options.logLevel, services: services.ports, reps: options.reps, sizes, build, progress }, tempDirs)
    }
    const scenarios = build({ seconds: options.seconds, mib: options.mib, rrCount: options.rrCount, rrWarmup: options.rrWarmup })
    const memory: Report['memory'] = { bareNodeRssBytes, ...memoryOf('tunnel', { relay: relay.pid, client: client.pid }, idle, settled?.tunnel) }
    if (base !== undefined && baseIdle !== undefined) memory.base = memoryOf('base', { relay: base.relay.pid, client: base.client.pid }, baseIdle, settled?.base)
    const results = resultRows(scenarios, samples)
    return {
      tool: 'tunnel-bench',
      env,
      options: { ...options, scenarios: names },
      results,
      costs: costRows(scenarios, samples),
      memory,
      goals: evaluateGoals(results, memory, options),
      productLog,
      handshake,
      notes,
      samples,
      totalSeconds: (performance.now() - started) / 1000,
      ...(transports === undefined ? {} : { transports }),
    }
  } finally {
    await group.stopAll(STOP_GRACE_MS)
    await tunnel.cleanup()
    await plain?.cleanup()
    await base?.cleanup()
  }
}

/** Every headline number must be a positive finite figure, or the run counts as failed. */
function invalidResults (report: Report): string[] {
  return report.results
    // Memory per idle stream may be 0 (RSS moves in pages); every other figure must be positive.
    .filter((r) => r.unit === 'B' ? !(r.direct >= 0 && r.tunnel >= 0) : !(r.direct > 0 && r.tunnel > 0 && r.ratio > 0 && Number.isFinite(r.ratio)) ||
      (r.plain !== undefined && !(r.plain > 0 && Number.isFinite(r.encryptedOverPlain))))
    .map((r) => `${r.metric}: direct ${r.direct}, tunnel ${r.tunnel}, ratio ${r.ratio}${r.plain === undefined ? '' : `, plain ${r.plain}`}`)
}

async function main (argv: readonly string[]): Promise<number> {
  let options: BenchOptions | undefined
  try {
    options = parseOptions(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`bench: ${err.message}\n${USAGE}`)
    return 2
  }
  if (options === undefined) {
    process.stdout.write(USAGE)
    return 0
  }
  const group = new ProcessGroup()
  const tempDirs: string[] = []
  const killEverything = (): void => {
    group.killAllNow()
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  }
  process.on('exit', killEverything)
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      progress(`bench: ${signal}: killing pids ${group.pids.join(', ') || '(none)'}`)
      killEverything()
      process.exit(code)
    })
  }
  const timeoutSeconds = options.timeoutSeconds
  const watchdog = setTimeout(() => {
    progress(`bench: not finished within --timeout ${timeoutSeconds} s: killing pids ${group.pids.join(', ') || '(none)'}`)
    killEverything()
    process.exit(1)
  }, timeoutSeconds * 1000)
  watchdog.unref()
  try {
    const report = await runBench(options, group, tempDirs)
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
    if (!options.json && report.transports !== undefined) process.stdout.write(`\n${formatTransportRows(report.transports, (v, unit) => formatValue(v, unit as Parameters<typeof formatValue>[1]))}\n`)
    const invalid = invalidResults(report)
    if (invalid.length > 0) {
      progress(`bench: invalid results:\n  ${invalid.join('\n  ')}`)
      return 1
    }
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      progress(`bench: ${err.message}`)
      return 2
    }
    progress(`bench: failed: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    clearTimeout(watchdog)
    await group.stopAll(STOP_GRACE_MS)
  }
}

process.exitCode = await main(process.argv.slice(2))
