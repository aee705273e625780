// Gathers the facts for a DiagTarget: sysctls, the owner of the ports (ss -p), a first sample
// of sockets and counters, more samples across the window (queues that fill and drain, counters
// that grow), fds of the owning process. Every loop is bounded; every failure becomes an
// `unavailable` entry instead of an exception.
import { release } from 'node:os'
import { sleep } from '../backoff.js'
import type { Logger } from '../log.js'
import { controlConnections, keepaliveOf, listenersOf, ownedListenerPorts, overflowOf, statesOf, type Sysctls } from './assemble.js'
import { parseLimits, parseNetstat, parseSockstat, parseSysctlValue, type Counters } from './proc-parse.js'
import { REPORT_SCHEMA, SYSCTLS, type DiagFacts, type Fds, type Unavailable } from './report.js'
import { platformProblem, readFdCount, readProc, runSs, ssVersion, unavailable, type Source, type SourceOptions } from './sources.js'
import { parseSs, type SsSocket } from './ss-parse.js'
import type { DiagTarget } from './target.js'

export interface CollectOptions {
  /** Time between the first and the last sample; 0 = one sample (no growth). */
  windowMs: number
  sources?: SourceOptions
  log?: Logger
  /** Ends the sampling early; the report is made from the samples taken. */
  signal?: AbortSignal
}

/** Samples taken at most across the window (first and last included). */
export const MAX_SAMPLES = 11
/** Samples are at least this far apart. */
export const MIN_SAMPLE_GAP_MS = 200
/** The longest window diag accepts (10 minutes). */
export const MAX_WINDOW_MS = 600_000
/** Above this many ports ss runs unfiltered and the ports are picked out here. */
export const MAX_FILTER_PORTS = 64

interface Sample {
  atMs: number
  sockets: SsSocket[] | null
  tcpExt: Record<string, number> | null
  sockstat: Counters | null
  /** Absent where IPv6 is off; not worth an `unavailable` entry. */
  sockstat6: Counters | null
}

class Problems {
  readonly list: Unavailable[] = []
  note<T> (fact: string, source: Source<T>): T | null {
    if (source.ok) return source.value
    // One entry per fact, and one for a reason every source shares (not Linux).
    if (!this.list.some((u) => u.fact === fact || u.reason === source.reason)) this.list.push({ fact, code: source.code, reason: source.reason })
    return null
  }
}

export async function collectFacts (target: DiagTarget, options: CollectOptions): Promise<DiagFacts> {
  const src = options.sources ?? {}
  const problems = new Problems()
  const started = performance.now()
  const platform = platformProblem(src)
  if (platform !== undefined) problems.note('kernel facts', unavailable(platform))
  const sysctls = await readSysctls(src, problems)
  const ss = await ssVersion(src)
  const basePorts = unique([...target.listen.map((l) => l.port), ...target.ports, ...(target.control === null ? [] : [target.control.port])])
  const owner = await findOwner(target, src, problems)
  const ports = unique([...basePorts, ...owner.ownedPorts])
  const samples = await takeSamples(ports, Math.min(Math.max(0, options.windowMs), MAX_WINDOW_MS), src, problems, options.signal)
  const first = samples[0] as Sample
  const last = samples[samples.length - 1] as Sample
  const sockets = last.sockets ?? []
  const control = controlConnections(sockets, target.control, sysctls)
  const listeners = listenersOf(samples.map((s) => s.sockets ?? []), target.listen, { ports: owner.ownedPorts, backlog: target.ownedListenerBacklog }, sysctls['net.core.somaxconn'])
  const fdsPid = owner.pid ?? control.find((c) => c.pid !== null)?.pid ?? null
  options.log?.debug({ ports, samples: samples.length, ms: Math.round(performance.now() - started) }, 'diag facts collected')
  return {
    schema: REPORT_SCHEMA,
    generatedAt: new Date().toISOString(),
    role: target.role,
    config: target.config,
    host: { platform: src.platform ?? process.platform, kernel: (src.platform ?? process.platform) === 'linux' ? release() : null, node: process.version, ss },
    samples: samples.length,
    windowMs: Math.round(last.atMs - first.atMs),
    ports,
    sysctls,
    controlExpected: describeControl(target),
    control,
    listeners,
    missingListeners: last.sockets === null ? [] : target.listen.filter((t) => !listeners.some((l) => l.port === t.port)).map((t) => ({ port: t.port, role: t.role })),
    overflow: overflowOf(first.tcpExt, last.tcpExt, Math.round(last.atMs - first.atMs)),
    keepalive: keepaliveOf(target, sysctls, control),
    states: statesOf(sockets, ports, last.sockstat, last.sockstat6),
    fds: await readFds(fdsPid, fdsPid === null ? 'this process' : owner.pid !== null ? `owner of port ${owner.port}` : 'owner of the control connection', src, problems),
    unavailable: problems.list,
  }
}

/** Sysctls older kernels lack (tcp_rto_max_ms came in 6.15; its default, 120 s, is used then). */
const OPTIONAL_SYSCTLS: ReadonlySet<string> = new Set(['net.ipv4.tcp_rto_max_ms'])

async function readSysctls (src: SourceOptions, problems: Problems): Promise<Sysctls> {
  const entries = await Promise.all(SYSCTLS.map(async (name): Promise<[string, number | null]> => {
    const read = await readProc(`sys/${name.replaceAll('.', '/')}`, src)
    const text = OPTIONAL_SYSCTLS.has(name) && !read.ok ? null : problems.note(name, read)
    if (text === null) return [name, null]
    const value = parseSysctlValue(text)
    if (value === undefined) problems.note(name, { ok: false, code: 'TUN_DIAG_PARSE', reason: `not a number: ${text.trim().slice(0, 40)}` })
    return [name, value ?? null]
  }))
  return Object.fromEntries(entries) as Sysctls
}

