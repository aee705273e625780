// The client's proxies: one ProxyEntry per configured proxy (its forwarder and its phase), the
// registration at every login, the relay's answers, and reloads. A reload applies a new proxy
// list on the live session (register / unregister one proxy at a time) without touching the
// others (docs/operations.md, "Reloading the client's proxies"): added proxies come up, removed
// ones go down (their streams and flows are closed), changed ones restart; any other setting
// that differs refuses the whole reload. Reloads run one at a time, in call order.
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { ClientConfig, ProxyConfig } from '../../shared/config/index.js'
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.js'
import { TunnelError, type ErrorCode } from '../../shared/errors.js'
import { formatBandwidth } from '../../shared/limit/index.js'
import type { ClientSession, MuxStream } from '../../shared/mux/index.js'
import { refusedReload, type ReloadError, type ReloadOutcome } from '../../shared/reload-outcome.js'
import type { StunAddress } from '../../shared/stun/index.js'
import { ReplayWindow, visitKeysFor } from '../../shared/visit/index.js'
import { Capability, MessageType, type ProxyResult, ResetCode } from '../../shared/wire/index.js'
import type { ControlRequests } from '../control-requests.js'
import { checkFor, HealthMonitor, type HealthState } from '../health/index.js'
import { SudpForwarder } from '../sudp-forwarder.js'
import { TcpForwarder } from '../tcp-forwarder.js'
import { hasPlugin, PluginForwarder } from '../plugins/index.js'
import { UdpFlows } from '../udp-flows.js'
import { UdpForwarder } from '../udp-forwarder.js'
import { XtcpResponder } from '../p2p/index.js'
import { ProxyEntry } from './proxy-entry.js'
import { diffProxies, type ProxyDiff } from './proxy-diff.js'
import { proxySpec, registerBatches, wireName } from './proxy-spec.js'
import { fixedSettingChanges } from './settings-diff.js'
import { HOME_VISIT_WINDOW_MS, SecretGate } from './secret-gate.js'

export interface ProxyManagerEvents {
  /** The relay's answer for one proxy (at login or by a reload). */
  result: [result: ProxyResult]
}

/**
 * Refusals that may heal by themselves (a port or name another client holds, or holds reserved
 * for a while, a busy relay, a relay plugin that is down or slow): the proxy is registered again after a backoff, while the session
 * lives, instead of waiting for a reload.
 */
export const RETRIABLE_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['TUN_PORT_IN_USE', 'TUN_PROXY_EXISTS', 'TUN_VHOST_CONFLICT', 'TUN_RELAY_BUSY', 'TUN_LISTEN', 'TUN_PLUGIN_UNAVAILABLE'])
/** Retries of a refused proxy: up to a minute apart, with jitter. */
export const REFUSED_RETRY_POLICY: BackoffPolicy = { baseMs: 2_000, capMs: 60_000, fastRetries: 1 }
/**
 * A fleet relay whose store (etcd) did not answer (TUN_FLEET_UNAVAILABLE): tried again every few
 * seconds at most, so the proxy comes up within capMs + baseMs / 2 (4.5 s) of the store's return.
 */
/** The port a proxy (by wire name and type) holds on another relay of a fleet, if any. */
export type PortHint = (name: string, type: 'tcp' | 'udp') => number | undefined

export const FLEET_RETRY_POLICY: BackoffPolicy = { baseMs: 1_000, capMs: 4_000, fastRetries: 1 }

/** The capability a proxy type needs on the relay. */
const TYPE_CAPABILITY: Readonly<Record<ProxyConfig['type'], string>> = {
  tcp: Capability.TCP,
  udp: Capability.UDP,
  http: Capability.HTTP,
  https: Capability.HTTPS,
  tcpmux: Capability.TCPMUX,
  stcp: Capability.STCP,
  sudp: Capability.SUDP,
  xtcp: Capability.XTCP,
}

export class ProxyManager extends EventEmitter<ProxyManagerEvents> {
  /** A fleet client: the remotePort a `remotePort: 0` proxy got on another relay, asked for here too. */
  readonly #portHint: PortHint | undefined
  #config: ClientConfig
  readonly #log: Logger
  readonly #requests: ControlRequests
  /** By wire name, in config order. */
  readonly #entries = new Map<string, ProxyEntry>()
  /** UDP forwarders by wire name: the live map the session's UdpFlows reads. */
  readonly #udp = new Map<string, UdpForwarder>()
  /** The session whose registration went out: a reload registers and unregisters on it. */
  #live: ClientSession | undefined
  #capabilities: ReadonlySet<string> = new Set()
  #udpFlows: UdpFlows | undefined
  #reloading: Promise<unknown> = Promise.resolve()
  #stopped = false
  /** Pending retries of refused proxies, by wire name. */
  readonly #retries = new Map<string, NodeJS.Timeout>()
  /** Visit proofs seen by this client's secret proxies (stcp, sudp): a replay is refused. */
  readonly #replay = new ReplayWindow({ windowMs: HOME_VISIT_WINDOW_MS })
  readonly #random: () => number
  /** The STUN server xtcp proxies ask (the client sets it from its config). */
  stun: () => Promise<StunAddress | undefined> = async () => undefined

