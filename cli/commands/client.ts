// `tunnel client -c frpc.yml`: run the client agent until a signal or a permanent error. SIGHUP
// reloads the proxies from the same file (reloadFromFile: an invalid file changes nothing).
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { Client, FleetClient, PERMANENT_ERROR_CODES, reloadFromFile } from '../../client/index.js'
import { startAdminServer } from '../admin-server.js'
import { startedUp } from '../v8-tuning.js'
import { loadClientConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { loadOrReport, logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { clientKeyOrReport } from '../client-key.js'
import { DEFAULT_GRACE_MS, onHangup, untilSignal } from '../run-until-signal.js'

interface Args extends LogArgs {
  config: string
  grace: number
}

/** Exit codes: 0 stopped by a signal, 2 refused login or bad config, 1 other failures. */
export async function runClient (args: Args): Promise<number> {
  const loaded = await loadOrReport(async () => await loadClientConfig(args.config))
  if (loaded === undefined) return ExitCode.REFUSED
  const { config, warnings } = loaded
  const log = makeLogger(args, config.log.level)
  logWarnings(log, warnings)
  if (loaded.included !== undefined) log.info({ files: loaded.included }, 'proxies included from other files')
  const clientKey = clientKeyOrReport(config, log)
  if (clientKey === undefined) return ExitCode.REFUSED
  // frpc.yml's fleet block: several connections to different relays; status and the admin API show the first.
  const agent = config.fleet === null ? new Client(config, log, { clientKey }) : new FleetClient(config, log, { clientKey })
  const client = agent instanceof FleetClient ? agent.primary : agent
  // The status follows the client's events from the start, for the admin API only (loaded with it).
  const connections = agent instanceof FleetClient ? () => agent.connections : undefined
  const status = config.webServer === null ? undefined : new (await import('../../client/status.js')).ClientStatus(client, connections)
  const signalled = untilSignal(log).then(() => { agent.close(args.grace * 1000) })
  onHangup(() => {
    log.debug({ signal: 'SIGHUP' }, 'reload requested')
    void reloadFromFile(agent, args.config, log) // never rejects: failures are logged and in its outcome
  })
  // POST /api/reload (tunnel reload) and the dashboard's apply do what SIGHUP does; reloads run one at a time.
  const reload = async (): ReturnType<typeof reloadFromFile> => await reloadFromFile(agent, args.config, log)
  const admin = await startAdminServer(config.webServer, async () => (await import('../../client/admin.js')).clientAdminRoutes(client, status ?? new (await import('../../client/status.js')).ClientStatus(client, connections), { reload, configFile: args.config, log }), log)
  if (!admin.ok) return admin.exitCode
  startedUp()
  try {
    await agent.run()
  } catch (err) {
    const e = err instanceof TunnelError ? err : new TunnelError('TUN_CONNECT', String(err))
    log.error({ code: e.code }, e.message)
    process.stderr.write(`tunnel: ${e.message} (${e.code})\n`)
    await admin.server?.close()
    return PERMANENT_ERROR_CODES.has(e.code) ? ExitCode.REFUSED : ExitCode.FAILED
  }
  await signalled
  await admin.server?.close()
  log.info('client stopped')
  return ExitCode.OK
}

export const clientCommand: CommandModule<object, Args> = {
  command: 'client',
  describe: 'Run the client behind NAT: connects to the relay and exposes local services',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', default: './frpc.yml', describe: 'frpc.yml (frp v1 keys: serverAddr, serverPort, auth.token, proxies of type tcp, udp, http, https, tcpmux, stcp, sudp, with loadBalancer groups and healthCheck, visitors of stcp/sudp proxies, with frp\u2019s client plugins: http_proxy, socks5, static_file, unix_domain_socket, https2http, ..., includes, port-range templates, ...); a .toml file is read as TOML (frp\u2019s documented format), a .ini file or one with a [common] section as frp\u2019s legacy INI' })
    .option('grace', { type: 'number', default: DEFAULT_GRACE_MS / 1000, describe: 'Seconds to let open connections finish after SIGTERM/SIGINT' })
    .example('$0 client -c frpc.yml', 'expose the proxies of frpc.yml through the relay')
    .example('$0 client -c frpc-stcp-visitor.yml', 'listen on 127.0.0.1:bindPort for another client\u2019s secret (stcp/sudp) proxy: see configs/frpc-stcp-*.yml')
    .epilogue('transport.protocol tcp, websocket or wss, transport.tls.enable (TLS under the handshake) and transport.proxyURL (http:// CONNECT or socks5://; default $http_proxy, NO_PROXY honoured) carry the connection through firewalls and proxies; wrong proxy credentials or a relay certificate that fails transport.tls.trustedCaFile exit 2. Secret proxies (stcp, sudp) open no public port: a visitor (frpc.yml\u2019s visitors:, on another machine) that knows secretKey reaches them through the relay on a port of its own; wrong names, secrets and users are all refused alike (TUN_VISIT_REFUSED). SIGHUP (or `tunnel reload`) reloads the proxies and visitors from the same file and the files its includes match: added ones come up, removed ones go down, changed ones restart, the others keep their connections. An invalid file is refused with its errors and nothing changes; other settings (serverAddr, auth, transport, ...) need a restart. SIGTERM/SIGINT stop gracefully. With a fleet block (fleet.servers, fleet.connections) the client keeps several connections, one identity, to different relays of a fleet, each serving every proxy; status and the admin API show the first. With webServer.port in frpc.yml the client also serves its admin API (GET /api/status, /api/diag, /api/history, /api/path, /metrics, POST /api/reload) and a dashboard at http://ADDR:PORT/ (same login; its config editor, /api/config, needs webServer.password or token): see `tunnel status --help` and docs/operations.md.\n' + exitCodesHelp({ [ExitCode.OK]: 'stopped by a signal', [ExitCode.FAILED]: 'runtime failure (with loginFailExit: the first connection failed)', [ExitCode.REFUSED]: 'bad config, or the relay refused the login (token, key, clock, protocol version)', [ExitCode.INTERRUPTED]: true })),
  handler: async (args) => { process.exitCode = await runClient(args) },
}
