// Command-line options of `node dist/bench/run.js`, with the full-run and --smoke defaults.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

export const SCENARIO_NAMES = ['tcp1', 'tcp8', 'rr', 'http', 'vhost', 'httpclose', 'wrk', 'wrkvhost', 'wrkclose', 'udp', 'udprr', 'flood', 'idle'] as const
export type ScenarioName = typeof SCENARIO_NAMES[number]

export interface BenchOptions {
  json: boolean
  smoke: boolean
  reps: number
  /** Time cap of one measured run (each direct or tunnel run of each scenario). */
  seconds: number
  /** Byte cap of one tcp1 run, and of each tcp8 stream, in MiB. */
  mib: number
  streams: number
  rrSize: number
  rrCount: number
  rrWarmup: number
  httpConnections: number
  /** Offered datagrams per second of the udp and flood scenarios, and their size. */
  udpRate: number
  udpSize: number
  scenarios: ScenarioName[]
  /** Scenarios also run through a second tunnel with transport.insecurePlaintext (the cost of encryption). */
  plain: ScenarioName[]
  /** wrk row: 'auto' = when wrk is installed and not --smoke. */
  wrk: 'auto' | 'on' | 'off'
  logLevel: string
  /** One discarded pass of every scenario before the measured repetitions. */
  warmup: boolean
  /** tcp1, rr and http also through clients over tls, websocket and wss (issue 18), as ratios to the raw tcp tunnel. */
  transports: boolean
  /** The whole run is aborted (and every child killed) after this. */
  timeoutSeconds: number
  /** Concurrent connections of httpclose and wrkclose (one new connection per request). */
  closeConnections: number
  /** Idle connections the idle scenario opens through one client at once. */
  idleStreams: number
  /** Seconds after start at which the settled idle RSS is read; 0 = not read. */
  idleSettleSeconds: number
  /**
   * Another build's `dist/cli/main.js` (e.g. the commit before a change): every scenario also runs
   * through a tunnel of that build, interleaved, so before and after are measured in one run.
   */
  baseCli: string | undefined
}

export const USAGE = `Usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])

Measures the same workloads on a direct loopback connection and through the tunnel (real
relay and client processes), interleaved, and prints medians and tunnel/direct ratios.

  --json              machine-readable report on stdout (progress goes to stderr)
  --smoke             tiny sizes, 1 repetition, no warm-up pass, no wrk (CI: ~10 s)
  --reps N            repetitions of every run (default 5; smoke 1)
  --seconds S         time cap of each run in seconds (default 2; smoke 0.3)
  --mib N             byte cap of a tcp1 run and of each tcp8 stream, MiB (default 2048; smoke 16)
  --streams N         parallel streams of tcp8 (default 8)
  --rr-size N         request and reply size of rr in bytes (default 64)
  --rr-count N        measured round trips of rr at most (default 20000; smoke 300)
  --http-conns N      keep-alive connections of http, vhost, wrk and wrkvhost (default 50)
  --close-conns N     concurrent connections of httpclose and wrkclose, each request on a new
                      connection with Connection: close (default 20, as the peers' http-close)
  --idle-streams N    connections the idle scenario holds open at once through one client
                      (default 2000; smoke 20): RSS per idle stream of relay and client
  --idle-settle S     seconds the relay and client sit idle after start before their settled
                      idle RSS is read, once V8's memory reducer has run (default 30; smoke 0 =
                      not read); the idle memory goal is judged on it
  --udp-rate N        offered datagrams per second of udp and of flood's flood (default
                      100000 ≈ 0.96 Gbit/s at 1,200 B, the peers' "1G offered"; smoke 20000)
  --udp-size N        payload bytes per udp datagram (default 1200; at most 65507)
  --scenarios LIST    comma-separated subset of ${SCENARIO_NAMES.join(',')} (default all)
  --plain LIST        scenarios also run through a tunnel with transport.insecurePlaintext, to
                      show what encryption costs (default tcp1,tcp8,rr,http; smoke tcp1; none)
  --wrk / --no-wrk    force the wrk rows (wrk, wrkvhost, wrkclose) on or off (default: on when
                      wrk is installed, off in smoke)
  --no-warmup         skip the discarded warm-up pass
  --base PATH         another build to compare with, in the same run: its dist/cli/main.js (or
                      the checkout holding it); every scenario also runs through a relay and
                      client of that build (mode "base"), and the report adds this/base ratios
  --no-transports     skip the transports table (tcp1, rr and http through clients over tls,
                      websocket and wss, as ratios to the raw tcp tunnel; on by default)
  --log-level L       relay/client log level (default info: port discovery needs the lifecycle
                      lines; nothing is logged per connection at info)
  --timeout S         abort the whole run after S seconds (default 600; smoke 60)
  -h, --help          this text
`

export class UsageError extends Error {}

