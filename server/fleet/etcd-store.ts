// The fleet's ownership in etcd. A relay's liveness is a lease (its record and its attach keys
// live on it); a client key's ownership of a clientID, proxy name, public port or domain is a key
// created in a transaction only if absent, attached to that owner's lease (keys.ts: one id per
// owner, kept alive by every relay serving it). Every request is bounded by
// fleet.etcd.requestTimeout: past it, or on any store error, it fails closed with
// TUN_FLEET_UNAVAILABLE; what already runs does not depend on the store.
import type { Logger } from 'pino'
import type { Etcd3, Lease, Namespace, Watcher } from 'etcd3'
import type { FleetConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { attachKey, attachPrefix, keyText, ownerLeaseId, relayKey, type OwnedKey } from './keys.js'
import type { FleetStats, OwnershipStore, RelayRecord } from './store.js'

/** Seconds a relay's lease lives without keepalives: a killed relay leaves the fleet after this. */
export const FLEET_RELAY_TTL_S = 10
/** The least TTL (seconds) of an owner's lease, even with ownershipGrace 0: keepalives need room. */
export const FLEET_MIN_OWNER_TTL_S = 10
/** Owner leases are kept alive at least this often (ms), and at a third of their TTL. */
export const MAX_FLEET_KEEPALIVE_MS = 5_000
/** A route watch etcd cancelled, or one that could not be made, is made again after this (ms)... */
export const FLEET_WATCH_RETRY_MS = 500
/** ...doubling while it keeps failing, up to this (ms). */
export const MAX_FLEET_WATCH_RETRY_MS = 30_000
/** What routes depend on: domains' and proxy names' owners, owners' relays, the relays. */
const ROUTE_PREFIXES = ['own/domain/', 'own/name/', 'attach/', 'relays/']
export interface EtcdStoreOptions {
  config: FleetConfig
  /** frps.yml's ownershipGrace (s): an owner's lease lives that long without a relay serving it (at least FLEET_MIN_OWNER_TTL_S). */
  ownershipGraceS: number
  log: Logger
  /** The relay lease's TTL (s); default FLEET_RELAY_TTL_S. */
  relayTtlS?: number
  /** Owner leases' TTL (s) instead of ownershipGrace's (tests shorten it; etcd rounds tiny ones up). */
  ownerTtlS?: number
  now?: () => number
  /** This relay's static public key (base64), published in its record for inter-relay links. */
  publicKey?: string
}

interface Served {
  sessions: number
  leaseId: string
  /** Keys claimed through this relay, with how many of its proxies hold each. */
  keys: Map<string, { key: OwnedKey, count: number }>
}

export class EtcdOwnershipStore implements OwnershipStore {
  readonly nodeName: string
  /** fleet.etcd.prefix: the fleet's keys live under it. */
  readonly prefix: string
  readonly stats: FleetStats = { claims: 0, conflicts: 0, unavailable: 0, leasesRegranted: 0, reclaimed: 0, reclaimLost: 0, watchesRenewed: 0 }
  readonly #config: FleetConfig
  // etcd3 (with gRPC and protobufjs, about 130 modules) loads when the relay joins, not with the
  // relay's code: a relay without a fleet block never loads it (issue 21: idle memory).
  #etcd: { client: Etcd3, ns: Namespace } | undefined
  readonly #log: Logger
  readonly #ownerTtlS: number
  readonly #relayTtlS: number
  readonly #timeoutMs: number
  readonly #now: () => number
  readonly #publicKey: string | undefined
  readonly #served = new Map<string, Served>()
  readonly #byLease = new Map<string, string>()
  #relayLease: Lease | undefined
  #keepAlive: Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>> | undefined
  #opening = false
  #timer: NodeJS.Timeout | undefined
  #closed = false
  #routeWatches = 0

  constructor (options: EtcdStoreOptions) {
    const { config } = options
    this.#config = config
    this.nodeName = config.nodeName
    this.prefix = config.etcd.prefix
    this.#log = options.log
    this.#ownerTtlS = options.ownerTtlS ?? Math.max(FLEET_MIN_OWNER_TTL_S, options.ownershipGraceS)
    this.#relayTtlS = options.relayTtlS ?? FLEET_RELAY_TTL_S
    this.#timeoutMs = config.etcd.requestTimeout * 1000
    this.#now = options.now ?? Date.now
    this.#publicKey = options.publicKey
  }

  get #client (): Etcd3 { return this.#opened().client }
  get #ns (): Namespace { return this.#opened().ns }

  #opened (): { client: Etcd3, ns: Namespace } {
    if (this.#etcd === undefined) throw new TunnelError('TUN_FLEET_UNAVAILABLE', 'fleet: the store is used before the relay joined it')
    return this.#etcd
  }

  async start (): Promise<void> {
    if (this.#etcd === undefined) {
      const { openEtcdClient } = await import('./etcd-client.js')
      const client = openEtcdClient(this.#config)
      this.#etcd = { client, ns: client.namespace(this.#config.etcd.prefix) }
    }
    const lease = this.#ns.lease(this.#relayTtlS)
    this.#relayLease = lease
    // Until the join succeeds a lost lease is the join's failure (thrown below), not a reason to rejoin.
    let joined = false
    lease.on('lost', (err) => {
      if (this.#closed || !joined) return
      this.#log.error({ code: 'TUN_FLEET_UNAVAILABLE', err: err.message }, 'fleet: this relay lost its lease in the store (etcd): rejoining')
      void this.#rejoin()
    })
    const record: Omit<RelayRecord, 'clients'> = { nodeName: this.nodeName, advertiseAddr: this.#config.advertiseAddr, startedAt: this.#now(), ...(this.#publicKey === undefined ? {} : { publicKey: this.#publicKey }) }
    await this.#timed('joining the fleet', lease.put(relayKey(this.nodeName)).value(JSON.stringify(record)).exec())
    joined = true
    clearInterval(this.#timer)
    const everyMs = Math.min(MAX_FLEET_KEEPALIVE_MS, Math.floor(this.#ownerTtlS * 1000 / 3))
    this.#timer = setInterval(() => { this.#sendKeepAlives() }, everyMs)
    this.#timer.unref()
    this.#log.info({ nodeName: this.nodeName, advertiseAddr: this.#config.advertiseAddr, endpoints: this.#config.etcd.endpoints, ownerTtl: this.#ownerTtlS }, 'fleet: joined')
  }

  async #rejoin (): Promise<void> {
    try {
      this.#relayLease?.removeAllListeners('lost')
      await this.start()
      for (const identity of this.#served.keys()) await this.#putAttach(identity)
    } catch (err) {
      if (this.#closed) return
      this.#log.error({ code: 'TUN_FLEET_UNAVAILABLE', err: err instanceof Error ? err.message : String(err) }, 'fleet: rejoining failed; trying again')
      setTimeout(() => { void this.#rejoin() }, this.#timeoutMs).unref()
    }
  }

  async attach (identity: string): Promise<void> {
    const served = this.#served.get(identity)
    if (served !== undefined) {
      served.sessions++
      return
    }
    const leaseId = await this.#ensureOwnerLease(identity)
    const again = this.#served.get(identity)
    if (again !== undefined) { again.sessions++; return }
    this.#served.set(identity, { sessions: 1, leaseId, keys: new Map() })
    this.#byLease.set(leaseId, identity)
    this.#keepAliveNow(leaseId)
    try {
      await this.#putAttach(identity)
    } catch (err) {
      this.detach(identity, false)
      throw err
    }
  }

  async #putAttach (identity: string): Promise<void> {
    const lease = this.#relayLease
    if (lease === undefined) throw new TunnelError('TUN_FLEET_UNAVAILABLE', 'this relay has not joined the fleet')
    await this.#timed('recording the session', lease.put(attachKey(identity, this.nodeName)).value('').exec())
  }

  detach (identity: string, goodbye: boolean): void {
    const served = this.#served.get(identity)
    if (served === undefined) return
    if (--served.sessions > 0) return
    this.#served.delete(identity)
    this.#byLease.delete(served.leaseId)
    // Best effort: a failure leaves the attach key to the relay's lease and the owner's to its TTL.
    void this.#leave(identity, served.leaseId, goodbye).catch((err: unknown) => {
      // Leaving the fleet revokes the relay's lease, attach keys and all: nothing to say then.
      if (this.#closed) return
      this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', err: err instanceof Error ? err.message : String(err) }, 'fleet: could not record a client leaving; the store forgets it after the lease TTL')
    })
  }

  async #leave (identity: string, leaseId: string, goodbye: boolean): Promise<void> {
    await this.#timed('recording a client leaving', this.#ns.delete().key(attachKey(identity, this.nodeName)).exec())
    if (!goodbye) return
    const others = await this.#timed('looking for the client on other relays', this.#ns.getAll().prefix(attachPrefix(identity)).count())
    // Served nowhere else (and not here again meanwhile): everything it owned is free at once.
    if (others === 0 && !this.#served.has(identity)) await this.#timed('freeing what a client owned', this.#client.leaseClient.leaseRevoke({ ID: leaseId }))
  }

  async claim (key: OwnedKey, identity: string): Promise<boolean> {
    const served = this.#served.get(identity)
    if (served === undefined) throw new TunnelError('TUN_FLEET_UNAVAILABLE', 'no session of this client is attached to the fleet here')
    const text = keyText(key)
    this.stats.claims++
    const won = await this.#claimText(text, identity, served.leaseId)
    if (!won) {
      this.stats.conflicts++
      return false
    }
    const held = served.keys.get(text)
    if (held === undefined) served.keys.set(text, { key, count: 1 })
    else held.count++
    return true
  }

  /** The transaction: create `text` for `identity` on its lease if absent; else it is ours only if it names `identity`. */
  async #claimText (text: string, identity: string, leaseId: string): Promise<boolean> {
    const ns = this.#ns
    const res = await this.#timed(`claiming ${text}`, ns.if(text, 'Create', '==', 0).then(ns.put(text).value(identity).lease(leaseId)).else(ns.get(text)).commit())
    if (res.succeeded) return true
    const current = res.responses[0]?.response_range.kvs[0]
    // Gone between the compare and the read cannot happen in one transaction; a missing kv means it expired since: try once more.
    if (current === undefined) return await this.#claimText(text, identity, leaseId)
    return current.value.toString() === identity
  }

  async release (key: OwnedKey, identity: string): Promise<void> {
    if (!this.#forget(key, identity)) return
    const text = keyText(key)
    await this.#timed(`releasing ${text}`, this.#ns.if(text, 'Value', '==', identity).then(this.#ns.delete().key(text)).commit())
  }

  /** One proxy of this relay stopped holding `key` without freeing it (its session dropped): true if none holds it now. */
  #forget (key: OwnedKey, identity: string): boolean {
    const served = this.#served.get(identity)
    const held = served?.keys.get(keyText(key))
    if (served === undefined || held === undefined) return true
    if (--held.count > 0) return false
    served.keys.delete(keyText(key))
    return true
  }

  /** The session holding `key` dropped: the key stays the owner's in the store (its lease decides), this relay stops counting it. */
  drop (key: OwnedKey, identity: string): void {
    this.#forget(key, identity)
  }

  async relays (): Promise<RelayRecord[]> {
    const records = await this.#timed('listing relays', this.#ns.getAll().prefix('relays/').strings())
    const attached = await this.#timed('listing sessions', this.#ns.getAll().prefix('attach/').keys())
    const clients = new Map<string, number>()
    for (const k of attached) {
      const node = k.slice(k.lastIndexOf('/') + 1)
      clients.set(node, (clients.get(node) ?? 0) + 1)
    }
    const out: RelayRecord[] = []
    for (const text of Object.values(records)) {
      const r = readRecord(text)
      if (r !== undefined) out.push({ ...r, clients: clients.get(r.nodeName) ?? 0 })
    }
    return out.sort((a, b) => a.nodeName.localeCompare(b.nodeName))
  }

  async relay (nodeName: string): Promise<RelayRecord | undefined> {
    const text = await this.#timed('reading a relay\'s record', this.#ns.get(relayKey(nodeName)).string())
    const r = text === null ? undefined : readRecord(text)
    return r?.nodeName === nodeName ? r : undefined
  }

  async owner (key: OwnedKey): Promise<string | undefined> {
    return await this.#timed(`reading the owner of ${keyText(key)}`, this.#ns.get(keyText(key)).string()) ?? undefined
  }

  async servedBy (identity: string): Promise<string[]> {
    const prefix = attachPrefix(identity)
    const keys = await this.#timed('listing a client\'s relays', this.#ns.getAll().prefix(prefix).keys())
    return keys.map((k) => k.slice(prefix.length)).sort()
  }

  /**
   * One etcd watch per prefix of what routes depend on. A watch etcd cancels (it resumed after an
   * outage from a revision that compaction removed meanwhile) or that could not be made is made
   * again, from now, after FLEET_WATCH_RETRY_MS (doubling to MAX_FLEET_WATCH_RETRY_MS while it
   * keeps failing): without it the relay would keep its cached routes until a forward failed.
   */
  /** Route watches etcd runs for this relay now (four per watchRoutes while all is well). */
  get routeWatches (): number { return this.#routeWatches }

  watchRoutes (changed: () => void): () => void {
    let stopped = false
    const live = new Set<Watcher>()
    const timers = new Set<NodeJS.Timeout>()
    const later = (prefix: string, delayMs: number): void => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        open(prefix, delayMs)
      }, delayMs)
      timers.add(timer)
    }
    const open = (prefix: string, delayMs: number): void => {
      if (stopped || this.#closed) return
      const next = Math.min(delayMs * 2, MAX_FLEET_WATCH_RETRY_MS)
      this.#ns.watch().prefix(prefix).create().then((w) => {
        if (stopped) { void w.cancel().catch(() => {}); return }
        live.add(w)
        this.#routeWatches++
        w.on('put', changed)
        w.on('delete', changed)
        // Reconnected after the stream broke: events may have been missed, forget everything once.
        w.on('connected', changed)
        // Cancelled by etcd: it sends nothing more, so a new watch takes over from now.
        w.on('error', (err: unknown) => {
          if (stopped) return
          if (live.delete(w)) this.#routeWatches--
          w.removeAllListeners()
          this.stats.watchesRenewed++
          changed()
          this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', prefix, err: err instanceof Error ? err.message : String(err) }, 'fleet: etcd cancelled a watch of the routes (compacted while away?); watching again')
          later(prefix, FLEET_WATCH_RETRY_MS)
        })
      }, (err: unknown) => {
        if (stopped || this.#closed) return
        this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', prefix, retryMs: delayMs, err: err instanceof Error ? err.message : String(err) }, 'fleet: could not watch the routes; trying again (meanwhile failed forwards notice changes)')
        changed()
        later(prefix, next)
      })
    }
    for (const prefix of ROUTE_PREFIXES) open(prefix, FLEET_WATCH_RETRY_MS)
    return () => {
      stopped = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      for (const w of live) void w.cancel().catch(() => {})
      this.#routeWatches -= live.size
      live.clear()
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#keepAlive?.end()
    this.#keepAlive = undefined
    try {
      await this.#timed('leaving the fleet', this.#relayLease?.revoke() ?? Promise.resolve())
    } catch (err) {
      this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', err: err instanceof Error ? err.message : String(err) }, 'fleet: could not leave the store cleanly; this relay\'s record expires with its lease')
    }
    this.#etcd?.client.close()
  }

  /**
   * The owner's lease: granted now with the derived id, or (the grant fails: it exists) alive
   * already because another relay serves the owner or its grace runs. A new owner costs one request.
   */
  async #ensureOwnerLease (identity: string): Promise<string> {
    const id = ownerLeaseId(this.#config.etcd.prefix, identity)
    const leases = this.#client.leaseClient
    try {
      await this.#timed('granting a client\'s lease', leases.leaseGrant({ ID: id, TTL: this.#ownerTtlS }), false)
    } catch (err) {
      const ttl = await this.#timed('reading a client\'s lease', leases.leaseTimeToLive({ ID: id }))
      if (Number(ttl.TTL) <= 0) throw err
    }
    return id
  }

  #sendKeepAlives (): void {
    for (const served of this.#served.values()) this.#keepAliveNow(served.leaseId)
  }

  #keepAliveNow (leaseId: string): void {
    const stream = this.#keepAlive
    if (stream !== undefined) {
      stream.write({ ID: leaseId })
      return
    }
    if (this.#opening || this.#closed) return
    this.#opening = true
    this.#client.leaseClient.leaseKeepAlive().then((s) => {
      this.#opening = false
      if (this.#closed) { s.end(); return }
      this.#keepAlive = s
      s.on('data', (res: { ID: string, TTL: string }) => { this.#onKeepAlive(res.ID, Number(res.TTL)) })
      const drop = (): void => { if (this.#keepAlive === s) this.#keepAlive = undefined }
      s.on('error', drop)
      s.on('end', drop)
      this.#sendKeepAlives()
    }, () => {
      // The store is away: the next tick tries again; leases outlive a short absence.
      this.#opening = false
    })
  }

  /** A keepalive's answer: TTL 0 means the lease expired (the store was away longer than the TTL). */
  #onKeepAlive (leaseId: string, ttl: number): void {
    if (ttl > 0) return
    const identity = this.#byLease.get(leaseId)
    if (identity === undefined) return
    void this.#regrant(identity).catch((err: unknown) => {
      this.#log.warn({ code: 'TUN_FLEET_UNAVAILABLE', err: err instanceof Error ? err.message : String(err) }, 'fleet: could not renew a client\'s expired lease; trying again')
    })
  }

  /** Grants the owner's lease again and claims again what this relay serves for it. */
  async #regrant (identity: string): Promise<void> {
    const served = this.#served.get(identity)
    if (served === undefined) return
    await this.#ensureOwnerLease(identity)
    this.stats.leasesRegranted++
    for (const [text] of served.keys) {
      const won = await this.#claimText(text, identity, served.leaseId)
      if (won) this.stats.reclaimed++
      else {
        this.stats.reclaimLost++
        this.#log.error({ key: text }, 'fleet: a key this relay serves was taken by another client while its lease had expired; that client owns it now')
      }
    }
  }

  /** `work` bounded by the request timeout; failures become TUN_FLEET_UNAVAILABLE (counted unless `count` is false: an expected refusal). */
  async #timed<T> (what: string, work: Promise<T>, count = true): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new TunnelError('TUN_FLEET_UNAVAILABLE', `the fleet store (etcd at ${this.#config.etcd.endpoints.join(', ')}) did not answer ${what} within ${this.#config.etcd.requestTimeout} s`))
      }, this.#timeoutMs)
    })
    try {
      return await Promise.race([work, timeout])
    } catch (err) {
      if (count) this.stats.unavailable++
      if (err instanceof TunnelError) throw err
      throw new TunnelError('TUN_FLEET_UNAVAILABLE', `the fleet store (etcd) failed ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    } finally {
      clearTimeout(timer)
      // A request that loses the race still settles later; nothing waits for it.
      work.catch(() => {})
    }
  }
}

/** A relay's record as stored, or undefined when this version cannot read it (such a record is left out). */
function readRecord (text: string): Omit<RelayRecord, 'clients'> & { clients: 0 } | undefined {
  try {
    const r = JSON.parse(text) as Partial<RelayRecord>
    if (typeof r.nodeName !== 'string' || typeof r.advertiseAddr !== 'string') return undefined
    return { nodeName: r.nodeName, advertiseAddr: r.advertiseAddr, startedAt: typeof r.startedAt === 'number' ? r.startedAt : 0, clients: 0, ...(typeof r.publicKey === 'string' ? { publicKey: r.publicKey } : {}) }
  } catch {
    return undefined
  }
}
