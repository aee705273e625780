// The proxies one client session holds on the relay: registration (at login, and at any time
// later for a reload) and unregistering one proxy at a time, in the order they arrived (so
// "unregister X, register X" re-opens X), each answered with the request's id. Every spec is
// checked against its type's schema here; a bad one refuses that proxy alone. Proxy names are
// claimed relay-wide in the registry. What the proxies hold is counted per client here and per
// user relay-wide (footprint.ts): a proxy past a cap is refused before anything is opened.
import type { Logger } from 'pino'
import { errorCode, TunnelError, type ErrorCode } from '../../shared/errors.js'
import type { RelaySession } from '../../shared/mux/index.js'
import { MessageType, type ProxyHealth, type Register, type Unregister, describeIssues } from '../../shared/wire/index.js'
import { LogLimiter } from '../log-limiter.js'
import type { Registry, RegistryMember } from '../registry.js'
import type { RelayStats } from '../relay-stats.js'
import { FootprintTally, type Footprint, type FootprintLimits, type UserFootprints } from './footprint.js'
import type { ProxyKinds } from './kinds.js'
import type { ProxyContext, ProxyKind, RelayProxy, SpecBase, StopMode } from './relay-proxy.js'
import { groupIdentity, type FleetClaims, type OwnedKey } from '../fleet/index.js'

export interface SessionProxiesOptions {
  session: RelaySession
  log: Logger
  kinds: ProxyKinds
  /** The capabilities agreed at login: a type outside them is refused. */
  capabilities: ReadonlySet<string>
  /** Proxy names are claimed relay-wide in the registry, by `owner`. */
  registry: Registry<RegistryMember>
  owner: RegistryMember
  stats: RelayStats
  /** The login's `user` ('' = none: only the per-client caps apply). */
  user: string
  /** The relay's per-user tallies. */
  users: UserFootprints
  /** frps.yml's caps per client (maxPortsPerClient, maxProxiesPerClient, ...) and per user; 0 = none. */
  limits: { client: FootprintLimits, user: FootprintLimits }
  context: Omit<ProxyContext, 'session' | 'log' | 'owner'>
  /**
   * The relay's plugins for this session (httpPlugins): asked about every proxy before it opens
   * (NewProxy; may change its spec or refuse it) and told about every proxy that closes.
   */
  plugins?: {
    newProxy: (spec: SpecBase) => Promise<unknown>
    closeProxy: (name: string) => void
  }
  /** A fleet relay: names, ports and domains are also claimed fleet-wide (absent: a single relay). */
  fleet?: FleetClaims
}

interface Entry {
  proxy: RelayProxy
  kind: ProxyKind
  footprint: Footprint
  /** What it holds in the fleet store (empty on a single relay). */
  owned: OwnedKey[]
}

type Spec = Register['proxies'][number]

/** Ports a fleet relay picks for one `remotePort: 0` proxy before it gives up, when the picked ones are owned elsewhere in the fleet. */
export const MAX_FLEET_PORT_PICKS = 8

/** Refused proxies of one session logged each on their own line; later ones are rate-limited. */
export const MAX_REFUSAL_LINES = 32

export class SessionProxies {
  readonly #o: SessionProxiesOptions
  readonly #proxies = new Map<string, Entry>()
  readonly #ctx: ProxyContext
  /** What this client's proxies hold (those being opened included). */
  readonly #tally = new FootprintTally('client', 'this client')
  #refusals = 0
  readonly #refusalLog = new LogLimiter()
  /** Registers and unregisters, one after another in arrival order. */
  #ops: Promise<void> = Promise.resolve()
  #closed = false

  constructor (options: SessionProxiesOptions) {
    this.#o = options
    this.#ctx = { ...options.context, session: options.session, log: options.log, owner: options.owner.identity }
  }

  get size (): number { return this.#proxies.size }

  list (): RelayProxy[] { return [...this.#proxies.values()].map((e) => e.proxy) }

  register (m: Register): void {
    this.#enqueue(async () => {
      for (const spec of m.proxies) {
        if (this.#closed) return
        await this.#registerOne(spec, m.id)
      }
    })
  }

  unregister (m: Unregister): void {
    this.#enqueue(async () => { this.#unregisterOne(m.name, m.id) })
  }

  /**
   * A health-checked proxy's new state, in order with the registers (one may still be opening
   * the proxy). A name this session does not hold, or a type without health, changes nothing.
   */
  health (m: ProxyHealth): void {
    this.#enqueue(async () => {
      const proxy = this.#proxies.get(m.name)?.proxy
      if (proxy?.setHealthy === undefined) {
        this.#o.log.debug({ proxy: m.name, healthy: m.healthy }, 'health report for a proxy this session does not hold (or of a type without health): ignored')
        return
      }
      proxy.setHealthy(m.healthy)
      this.#o.log.info({ proxy: m.name, healthy: m.healthy }, m.healthy ? 'proxy healthy: it takes visitors again' : 'proxy unhealthy: it takes no visitors until its client reports it healthy')
    })
  }