/** Most connections the idle scenario opens (each costs an fd in the bench, relay, client and echo). */
export const MAX_IDLE_STREAMS = 100_000

/** `--base`: a main.js, or a checkout (PATH/dist/cli/main.js) or dist directory (PATH/cli/main.js). */
function resolveBaseCli (path: string): string {
  const full = resolve(path)
  const candidates = full.endsWith('.js') ? [full] : [join(full, 'dist', 'cli', 'main.js'), join(full, 'cli', 'main.js')]
  const found = candidates.find((c) => existsSync(c))
  if (found === undefined) throw new UsageError(`--base ${path}: no ${candidates.join(' or ')} (build that checkout first: npm run build)`)
  return found
}

function num (raw: string | undefined, name: string, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${name} ${raw}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`)
  }
  return v
}

/** Parses argv (without node and script); returns undefined for --help. */
export function parseOptions (argv: readonly string[]): BenchOptions | undefined {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: 'boolean' },
        smoke: { type: 'boolean' },
        reps: { type: 'string' },
        seconds: { type: 'string' },
        mib: { type: 'string' },
        streams: { type: 'string' },
        'rr-size': { type: 'string' },
        'rr-count': { type: 'string' },
        'http-conns': { type: 'string' },
        'udp-rate': { type: 'string' },
        'udp-size': { type: 'string' },
        scenarios: { type: 'string' },
        plain: { type: 'string' },
        wrk: { type: 'boolean' },
        'no-wrk': { type: 'boolean' },
        'no-warmup': { type: 'boolean' },
        'close-conns': { type: 'string' },
        'idle-streams': { type: 'string' },
        'idle-settle': { type: 'string' },
        base: { type: 'string' },
        'no-transports': { type: 'boolean' },
        'log-level': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const v = parsed.values
  if (v.help === true) return undefined
  const smoke = v.smoke === true
  const scenarios = (v.scenarios ?? SCENARIO_NAMES.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const s of scenarios) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) throw new UsageError(`--scenarios: unknown scenario ${s} (known: ${SCENARIO_NAMES.join(', ')})`)
  }
  if (scenarios.length === 0) throw new UsageError('--scenarios: name at least one scenario')
  const plainText = v.plain ?? (smoke ? 'tcp1' : 'tcp1,tcp8,rr,http')
  const plain = plainText === 'none' ? [] : plainText.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const s of plain) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(s)) throw new UsageError(`--plain: unknown scenario ${s} (known: ${SCENARIO_NAMES.join(', ')}, or none)`)
  }
  if (v.wrk === true && v['no-wrk'] === true) throw new UsageError('--wrk and --no-wrk contradict each other')
  const logLevel = v['log-level'] ?? 'info'
  if (!['trace', 'debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new UsageError(`--log-level ${logLevel}: expected trace, debug, info, warn, error or silent`)
  return {
    json: v.json === true,
    smoke,
    reps: num(v.reps, 'reps', smoke ? 1 : 5, 1, 100, true),
    seconds: num(v.seconds, 'seconds', smoke ? 0.3 : 2, 0.05, 120, false),
    mib: num(v.mib, 'mib', smoke ? 16 : 2048, 1, 1_048_576, true),
    streams: num(v.streams, 'streams', 8, 1, 256, true),
    rrSize: num(v['rr-size'], 'rr-size', 64, 1, 65_536, true),
    rrCount: num(v['rr-count'], 'rr-count', smoke ? 300 : 20_000, 1, 10_000_000, true),
    rrWarmup: smoke ? 20 : 200,
    httpConnections: num(v['http-conns'], 'http-conns', 50, 1, 1_000, true),
    udpRate: num(v['udp-rate'], 'udp-rate', smoke ? 20_000 : 100_000, 1, 10_000_000, true),
    udpSize: num(v['udp-size'], 'udp-size', 1_200, 1, 65_507, true),
    scenarios: scenarios as ScenarioName[],
    plain: (plain as ScenarioName[]).filter((s) => scenarios.includes(s)),
    wrk: v.wrk === true ? 'on' : v['no-wrk'] === true || smoke ? 'off' : 'auto',
    logLevel,
    warmup: v['no-warmup'] !== true && !smoke,
    transports: v['no-transports'] !== true,
    timeoutSeconds: num(v.timeout, 'timeout', smoke ? 60 : 600, 1, 86_400, false),
    closeConnections: num(v['close-conns'], 'close-conns', 20, 1, 1_000, true),
    idleStreams: num(v['idle-streams'], 'idle-streams', smoke ? 20 : 2_000, 1, MAX_IDLE_STREAMS, true),
    idleSettleSeconds: num(v['idle-settle'], 'idle-settle', smoke ? 0 : 30, 0, 600, false),
    baseCli: v.base === undefined ? undefined : resolveBaseCli(v.base),
  }
}
