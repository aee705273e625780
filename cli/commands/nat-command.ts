// `tunnel diag nat [-c frpc.yml] [--stun HOST:PORT] [--peer FILE]`: how this machine's NAT maps and
// filters UDP (RFC 5780 tests against the relay's STUN server, or natHoleStunServer, or --stun),
// whether it keeps ports, and, given a peer's `--json` report, whether the two can punch a direct
// path (xtcp) and why not. Results on stdout; exit 0, 1 when the STUN server did not answer, 2 on
// bad input, 3 with --strict when the pair cannot punch (traffic would use the relay).
import { createSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import type { CommandModule } from 'yargs'
import { loadClientConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { dgramEndpoint, localAddresses, natAdvice, type NatReport, type PairAdvice, pairAdvice, probeNat, stunServerFor } from '../../shared/stun/index.js'
import { udpTypeFor } from '../../shared/net/index.js'
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import { loadOrReport, withLogOptions, type LogArgs } from '../common.js'

interface Args extends LogArgs {
  config: string | undefined
  stun: string | undefined
  peer: string | undefined
  json: boolean
  strict: boolean
}

export interface NatDiagnosis {
  nat: NatReport
  advice: string
  /** With --peer: the peer's report and what the pair can do. */
  pair: { peer: NatReport, verdict: PairAdvice } | null
}

export function renderNat (d: NatDiagnosis): string {
  const r = d.nat
  const addr = (a: { host: string, port: number } | null): string => (a === null ? '-' : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`)
  const lines = [
    `STUN server      ${r.server}`,
    `local port       ${r.localPort}`,
    `public address   ${addr(r.mapped)}${r.mappedOther !== null && (r.mappedOther.port !== r.mapped?.port || r.mappedOther.host !== r.mapped.host) ? `  (${addr(r.mappedOther)} toward the other port)` : ''}`,
    `mapping          ${r.mapping === 'address-and-port-dependent' ? 'address-and-port-dependent (symmetric)' : r.mapping}`,
    `filtering        ${r.filtering}`,
    `keeps ports      ${r.portPreserved === null ? 'unknown' : r.portPreserved ? 'yes' : 'no'}`,
    ...r.notes.map((n) => `note             ${n}`),
    '',
    d.advice,
  ]
  if (d.pair !== null) {
    lines.push('', `peer             mapping ${d.pair.peer.mapping}, filtering ${d.pair.peer.filtering}`)
    lines.push(`direct path      ${d.pair.verdict.canPunch === null ? 'unknown' : d.pair.verdict.canPunch ? 'yes' : 'no'} (${d.pair.verdict.verdict})`)
    lines.push(d.pair.verdict.advice)
  }
  return lines.join('\n') + '\n'
}

async function readPeer (file: string): Promise<NatReport> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    throw new TunnelError('TUN_USAGE', `--peer ${file}: not a readable JSON report (${(err as Error).message})`)
  }
  // Either a whole `tunnel diag nat --json` output or its `nat` part.
  const r = (typeof parsed === 'object' && parsed !== null && 'nat' in parsed ? (parsed).nat : parsed) as Partial<NatReport> | null
  if (r === null || typeof r.mapping !== 'string' || typeof r.filtering !== 'string') throw new TunnelError('TUN_USAGE', `--peer ${file}: not the output of tunnel diag nat --json`)
  return r as NatReport
}

export async function runNat (args: Args): Promise<number> {
  let server
  let peer: NatReport | undefined
  try {
    let settings = { natHoleStunServer: args.stun ?? '', serverAddr: '127.0.0.1', serverPort: 7000 }
    if (args.stun === undefined) {
      if (args.config === undefined) throw new TunnelError('TUN_USAGE', 'give -c frpc.yml (its relay\'s STUN server, or natHoleStunServer) or --stun HOST:PORT')
      const loaded = await loadOrReport(async () => await loadClientConfig(args.config ?? ''))
      if (loaded === undefined) return ExitCode.REFUSED
      settings = loaded.config
    }
    server = await stunServerFor(settings)
    if (args.peer !== undefined) peer = await readPeer(args.peer)
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag nat: ${err.message} (${err.code})\n`)
    return err.code === 'TUN_STUN_UNREACHABLE' ? ExitCode.FAILED : ExitCode.REFUSED
  }
  const socket = createSocket(udpTypeFor(server.host))
  socket.on('error', () => {})
  let report: NatReport
  try {
    await new Promise<void>((resolve) => { socket.bind(0, resolve) })
    report = await probeNat(dgramEndpoint(socket), server, { localAddresses: localAddresses() })
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag nat: ${err.message} (${err.code})\n`)
    return ExitCode.FAILED
  } finally {
    socket.close()
  }
  const d: NatDiagnosis = { nat: report, advice: natAdvice(report), pair: peer === undefined ? null : { peer, verdict: pairAdvice(report, peer) } }
  process.stdout.write(args.json ? JSON.stringify(d, null, 2) + '\n' : renderNat(d))
  if (args.strict && d.pair !== null && d.pair.verdict.canPunch === false) return ExitCode.ATTENTION
  return ExitCode.OK
}

export const natCommand: CommandModule<object, Args> = {
  command: 'nat',
  describe: 'How this machine\'s NAT maps and filters UDP (STUN), and whether a pair of machines can connect directly (xtcp)',
  builder: (y) => withLogOptions(y)
    .option('config', { alias: 'c', type: 'string', describe: 'frpc.yml: ask its relay\'s STUN server (UDP serverPort), or its natHoleStunServer' })
    .option('stun', { type: 'string', describe: 'Ask this STUN server instead (HOST:PORT; one with RFC 5780 OTHER-ADDRESS, as the relay\'s, for mapping and filtering)' })
    .option('peer', { type: 'string', describe: 'A peer machine\'s `tunnel diag nat --json` output: say whether the two can punch a direct path, and why not' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
    .option('strict', { type: 'boolean', default: false, describe: `Exit ${ExitCode.ATTENTION} when, with --peer, the pair cannot punch` })
    .example('$0 diag nat -c frpc.yml', 'this machine\'s NAT, as the relay\'s STUN server sees it')
    .example('$0 diag nat -c frpc.yml --json > me.json', 'save a report to give the other side')
    .example('$0 diag nat -c frpc.yml --peer them.json', 'can the two of us connect directly?')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'the STUN server did not answer', [ExitCode.REFUSED]: 'bad usage or config', [ExitCode.ATTENTION]: 'with --strict and --peer, the pair cannot punch' })),
  handler: async (args) => { process.exitCode = await runNat(args) },
}
