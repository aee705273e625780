// `tunnel diag [-c FILE] [--port N ...] [--json]`: kernel facts about the tunnel's sockets and
// plain advice, run beside a relay or a client (same host or network namespace). The config
// says which ports and connections are ours; --port adds any other listener. With --admin the
// running relay or client makes the report itself (GET /api/diag) for the sockets it really
// owns. Results on stdout, logs on stderr; exit 0 whatever is found, or 3 with --strict when a
// finding is warn or error.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { CommandModule } from 'yargs'
import { clientTarget, controlHost, transportNotes } from '../../client/diag-target.js'
import { relayTarget } from '../../server/diag-target.js'
import { detectConfigKind, loadClientConfig, loadServerConfig, readConfigFile } from '../../shared/config/index.js'
import { buildReport, collectFacts, hasProblems, MAX_WINDOW_MS, portsTarget, renderReport, type DiagReport, type DiagTarget } from '../../shared/diag/index.js'
import { MAX_API_DIAG_WATCH_S, fetchDiag } from '../../shared/admin/index.js'
import { ADMIN_OPTIONS, reportAdminFailure, resolveAdminTarget } from '../admin-target.js'
import { ConfigError, TunnelError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log.js'
import { normalizeAddress } from '../../shared/net/index.js'
import { logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { natTimeoutCommand } from './nat-timeout-command.js'

interface Args extends LogArgs {
  config: string | undefined
  admin: string | undefined
  adminToken: string | undefined
  port: number[] | undefined
  json: boolean
  watch: number
  strict: boolean
  ss: string
}

const DNS_TIMEOUT_MS = 3_000

export { clientTarget, portsTarget, relayTarget }

/** serverAddr as the normalised addresses ss will print; null when it cannot be resolved. */
async function serverHosts (serverAddr: string, log: Logger): Promise<string[] | null> {
  if (isIP(serverAddr) !== 0) return [normalizeAddress(serverAddr)]
  const timeout = new Promise<null>((resolve) => setTimeout(() => { resolve(null) }, DNS_TIMEOUT_MS).unref())
  const found = await Promise.race([lookup(serverAddr, { all: true }).catch(() => null), timeout])
  if (found === null || found.length === 0) {
    log.warn({ serverAddr }, 'cannot resolve serverAddr: any connection to serverPort counts as the control connection')
    return null
  }
  return found.map((a) => normalizeAddress(a.address))
}

/** What the report cannot see because of the client's transport (filled by targetFor). */
const notes: ReturnType<typeof transportNotes> = []

async function targetFor (args: Args, ports: number[], log: Logger): Promise<DiagTarget> {
  if (args.config === undefined) return portsTarget(ports)
  const kind = detectConfigKind(await readConfigFile(args.config), args.config)
  if (kind === 'server') {
    const { config, warnings } = await loadServerConfig(args.config)
    logWarnings(log, warnings)
    if (config.bindPort === 0) log.warn('bindPort is 0 (any free port): pass the bound port with --port')
    return relayTarget(config, ports)
  }
  const { config, warnings } = await loadClientConfig(args.config)
  logWarnings(log, warnings)
  notes.push(...transportNotes(config))
  return clientTarget(config, await serverHosts(controlHost(config), log), ports)
}

function checkArgs (args: Args): number[] {
  const ports = args.port ?? []
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new TunnelError('TUN_USAGE', `--port ${p}: expected a port from 1 to 65535`)
  }
  if (!Number.isFinite(args.watch) || args.watch < 0 || args.watch * 1000 > MAX_WINDOW_MS) {
    throw new TunnelError('TUN_USAGE', `--watch ${args.watch}: expected 0 to ${MAX_WINDOW_MS / 1000} seconds`)
  }
  return ports
}

/** The report made by the running process itself, through its admin API. */
async function remoteReport (args: Args): Promise<DiagReport | number> {
  if (args.port !== undefined && args.port.length > 0) {
    process.stderr.write('tunnel diag: --port looks at listeners beside this command; with --admin the process reports on its own sockets (drop --port)\n')
    return ExitCode.REFUSED
  }
  if (!Number.isFinite(args.watch) || args.watch < 0 || args.watch > MAX_API_DIAG_WATCH_S) {
    process.stderr.write(`tunnel diag: --watch ${args.watch}: expected 0 to ${MAX_API_DIAG_WATCH_S} seconds with --admin (TUN_USAGE)\n`)
    return ExitCode.REFUSED
  }
  try {
    return await fetchDiag(await resolveAdminTarget(args), args.watch)
  } catch (err) {
    return reportAdminFailure('diag', err)
  }
}

export async function runDiag (args: Args): Promise<number> {
  const log = makeLogger(args, 'warn')
  if (args.admin !== undefined) {
    const report = await remoteReport(args)
    return typeof report === 'number' ? report : printReport(report, args, log)
  }
  let target: DiagTarget
  try {
    target = await targetFor(args, checkArgs(args), log)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tunnel diag: invalid config\n${err.message}\n`)
      return ExitCode.REFUSED
    }
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag: ${err.message} (${err.code})\n`)
    return ExitCode.REFUSED
  }
  // Ctrl-C during --watch ends the sampling early and still prints the report.
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let facts
  try {
    facts = await collectFacts(target, { windowMs: Math.round(args.watch * 1000), sources: { ssPath: args.ss }, log, signal: stop.signal })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const report = buildReport(facts)
  report.unavailable.push(...notes)
  return printReport(report, args, log)
}

function printReport (report: DiagReport, args: Args, log: Logger): number {
  for (const u of report.unavailable) log.warn({ fact: u.fact, code: u.code }, `not available: ${u.reason}`)
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report))
  if (args.strict && hasProblems(report)) {
    const n = report.findings.filter((f) => f.severity !== 'info').length
    log.error({ code: 'TUN_DIAG_FINDINGS', findings: n }, `${n} finding(s) to fix (--strict)`)
    return ExitCode.ATTENTION
  }
  return ExitCode.OK
}

