// One configured proxy on the client: its config, the forwarder that serves its streams or
// flows, and its phase toward the relay (an explicit lifecycle, as frp's ProxyPhase):
//   pending      not sent: the client is not connected (or has not logged in) yet
//   registering  sent at login or by a reload, no answer yet
//   running      the relay serves it (remotePort / domains known)
//   refused      the relay (or the negotiated capabilities) refused it, with a code
//   retrying     refused or unanswered before, sent again
//   closed       a reload removed it (its streams and flows were reset)
import type { ProxyConfig } from '../../shared/config/index.js'
import type { ErrorCode } from '../../shared/errors.js'
import type { HealthMonitor } from '../health/index.js'
import type { SudpForwarder } from '../sudp-forwarder.js'
import type { StreamForwarder } from '../stream-forwarder.js'
import type { UdpForwarder } from '../udp-forwarder.js'
import type { SecretGate } from './secret-gate.js'

export type ClientProxyPhase = 'pending' | 'registering' | 'running' | 'refused' | 'retrying' | 'closed'

export type Forwarder =
  | { kind: 'tcp', forwarder: StreamForwarder }
  | { kind: 'udp', forwarder: UdpForwarder }
  | { kind: 'sudp', forwarder: SudpForwarder }

export interface ProxyProblem {
  code: ErrorCode
  message: string
}

export class ProxyEntry {
  readonly config: ProxyConfig
  /** The name the relay knows: `{user}.{name}` when user is set. */
  readonly wireName: string
  readonly local: Forwarder
  /** stcp/sudp: this client's own check of every visit (secret-gate.ts). */
  readonly gate: SecretGate | undefined
  #phase: ClientProxyPhase = 'pending'
  #problem: ProxyProblem | null = null
  #remotePort: number | null = null
  #domains: readonly string[] = []
  /** Registrations sent since the last success (0 after one). */
  attempts = 0
  /** The health check of its local service (healthCheck), started by the manager. */
  health: HealthMonitor | undefined

  constructor (config: ProxyConfig, wireName: string, local: Forwarder, gate?: SecretGate) {
    this.config = config
    this.wireName = wireName
    this.local = local
    this.gate = gate
  }

  get phase (): ClientProxyPhase { return this.#phase }
  /** Why it is refused, or why its last session ended; null while running. */
  get problem (): ProxyProblem | null { return this.#problem }
  get remotePort (): number | null { return this.#remotePort }
  get domains (): readonly string[] { return this.#domains }

  /** A register for it went out. */
  sent (): void {
    this.#phase = this.#phase === 'refused' || this.attempts > 0 ? 'retrying' : 'registering'
    this.attempts++
  }

  running (remotePort: number, domains: readonly string[]): void {
    this.#phase = 'running'
    this.#problem = null
    this.#remotePort = remotePort
    this.#domains = domains
    this.attempts = 0
  }

  refused (problem: ProxyProblem): void {
    this.#phase = 'refused'
    this.#problem = problem
    this.#remotePort = null
    this.#domains = []
  }

  /** The session ended: it is registered again at the next login. */
  disconnected (problem: ProxyProblem | null): void {
    if (this.#phase === 'closed') return
    this.#phase = 'pending'
    this.#problem = problem
    this.#remotePort = null
    this.#domains = []
    this.attempts = 0
  }

  /** A reload removed it (or replaced it with a changed one): its local side is closed. */
  close (): void {
    this.#phase = 'closed'
    this.health?.stop()
    if (this.local.kind !== 'udp') this.local.forwarder.close()
  }
}
