// `tunnel client -c frpc.yml`: run the client agent until a signal or a permanent error.
import type { CommandModule } from 'yargs'
import { Client, PERMANENT_ERROR_CODES } from '../../client/index.js'
import { loadClientConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { loadOrReport, logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { DEFAULT_GRACE_MS, untilSignal } from '../run-until-signal.js'

interface Args extends LogArgs {
  config: string
  grace: number
}

/** Exit codes: 0 stopped by a signal, 2 refused login or bad config, 1 other failures. */
export async function runClient (args: Args): Promise<number> {
  const loaded = await loadOrReport(async () => await loadClientConfig(args.config))
  if (loaded === undefined) return 2
  const { config, warnings } = loaded
  const log = makeLogger(args, config.log.level)
  logWarnings(log, warnings)
  const client = new Client(config, log)
  const signalled = untilSignal(log).then(() => { client.close(args.grace * 1000) })
  try {
    await client.run()
  } catch (err) {
    const e = err instanceof TunnelError ? err : new TunnelError('TUN_CONNECT', String(err))
    log.error({ code: e.code }, e.message)
    process.stderr.write(`tunnel: ${e.message} (${e.code})\n`)
    return PERMANENT_ERROR_CODES.has(e.code) ? 2 : 1
  }
  await signalled
  log.info('client stopped')
  return 0
}

export const clientCommand: CommandModule<object, Args> = {
  command: 'client',
  describe: 'Run the client behind NAT: connects to the relay and exposes local services',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', default: './frpc.yml', describe: 'frpc.yml (frp v1 YAML keys: serverAddr, serverPort, auth.token, proxies of type tcp, udp, http, https, ...)' })
    .option('grace', { type: 'number', default: DEFAULT_GRACE_MS / 1000, describe: 'Seconds to let open connections finish after SIGTERM/SIGINT' })
    .example('$0 client -c frpc.yml', 'expose the proxies of frpc.yml through the relay') as never,
  handler: async (args) => { process.exitCode = await runClient(args) },
}