  /**
   * Stops every proxy (drain: go-away or replaced; drop: the session is gone). Their fixed public
   * ports stay reserved for this client's key for the ownership grace unless `reserve` is false (the
   * client said goodbye); their names are freed (and reserved) by the registry when the session
   * leaves it.
   */
  stopAll (mode: StopMode, reserve = true): void {
    if (mode === 'drop') this.#closed = true
    for (const { proxy, kind, footprint, owned } of this.#proxies.values()) {
      proxy.stop(mode, reserve)
      this.#o.plugins?.closeProxy(proxy.name)
      if (kind.holdsPort && reserve) {
        // A group member's port stays reserved for its group (reservedFor), anyone else's for this client.
        const { remotePort, reservedFor } = proxy.describe()
        this.#ctx.ports.reserve(remotePort, reservedFor ?? this.#o.owner.identity)
      }
      this.#uncount(footprint)
      for (const key of owned) this.#o.fleet?.drop(key)
    }
    this.#proxies.clear()
  }

  /** No registration may complete from now on (the session is being replaced or closed). */
  close (): void { this.#closed = true }

  #enqueue (op: () => Promise<void>): void {
    this.#ops = this.#ops.then(op).catch((err: unknown) => {
      this.#o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'control request failed')
    })
  }

  async #registerOne (raw: Spec, id: number | undefined): Promise<void> {
    const tag = id === undefined ? {} : { id }
    const { session, log } = this.#o
    try {
      const proxy = await this.#open(raw)
      const { remotePort, domains, limits } = proxy.describe()
      const shown = domains === undefined ? {} : { domains: [...domains] }
      log.info({ proxy: proxy.name, type: proxy.type, remotePort, ...limits, ...shown }, 'proxy listening')
      session.sendControl({ type: MessageType.PROXY_RESULT, name: proxy.name, ok: true, remotePort, ...shown, ...tag })
    } catch (err) {
      const code = errorCode(err, 'TUN_LISTEN')
      const message = err instanceof Error ? err.message : String(err)
      this.#o.stats.noteError(code, `proxy ${raw.name}: ${message}`)
      // A client decides how many refusals there are: the first ones each get a line, then one
      // line per code per interval with the number left out.
      const suppressed = ++this.#refusals <= MAX_REFUSAL_LINES ? 0 : this.#refusalLog.allow(code)
      if (suppressed !== undefined) {
        log.warn({ proxy: raw.name, type: raw.type, remotePort: typeof raw.remotePort === 'number' ? raw.remotePort : undefined, code, ...(suppressed > 0 ? { suppressed } : {}) }, `proxy refused: ${message}`)
      }
      session.sendControl({ type: MessageType.PROXY_RESULT, name: raw.name, ok: false, code, message, ...tag })
    }
  }

  /** Checks the spec, claims the name and starts the proxy; throws a TunnelError for this proxy alone. */
  async #open (raw: Spec): Promise<RelayProxy> {
    const kind = this.#o.kinds.get(raw.type)
    if (kind === undefined || !this.#o.capabilities.has(kind.capability)) {
      throw refusal('TUN_PROXY_INVALID', `proxy type ${JSON.stringify(raw.type)} is not served by this relay`)
    }
    const checked = kind.schema.safeParse(raw)
    if (!checked.success) throw refusal('TUN_PROXY_INVALID', `malformed ${kind.type} proxy spec: ${describeIssues(checked.error)}`)
    const { registry, owner } = this.#o
    if (this.#proxies.has(checked.data.name)) throw refusal('TUN_PROXY_EXISTS', `proxy name "${checked.data.name}" is already registered by this client`)
    // The cheap counts before a relay plugin is asked (a flood is refused without calling it)...
    this.#checkCaps({ port: kind.holdsPort, vhost: kind.routes !== undefined, domains: [], routes: kind.routes?.(checked.data) ?? 0 })
    // ...and all of them again on the spec the plugins gave back (NewProxy may change it).
    const spec = await this.#askPlugins(kind, checked.data)
    if (this.#proxies.has(spec.name)) throw refusal('TUN_PROXY_EXISTS', `proxy name "${spec.name}" is already registered by this client`)
    // Counts first, then (only if they fit) the domains, which cost normalising every name.
    const counted: Footprint = { port: kind.holdsPort, vhost: kind.routes !== undefined, domains: [], routes: kind.routes?.(spec) ?? 0 }
    this.#checkCaps(counted)
    const domains = kind.domains?.(spec, this.#ctx.config)
    const footprint: Footprint = domains === undefined ? counted : { ...counted, domains }
    if (domains !== undefined) this.#checkCaps(footprint)
    const claim = registry.claimProxy(spec.name, owner)
    if (claim === 'held') throw refusal('TUN_PROXY_EXISTS', `proxy name "${spec.name}" is already registered by another client: choose another name (or set user)`)
    if (claim !== true) throw refusal('TUN_PROXY_EXISTS', `proxy name "${spec.name}" is reserved for the client that held it until ${Math.ceil(claim.reservedMs / 1000)} s from now (ownershipGrace)`)
    // A fleet relay: the name, a fixed port and the domains are the owner's fleet-wide first.
    const owned: OwnedKey[] = []
    try {
      await this.#claimInFleet(spec.name, kind, fixedPort(spec), domains, owned, groupOf(spec))
    } catch (err) {
      registry.releaseProxy(spec.name, owner)
      for (const key of owned) this.#o.fleet?.drop(key)
      throw err
    }
    // Counted before start(): the user's other sessions see it while it opens.
    this.#count(footprint)
    // remotePort 0 on a fleet relay: the port picked here must be free fleet-wide too; one another
    // client owns elsewhere is given back and another picked, a few times at most.
    const picking = this.#o.fleet !== undefined && kind.holdsPort && fixedPort(spec) === 0 && !isGrouped(spec)
    let proxy: RelayProxy | undefined
    for (let attempt = 1; proxy === undefined; attempt++) {
      const candidate = kind.create(spec, this.#ctx)
      try {
        await candidate.start()
        if (this.#closed) throw refusal('TUN_SESSION_CLOSED', 'session closed during registration')
        if (picking) await this.#claimPort(kind.type, candidate.describe().remotePort, owned)
        proxy = candidate
      } catch (err) {
        candidate.stop('drop')
        if (picking && attempt < MAX_FLEET_PORT_PICKS && errorCode(err, 'TUN_LISTEN') === 'TUN_PORT_IN_USE' && !this.#closed) continue
        registry.releaseProxy(spec.name, owner)
        this.#uncount(footprint)
        for (const key of owned) this.#o.fleet?.drop(key)
        throw err
      }
    }
    this.#proxies.set(spec.name, { proxy, kind, footprint, owned })
    return proxy
  }

  /**
   * Claims the proxy's name, fixed port and domains in the fleet store (each added to `owned` as it
   * is won). A member of a load-balancing group claims its name for its client; its port and
   * domains are the group's (groupIdentity: the group with its groupKey), shared fleet-wide by
   * every member of the group, on any relay, and refused to anyone else.
   */
  async #claimInFleet (name: string, kind: ProxyKind, remotePort: number, domains: readonly string[] | undefined, owned: OwnedKey[], group: string | undefined): Promise<void> {
    const fleet = this.#o.fleet
    if (fleet === undefined) return
    const key: OwnedKey = { kind: 'name', id: name }
    await fleet.claim(key, () => refusal('TUN_PROXY_EXISTS', `proxy name "${name}" is held in the relay fleet by another client (or reserved for it while it reconnects): choose another name (or set user)`))
    owned.push(key)
    const claim = async (k: OwnedKey, refused: () => TunnelError): Promise<void> => {
      if (group === undefined) await fleet.claim(k, refused)
      else await fleet.claimShared(k, group, refused)
      owned.push(k)
    }
    if (kind.holdsPort && remotePort > 0) {
      await claim({ kind: 'port', id: `${kind.type}/${remotePort}` }, () => refusal('TUN_PORT_IN_USE', `remotePort ${remotePort} (${kind.type}) is held in the relay fleet by ${group === undefined ? 'another client' : 'another client or another group (a group shares it only with the same groupKey)'} (or reserved for it while it reconnects)`))
    }
    for (const domain of domains ?? []) {
      await claim({ kind: 'domain', id: `${kind.type}/${domain}` }, () => refusal('TUN_DOMAIN_OWNED', `domain ${domain} is held in the relay fleet by ${group === undefined ? 'another client' : 'another client or another group (a group shares it only with the same groupKey)'} (or reserved for it while it reconnects)`))
    }
  }

  async #claimPort (type: string, port: number, owned: OwnedKey[]): Promise<void> {
    const fleet = this.#o.fleet
    if (fleet === undefined || port <= 0) return
    const key: OwnedKey = { kind: 'port', id: `${type}/${port}` }
    await fleet.claim(key, () => refusal('TUN_PORT_IN_USE', `remotePort ${port} (${type}) is held in the relay fleet by another client (or reserved for it while it reconnects)`))
    owned.push(key)
  }

  /** The spec after the relay's NewProxy plugins (which may refuse it or change it into another valid one). */
  async #askPlugins (kind: ProxyKind, spec: SpecBase): Promise<SpecBase> {
    const plugins = this.#o.plugins
    if (plugins === undefined) return spec
    const changed = await plugins.newProxy(spec)
    if (changed === spec) return spec
    const again = kind.schema.safeParse(changed)
    if (!again.success) throw refusal('TUN_PLUGIN_UNAVAILABLE', `a relay plugin changed proxy ${spec.name} into a spec this relay cannot serve: ${describeIssues(again.error)}`)
    return again.data
  }

  /** Refuses a proxy that would pass a per-client or per-user cap. */
  #checkCaps (footprint: Footprint): void {
    const { limits, users, user } = this.#o
    const mine = this.#tally.excess(footprint, limits.client)
    // maxPortsPerClient keeps the code it always had.
    if (mine !== undefined) throw refusal(mine.cap === 'ports' ? 'TUN_PORT_NOT_ALLOWED' : 'TUN_CLIENT_LIMIT', mine.message)
    const theirs = users.excess(user, footprint, limits.user)
    if (theirs !== undefined) throw refusal('TUN_CLIENT_LIMIT', theirs.message)
  }

  #count (footprint: Footprint): void {
    this.#tally.add(footprint)
    this.#o.users.tally(this.#o.user)?.add(footprint)
  }

  #uncount (footprint: Footprint): void {
    this.#tally.remove(footprint)
    const { users, user } = this.#o
    users.tally(user)?.remove(footprint)
    users.prune(user)
  }

  /**
   * Closes one proxy: the public port is free at once, its visitors are reset and its UDP flows
   * closed; the name is free for anyone. A name this session does not hold (another client's,
   * or none) is refused and nothing changes.
   */
  #unregisterOne (name: string, id: number | undefined): void {
    if (this.#closed) return
    const tag = id === undefined ? {} : { id }
    const { session, log, registry, owner } = this.#o
    const entry = this.#proxies.get(name)
    if (entry === undefined) {
      const message = `this client holds no proxy named "${name}"`
      log.debug({ proxy: name, code: 'TUN_PROXY_UNKNOWN' }, `unregister refused: ${message}`)
      session.sendControl({ type: MessageType.UNREGISTER_RESULT, name, ok: false, code: 'TUN_PROXY_UNKNOWN', message, ...tag })
      return
    }
    this.#proxies.delete(name)
    registry.releaseProxy(name, owner)
    this.#o.plugins?.closeProxy(name)
    this.#uncount(entry.footprint)
    for (const key of entry.owned) this.#o.fleet?.release(key)
    const m = entry.proxy.metrics()
    entry.proxy.stop('reset')
    log.info({ proxy: name, remotePort: entry.proxy.describe().remotePort, visitors: m.streams?.active ?? m.flows?.active }, 'proxy closed')
    session.sendControl({ type: MessageType.UNREGISTER_RESULT, name, ok: true, ...tag })
  }
}

/** A member of a load-balancing group (loadBalancer.group). */
function isGrouped (spec: object): boolean {
  return 'group' in spec && typeof spec.group === 'string'
}

/** A group member's fleet identity for its group's port and domains (undefined: not in a group). */
function groupOf (spec: object): string | undefined {
  if (!('group' in spec) || typeof spec.group !== 'string') return undefined
  const key = 'groupKey' in spec && typeof spec.groupKey === 'string' ? spec.groupKey : ''
  return groupIdentity(spec.group, key)
}

/** The remotePort a port-holding spec asks for (0: the relay picks). */
function fixedPort (spec: object): number {
  const port = 'remotePort' in spec ? spec.remotePort : undefined
  return typeof port === 'number' ? port : 0
}

function refusal (code: ErrorCode, message: string): TunnelError {
  return new TunnelError(code, message)
}
