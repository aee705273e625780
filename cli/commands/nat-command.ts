// `tunnel diag nat [-c frpc.yml] [--stun HOST:PORT] [--peer FILE | --proxy NAME] [--lifetime S]`:
// how this machine's NAT maps and filters UDP (RFC 5780 tests against the relay's STUN server, or
// natHoleStunServer, or --stun), whether it keeps ports, with --lifetime how long it keeps an idle
// UDP mapping (bounded probes, shared/stun/lifetime.ts), and, given a peer's `--json` report or an
// xtcp visitor of the running client (whose last punch learned the peer's NAT), whether the two
// can punch a direct path (xtcp) and why not. Results on stdout; exit 0, 1 when the STUN server
// (or the client's admin API) did not answer, 2 on bad input, 3 with --strict when the pair cannot
// punch (traffic would use the relay).
import { createSocket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import type { CommandModule } from 'yargs'
import { fetchStatus } from '../../shared/admin/index.js'
import { loadClientConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { describeLifetime, dgramEndpoint, type DisposableEndpoint, lifetimeWaits, MAX_LIFETIME_WAIT_MS, MIN_LIFETIME_WAIT_MS, type LifetimeReport, localAddresses, natAdvice, type NatReport, type PairAdvice, pairAdvice, probeMappingLifetime, probeNat, type StunAddress, stunServerFor } from '../../shared/stun/index.js'
import { udpTypeFor } from '../../shared/net/index.js'
import { ExitCode, exitCodesHelp } from '../exit-codes.js'
import { loadOrReport, withLogOptions, type LogArgs } from '../common.js'
import { ADMIN_OPTIONS, resolveAdminTarget } from '../admin-target.js'

interface Args extends LogArgs {
  config: string | undefined
  stun: string | undefined
  peer: string | undefined
  proxy: string | undefined
  lifetime: number | undefined
  admin: string | undefined
  adminToken?: string | undefined
  json: boolean
  strict: boolean
}

/** The peer's NAT as far as it is known: a whole report (--peer) or what its last punch told (--proxy). */
export type PeerNat = Pick<NatReport, 'mapping' | 'filtering'> & Partial<NatReport>

export interface NatDiagnosis {
  nat: NatReport
  advice: string
  /** With --lifetime: how long the NAT keeps an idle UDP mapping (null without, or with no NAT). */
  lifetime: (LifetimeReport & { summary: string }) | null
  /** With --peer or --proxy: the peer's NAT, where it came from, and what the pair can do; null without, or when the peer's NAT is not known yet. */
  pair: { peer: PeerNat, source: string, verdict: PairAdvice } | null
  /** With --proxy when the peer's NAT is not known yet (no punch attempt so far), why. */
  pairNote?: string
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
    ...(d.lifetime === null ? [] : [`mapping lifetime ${d.lifetime.summary}`]),
    ...r.notes.map((n) => `note             ${n}`),
    '',
    d.advice,
  ]
  if (d.pairNote !== undefined) lines.push('', d.pairNote)
  if (d.pair !== null) {
    lines.push('', `peer             ${d.pair.source}: mapping ${d.pair.peer.mapping}, filtering ${d.pair.peer.filtering}`)
    lines.push(`direct path      ${d.pair.verdict.canPunch === null ? 'unknown' : d.pair.verdict.canPunch ? 'yes' : 'no'} (${d.pair.verdict.verdict})`)
    lines.push(d.pair.verdict.advice)
  }
  return lines.join('\n') + '\n'
}

/**
 * The peer's NAT from the running client: its xtcp visitor `name` (by its name, or the proxy it
 * visits), or its xtcp proxy `name` (the last visitor that came); null while unknown.
 */
async function peerFromClient (args: Args, name: string): Promise<{ peer: PeerNat | null, source: string }> {
  const report = await fetchStatus(await resolveAdminTarget(args))
  const asPeer = (n: { mapping: string, filtering: string } | null | undefined): PeerNat | null =>
    n == null ? null : { mapping: n.mapping as NatReport['mapping'], filtering: n.filtering as NatReport['filtering'] }
  const xtcp = (report.visitors ?? []).filter((v) => v.type === 'xtcp')
  const v = xtcp.find((x) => x.name === name) ?? xtcp.find((x) => x.target === name || x.target.endsWith(`.${name}`))
  if (v !== undefined) return { peer: asPeer(v.p2p?.peerNat), source: `visitor ${v.name} (${v.target})` }
  const proxies = report.proxies.filter((p) => p.type === 'xtcp')
  const p = proxies.find((x) => x.name === name) ?? proxies.find((x) => x.name.endsWith(`.${name}`))
  if (p !== undefined) return { peer: asPeer(p.p2p?.peerNat), source: `proxy ${p.name} (its last visitor)` }
  const known = [...xtcp.map((x) => `visitor ${x.name} -> ${x.target}`), ...proxies.map((x) => `proxy ${x.name}`)]
  throw new TunnelError('TUN_USAGE', `--proxy ${name}: the running client has no xtcp visitor or proxy of that name${known.length === 0 ? ' (it has none)' : ` (it has: ${known.join(', ')})`}`)
}

async function measureLifetime (server: StunAddress, maxS: number): Promise<LifetimeReport> {
  const open = async (): Promise<DisposableEndpoint> => {
    const socket = createSocket(udpTypeFor(server.host))
    socket.on('error', () => {})
    await new Promise<void>((resolve) => { socket.bind(0, resolve) })
    return { ...dgramEndpoint(socket), close: () => { socket.close() } }
  }
  return await probeMappingLifetime(open, server, lifetimeWaits(maxS * 1000))
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
  let peer: { peer: PeerNat | null, source: string } | undefined
  try {
    if (args.peer !== undefined && args.proxy !== undefined) throw new TunnelError('TUN_USAGE', 'give --peer FILE or --proxy NAME, not both')
    if (args.lifetime !== undefined) lifetimeWaits(args.lifetime * 1000)
    let settings = { natHoleStunServer: args.stun ?? '', serverAddr: '127.0.0.1', serverPort: 7000 }
    if (args.stun === undefined) {
      if (args.config === undefined) throw new TunnelError('TUN_USAGE', 'give -c frpc.yml (its relay\'s STUN server, or natHoleStunServer) or --stun HOST:PORT')
      const loaded = await loadOrReport(async () => await loadClientConfig(args.config ?? ''))
      if (loaded === undefined) return ExitCode.REFUSED
      settings = loaded.config
    }
    server = await stunServerFor(settings)
    if (args.peer !== undefined) peer = { peer: await readPeer(args.peer), source: `report ${args.peer}` }
    if (args.proxy !== undefined) peer = await peerFromClient(args, args.proxy)
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err
    process.stderr.write(`tunnel diag nat: ${err.message} (${err.code})\n`)
    return err.code === 'TUN_STUN_UNREACHABLE' || err.code === 'TUN_ADMIN_UNREACHABLE' ? ExitCode.FAILED : ExitCode.REFUSED
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
  let lifetime: NatDiagnosis['lifetime'] = null
  if (args.lifetime !== undefined && report.mapping !== 'none') {
    const r = await measureLifetime(server, args.lifetime)
    lifetime = { ...r, summary: describeLifetime(r) }
  }
  const d: NatDiagnosis = {
    nat: report,
    advice: natAdvice(report),
    lifetime,
    pair: peer?.peer == null ? null : { peer: peer.peer, source: peer.source, verdict: pairAdvice(report, peer.peer) },
    ...(peer !== undefined && peer.peer === null ? { pairNote: `${peer.source} has not punched yet, so the peer's NAT is not known: connect once through it, or run tunnel diag nat --json on the other machine and pass it with --peer` } : {}),
  }
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
    .option('proxy', { type: 'string', describe: 'An xtcp visitor of the running client (-c, through its admin API), by its name or the proxy it visits, or one of its xtcp proxies: judge the pair with the peer\'s NAT the last punch learned' })
    .option('lifetime', { type: 'number', describe: `Also measure how long the NAT keeps an idle UDP mapping, waiting up to this many seconds (${MIN_LIFETIME_WAIT_MS / 1000}-${MAX_LIFETIME_WAIT_MS / 1000}; probes at S, S/2, S/4, … in parallel; needs a STUN server with RESPONSE-PORT, as the relay's)` })
    .option('admin', ADMIN_OPTIONS.admin)
    .option('admin-token', ADMIN_OPTIONS['admin-token'])
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
    .option('strict', { type: 'boolean', default: false, describe: `Exit ${ExitCode.ATTENTION} when, with --peer, the pair cannot punch` })
    .example('$0 diag nat -c frpc.yml', 'this machine\'s NAT, as the relay\'s STUN server sees it')
    .example('$0 diag nat -c frpc.yml --json > me.json', 'save a report to give the other side')
    .example('$0 diag nat -c frpc.yml --peer them.json', 'can the two of us connect directly?')
    .example('$0 diag nat -c frpc.yml --proxy home-ssh', 'why does this xtcp visitor (not) connect directly?')
    .example('$0 diag nat -c frpc.yml --lifetime 120', 'how long does the NAT keep an idle UDP mapping (up to 2 min)?')
    .epilogue(exitCodesHelp({ [ExitCode.OK]: true, [ExitCode.FAILED]: 'the STUN server (or, with --proxy, the client) did not answer', [ExitCode.REFUSED]: 'bad usage or config', [ExitCode.ATTENTION]: 'with --strict and --peer, the pair cannot punch' })),
  handler: async (args) => { process.exitCode = await runNat(args) },
}
