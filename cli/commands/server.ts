// `tunnel server -c frps.yml`: run the relay until a signal.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { loadServerConfig } from '../../shared/config/index.js'
import type { TunnelError } from '../../shared/errors.js'
import { Relay } from '../../server/index.js'
import { startAdminServer } from '../admin-server.js'
import { startedUp } from '../v8-tuning.js'
import { loadOrReport, logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { DEFAULT_GRACE_MS, onHangup, untilSignal } from '../run-until-signal.js'

interface Args extends LogArgs {
  config: string
  grace: number
}

export async function runServer (args: Args): Promise<number> {
  const loaded = await loadOrReport(async () => await loadServerConfig(args.config))
  if (loaded === undefined) return ExitCode.REFUSED
  const { config, warnings } = loaded
  const log = makeLogger(args, config.log.level)
  logWarnings(log, warnings)
  const relay = new Relay(config, log)
  const signalled = untilSignal(log)
  onHangup(() => {
    log.warn({ signal: 'SIGHUP' }, 'relay reload is not supported: frps.yml is read only at start; restart the relay to apply changes (SIGTERM drains connections first)')
  })
  try {
    await relay.start()
  } catch (err) {
    log.error({ code: (err as TunnelError).code }, (err as Error).message)
    return ExitCode.FAILED
  }
  const admin = await startAdminServer(config.webServer, async () => (await import('../../server/admin.js')).relayAdminRoutes(relay), log)
  if (!admin.ok) {
    relay.destroy()
    return admin.exitCode
  }
  startedUp()
  await signalled
  await admin.server?.close()
  await relay.close(args.grace * 1000)
  const { shed, shedControl, shedBySource } = relay.budgetStats
  log.info({ shed, shedControl, shedBySource }, 'relay stopped')
  return ExitCode.OK
}

export const serverCommand: CommandModule<object, Args> = {
  command: 'server',
  describe: 'Run the public relay: accepts clients on bindPort, opens their remote ports, serves their websites on vhostHTTPPort/vhostHTTPSPort and their tcpmux proxies on tcpmuxHTTPConnectPort',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', default: './frps.yml', describe: 'frps.yml (frp v1 keys: bindAddr, bindPort, auth.token, allowPorts, vhostHTTPPort, tcpmuxHTTPConnectPort, httpPlugins, ...); a .toml file is read as TOML (frp\u2019s documented format), a .ini file or one with a [common] section as frp\u2019s legacy INI' })
    .option('grace', { type: 'number', default: DEFAULT_GRACE_MS / 1000, describe: 'Seconds to let open connections finish after SIGTERM/SIGINT' })
    .example('$0 server -c frps.yml', 'relay on the port in frps.yml (7000 by default)')
    .epilogue('With a fleet block in frps.yml the relay is one of a fleet that shares its clients\u2019 ownership (clientIDs, proxy names, ports, domains) through etcd; it joins before it says it is listening and exits 1 when etcd cannot be reached (TUN_FLEET_UNAVAILABLE); `tunnel status --fleet` lists the fleet: see docs/config.md (A relay fleet).\n' + 'Clients connect to bindPort over raw TCP, TLS (transport.tls: certFile/keyFile, else a self-signed certificate; force; trustedCaFile for mutual TLS) or WebSocket (GET /~!frp, also behind nginx: transport.websocket.trustedProxies), told apart by their first byte. With webServer.port in frps.yml the relay also serves its admin API (GET /api/status, /api/diag, /api/history, and /metrics with enablePrometheus) and a dashboard in the browser at http://ADDR:PORT/ (same login): see `tunnel status --help` and docs/operations.md. With httpPlugins it asks the operator\'s plugin services (frp\'s server plugin protocol) before logins, proxies and visitors; one that fails or does not answer within 5 s refuses them.\n' + exitCodesHelp({ [ExitCode.OK]: 'stopped by a signal', [ExitCode.FAILED]: 'a port could not be bound', [ExitCode.REFUSED]: 'bad config', [ExitCode.INTERRUPTED]: true })),
  handler: async (args) => { process.exitCode = await runServer(args) },
}
