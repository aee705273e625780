// What an attack of the attack bench is (bench/attack.ts runs them): a bounded flood aimed at a
// running relay, from raw clients (bench/lib/raw-client.ts) or plain sockets, that stops when its
// signal aborts. One file per attack under bench/attacks/, listed in bench/attacks/index.ts.
import type { RawTarget } from '../lib/raw-client.js'

export interface AttackTarget extends RawTarget {
  /** A tcp proxy's public port (an echo service behind it). */
  tcpPort: number
  /** A udp proxy's public port (a UDP echo behind it). */
  udpPort: number
  /** The relay's vhostHTTPPort and a domain an http proxy serves there. */
  vhostPort: number
  vhostDomain: string
  /** The honest client's clientID. */
  clientId: string
  /** The relay's vhostHTTPSPort (no proxy on it). */
  vhostHttpsPort: number
  /** The relay's admin API port and its bearer token. */
  adminPort: number
  adminToken: string
}

export interface AttackResult {
  /** Messages, frames, connections or datagrams sent (the attack's own unit). */
  sent: number
  unit: string
  /** One line about what happened on the attacker's side (refused, closed, ...). */
  note?: string
}

export interface Attack {
  name: string
  /** One line: what it does and which finding it reproduces. */
  what: string
  /** Runs until `signal` aborts (the runner gives each attack a fixed time); bounded in count too. */
  run: (target: AttackTarget, signal: AbortSignal) => Promise<AttackResult>
}