interface Owner {
  /** The process owning the port, when ss -p can see it. */
  pid: number | null
  port: number | null
  /** Its other listening ports (the relay's proxy listeners). */
  ownedPorts: number[]
}

/** The owner of the first listener of the target (`ss -ltnpH`: listeners only, cheap). */
async function findOwner (target: DiagTarget, src: SourceOptions, problems: Problems): Promise<Owner> {
  const none: Owner = { pid: null, port: null, ownedPorts: [] }
  if (target.listen.length === 0) return none
  const text = problems.note('ss', await runSs(['-H', '-l', '-t', '-n', '-p'], src))
  if (text === null) return none
  const listening = parseSs(text, { state: 'LISTEN' }).sockets
  for (const t of target.listen) {
    const pid = listening.find((s) => s.local.port === t.port && s.users.length > 0)?.users[0]?.pid
    if (pid === undefined) continue
    const ownedPorts = target.ownedListenerBacklog === null ? [] : ownedListenerPorts(listening, pid, target.listen.map((l) => l.port))
    return { pid, port: t.port, ownedPorts }
  }
  return none
}

async function takeSamples (ports: readonly number[], windowMs: number, src: SourceOptions, problems: Problems, signal: AbortSignal | undefined): Promise<Sample[]> {
  const gap = Math.max(MIN_SAMPLE_GAP_MS, windowMs / (MAX_SAMPLES - 1))
  const count = windowMs === 0 ? 1 : Math.min(MAX_SAMPLES, Math.floor(windowMs / gap) + 1)
  const start = performance.now()
  const samples: Sample[] = []
  for (let i = 0; i < count; i++) {
    const due = start + (count === 1 ? 0 : (windowMs * i) / (count - 1))
    const wait = due - performance.now()
    if (i > 0 && (signal?.aborted === true || (wait > 0 && !await sleep(wait, signal)))) break
    samples.push(await takeSample(ports, src, problems))
  }
  return samples
}

async function takeSample (ports: readonly number[], src: SourceOptions, problems: Problems): Promise<Sample> {
  const atMs = performance.now()
  const [ssText, netstatText, sockstatText, sockstat6Text] = await Promise.all([
    ports.length === 0 ? Promise.resolve(null) : runSs(['-H', '-t', '-a', '-n', '-i', '-o', '-p', ...portFilter(ports)], src).then((r) => problems.note('ss', r)),
    readProc('net/netstat', src).then((r) => problems.note('/proc/net/netstat', r)),
    readProc('net/sockstat', src).then((r) => problems.note('/proc/net/sockstat', r)),
    readProc('net/sockstat6', src).then((r) => (r.ok ? r.value : null)),
  ])
  let sockets: SsSocket[] | null = null
  if (ssText !== null) {
    const parsed = parseSs(ssText)
    const set = new Set(ports)
    sockets = parsed.sockets.filter((s) => set.has(s.local.port) || set.has(s.peer.port))
    if (parsed.skipped.length > 0) problems.note('ss output', { ok: false, code: 'TUN_DIAG_PARSE', reason: `${parsed.skipped.length} line(s) not understood, first: ${parsed.skipped[0]?.slice(0, 120) ?? ''}` })
  }
  let tcpExt: Record<string, number> | null = null
  if (netstatText !== null) {
    const parsed = parseNetstat(netstatText)
    tcpExt = parsed.sections.TcpExt ?? null
    if (tcpExt === null) problems.note('/proc/net/netstat', { ok: false, code: 'TUN_DIAG_PARSE', reason: 'no TcpExt section' })
  }
  return {
    atMs,
    sockets,
    tcpExt,
    sockstat: sockstatText === null ? null : parseSockstat(sockstatText),
    sockstat6: sockstat6Text === null ? null : parseSockstat(sockstat6Text),
  }
}

/** `( sport = :7000 or dport = :7000 or ... )`, or no filter for many ports (picked out after). */
export function portFilter (ports: readonly number[]): string[] {
  if (ports.length === 0 || ports.length > MAX_FILTER_PORTS) return []
  return [`( ${ports.map((p) => `sport = :${p} or dport = :${p}`).join(' or ')} )`]
}

async function readFds (pid: number | null, source: string, src: SourceOptions, problems: Problems): Promise<Fds> {
  const who = pid ?? 'self'
  const open = problems.note('fds', await readFdCount(who, src))
  const limitsText = problems.note('fd limit', await readProc(`${who}/limits`, src))
  const limit = limitsText === null ? undefined : parseLimits(limitsText)['Max open files']
  return { pid: pid ?? process.pid, source, open, softLimit: limit?.soft ?? null, hardLimit: limit?.hard ?? null }
}

function describeControl (target: DiagTarget): string | null {
  const c = target.control
  if (c === null) return null
  if (c.by === 'local-port') return `established on local port ${c.port}`
  if (c.by === 'endpoint') return `established on local port ${c.port} with ${c.peerHost.includes(':') ? `[${c.peerHost}]` : c.peerHost}:${c.peerPort}`
  return `established to ${c.hosts === null ? 'any host' : c.hosts.join(' or ')} port ${c.port}`
}

function unique (ports: readonly number[]): number[] {
  return [...new Set(ports.filter((p) => Number.isInteger(p) && p > 0 && p <= 65_535))].sort((a, b) => a - b)
}
