// `tunnel bench tcp|udp|http --target HOST:PORT`: load-test a mapped port. The report goes to
// stdout (--json for machines), progress and logs to stderr, and with --report FILE also to a
// self-contained HTML page with charts. Exit codes: 0 done, 1 failure (also: the HTML file could
// not be written), 2 bad usage, 3 a --max-* threshold exceeded, 130/143 interrupted (the partial
// report is printed).
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { TunnelError, type ErrorCode } from '../../shared/errors.js'
import { parseAdminUrl, type AdminTarget } from '../../shared/admin/index.js'
import { formatReport, LIMITS as L, planBench, PROTOCOLS, RelayWatch, runBenchDetailed, TCP_MODES, writeReportHtml, type BenchPlan, type ProgressMode } from '../../loadtest/index.js'
import { ADMIN_OPTIONS, reportAdminFailure } from '../admin-target.js'
import { makeLogger, withLogOptions, type LogArgs } from '../common.js'

const THRESHOLD_CODE: ErrorCode = 'TUN_BENCH_THRESHOLD'

interface Args extends LogArgs {
  protocol: string
  target: string | undefined
  mode: string | undefined
  duration: number | undefined
  requests: number | undefined
  concurrency: number | undefined
  rate: number | undefined
  size: number | undefined
  replySize: number | undefined
  timeoutMs: number | undefined
  streams: number | undefined
  direction: string | undefined
  bytes: number | undefined
  path: string | undefined
  host: string | undefined
  keepAlive: boolean
  maxErrorRate: number | undefined
  maxP99Ms: number | undefined
  json: boolean
  report: string | undefined
  progress: string
  admin: string | undefined
  adminToken: string | undefined
}

function progressMode (choice: string): ProgressMode {
  if (choice === 'bar' || choice === 'json' || choice === 'none') return choice
  return process.stderr.isTTY === true ? 'bar' : 'json'
}