/** `tunnel diag` itself: the default subcommand, so nat-timeout does not inherit its flags. */
const reportCommand: CommandModule<object, Args> = {
  command: '$0',
  describe: 'Report MSS/path MTU, backlog, keepalive, connection states and fds of a relay or client, with advice',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', describe: 'frps.yml or frpc.yml of the relay or client running here (kind detected from its keys)' })
    .option('port', { alias: 'p', type: 'number', array: true, describe: 'Also examine the listener and connections on this port (repeatable)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON (shape in docs/diagnostics.md)' })
    .option('watch', { type: 'number', default: 1, describe: 'Seconds to sample over (queues, counter growth); 0 = one sample' })
    .option('strict', { type: 'boolean', default: false, describe: `Exit ${ExitCode.ATTENTION} when a finding is warn or error` })
    .option('ss', { type: 'string', default: 'ss', describe: 'The ss binary (iproute2)' })
    .option('admin', { type: 'string', describe: 'Ask the running relay or client for its own report (GET /api/diag): --admin http://[USER:PASSWORD@]HOST:PORT, or --admin alone with -c FILE to use its webServer block' })
    .option('admin-token', ADMIN_OPTIONS['admin-token'])
    .example('$0 diag -c frps.yml', 'beside the relay: control connections, listeners, advice')
    .example('$0 diag -c frpc.yml --json', 'beside the client, as JSON')
    .example('$0 diag --port 8080 --watch 10', 'any listener: accept queue and overflow growth over 10 s')
    .example('$0 diag nat-timeout -c frpc.yml', 'how long the NAT keeps an idle mapping; the heartbeat to use')
    .example('$0 diag -c frps.yml --admin', 'the running relay\'s own report, through its admin API (webServer in frps.yml)')
    .example('$0 diag --admin http://127.0.0.1:7400 --json', 'a running client\'s report through its admin API')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'the admin API is not reachable', [ExitCode.REFUSED]: 'bad usage or config', [ExitCode.ATTENTION]: 'with --strict, a finding of severity warn or error' })) as never,
  handler: async (args) => { process.exitCode = await runDiag(args) },
}

export const diagCommand: CommandModule = {
  command: 'diag',
  describe: 'Report MSS/path MTU, backlog, keepalive, connection states and fds of a relay or client, with advice; diag nat-timeout measures the NAT',
  builder: (y) => y.command(reportCommand).command(natTimeoutCommand),
  handler: () => {},
}
