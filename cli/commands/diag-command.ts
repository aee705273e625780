// `tunnel diag [-c FILE] [--port N ...] [--json]`: kernel facts about the tunnel's sockets and
// plain advice, run beside a relay or a client (same host or network namespace). The config
// says which ports and connections are ours; --port adds any other listener. Results on stdout,
// logs on stderr; exit 0 whatever is found, or 3 with --strict when a finding is warn or error.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { CommandModule } from 'yargs'
import { CONTROL_KEEPALIVE_MS as CLIENT_CONTROL_KEEPALIVE_MS } from '../../client/client.js'
import { CONTROL_KEEPALIVE_MS as RELAY_CONTROL_KEEPALIVE_MS } from '../../server/relay.js'
import { detectConfigKind, loadClientConfig, loadServerConfig, readConfigFile, type ClientConfig, type ServerConfig } from '../../shared/config/index.js'
import { buildReport, collectFacts, hasProblems, MAX_WINDOW_MS, renderReport, type DiagTarget, type ListenTarget } from '../../shared/diag/index.js'
import { ConfigError, TunnelError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log.js'
import { DEFAULT_BACKLOG } from '../../shared/net/listen.js'
import { normalizeAddress } from '../../shared/net/address.js'
import { logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { FINDINGS_EXIT_CODE } from './diag-exit.js'
import { natTimeoutCommand } from './nat-timeout-command.js'

interface Args extends LogArgs {
  config: string | undefined
  port: number[] | undefined
  json: boolean
  watch: number
  strict: boolean
  ss: string
}

export { FINDINGS_EXIT_CODE }
const DNS_TIMEOUT_MS = 3_000

export function portsTarget (ports: readonly number[]): DiagTarget {
  return {
    role: 'ports',
    config: null,
    listen: ports.map((port) => ({ port, role: 'port', backlogAsked: null })),
    control: null,
    ownedListenerBacklog: null,
    ports,
    heartbeat: null,
    sockets: [],
  }
}

export function relayTarget (config: ServerConfig, ports: readonly number[]): DiagTarget {
  const listen: ListenTarget[] = config.bindPort === 0 ? [] : [{ port: config.bindPort, role: 'control', backlogAsked: DEFAULT_BACKLOG }]
  return {
    ...portsTarget(ports),
    role: 'relay',
    config: { file: config.source, kind: 'server' },
    listen: [...listen, ...portsTarget(ports).listen],
    control: config.bindPort === 0 ? null : { by: 'local-port', port: config.bindPort },
    ownedListenerBacklog: DEFAULT_BACKLOG,
    heartbeat: { intervalS: null, timeoutS: config.transport.heartbeatTimeout },
    sockets: [{ kind: 'control', keepAliveMs: RELAY_CONTROL_KEEPALIVE_MS }, { kind: 'visitor', keepAliveMs: null }],
  }
}

/** `hosts`: serverAddr's addresses (null = match the port alone). */
export function clientTarget (config: ClientConfig, hosts: readonly string[] | null, ports: readonly number[]): DiagTarget {
  return {
    ...portsTarget(ports),
    role: 'client',
    config: { file: config.source, kind: 'client' },
    control: { by: 'peer', port: config.serverPort, hosts },
    heartbeat: { intervalS: config.transport.heartbeatInterval, timeoutS: config.transport.heartbeatTimeout },
    sockets: [{ kind: 'control', keepAliveMs: CLIENT_CONTROL_KEEPALIVE_MS }, { kind: 'local-service', keepAliveMs: null }],
  }
}

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
  return clientTarget(config, await serverHosts(config.serverAddr, log), ports)
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

export async function runDiag (args: Args): Promise<number> {
  const log = makeLogger(args, 'warn')
  let target: DiagTarget
  try {
    target = await targetFor(args, checkArgs(args), log)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tunnel diag: invalid config\n${err.message}\n`)
      return 2
    }
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag: ${err.message} (${err.code})\n`)
    return 2
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
  for (const u of report.unavailable) log.warn({ fact: u.fact, code: u.code }, `not available: ${u.reason}`)
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report))
  if (args.strict && hasProblems(report)) {
    const n = report.findings.filter((f) => f.severity !== 'info').length
    log.error({ code: 'TUN_DIAG_FINDINGS', findings: n }, `${n} finding(s) to fix (--strict)`)
    return FINDINGS_EXIT_CODE
  }
  return 0
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
    .option('strict', { type: 'boolean', default: false, describe: `Exit ${FINDINGS_EXIT_CODE} when a finding is warn or error` })
    .option('ss', { type: 'string', default: 'ss', describe: 'The ss binary (iproute2)' })
    .example('$0 diag -c frps.yml', 'beside the relay: control connections, listeners, advice')
    .example('$0 diag -c frpc.yml --json', 'beside the client, as JSON')
    .example('$0 diag --port 8080 --watch 10', 'any listener: accept queue and overflow growth over 10 s')
    .example('$0 diag nat-timeout -c frpc.yml', 'how long the NAT keeps an idle mapping; the heartbeat to use') as never,
  handler: async (args) => { process.exitCode = await runDiag(args) },
}

export const diagCommand: CommandModule = {
  command: 'diag',
  describe: 'Report MSS/path MTU, backlog, keepalive, connection states and fds of a relay or client, with advice; diag nat-timeout measures the NAT',
  builder: (y) => y.command(reportCommand).command(natTimeoutCommand),
  handler: () => {},
}
