// One direct path (xtcp), from either side: a fresh udx socket, its candidates (its local
// addresses, its public address from the STUN server, ports a symmetric NAT will likely use
// next), the introduction over the visit stream (intro.ts, channel.ts), punching (punch.ts), then
// a udx stream to the address that answered, carrying encrypted records (udx-wire.ts) under a mux
// session, the same streams and flow control as on the relay's path. The visitor opens streams on
// it; the home client hands the streams that arrive to the proxy's forwarder.
import { createRequire } from 'node:module'
import type UDX from 'udx-native'
import type { UdxSocket } from 'udx-native'
import type { Logger } from 'pino'
import { TunnelError } from '../../shared/errors.js'
import { Session } from '../../shared/mux/index.js'
import { isIP } from 'node:net'
import { localAddresses, type NatReport, probeNat, type DatagramEndpoint, type StunAddress } from '../../shared/stun/index.js'
import type { IntroChannel } from './channel.js'
import { derivePathKeys, encodeIntro, INTRO_VERSION, type Candidate, type Intro, MAX_CANDIDATES, newKeyShare, openIntro } from './intro.js'
import { punch, type PunchRefusal } from './punch.js'
import { udxWire, type UdxWire } from './udx-wire.js'

/** How long a side waits for the other's introduction message. */
export const INTRO_TIMEOUT_MS = 5_000
/** The STUN probe's first retransmission on the punching socket (short: it is in the user's wait). */
export const PATH_STUN_RTO_MS = 100
/** Ports after a symmetric NAT's last mapping offered as candidates (sequential NATs use them next). */
export const PREDICTED_PORTS = 2
/** Heartbeats of a direct path: its death is noticed within the timeout, and new connections fall back. */
export const PATH_HEARTBEAT_INTERVAL_MS = 2_000
export const PATH_HEARTBEAT_TIMEOUT_MS = 8_000
/** udx stream ids: the visitor's end and the home client's (one stream per socket). */
const VISITOR_STREAM_ID = 1
const HOME_STREAM_ID = 2

// udx-native (a native addon and its loader, a dozen modules) loads with the first direct path,
// not with the client: a client without xtcp never loads it (issue 21: idle memory).
const requireLazily = createRequire(import.meta.url)
let shared: UDX | undefined
function udx (): UDX {
  shared ??= new (requireLazily('udx-native') as typeof UDX)()
  return shared
}

/** Why a path could not be made (counted per visitor; docs/operations.md). */
export type PathFailure = 'introTimeout' | 'refused' | 'badIntro' | 'punchTimeout' | 'closed'

export class PathError extends TunnelError {
  readonly reason: PathFailure
  /** This side's NAT and the peer's, when the attempt got that far (for status and advice). */
  readonly nat: NatReport | null
  readonly peerNat: Intro['nat']
  constructor (reason: PathFailure, message: string, nat: NatReport | null = null, peerNat: Intro['nat'] = null) {
    super('TUN_DIRECT_PATH_FAILED', message)
    this.reason = reason
    this.nat = nat
    this.peerNat = peerNat
  }
}

export interface DirectPath {
  session: Session
  peer: StunAddress
  /** This side's NAT as probed (null without an answer from the STUN server). */
  nat: NatReport | null
  /** The peer's, as it reported it. */
  peerNat: Intro['nat']
  wire: UdxWire
  /** Closes the session, the udx socket and the introduction stream. */
  close: () => void
}

export interface PathSettings {
  /** The STUN server; undefined = none (local candidates only). */
  stun: StunAddress | undefined
  homeKey: Buffer
  log: Logger
  punchTimeoutMs?: number
  signal?: AbortSignal
  /** frp's natTraversal.disableAssistedAddrs: offer only the STUN-seen addresses, not this machine's own. */
  disableAssistedAddrs?: boolean
  /** Every punch packet refused (forged or replayed), for the side's counters. */
  onPunchRefused?: (reason: PunchRefusal) => void
}

function endpointOf (socket: UdxSocket): DatagramEndpoint & { family: 4 | 6 } {
  return {
    family: socket.address().family === 6 ? 6 : 4,
    send: (m, port, host) => { socket.trySend(m, port, host) },
    onMessage: (cb) => {
      const h = (m: Buffer, from: { host: string, port: number }): void => { cb(m, { host: from.host, port: from.port }) }
      socket.on('message', h)
      return () => { socket.off('message', h) }
    },
    localPort: () => socket.address().port,
  }
}

