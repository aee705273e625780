// `tunnel echo`: a TCP + UDP echo / sink / source service to put behind a tunnel client, so a
// mapped port can be load-tested end to end (`tunnel bench`). Runs until SIGTERM/SIGINT (exit 0).
import { ExitCode } from '../exit-codes.js'
import type { CommandModule } from 'yargs'
import { TunnelError } from '../../shared/errors.js'
import { ECHO_MODES, EchoService, MAX_UDP_BURST, type EchoMode } from '../../loadtest/index.js'
import { makeLogger, withLogOptions, type LogArgs } from '../common.js'
import { untilSignal } from '../run-until-signal.js'

interface Args extends LogArgs {
  host: string
  port: number | undefined
  tcpPort: number | undefined
  udpPort: number | undefined
  tcp: boolean
  udp: boolean
  mode: string
  delayMs: number
  sourceBytes: number
  udpBurst: number
}

const MAX_DELAY_MS = 60_000

function check (ok: boolean, message: string): void {
  if (!ok) throw new TunnelError('TUN_USAGE', message)
}

function portOf (name: string, value: number | undefined, fallback: number | undefined): number {
  const v = value ?? fallback ?? 0
  check(Number.isInteger(v) && v >= 0 && v <= 65_535, `--${name} ${v}: expected a port from 0 (any free port) to 65535`)
  return v
}

export async function runEcho (args: Args): Promise<number> {
  const log = makeLogger(args, 'info')
  let service: EchoService
  try {
    check(args.tcp || args.udp, '--no-tcp and --no-udp together leave nothing to serve')
    check(Number.isFinite(args.delayMs) && args.delayMs >= 0 && args.delayMs <= MAX_DELAY_MS, `--delay-ms ${args.delayMs}: expected 0 to ${MAX_DELAY_MS}`)
    check(Number.isInteger(args.sourceBytes) && args.sourceBytes >= 0, `--source-bytes ${args.sourceBytes}: expected an integer >= 0`)
    check(Number.isInteger(args.udpBurst) && args.udpBurst >= 1 && args.udpBurst <= MAX_UDP_BURST, `--udp-burst ${args.udpBurst}: expected 1 to ${MAX_UDP_BURST}`)
    service = new EchoService({
      host: args.host,
      tcpPort: args.tcp ? portOf('tcp-port', args.tcpPort, args.port) : null,
      udpPort: args.udp ? portOf('udp-port', args.udpPort, args.port) : null,
      mode: args.mode as EchoMode,
      delayMs: args.delayMs,
      sourceBytes: args.sourceBytes,
      udpBurst: args.udpBurst,
    }, log)
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel echo: ${err.message} (${err.code})\n`)
    return ExitCode.REFUSED
  }
  const signalled = untilSignal(log)
  let ports
  try {
    ports = await service.start()
  } catch (err) {
    log.error({ code: (err as TunnelError).code }, (err as Error).message)
    return ExitCode.FAILED
  }
  log.info({ host: args.host, tcpPort: ports.tcpPort, udpPort: ports.udpPort, mode: args.mode, delayMs: args.delayMs }, 'echo listening')
  await signalled
  await service.close()
  log.info({ ...service.counters }, 'echo stopped')
  return ExitCode.OK
}

export const echoCommand: CommandModule<object, Args> = {
  command: 'echo',
  describe: 'Run a TCP and UDP echo / sink / source service to load-test a mapped port end to end',
  builder: (y) => withLogOptions(y)
    .option('host', { type: 'string', default: '::', describe: 'Address to bind (:: = dual-stack, IPv4 too)' })
    .option('port', { type: 'number', describe: 'TCP and UDP port (0 = any free port, each its own)' })
    .option('tcp-port', { type: 'number', describe: 'TCP port (overrides --port; default any free port)' })
    .option('udp-port', { type: 'number', describe: 'UDP port (overrides --port; default any free port)' })
    .option('tcp', { type: 'boolean', default: true, describe: 'Serve TCP (--no-tcp: UDP only)' })
    .option('udp', { type: 'boolean', default: true, describe: 'Serve UDP (--no-udp: TCP only)' })
    .option('mode', { type: 'string', choices: ECHO_MODES, default: 'echo', describe: 'echo: send back what arrives; sink: count and drop (TCP replies "<bytes>\\n" after the FIN); source: send data (TCP: until the peer closes; UDP: --udp-burst datagrams per datagram received)' })
    .option('delay-ms', { type: 'number', default: 0, describe: 'Delay every reply by this many ms (to check latency measurement)' })
    .option('source-bytes', { type: 'number', default: 0, describe: 'source mode, TCP: bytes per connection at most (0 = until the peer closes)' })
    .option('udp-burst', { type: 'number', default: 10, describe: `source mode, UDP: datagrams sent back per datagram received (1-${MAX_UDP_BURST})` })
    .example('$0 echo --port 9000', 'echo on TCP and UDP 9000, all addresses')
    .example('$0 echo --host 127.0.0.1 --mode sink', 'a sink for `tunnel bench tcp --mode bulk`') as never,
  handler: async (args) => { process.exitCode = await runEcho(args) },
}
