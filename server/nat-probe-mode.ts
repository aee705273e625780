// `tunnel diag nat-timeout` on the relay: a probe login makes an authenticated connection that
// registers nothing, takes over nothing, and on which this relay sends nothing (no heartbeat,
// no TCP keepalive) for idleMs; then one natProbe message. Whether it reaches the client tells
// whether the NAT in between still holds the mapping after that much silence. Probe slots are
// bounded relay-wide, per source and per client id, so one client cannot hold them all.
import type { Logger } from 'pino'
import type { ErrorCode } from '../shared/errors.js'
import type { RelaySession } from '../shared/mux/index.js'
import { MessageType } from '../shared/wire/index.js'
import type { SecureLink } from './secure-accept.js'

/** NAT probe connections held at once across the relay (each is one idle socket). */
export const MAX_NAT_PROBES = 256
/**
 * Probes held at once per source (an IPv4 address, an IPv6 /64: handshake-gate.ts sourceGroup):
 * one `tunnel diag nat-timeout` run keeps up to its schedule's length open (26 idle times, most
 * of them at once), so one address can never hold all the relay's slots.
 */
export const MAX_NAT_PROBES_PER_SOURCE = 32
/** Probes held at once per client id (the real tool gives each idle time its own id). */
export const MAX_NAT_PROBES_PER_CLIENT = 1
/** How long a probe connection stays after natProbe was sent, for the client to read it. */
export const PROBE_LINGER_MS = 5_000

/** The relay-wide table of running probes: in all, per source and per client id. */
export class NatProbes {
  active = 0
  readonly #bySource = new Map<string, number>()
  readonly #byClient = new Map<string, number>()

  /** Takes a slot for `source` and `clientId`, or says which cap is full. */
  take (source: string, clientId: string): 'ok' | 'relay' | 'source' | 'client' {
    if (this.active >= MAX_NAT_PROBES) return 'relay'
    if ((this.#bySource.get(source) ?? 0) >= MAX_NAT_PROBES_PER_SOURCE) return 'source'
    if ((this.#byClient.get(clientId) ?? 0) >= MAX_NAT_PROBES_PER_CLIENT) return 'client'
    this.active++
    bump(this.#bySource, source, 1)
    bump(this.#byClient, clientId, 1)
    return 'ok'
  }

  give (source: string, clientId: string): void {
    this.active--
    bump(this.#bySource, source, -1)
    bump(this.#byClient, clientId, -1)
  }

  /** Probes held by `source` now. */
  heldBy (source: string): number { return this.#bySource.get(source) ?? 0 }
}

function bump (map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}

export interface ProbeHooks {
  /** The probe is admitted: activate the session and answer the login. */
  accepted: () => void
  refuse: (code: ErrorCode, message: string) => void
  log: Logger
}

/** Who a probe is: its source group and its client id, each with a cap of probes at once. */
export interface ProbeOwner {
  source: string
  clientId: string
}

const REFUSALS = {
  relay: `${MAX_NAT_PROBES} NAT probes are already running on this relay: try again later`,
  source: `this address already holds ${MAX_NAT_PROBES_PER_SOURCE} NAT probe connections: try again when they end`,
  client: 'a NAT probe with this client id is already running',
} as const

/** Starts a probe on `session`; returns what ends it when the session closes (undefined when refused). */
export function startNatProbe (session: RelaySession, link: SecureLink, probes: NatProbes, owner: ProbeOwner, idleMs: number, hooks: ProbeHooks): (() => void) | undefined {
  const slot = probes.take(owner.source, owner.clientId)
  if (slot !== 'ok') {
    hooks.refuse('TUN_RELAY_BUSY', REFUSALS[slot])
    return undefined
  }
  hooks.accepted()
  link.noKeepAlive()
  session.stopHeartbeat()
  hooks.log.debug({ idleMs }, 'NAT probe: staying silent')
  let timer: NodeJS.Timeout | undefined = setTimeout(() => {
    session.sendControl({ type: MessageType.NAT_PROBE, idleMs })
    timer = setTimeout(() => { session.close() }, PROBE_LINGER_MS)
  }, idleMs)
  let ended = false
  return () => {
    if (ended) return
    ended = true
    clearTimeout(timer)
    timer = undefined
    probes.give(owner.source, owner.clientId)
  }
}