  constructor (config: ClientConfig, log: Logger, requests: ControlRequests, random: () => number = Math.random, portHint?: PortHint) {
    super()
    this.#config = config
    this.#log = log
    this.#requests = requests
    this.#random = random
    this.#portHint = portHint
    for (const p of config.proxies) this.#start(p)
  }

  /** The proxies of the running config (a reload replaces them). */
  get proxies (): readonly ProxyConfig[] { return this.#config.proxies }
  get config (): ClientConfig { return this.#config }

  entries (): ProxyEntry[] { return [...this.#entries.values()] }

  /** Serves `session`'s streams and UDP flows (from the connection on, before the login). */
  serve (session: ClientSession, relayAddress: string): void {
    session.on('stream', (stream) => { this.#onStream(stream) })
    this.#udpFlows = new UdpFlows(session, this.#udp, this.#log, relayAddress)
  }

  /** After a login: registers every proxy on `session` with the capabilities both sides have. */
  attach (session: ClientSession, capabilities: ReadonlySet<string>): void {
    this.#live = session
    this.#capabilities = capabilities
    session.once('close', (err) => {
      if (this.#live === session) this.#live = undefined
      this.#cancelRetries()
      for (const e of this.#entries.values()) e.disconnected(err === undefined ? null : { code: err.code, message: err.message })
    })
    const specs = []
    for (const e of this.#entries.values()) {
      if (!this.#servable(e)) continue
      e.sent()
      specs.push(this.#spec(e.config, e.health?.healthy))
    }
    for (const batch of registerBatches(specs)) session.sendControl({ type: MessageType.REGISTER, proxies: batch })
  }

  /** Stops serving: no reload applies from now on, no refused proxy is tried again. */
  stop (): void {
    this.#stopped = true
    this.#cancelRetries()
    for (const e of this.#entries.values()) e.health?.stop()
  }

  /** A proxyResult from the relay (the login's registration, or a reload's). */
  onResult (r: ProxyResult): void {
    const e = this.#entries.get(r.name)
    if (e !== undefined && e.phase !== 'closed') {
      if (r.ok) {
        e.running(r.remotePort ?? 0, r.domains ?? [])
        if (e.local.kind === 'udp') e.local.forwarder.publicPort = r.remotePort ?? 0
        this.#log.info({ proxy: r.name, remotePort: r.remotePort, ...limitFields(e.config) }, 'proxy registered')
      } else {
        e.refused({ code: r.code ?? 'TUN_PROXY_INVALID', message: r.message ?? 'refused by the relay' })
        if (e.local.kind === 'udp') e.local.forwarder.publicPort = 0
        const retryMs = this.#scheduleRetry(e)
        this.#log.error({ proxy: r.name, code: r.code, ...(retryMs === undefined ? {} : { retryInMs: retryMs }) }, `proxy refused by the relay: ${r.message ?? ''}`)
      }
    }
    this.emit('result', r)
  }

  /** A refusal that may heal: send the proxy again after a backoff (while this session lives); the delay, or undefined. */
  #scheduleRetry (e: ProxyEntry): number | undefined {
    const session = this.#live
    const code = e.problem?.code
    const fleet = code === 'TUN_FLEET_UNAVAILABLE'
    if (session === undefined || this.#stopped || code === undefined || (!RETRIABLE_REFUSALS.has(code) && !fleet) || this.#retries.has(e.wireName)) return undefined
    const policy = fleet ? FLEET_RETRY_POLICY : REFUSED_RETRY_POLICY
    const delay = backoffDelay(e.attempts, policy, this.#random) + policy.baseMs / 2
    this.#retries.set(e.wireName, setTimeout(() => {
      this.#retries.delete(e.wireName)
      const now = this.#entries.get(e.wireName)
      if (now !== e || e.phase !== 'refused' || this.#live !== session || session.closed) return
      this.#log.info({ proxy: e.wireName, attempt: e.attempts }, 'registering a refused proxy again')
      void this.#registerOne(session, e.config) // never rejects; its result comes through onResult
    }, delay).unref())
    return delay
  }

  #cancelRetries (): void {
    for (const t of this.#retries.values()) clearTimeout(t)
    this.#retries.clear()
  }

  /** A type the relay lacks is refused here, with the reason, instead of being sent. */
  #servable (e: ProxyEntry): boolean {
    const need = e.config.loadBalancer !== undefined && this.#capabilities.has(TYPE_CAPABILITY[e.config.type]) ? Capability.GROUP : TYPE_CAPABILITY[e.config.type]
    if (this.#capabilities.has(need)) return true
    const message = need === Capability.GROUP
      ? `the relay does not serve load-balancing groups (it lacks capability ${need}): upgrade it or remove loadBalancer`
      : `the relay does not serve ${e.config.type} proxies (it lacks capability ${need}): upgrade it or change its frps.yml`
    e.refused({ code: 'TUN_PROXY_INVALID', message })
    this.#log.error({ proxy: e.wireName, code: 'TUN_PROXY_INVALID' }, `proxy not registered: ${message}`)
    // Reported like the relay's own refusals (status, metrics and the proxy event see one kind).
    this.emit('result', { type: MessageType.PROXY_RESULT, name: e.wireName, ok: false, code: 'TUN_PROXY_INVALID', message })
    return false
  }

  /**
   * A stream the relay opened: a visitor of a tcp, http or https proxy, or a visit to a secret
   * one, which must pass the proxy's own gate (a visit block to any other proxy is refused).
   */
  #onStream (stream: MuxStream): void {
    const e = stream.open === undefined ? undefined : this.#entries.get(stream.open.proxy)
    if (e === undefined || e.local.kind === 'udp') { stream.reset(ResetCode.REFUSED); return }
    if (e.gate !== undefined) {
      if (e.gate.check(stream.open) !== undefined) { stream.reset(ResetCode.FORBIDDEN); return }
    } else if (stream.open?.visit !== undefined) {
      stream.reset(ResetCode.REFUSED)
      return
    }
    if (e.p2p !== undefined) { e.p2p.handle(stream); return }
    e.local.forwarder.handle(stream)
  }

  #start (p: ProxyConfig): void {
    const name = wireName(this.#config.user, p)
    const log = this.#log.child({ proxy: p.name })
    if (p.type === 'udp') {
      const forwarder = new UdpForwarder(p, this.#log.child({ proxy: p.name, udp: true }))
      this.#udp.set(name, forwarder)
      this.#entries.set(name, new ProxyEntry(p, name, { kind: 'udp', forwarder }))
    } else if (p.type === 'sudp') {
      const gate = new SecretGate(p, name, this.#config.user, this.#replay, log)
      this.#entries.set(name, new ProxyEntry(p, name, { kind: 'sudp', forwarder: new SudpForwarder(p, log) }, gate))
    } else if (p.type === 'xtcp') {
      const gate = new SecretGate(p, name, this.#config.user, this.#replay, log)
      const forwarder = new TcpForwarder(p, log)
      const responder = new XtcpResponder(forwarder, visitKeysFor(p.secretKey.reveal(), name).homeKey, async () => await this.stun(), log, p.disableAssistedAddrs)
      this.#entries.set(name, new ProxyEntry(p, name, { kind: 'tcp', forwarder }, gate, responder))
    } else {
      const gate = p.type === 'stcp' ? new SecretGate(p, name, this.#config.user, this.#replay, log) : undefined
      // A plugin takes the proxy's streams instead of localIP:localPort.
      const forwarder = p.type !== 'tcpmux' && hasPlugin(p) ? new PluginForwarder(p, log) : new TcpForwarder(p, log)
      this.#entries.set(name, new ProxyEntry(p, name, { kind: 'tcp', forwarder }, gate))
    }
    const e = this.#entries.get(name)
    if (e !== undefined && p.healthCheck !== undefined && !this.#stopped) this.#startHealth(e, p.healthCheck)
  }

  /** Checks the proxy's local service from now on; every change of its state goes to the relay. */
  #startHealth (e: ProxyEntry, hc: NonNullable<ProxyConfig['healthCheck']>): void {
    const log = this.#log.child({ proxy: e.config.name, healthCheck: hc.type })
    e.health = new HealthMonitor({
      check: checkFor(hc, e.config.localIP, e.config.localPort),
      intervalMs: hc.intervalSeconds * 1000,
      timeoutMs: hc.timeoutSeconds * 1000,
      maxFailed: hc.maxFailed,
      log,
      onChange: (state, reason) => { this.#onHealth(e, state, reason, log) },
    })
    e.health.start()
  }

  /** Tells the relay (when it takes health reports and holds the proxy, or is about to). */
  #onHealth (e: ProxyEntry, state: HealthState, reason: string | undefined, log: Logger): void {
    if (this.#entries.get(e.wireName) !== e) return
    const healthy = state === 'healthy'
    if (healthy) log.info({ checks: e.health?.checks }, 'health check passes: the proxy takes visitors')
    else log.warn({ failures: e.health?.failures, reason }, 'health check fails: the proxy takes no visitors until it passes again')
    const session = this.#live
    if (session === undefined || session.closed) return // the next login's register carries the state
    if (!this.#capabilities.has(Capability.HEALTH)) {
      log.warn({}, 'the relay takes no health reports (it lacks capability health): it keeps sending this proxy visitors; upgrade it')
      return
    }
    if (e.phase === 'running' || e.phase === 'registering' || e.phase === 'retrying') {
      session.sendControl({ type: MessageType.PROXY_HEALTH, name: e.wireName, healthy })
    }
  }

  /** Takes the proxy's local side away: its streams are reset, its UDP flows closed. */
  #stop (p: ProxyConfig): void {
    const name = wireName(this.#config.user, p)
    const e = this.#entries.get(name)
    if (e === undefined) return
    clearTimeout(this.#retries.get(name))
    this.#retries.delete(name)
    this.#entries.delete(name)
    e.close()
    if (e.local.kind === 'udp') {
      this.#udp.delete(name)
      this.#udpFlows?.retire(e.local.forwarder)
    }
  }

  /** The wire spec of `p`; with a port hint, a tcp/udp proxy of remotePort 0 asks for the port it has on another relay. */
  #spec (p: ProxyConfig, healthy?: boolean): ReturnType<typeof proxySpec> {
    const spec = proxySpec(this.#config.user, p, healthy)
    if ((spec.type !== 'tcp' && spec.type !== 'udp') || spec.remotePort !== 0) return spec
    const hint = this.#portHint?.(spec.name, spec.type)
    return hint === undefined ? spec : { ...spec, remotePort: hint }
  }

  // ---- reload ----

  /**
   * Applies `next`'s proxies. While disconnected, the new list is what the next login registers.
   * Reloads run one at a time, in call order.
   */
  reload (next: ClientConfig): Promise<ReloadOutcome> {
    const run = this.#reloading.then(async () => await this.#reload(next))
    this.#reloading = run.catch(() => {})
    return run
  }

  async #reload (next: ClientConfig): Promise<ReloadOutcome> {
    const fixed = fixedSettingChanges(this.#config, next)
    if (fixed.length > 0) {
      const message = `${fixed.join(', ')} changed: only proxies and visitors can change on a running client; restart it for the rest, or put them back and reload (nothing was applied)`
      this.#log.error({ code: 'TUN_RELOAD_REFUSED', settings: fixed }, `reload refused: ${message}`)
      return refusedReload([{ proxy: null, code: 'TUN_RELOAD_REFUSED', message }])
    }
    if (this.#stopped) return refusedReload([{ proxy: null, code: 'TUN_RELOAD_REFUSED', message: 'the client is stopping: nothing was applied' }])
    const diff = diffProxies(this.#config.proxies, next.proxies)
    // Unchanged proxies the relay refused get another try (the operator may have freed the port).
    const refused = new Set(this.entries().filter((e) => e.phase === 'refused').map((e) => e.config.name))
    const retried = diff.unchanged.filter((p) => refused.has(p.name))
    this.#config = { ...this.#config, proxies: next.proxies, visitors: next.visitors }
    this.#applyLocally(diff)
    const session = this.#live
    const connected = session !== undefined && !session.closed
    const pending = connected ? this.#applyOnRelay(session, diff, refused, retried) : []
    const errors = (await Promise.all(pending)).filter((e): e is ReloadError => e !== undefined)
    const outcome: ReloadOutcome = {
      status: errors.length === 0 ? 'applied' : 'partial',
      added: [...diff.added, ...retried].map((p) => p.name),
      removed: diff.removed.map((p) => p.name),
      changed: diff.changed.map((c) => c.after.name),
      errors,
    }
    const fields = { added: outcome.added, removed: outcome.removed, changed: outcome.changed, connected }
    if (errors.length === 0) this.#log.info(fields, 'reloaded')
    else this.#log.warn({ ...fields, errors: errors.map((e) => `${e.proxy ?? '-'}: ${e.message} (${e.code})`) }, 'reloaded')
    return outcome
  }

  /**
   * The local side changes at once, before any answer: a visitor of a changed proxy reaches the
   * new local service from here on. A change only the client sees keeps the relay's port (no new
   * proxyResult will say it again), and so its phase.
   */
  #applyLocally (diff: ProxyDiff): void {
    const { user } = this.#config
    for (const p of diff.removed) this.#stop(p)
    for (const c of diff.changed) {
      const before = this.#entries.get(wireName(user, c.before))
      const kept = !c.relay && before?.phase === 'running' ? { port: before.remotePort ?? 0, domains: before.domains } : undefined
      this.#stop(c.before)
      this.#start(c.after)
      const after = this.#entries.get(wireName(user, c.after))
      if (kept !== undefined && after !== undefined) {
        after.running(kept.port, kept.domains)
        if (after.local.kind === 'udp') after.local.forwarder.publicPort = kept.port
      }
    }
    for (const p of diff.added) this.#start(p)
  }

  /** Sends every register and unregister the diff needs at once; each promise is an error or undefined. */
  #applyOnRelay (session: ClientSession, diff: ProxyDiff, refused: ReadonlySet<string>, retried: readonly ProxyConfig[]): Array<Promise<ReloadError | undefined>> {
    const pending = diff.removed.map(async (p) => await this.#unregister(session, p))
    for (const c of diff.changed) {
      // Only the local side changed: the public port stays open (unless the relay refused it).
      if (!c.relay && !refused.has(c.before.name)) continue
      // Sent back to back: the relay handles them in order, so the name and port are free again.
      const gone = this.#unregister(session, c.before)
      const back = this.#registerOne(session, c.after)
      pending.push(gone.then(async (err) => err ?? await back))
    }
    for (const p of [...diff.added, ...retried]) pending.push(this.#registerOne(session, p))
    return pending
  }

  /** Registers one proxy; resolves with an error, or undefined when the relay opened it. */
  async #registerOne (session: ClientSession, p: ProxyConfig): Promise<ReloadError | undefined> {
    const e = this.#entries.get(wireName(this.#config.user, p))
    if (e !== undefined && !this.#servable(e)) return problem(p, e.problem?.code ?? 'TUN_PROXY_INVALID', e.problem?.message ?? 'not served by the relay')
    e?.sent()
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.REGISTER, proxies: [this.#spec(p, e?.health?.healthy)], id }))
    if (answer instanceof TunnelError) {
      const later = answer.code === 'TUN_SESSION_CLOSED' ? '; it is registered at the next login' : ''
      return problem(p, answer.code, `${answer.message}${later}`)
    }
    if (answer.type !== MessageType.PROXY_RESULT) return problem(p, 'TUN_PROTOCOL', `the relay answered a register with ${answer.type}`)
    if (answer.ok) return undefined
    return problem(p, answer.code ?? 'TUN_LISTEN', answer.message ?? 'refused by the relay')
  }

  /**
   * Unregisters one proxy. A relay that does not hold it (it refused it before), or a session
   * that ended (the relay freed everything), leaves the proxy gone as asked: no error.
   */
  async #unregister (session: ClientSession, p: ProxyConfig): Promise<ReloadError | undefined> {
    const name = wireName(this.#config.user, p)
    const answer = await this.#requests.send(session, (id) => ({ type: MessageType.UNREGISTER, name, id }))
    if (answer instanceof TunnelError) return answer.code === 'TUN_SESSION_CLOSED' ? undefined : problem(p, answer.code, answer.message)
    if (answer.type !== MessageType.UNREGISTER_RESULT) return problem(p, 'TUN_PROTOCOL', `the relay answered an unregister with ${answer.type}`)
    if (answer.ok) return undefined
    if (answer.code === 'TUN_PROXY_UNKNOWN') {
      this.#log.debug({ proxy: name }, 'the relay did not hold the proxy')
      return undefined
    }
    return problem(p, answer.code ?? 'TUN_PROTOCOL', answer.message ?? 'the relay could not close it')
  }
}

function problem (p: ProxyConfig, code: ErrorCode, message: string): ReloadError {
  return { proxy: p.name, code, message }
}

/** Where the proxy's limits apply, for the "proxy registered" line. */
function limitFields (p: ProxyConfig): Record<string, string | number> {
  return {
    ...(p.bandwidthLimit > 0 ? { bandwidthLimit: formatBandwidth(p.bandwidthLimit), bandwidthLimitMode: p.bandwidthLimitMode } : {}),
    ...((p.type === 'tcp' || p.type === 'stcp') && p.maxVisitors > 0 ? { maxVisitors: p.maxVisitors } : {}),
  }
}