/** Dual-stack where the machine has IPv6 (IPv4 peers then appear as plain IPv4), else IPv4 only. */
async function bindSocket (): Promise<UdxSocket> {
  const socket = udx().createSocket()
  socket.on('error', () => {})
  try {
    socket.bind(0, '::')
  } catch {
    socket.bind(0, '0.0.0.0')
  }
  return socket
}

/** The addresses of this machine worth offering a peer: IPv4, and IPv6 except link-local (it needs a scope). */
function ownCandidateAddresses (): string[] {
  const all = localAddresses()
  const v4 = all.filter((a) => isIP(a) === 4)
  const v6 = all.filter((a) => isIP(a) === 6 && !/^fe[89ab]/i.test(a))
  return [...v4, ...v6]
}

/** This side's candidates (its own addresses unless disableAssistedAddrs), and its NAT as the STUN server sees it. */
export async function gatherCandidates (ep: DatagramEndpoint & { family?: 4 | 6 }, settings: Pick<PathSettings, 'stun' | 'log' | 'disableAssistedAddrs'>): Promise<{ candidates: Candidate[], nat: NatReport | null }> {
  const port = ep.localPort()
  const own = ownCandidateAddresses()
  // IPv6 addresses only from a dual-stack socket (an IPv4-only one cannot send to them).
  const offered = ep.family === 4 ? own.filter((a) => isIP(a) === 4) : own
  const candidates: Candidate[] = settings.disableAssistedAddrs === true ? [] : offered.map((host) => ({ host, port, kind: 'local' }))
  let nat: NatReport | null = null
  if (settings.stun !== undefined) {
    try {
      nat = await probeNat(ep, settings.stun, { localAddresses: own, rtoMs: PATH_STUN_RTO_MS })
    } catch (err) {
      settings.log.debug({ code: (err as TunnelError).code }, 'no answer from the STUN server: offering local addresses only')
    }
  }
  const mapped = nat?.mapped
  if (mapped != null && (isIP(mapped.host) === 4 || (isIP(mapped.host) === 6 && ep.family !== 4)) && !candidates.some((c) => c.host === mapped.host && c.port === mapped.port)) {
    candidates.unshift({ host: mapped.host, port: mapped.port, kind: 'mapped' })
    const last = Math.max(mapped.port, nat?.mappedOther?.port ?? 0)
    if (nat?.mapping === 'address-and-port-dependent') {
      for (let i = 1; i <= PREDICTED_PORTS && last + i <= 65535; i++) candidates.push({ host: mapped.host, port: last + i, kind: 'predicted' })
    }
  }
  return { candidates: candidates.slice(0, MAX_CANDIDATES), nat }
}

function natOf (r: NatReport | null): Intro['nat'] {
  return r === null ? null : { mapping: r.mapping, filtering: r.filtering }
}

