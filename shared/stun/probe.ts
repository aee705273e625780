// What a STUN server tells this machine about its NAT (RFC 5780's tests, cut to what a server with
// one address can answer), and whether two machines can punch a direct path between them. The
// socket is injected (a node:dgram socket for `tunnel diag nat`, the udx socket that will carry
// the punched path for xtcp: its mapping is the one that matters), and so is the wait, so tests run
// it against a fake NAT in memory.
//
//   filtering: Binding with CHANGE-REQUEST(change port), before anything went to the other port:
//              an answer from the other port arrives = the NAT lets in packets from a port it
//              never sent to (address-dependent filtering at most); none = address-and-port-dependent.
//   mapping:   Binding to the server's primary port and to its other port (OTHER-ADDRESS) from the
//              same local port; the same mapped address both times = endpoint-independent
//              (a "cone" NAT), different = the NAT maps per destination (symmetric).
//   ports:     whether the mapped port is the local one (port preservation, as Linux masquerade).
// A server with one address cannot tell address-dependent from endpoint-independent behaviour;
// neither matters for punching between two clients, which is what this answers.
import { TunnelError } from '../errors.js'
import { CHANGE_PORT, decodeStun, encodeStun, newTransactionId, STUN_METHOD_BINDING, StunClass, type StunAddress, type StunMessage } from './message.js'

/** First retransmission of a Binding request (RFC 8489 suggests 500 ms on the Internet; loopback and LANs answer at once). */
export const STUN_RTO_MS = 200
/** Transmissions of one request at most (the waits double: 200 + 400 + 800 ms). */
export const STUN_MAX_TRANSMISSIONS = 3
/** How long one request may take in all. */
export const STUN_REQUEST_TIMEOUT_MS = 1_600

export interface DatagramEndpoint {
  send: (message: Buffer, port: number, host: string) => void
  /** Calls `cb` for every datagram; returns the function that stops it. */
  onMessage: (cb: (message: Buffer, from: StunAddress) => void) => () => void
  /** The local port (for port preservation). */
  localPort: () => number
}

export type MappingBehaviour = 'none' | 'endpoint-independent' | 'address-and-port-dependent' | 'unknown'
export type FilteringBehaviour = 'address-dependent' | 'address-and-port-dependent' | 'unknown'

export interface NatReport {
  /** The STUN server asked (host:port). */
  server: string
  localPort: number
  /** This machine's address and port as the server saw them; null when it did not answer. */
  mapped: StunAddress | null
  /** As the server's other port saw them; null without OTHER-ADDRESS or an answer. */
  mappedOther: StunAddress | null
  /** 'none': the mapped address is one of this machine's own (no NAT in between). */
  mapping: MappingBehaviour
  filtering: FilteringBehaviour
  /** Whether the NAT kept the local port; null when unknown. */
  portPreserved: boolean | null
  /** What could not be tested, and why. */
  notes: string[]
}

export interface ProbeOptions {
  /** This machine's own addresses (to tell "no NAT"); default: none known. */
  localAddresses?: readonly string[]
  rtoMs?: number
  transmissions?: number
  /** Timers (tests inject fake ones through vitest anyway; kept for symmetry). */
  setTimer?: (cb: () => void, ms: number) => NodeJS.Timeout
}

/**
 * One Binding transaction: the answer (with where it came from), or undefined after the last
 * retransmission went unanswered.
 */
export async function stunRequest (ep: DatagramEndpoint, server: StunAddress, options: ProbeOptions & { changeRequest?: number } = {}): Promise<{ message: StunMessage, from: StunAddress } | undefined> {
  const transactionId = newTransactionId()
  const request = encodeStun({ cls: StunClass.REQUEST, method: STUN_METHOD_BINDING, transactionId, ...(options.changeRequest === undefined ? {} : { changeRequest: options.changeRequest }) })
  const rto = options.rtoMs ?? STUN_RTO_MS
  const tries = options.transmissions ?? STUN_MAX_TRANSMISSIONS
  return await new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    let sent = 0
    const stop = ep.onMessage((message, from) => {
      const m = decodeStun(message)
      if (m === undefined || m.cls === StunClass.REQUEST || !m.transactionId.equals(transactionId)) return
      clearTimeout(timer)
      stop()
      resolve({ message: m, from })
    })
    const send = (): void => {
      if (sent >= tries) { stop(); resolve(undefined); return }
      try { ep.send(request, server.port, server.host) } catch { /* a send error is an unanswered try */ }
      timer = setTimeout(send, rto * 2 ** sent)
      sent++
    }
    send()
  })
}

const same = (a: StunAddress | null, b: StunAddress | null): boolean => a !== null && b !== null && a.host === b.host && a.port === b.port