export async function runBenchCommand (args: Args): Promise<number> {
  let plan: BenchPlan
  let admin: AdminTarget | undefined
  try {
    plan = planBench(args)
    if (args.admin !== undefined) admin = parseAdminUrl(args.admin, args.adminToken)
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel bench: ${err.message} (${err.code})\nRun 'tunnel bench --help' for usage.\n`)
    return ExitCode.REFUSED
  }
  const log = makeLogger(args, 'info')
  let watch: RelayWatch | undefined
  if (admin !== undefined) {
    try {
      watch = await RelayWatch.start(admin, plan)
    } catch (err) {
      return reportAdminFailure('bench', err)
    }
  }
  const abort = new AbortController()
  let signalled: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) process.exit(ExitCode.INTERRUPTED)
    signalled = signal
    log.warn({ signal }, 'stopping the load test (send the signal again to exit now)')
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const mode = progressMode(args.progress)
  // On a TTY the bar says it all; in logs a start line frames the progress lines.
  log[mode === 'bar' ? 'debug' : 'info']({ protocol: plan.protocol, workload: plan.workload, target: args.target, durationS: plan.durationMs / 1000, maxOps: plan.maxOps, concurrency: plan.concurrency, rate: plan.rate }, 'bench starting')
  let report
  let detail
  try {
    ({ report, detail } = await runBenchDetailed(plan, { log, progress: mode, signal: abort.signal }))
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    log.error({ code: err.code }, err.message)
    process.stderr.write(`tunnel bench: ${err.message} (${err.code})\n`)
    await watch?.finish()
    return ExitCode.FAILED
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (watch !== undefined) report = { ...report, relay: await watch.finish() }
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`)
  if (args.report !== undefined && args.report !== '') {
    try {
      await writeReportHtml(args.report, { report, detail: { ...detail, relay: watch?.points ?? [] } })
      log.info({ file: args.report }, 'HTML report written')
    } catch (err) {
      if (!(err instanceof TunnelError)) throw err
      log.error({ code: err.code }, err.message)
      process.stderr.write(`tunnel bench: ${err.message} (${err.code})\n`)
      return ExitCode.FAILED
    }
  }
  if (signalled !== undefined) return signalled === 'SIGINT' ? 130 : 143
  if (!report.thresholds.passed) {
    log.error({ code: THRESHOLD_CODE, violations: report.thresholds.violations }, 'threshold exceeded')
    return ExitCode.ATTENTION
  }
  return ExitCode.OK
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench <protocol>',
  describe: 'Load-test a mapped port: connection rate, request/response latency, bulk throughput, UDP loss',
  builder: (y) => withLogOptions(y)
    .positional('protocol', { type: 'string', choices: PROTOCOLS, describe: 'tcp (--mode rr|connect|bulk), udp (to an echo) or http (GET)' })
    .option('target', { alias: 't', type: 'string', describe: 'HOST:PORT to load (e.g. the relay\'s public port)' })
    .option('mode', { alias: 'm', type: 'string', choices: TCP_MODES, describe: 'tcp: rr = request/response latency (needs an echo), connect = new connections per second, bulk = throughput' })
    .option('duration', { alias: 'd', type: 'number', describe: `Seconds to run (default ${L.DEFAULT_DURATION_S}, at most ${L.MAX_DURATION_S})` })
    .option('requests', { alias: 'n', type: 'number', describe: `Operations at most: requests, connections or datagrams (default ${L.DEFAULT_MAX_OPS.toLocaleString('en-US')})` })
    .option('concurrency', { alias: 'c', type: 'number', describe: `Connections at once (udp: flows) (default ${L.DEFAULT_CONCURRENCY}; udp 1)` })
    .option('rate', { alias: 'r', type: 'number', describe: `Operations per second, open loop: latency counts from the scheduled send time (coordinated omission corrected) (udp default ${L.DEFAULT_UDP_RATE})` })
    .option('size', { type: 'number', describe: `Request bytes (tcp default ${L.DEFAULT_TCP_SIZE_BYTES}, connect 1, udp ${L.DEFAULT_UDP_SIZE_BYTES})` })
    .option('reply-size', { type: 'number', describe: 'Reply bytes to wait for per request (default: --size, as an echo returns)' })
    .option('timeout-ms', { type: 'number', describe: `Connect and reply timeout (default ${L.DEFAULT_TIMEOUT_MS})` })
    .option('streams', { type: 'number', describe: `bulk: parallel streams (default ${L.DEFAULT_BULK_STREAMS})` })
    .option('direction', { type: 'string', choices: ['up', 'down'], describe: 'bulk: up = write to a sink (`tunnel echo --mode sink`), down = read from a source (default up)' })
    .option('bytes', { type: 'number', describe: 'bulk: bytes per stream at most (default: until the duration ends)' })
    .option('path', { type: 'string', describe: 'http: request path (default /)' })
    .option('host', { type: 'string', describe: 'http: the Host header (default: --target), e.g. a website served on the relay\'s vhostHTTPPort' })
    .option('keep-alive', { type: 'boolean', default: true, describe: 'http: reuse connections (--no-keep-alive: one new connection per request)' })
    .option('max-error-rate', { type: 'number', describe: `Exit ${ExitCode.ATTENTION} when failed / finished operations is above this (0-1, e.g. 0.01)` })
    .option('max-p99-ms', { type: 'number', describe: `Exit ${ExitCode.ATTENTION} when the p99 latency is above this many ms` })
    .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON (shape: docs/loadtest.md)' })
    .option('report', { type: 'string', describe: 'Also write the report as one self-contained HTML file with charts (latency percentile curve, latency and throughput over time, errors by kind, the relay\'s side with --admin); --json stays the machine format' })
    .option('progress', { type: 'string', choices: ['auto', 'bar', 'json', 'none'], default: 'auto', describe: 'Live progress on stderr: bar on a TTY, one JSON line per second otherwise' })
    .option('admin', { type: 'string', describe: 'The relay\'s admin API, http://[USER:PASSWORD@]HOST:PORT: the report adds what the relay saw during the run (streams, bytes, drops, accept-queue overflows, control RTT)' })
    .option('admin-token', ADMIN_OPTIONS['admin-token'])
    .example('$0 bench tcp -t 127.0.0.1:6000 -c 50 -d 30', 'request/response latency at 50 connections')
    .example('$0 bench tcp -t relay.example:6000 --rate 2000 --max-p99-ms 50', 'fixed rate; exit 3 when p99 > 50 ms')
    .example('$0 bench tcp -t 127.0.0.1:6000 --mode connect -c 100', 'new connections per second')
    .example('$0 bench tcp -t 127.0.0.1:6000 --mode bulk --streams 4', 'throughput over 4 streams to a sink')
    .example('$0 bench udp -t 127.0.0.1:6001 --rate 20000 --size 1200', 'UDP loss, reordering and latency')
    .example('$0 bench http -t 127.0.0.1:8080 --path /health -c 20 --json', 'HTTP GET, report as JSON')
    .example('$0 bench tcp -t relay.example:6000 --admin http://127.0.0.1:7500', 'also report what the relay saw (its webServer)')
    .example('$0 bench tcp -t 127.0.0.1:6000 -d 30 --report bench.html', 'the same report as a page with charts, to open in a browser')
    .example('$0 bench http -t relay.example.com:80 --host blog.example.com', 'a website behind the relay\'s vhostHTTPPort (an http proxy)')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'the run could not be made, or the --report file could not be written', [ExitCode.REFUSED]: 'bad usage', [ExitCode.ATTENTION]: 'a --max-error-rate or --max-p99-ms threshold was exceeded', [ExitCode.INTERRUPTED]: true })) as never,
  handler: async (args) => { process.exitCode = await runBenchCommand(args) },
}
