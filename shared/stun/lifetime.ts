// How long this machine's NAT keeps an idle UDP mapping (RFC 5780 §4.6, with the STUN server's
// RESPONSE-PORT). For each wait W, in parallel: a fresh socket X asks the server once (the NAT
// makes a mapping M for it), stays silent for W, then a second socket Y asks the server to answer
// at M's port (RESPONSE-PORT: the same public address, X's mapped port). The answer comes in
// through the NAT only while M lives, and it comes from the address X last sent to, so a NAT that
// filters by port lets it in too. Nothing is sent from X during W (an outgoing packet would
// refresh the mapping), and every probe uses its own X (an incoming answer refreshes it as well).
// The result brackets the lifetime: the longest wait still answered, the shortest not answered.
// Bounded: at most MAX_LIFETIME_PROBES probes, each wait at most MAX_LIFETIME_WAIT_MS.
import { TunnelError } from '../errors.js'
import { decodeStun, encodeStun, newTransactionId, STUN_METHOD_BINDING, StunClass, type StunAddress } from './message.js'
import { type DatagramEndpoint, STUN_MAX_TRANSMISSIONS, STUN_RTO_MS, stunRequest } from './probe.js'

/** Probes (waits) of one measurement at most. */
export const MAX_LIFETIME_PROBES = 8
/** The longest wait one probe may take: 10 minutes (NATs keep idle UDP mappings 30 s to 5 min). */
export const MAX_LIFETIME_WAIT_MS = 600_000
/** The shortest wait worth probing. */
export const MIN_LIFETIME_WAIT_MS = 1_000

export interface DisposableEndpoint extends DatagramEndpoint {
  close: () => void
}

export interface LifetimeProbe {
  waitMs: number
  /** true: the answer came in through the mapping after waitMs idle; false: it did not; null: the probe could not run (no first answer). */
  alive: boolean | null
}

export interface LifetimeReport {
  probes: LifetimeProbe[]
  /** The longest wait after which the mapping still worked; null when none did. */
  atLeastMs: number | null
  /** The shortest wait after which it no longer did; null when every probe got through. */
  belowMs: number | null
}

export interface LifetimeOptions {
  rtoMs?: number
  transmissions?: number
  /** Waits in ms (the test injects a fake one); default setTimeout. */
  sleep?: (ms: number) => Promise<void>
}

/** The waits for a measurement up to `maxMs`: maxMs, maxMs/2, maxMs/4, … down to MIN_LIFETIME_WAIT_MS, at most MAX_LIFETIME_PROBES. */
export function lifetimeWaits (maxMs: number): number[] {
  if (!Number.isFinite(maxMs) || maxMs < MIN_LIFETIME_WAIT_MS || maxMs > MAX_LIFETIME_WAIT_MS) {
    throw new TunnelError('TUN_USAGE', `a mapping lifetime measurement waits ${MIN_LIFETIME_WAIT_MS / 1000}-${MAX_LIFETIME_WAIT_MS / 1000} s at most, not ${maxMs / 1000}`)
  }
  const waits: number[] = []
  for (let w = maxMs; w >= MIN_LIFETIME_WAIT_MS && waits.length < MAX_LIFETIME_PROBES; w = Math.floor(w / 2)) waits.unshift(w)
  return waits
}

const defaultSleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Whether X's mapping still lets the server's answer in: Y asks with RESPONSE-PORT = mapped port, X listens. */
async function answeredAt (x: DatagramEndpoint, y: DatagramEndpoint, server: StunAddress, mappedPort: number, options: LifetimeOptions): Promise<boolean> {
  const transactionId = newTransactionId()
  const request = encodeStun({ cls: StunClass.REQUEST, method: STUN_METHOD_BINDING, transactionId, responsePort: mappedPort })
  const rto = options.rtoMs ?? STUN_RTO_MS
  const tries = options.transmissions ?? STUN_MAX_TRANSMISSIONS
  return await new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    let sent = 0
    const stop = x.onMessage((message) => {
      const m = decodeStun(message)
      if (m === undefined || m.cls !== StunClass.SUCCESS || !m.transactionId.equals(transactionId)) return
      clearTimeout(timer)
      stop()
      resolve(true)
    })
    const send = (): void => {
      if (sent >= tries) { stop(); resolve(false); return }
      try { y.send(request, server.port, server.host) } catch { /* an unsent try is an unanswered one */ }
      timer = setTimeout(send, rto * 2 ** sent)
      sent++
    }
    send()
  })
}

async function probeOnce (open: () => Promise<DisposableEndpoint>, server: StunAddress, waitMs: number, options: LifetimeOptions): Promise<LifetimeProbe> {
  const x = await open()
  let y: DisposableEndpoint | undefined
  try {
    const first = await stunRequest(x, server, options)
    const mapped = first?.message.mapped
    if (mapped === undefined) return { waitMs, alive: null }
    await (options.sleep ?? defaultSleep)(waitMs)
    y = await open()
    return { waitMs, alive: await answeredAt(x, y, server, mapped.port, options) }
  } finally {
    x.close()
    y?.close()
  }
}

/** Measures the idle UDP mapping lifetime against `server` (which must honour RESPONSE-PORT, as the relay's does). */
export async function probeMappingLifetime (open: () => Promise<DisposableEndpoint>, server: StunAddress, waitsMs: readonly number[], options: LifetimeOptions = {}): Promise<LifetimeReport> {
  if (waitsMs.length === 0 || waitsMs.length > MAX_LIFETIME_PROBES || waitsMs.some((w) => w < 0 || w > MAX_LIFETIME_WAIT_MS)) {
    throw new TunnelError('TUN_USAGE', `1-${MAX_LIFETIME_PROBES} waits of 0-${MAX_LIFETIME_WAIT_MS} ms each`)
  }
  const probes = await Promise.all([...waitsMs].sort((a, b) => a - b).map(async (w) => await probeOnce(open, server, w, options)))
  const alive = probes.filter((p) => p.alive === true).map((p) => p.waitMs)
  const dead = probes.filter((p) => p.alive === false).map((p) => p.waitMs)
  return { probes, atLeastMs: alive.length === 0 ? null : Math.max(...alive), belowMs: dead.length === 0 ? null : Math.min(...dead) }
}

/** One line for people: "at least 30 s, under 60 s". */
export function describeLifetime (r: LifetimeReport): string {
  const s = (ms: number): string => `${Math.round(ms / 100) / 10} s`
  if (r.probes.every((p) => p.alive === null)) return 'not measured (the STUN server did not answer the probes)'
  if (r.belowMs === null) return `at least ${s(r.atLeastMs ?? 0)} (every probe got through: the NAT keeps idle UDP mappings longer, or there is none)`
  if (r.atLeastMs === null) return `under ${s(r.belowMs)} (no probe got through: shorter than the shortest wait, or the server ignores RESPONSE-PORT)`
  if (r.atLeastMs > r.belowMs) return `inconsistent (kept after ${s(r.atLeastMs)}, gone after ${s(r.belowMs)}): packets lost on the way; measure again`
  return `at least ${s(r.atLeastMs)}, under ${s(r.belowMs)}: keep-alives must come more often than that (a kept-open xtcp path sends one every 2 s)`
}