/** Runs the tests against `server` from `ep` (see the top of this file). Throws TUN_STUN_UNREACHABLE when the server never answers. */
export async function probeNat (ep: DatagramEndpoint, server: StunAddress, options: ProbeOptions = {}): Promise<NatReport> {
  const name = server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`
  const notes: string[] = []
  const first = await stunRequest(ep, server, options)
  if (first === undefined || first.message.cls !== StunClass.SUCCESS || first.message.mapped === undefined) {
    throw new TunnelError('TUN_STUN_UNREACHABLE', `the STUN server ${name} did not answer a Binding request (UDP blocked on the way, or no STUN server there)`)
  }
  const mapped = first.message.mapped
  const localPort = ep.localPort()
  const own = (options.localAddresses ?? []).includes(mapped.host)
  let mappedOther: StunAddress | null = null
  let mapping: MappingBehaviour = own && mapped.port === localPort ? 'none' : 'unknown'
  let filtering: FilteringBehaviour = 'unknown'
  const other = first.message.otherAddress
  if (other === undefined) {
    notes.push('the STUN server gives no OTHER-ADDRESS (RFC 5780): mapping and filtering cannot be tested')
  } else {
    // A server on a wildcard address announces 0.0.0.0 / ::: its other port is on the address we asked.
    // Filtering first: once this port sent to the other port, a port-filtering NAT lets its answers in.
    const changed = await stunRequest(ep, server, { ...options, changeRequest: CHANGE_PORT })
    filtering = changed?.message.cls === StunClass.SUCCESS ? 'address-dependent' : 'address-and-port-dependent'
    // A server on a wildcard address announces 0.0.0.0 / ::: its other port is on the address we asked.
    const otherHost = other.host === '0.0.0.0' || other.host === '::' ? server.host : other.host
    const second = await stunRequest(ep, { host: otherHost, port: other.port }, options)
    if (second?.message.mapped === undefined) notes.push('the STUN server\'s other port did not answer: mapping not tested')
    else {
      mappedOther = second.message.mapped
      if (mapping !== 'none') mapping = same(mapped, mappedOther) ? 'endpoint-independent' : 'address-and-port-dependent'
    }
  }
  return { server: name, localPort, mapped, mappedOther, mapping, filtering, portPreserved: mapped.port === localPort, notes }
}

/** Why a pair can or cannot punch (stable names for status, metrics and --json). */
export type PunchVerdict = 'direct' | 'likely' | 'bothSymmetric' | 'symmetricBehindPortFilter' | 'unknown'

export interface PairAdvice {
  verdict: PunchVerdict
  /** true: a direct path should work; false: traffic will use the relay; null: cannot tell. */
  canPunch: boolean | null
  advice: string
}

const symmetric = (r: Pick<NatReport, 'mapping'>): boolean => r.mapping === 'address-and-port-dependent'
const open = (r: Pick<NatReport, 'mapping'>): boolean => r.mapping === 'none' || r.mapping === 'endpoint-independent'

/** Whether two machines with these NATs can punch a direct path, and what to do about it. */
export function pairAdvice (a: Pick<NatReport, 'mapping' | 'filtering'>, b: Pick<NatReport, 'mapping' | 'filtering'>): PairAdvice {
  if (a.mapping === 'none' || b.mapping === 'none') {
    return { verdict: 'direct', canPunch: true, advice: 'one side has a public address (no NAT): the other connects to it directly' }
  }
  if (open(a) && open(b)) {
    return { verdict: 'direct', canPunch: true, advice: 'both NATs map endpoint-independently: each side\'s public address works for the other, and punching connects them directly' }
  }
  if (symmetric(a) && symmetric(b)) {
    return { verdict: 'bothSymmetric', canPunch: false, advice: 'both NATs map per destination (symmetric): neither side can know the port the other\'s NAT will use, so no direct path; traffic will use the relay. A public address or an endpoint-independent NAT on either side (on Linux: masquerade without `random`, or a port forward) makes it direct' }
  }
  if ((symmetric(a) && open(b)) || (symmetric(b) && open(a))) {
    const cone = open(a) ? a : b
    if (cone.filtering === 'address-and-port-dependent') {
      return { verdict: 'symmetricBehindPortFilter', canPunch: false, advice: 'one NAT maps per destination (symmetric) and the other filters by address and port: the symmetric side\'s packets come from a port the other NAT never sent to, so they are dropped; traffic will use the relay. An endpoint-independent NAT on the symmetric side makes it direct' }
    }
    return { verdict: 'likely', canPunch: true, advice: 'one NAT maps per destination (symmetric) but the other accepts packets from new ports of a known address: the symmetric side reaches the other, which answers where the packets came from' }
  }
  return { verdict: 'unknown', canPunch: null, advice: 'a NAT could not be classified (see the notes): punching is tried, and traffic uses the relay if it fails' }
}

/** One machine's advice alone: what its NAT means for direct connections. */
export function natAdvice (r: Pick<NatReport, 'mapping' | 'filtering' | 'portPreserved'>): string {
  switch (r.mapping) {
    case 'none': return 'no NAT between this machine and the STUN server: peers can reach this address directly (if a firewall lets them)'
    case 'endpoint-independent': return `your NAT maps endpoint-independently${r.portPreserved === true ? ' and keeps the local port' : ''} ("easy" NAT): direct connections work with any peer whose NAT is not symmetric, and with a symmetric one if yours ${r.filtering === 'address-and-port-dependent' ? 'did not filter by port (it does)' : 'lets new ports of a known address in (it does)'}`
    case 'address-and-port-dependent': return 'your NAT maps per destination (symmetric): direct connections need the other side to have an endpoint-independent NAT (that does not filter by port) or a public address; otherwise traffic will use the relay'
    case 'unknown': return 'the mapping could not be tested (see the notes): punching is tried, and traffic uses the relay if it fails'
  }
}
