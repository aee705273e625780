// `tunnel diag nat-timeout -c frpc.yml`: measures how long the NAT between this client and its
// relay keeps an idle TCP mapping (client/nat-probe.ts) and advises a heartbeat interval.
// Results on stdout, progress on stderr; exit 0, 2 on bad input or a refused login (wrong token
// or key), 1 when nothing could be measured, 3 with --strict when the advice says to change something.
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { DEFAULT_IDLE_SCHEDULE_S, checkSchedule, probeNatTimeout, scheduleUpTo } from '../../client/nat-probe.js'
import { isPermanent } from '../../client/permanent.js'
import { loadClientConfig } from '../../shared/config/index.js'
import { natTimeoutReport, renderNatTimeout } from '../../shared/diag/index.js'
import { TunnelError } from '../../shared/errors.js'
import { loadOrReport, logWarnings, makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { clientKeyOrReport } from '../client-key.js'

interface Args extends LogArgs {
  config: string
  max: number
  idle: number[] | undefined
  grace: number
  json: boolean
  strict: boolean
}

export const NAT_DEFAULT_MAX_S = 300

function schedule (args: Args): number[] {
  if (args.idle !== undefined) return checkSchedule(args.idle)
  if (!Number.isInteger(args.max) || args.max < 1 || args.max > Math.max(...DEFAULT_IDLE_SCHEDULE_S)) {
    throw new TunnelError('TUN_USAGE', `--max ${args.max}: expected whole seconds from 1 to ${Math.max(...DEFAULT_IDLE_SCHEDULE_S)}`)
  }
  return checkSchedule(scheduleUpTo(args.max))
}

export async function runNatTimeout (args: Args): Promise<number> {
  const log = makeLogger(args, 'info')
  let idle: number[]
  try {
    if (!Number.isFinite(args.grace) || args.grace < 0.1 || args.grace > 60) throw new TunnelError('TUN_USAGE', `--grace ${args.grace}: expected 0.1 to 60 seconds`)
    idle = schedule(args)
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag nat-timeout: ${err.message} (${err.code})\n`)
    return ExitCode.REFUSED
  }
  const loaded = await loadOrReport(async () => await loadClientConfig(args.config))
  if (loaded === undefined) return ExitCode.REFUSED
  logWarnings(log, loaded.warnings)
  const { config } = loaded
  const clientKey = clientKeyOrReport(config, log)
  if (clientKey === undefined) return ExitCode.REFUSED
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  log.info({ idle, relay: `${config.serverAddr}:${config.serverPort}` }, `probing the NAT: up to ${Math.max(...idle)} s, stops at the first idle time the mapping does not survive`)
  let probes
  try {
    probes = await probeNatTimeout(config, {
      clientKey,
      scheduleS: idle,
      graceMs: Math.round(args.grace * 1000),
      signal: stop.signal,
      log: log.child({ probe: true }),
      onResult: (r) => { log.info({ idleS: r.idleS, outcome: r.outcome, detail: r.detail === '' ? undefined : r.detail }, 'probe result') },
    })
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag nat-timeout: ${err.message} (${err.code})\n`)
    return err.code === 'TUN_USAGE' || isPermanent(err, false) ? ExitCode.REFUSED : ExitCode.FAILED
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const report = natTimeoutReport(probes, config.transport.heartbeatInterval)
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : renderNatTimeout(report))
  if (report.aliveUpToS === null && report.deadFromS === null) return ExitCode.FAILED
  if (args.strict && report.findings.some((f) => f.severity !== 'info')) return ExitCode.ATTENTION
  return ExitCode.OK
}

export const natTimeoutCommand: CommandModule<object, Args> = {
  command: 'nat-timeout',
  describe: 'Measure how long the NAT between this client and its relay keeps an idle TCP mapping, and advise a heartbeat',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', demandOption: true, describe: 'frpc.yml: the relay to probe and the credentials to log in with' })
    .option('max', { type: 'number', default: NAT_DEFAULT_MAX_S, describe: 'Longest idle time to try, in seconds (the run takes about the NAT timeout, at most this)' })
    .option('idle', { type: 'number', array: true, describe: 'Idle times to try instead of the built-in schedule (seconds, repeatable)' })
    .option('grace', { type: 'number', default: 2, describe: 'Seconds after an idle time for the relay\'s message to arrive (raise it on slow paths)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
    .option('strict', { type: 'boolean', default: false, describe: `Exit ${ExitCode.ATTENTION} when the advice is to change something` })
    .example('$0 diag nat-timeout -c frpc.yml', 'probe idle times from 1 s to 300 s; stops at the first that fails')
    .example('$0 diag nat-timeout -c frpc.yml --max 900 --json', 'up to 15 minutes, as JSON')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'nothing could be measured', [ExitCode.REFUSED]: 'bad usage or config, or the relay refused the login', [ExitCode.ATTENTION]: 'with --strict, the advice is to change something' })),
  handler: async (args) => { process.exitCode = await runNatTimeout(args) },
}
