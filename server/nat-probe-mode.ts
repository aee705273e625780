// `tunnel diag nat-timeout` on the relay: a probe login makes an authenticated connection that
// registers nothing, takes over nothing, and on which this relay sends nothing (no heartbeat,
// no TCP keepalive) for idleMs; then one natProbe message. Whether it reaches the client tells
// whether the NAT in between still holds the mapping after that much silence.
import type { Logger } from 'pino'
import type { ErrorCode } from '../shared/errors.js'
import type { RelaySession } from '../shared/mux/index.js'
import { MessageType } from '../shared/wire/index.js'
import type { SecureLink } from './secure-accept.js'

/** NAT probe connections held at once across the relay (each is one idle socket). */
export const MAX_NAT_PROBES = 64
/** How long a probe connection stays after natProbe was sent, for the client to read it. */
export const PROBE_LINGER_MS = 5_000

/** The relay-wide count of running probes. */
export interface NatProbes { active: number }

export interface ProbeHooks {
  /** The probe is admitted: activate the session and answer the login. */
  accepted: () => void
  refuse: (code: ErrorCode, message: string) => void
  log: Logger
}

/** Starts a probe on `session`; returns what ends it when the session closes (undefined when refused). */
export function startNatProbe (session: RelaySession, link: SecureLink, probes: NatProbes, idleMs: number, hooks: ProbeHooks): (() => void) | undefined {
  if (probes.active >= MAX_NAT_PROBES) {
    hooks.refuse('TUN_RELAY_BUSY', `${probes.active} NAT probes are already running on this relay: try again later`)
    return undefined
  }
  probes.active++
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
    probes.active--
  }
}