async function finish (socket: UdxSocket, channel: IntroChannel, role: 'visitor' | 'home', peerCandidates: Candidate[], keys: ReturnType<typeof derivePathKeys>, nat: NatReport | null, peerNat: Intro['nat'], settings: PathSettings): Promise<DirectPath> {
  const abort = new AbortController()
  channel.onClose(() => { abort.abort() })
  settings.signal?.addEventListener('abort', () => { abort.abort() })
  const onRefused = settings.onPunchRefused
  const result = await punch(endpointOf(socket), keys.punch, role, peerCandidates, {
    signal: abort.signal,
    ...(settings.punchTimeoutMs === undefined ? {} : { timeoutMs: settings.punchTimeoutMs }),
    ...(onRefused === undefined ? {} : { onRefused: (reason: PunchRefusal) => { onRefused(reason) } }),
  })
  if (result.peer === undefined) {
    void socket.close()
    channel.close()
    // The introduction closing meanwhile means the other side gave up punching first: a timeout too.
    throw new PathError(settings.signal?.aborted === true ? 'closed' : 'punchTimeout', `punching found no direct path (${result.sent} packets sent to ${peerCandidates.length} candidates${result.forged + result.replayed > 0 ? `, ${result.forged} forged and ${result.replayed} replayed ones refused` : ''})`, nat, peerNat)
  }
  const peer = result.peer
  const visitor = role === 'visitor'
  const stream = udx().createStream(visitor ? VISITOR_STREAM_ID : HOME_STREAM_ID)
  stream.connect(socket, visitor ? HOME_STREAM_ID : VISITOR_STREAM_ID, peer.port, peer.host)
  const wire = udxWire(stream, visitor ? keys.visitorToHome : keys.homeToVisitor, visitor ? keys.homeToVisitor : keys.visitorToHome)
  const session = new Session(wire, {
    role: visitor ? 'client' : 'server',
    logger: settings.log,
    heartbeatIntervalMs: visitor ? PATH_HEARTBEAT_INTERVAL_MS : 0,
    heartbeatTimeoutMs: PATH_HEARTBEAT_TIMEOUT_MS,
  })
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    session.close()
    stream.destroy()
    channel.close()
    void socket.close()
  }
  session.once('close', close)
  channel.onClose(close)
  return { session, peer, nat, peerNat, wire, close }
}

/** The visitor's side: `channel` is a new xtcp visit stream. */
export async function connectPath (channel: IntroChannel, settings: PathSettings): Promise<DirectPath> {
  const socket = await bindSocket()
  try {
    const { candidates, nat } = await gatherCandidates(endpointOf(socket), settings)
    const share = newKeyShare()
    const offer = encodeIntro({ v: INTRO_VERSION, pub: share.publicRaw.toString('base64'), candidates, nat: natOf(nat) }, settings.homeKey, 'offer')
    channel.send(offer.frame)
    let frame
    try {
      frame = await channel.message(INTRO_TIMEOUT_MS)
    } catch (err) {
      const code = (err as TunnelError).code
      throw new PathError(code === 'TUN_VISIT_REFUSED' || code === 'TUN_VISIT_RATE_LIMITED' ? 'refused' : 'introTimeout', (err as Error).message)
    }
    let answer: Intro
    try { answer = openIntro(frame, settings.homeKey, 'answer', offer.json) } catch (err) { throw new PathError('badIntro', (err as Error).message) }
    if (answer.refuse !== undefined) throw new PathError('refused', `the proxy's client will not punch: ${answer.refuse}`)
    const keys = derivePathKeys(share, answer.pub, settings.homeKey, offer.json, frame.json)
    return await finish(socket, channel, 'visitor', answer.candidates, keys, nat, answer.nat, settings)
  } catch (err) {
    void socket.close()
    channel.close()
    throw err
  }
}

/** The home client's side: `channel` is an xtcp visit that passed the secret gate; `refuse` = a reason not to punch. */
export async function acceptPath (channel: IntroChannel, settings: PathSettings, refuse?: string): Promise<DirectPath> {
  let frame
  try { frame = await channel.message(INTRO_TIMEOUT_MS) } catch (err) { channel.close(); throw new PathError('introTimeout', (err as Error).message) }
  let offer: Intro
  try { offer = openIntro(frame, settings.homeKey, 'offer') } catch (err) { channel.close(); throw new PathError('badIntro', (err as Error).message) }
  if (refuse !== undefined) {
    channel.send(encodeIntro({ v: INTRO_VERSION, pub: '', candidates: [], nat: null, refuse }, settings.homeKey, 'answer', frame.json).frame)
    channel.stream.end()
    throw new PathError('refused', refuse)
  }
  const socket = await bindSocket()
  try {
    const { candidates, nat } = await gatherCandidates(endpointOf(socket), settings)
    const share = newKeyShare()
    const answer = encodeIntro({ v: INTRO_VERSION, pub: share.publicRaw.toString('base64'), candidates, nat: natOf(nat) }, settings.homeKey, 'answer', frame.json)
    channel.send(answer.frame)
    const keys = derivePathKeys(share, offer.pub, settings.homeKey, frame.json, answer.json)
    return await finish(socket, channel, 'home', offer.candidates, keys, nat, offer.nat, settings)
  } catch (err) {
    void socket.close()
    channel.close()
    throw err
  }
}
