// The home client's own check of every visit to one of its secret proxies (stcp, sudp), after
// the relay's: the proof under the key only the secret's holders have (the relay never sees it,
// so a relay, honest or not, cannot open a stream to the service by itself), the visitor's user
// against allowUsers, and the proof's freshness (a replay window of its own, shared by the
// client's secret proxies). A visit the gate refuses is reset (FORBIDDEN) and counted; with an
// honest relay it never happens, so each is worth a (rate-limited) warning.
import type { Logger } from 'pino'
import type { StcpProxyConfig, SudpProxyConfig } from '../../shared/config/index.js'
import { checkVisitMac, type ReplayWindow, userAllowed, visitKeysFor } from '../../shared/visit/index.js'
import { type OpenHeader, VisitKind } from '../../shared/wire/index.js'
import { WARN_INTERVAL_MS } from '../../shared/timing.js'

/**
 * How far a visit's timestamp may be from this client's clock. The visitor's and this client's
 * clocks may each be transport.maxClockSkew (60 s) off the relay's, so twice that and a margin.
 */
export const HOME_VISIT_WINDOW_MS = 5 * 60_000

export const HOME_REFUSALS = ['noProof', 'kind', 'proof', 'user', 'stale', 'replay'] as const
export type HomeRefusal = typeof HOME_REFUSALS[number]

export class SecretGate {
  readonly #kind: VisitKind
  readonly #homeKey: Buffer
  readonly #allowUsers: readonly string[]
  readonly #ownerUser: string
  readonly #replay: ReplayWindow
  readonly #log: Logger
  #lastWarn = -Infinity
  readonly refusals: Record<HomeRefusal, number> = Object.fromEntries(HOME_REFUSALS.map((r) => [r, 0])) as Record<HomeRefusal, number>

  constructor (proxy: StcpProxyConfig | SudpProxyConfig, wireName: string, ownerUser: string, replay: ReplayWindow, log: Logger) {
    this.#kind = proxy.type === 'stcp' ? VisitKind.STCP : VisitKind.SUDP
    this.#homeKey = visitKeysFor(proxy.secretKey.reveal(), wireName).homeKey
    this.#allowUsers = proxy.allowUsers
    this.#ownerUser = ownerUser
    this.#replay = replay
    this.#log = log
  }

  /** Undefined when the visit may go to the service; else why not (counted, maybe logged). */
  check (open: OpenHeader | undefined): HomeRefusal | undefined {
    const reason = this.#reason(open)
    if (reason === undefined) return undefined
    this.refusals[reason]++
    const now = performance.now()
    if (now - this.#lastWarn >= WARN_INTERVAL_MS) {
      this.#lastWarn = now
      this.#log.warn({ code: 'TUN_VISIT_REFUSED', reason, refusals: { ...this.refusals } }, 'a visit the relay forwarded failed this client\'s own check: refused (with an honest relay this does not happen)')
    }
    return reason
  }

  #reason (open: OpenHeader | undefined): HomeRefusal | undefined {
    const v = open?.visit
    if (open === undefined || v === undefined) return 'noProof'
    if (v.kind !== this.#kind) return 'kind'
    const claim = { kind: v.kind, target: open.proxy, user: v.user, nonce: v.nonce, timestampMs: v.timestampMs }
    if (!checkVisitMac(this.#homeKey, claim, v.homeMac)) return 'proof'
    if (!userAllowed(this.#allowUsers, this.#ownerUser, v.user)) return 'user'
    const fresh = this.#replay.check(v.nonce, v.timestampMs)
    if (fresh !== 'fresh') return fresh
    this.#replay.remember(v.nonce, v.timestampMs)
    return undefined
  }
}
