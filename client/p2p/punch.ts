// Punching (the two sides at the same moment, after the introduction): each sends authenticated
// PUNCH packets to every candidate address of the other, every PUNCH_INTERVAL_MS, and answers
// every PUNCH that verifies with an ACK to where it came from (its NAT's mapping: the address that
// works). A side is through when an ACK that verifies comes back echoing one of its own PUNCHes:
// then both directions work, and the address it came from is the peer's. Packets that do not
// verify under the path's punch key (strangers, forgeries without the secret) are refused as
// `forged`; packets that verify but were seen before (a PUNCH whose nonce came already, an ACK
// whose echo came already: captured and replayed, from anywhere) are refused as `replayed`.
// Neither creates a path nor gets an answer; both are counted (status and metrics). Bounded:
// PUNCH_TIMEOUT_MS, at most MAX_PUNCH_PACKETS sent, MAX_SEEN_NONCES remembered.
import type { StunAddress } from '../../shared/stun/index.js'
import { decodePunch, encodePunch, PunchType, type Candidate, type Role } from './intro.js'

export const PUNCH_INTERVAL_MS = 50
/** How long punching may take before the path is given up (the visitor's connections fall back). */
export const PUNCH_TIMEOUT_MS = 5_000
/** Packets one attempt sends at most (candidates × rounds). */
export const MAX_PUNCH_PACKETS = 1_600
/** After getting through, ACKs are still sent for this long, so the other side gets through too. */
export const PUNCH_LINGER_MS = 3_000
/** Nonces of our own PUNCHes remembered for ACKs (the most recent ones). */
const MAX_REMEMBERED_NONCES = 256
/** The peer's PUNCH nonces (and the echoes of its ACKs) remembered to refuse replays: as many as a peer sends in one attempt. */
export const MAX_SEEN_NONCES = MAX_PUNCH_PACKETS

/** Why a punch packet was refused: it did not verify under the path's key, or it verified but came before. */
export type PunchRefusal = 'forged' | 'replayed'

export interface PunchIo {
  send: (bytes: Buffer, port: number, host: string) => void
  onMessage: (cb: (message: Buffer, from: StunAddress) => void) => () => void
}

export interface PunchResult {
  /** The peer's address (where its verified ACK came from), or undefined when punching failed. */
  peer: StunAddress | undefined
  sent: number
  /** Packets that looked like punches but did not verify. */
  forged: number
  /** Packets that verified but were replays (a nonce seen before, an ACK already used). */
  replayed: number
}

export interface PunchOptions {
  timeoutMs?: number
  intervalMs?: number
  /** Stops punching at once (the introduction stream closed, the visitor closed). */
  signal?: AbortSignal
  /** Called for every refused punch packet, during the attempt and the linger after it. */
  onRefused?: (reason: PunchRefusal, from: StunAddress) => void
}

/** A set of nonces that forgets its oldest past `max`. */
class NonceSet {
  readonly #set = new Set<string>()
  readonly #max: number
  constructor (max: number) { this.#max = max }
  has (n: Buffer): boolean { return this.#set.has(n.toString('hex')) }
  add (n: Buffer): void {
    this.#set.add(n.toString('hex'))
    if (this.#set.size > this.#max) {
      const oldest = this.#set.values().next().value
      if (oldest !== undefined) this.#set.delete(oldest)
    }
  }
}

/** Punches toward `candidates`; resolves when through or given up. Keeps answering PUNCHes for PUNCH_LINGER_MS after. */
export async function punch (io: PunchIo, key: Buffer, role: Role, candidates: readonly Candidate[], options: PunchOptions = {}): Promise<PunchResult> {
  const peerRole: Role = role === 'visitor' ? 'home' : 'visitor'
  const mine: Buffer[] = []
  const zero = Buffer.alloc(12)
  let sent = 0
  let forged = 0
  let replayed = 0
  const seen = new NonceSet(MAX_SEEN_NONCES)
  const acked = new NonceSet(MAX_SEEN_NONCES)
  const refuse = (reason: PunchRefusal, from: StunAddress): void => {
    if (reason === 'forged') forged++
    else replayed++
    options.onRefused?.(reason, from)
  }
  let done = false
  return await new Promise<PunchResult>((resolve) => {
    const finish = (peer: StunAddress | undefined): void => {
      if (done) return
      done = true
      clearInterval(timer)
      clearTimeout(deadline)
      options.signal?.removeEventListener('abort', onAbort)
      // Keep answering the peer's PUNCHes a while: its ACK may be what it is still waiting for.
      setTimeout(stop, peer === undefined ? 0 : PUNCH_LINGER_MS).unref()
      resolve({ peer, sent, forged, replayed })
    }
    const stop = io.onMessage((message, from) => {
      if (message.length === 0 || message[0] !== 0x54) return // 'T': not a punch packet (udx and STUN packets never start so)
      const p = decodePunch(key, message)
      if (p === undefined) { refuse('forged', from); return }
      if (p.role !== peerRole) return
      if (p.type === PunchType.PUNCH) {
        if (seen.has(p.nonce)) { refuse('replayed', from); return }
        seen.add(p.nonce)
        io.send(encodePunch(key, { type: PunchType.ACK, role, echo: p.nonce }).bytes, from.port, from.host)
        sent++
        return
      }
      // One ACK per PUNCH of ours: a second with the same echo is a replay.
      if (acked.has(p.echo)) { refuse('replayed', from); return }
      acked.add(p.echo)
      if (!done && mine.some((n) => n.equals(p.echo))) finish(from)
    })
    const round = (): void => {
      for (const c of candidates) {
        if (sent >= MAX_PUNCH_PACKETS) { finish(undefined); return }
        const { bytes, nonce } = encodePunch(key, { type: PunchType.PUNCH, role, echo: zero })
        mine.push(nonce)
        if (mine.length > MAX_REMEMBERED_NONCES) mine.shift()
        try { io.send(bytes, c.port, c.host) } catch { /* an unroutable candidate: the others may work */ }
        sent++
      }
    }
    const onAbort = (): void => { finish(undefined) }
    options.signal?.addEventListener('abort', onAbort)
    const timer = setInterval(round, options.intervalMs ?? PUNCH_INTERVAL_MS)
    const deadline = setTimeout(() => { finish(undefined) }, options.timeoutMs ?? PUNCH_TIMEOUT_MS)
    round()
    if (options.signal?.aborted === true) finish(undefined)
  })
}
