// A client of a relay fleet (frpc.yml's fleet block): fleet.connections control connections,
// each a Client of its own with the same key and clientID, to different relays (fleet.servers,
// or every address serverAddr resolves to). Every connection registers every proxy, so each relay
// it is attached to serves them; a tcp/udp proxy with remotePort 0 asks the other relays for the
// port the first one gave it. When a connection is lost it reconnects to the next relay no other
// connection uses, while the others carry on. Visitors (stcp/sudp) run on the first connection.
import { lookup } from 'node:dns/promises'
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import type { ClientConfig } from '../shared/config/index.js'
import { formatHostPort } from '../shared/net/index.js'
import { GoAwayCode } from '../shared/wire/index.js'
import { generateKeyPair, keyPairFromSecret } from '../shared/transport/index.js'
import type { ReloadOutcome } from '../shared/reload-outcome.js'
import { Client, type ClientEvents, type ClientOptions } from './client.js'
import { wireName } from './proxy/index.js'

/** How long the other connections wait for the first one's proxy results (their remotePorts) before they start anyway. */
export const FLEET_FIRST_RESULTS_MS = 5_000

export interface FleetTarget { host: string, port: number }

export class FleetClient extends EventEmitter<ClientEvents> {
  /** The first connection: visitors, status and the admin API's view. */
  readonly primary: Client
  readonly #config: ClientConfig
  readonly #log: Logger
  readonly #options: ClientOptions
  readonly #clients: Client[] = []
  #targets: FleetTarget[] = []
  /** Which relay each connection uses now (index → host:port). */
  readonly #inUse = new Map<number, string>()
  /** Where each connection looks first next time. */
  readonly #next: number[] = []
  /** The port each proxy (by wire name) got first: the others ask for it too. */
  readonly #ports = new Map<string, number>()
  readonly #stopped = new AbortController()
  /** Per connection: relays it found another connection of this client on (a replaced session): avoided from then on. */
  readonly #duplicates: Array<Set<string>> = []

  constructor (config: ClientConfig, log: Logger, options: ClientOptions = {}) {
    super()
    this.#config = config
    this.#log = log
    // One identity for every connection: the relays see one owner.
    const inline = config.auth.clientKey
    this.#options = { ...options, clientKey: options.clientKey ?? (inline === null ? generateKeyPair() : keyPairFromSecret(inline.reveal())) }
    this.primary = this.#connection(0, config)
  }

  /** Every connection (the first, then the others once run() started them). */
  get connections (): readonly Client[] { return this.#clients }
  /** The relays this client may attach to. */
  get targets (): readonly FleetTarget[] { return this.#targets }

  #connection (index: number, config: ClientConfig): Client {
    this.#next[index] = index
    this.#duplicates[index] = new Set()
    const client = new Client(config, this.#log.child({ connection: index }), {
      ...this.#options,
      target: () => this.#pick(index),
      portHint: (name) => this.#ports.get(name),
      onGoAway: (code) => { if (code === GoAwayCode.REPLACED) this.#replaced(index) },
    })
    client.on('proxy', (r) => {
      if (r.ok && r.remotePort !== undefined && r.remotePort > 0 && !this.#ports.has(r.name)) this.#ports.set(r.name, r.remotePort)
      if (index === 0) this.emit('proxy', r)
    })
    if (index === 0) {
      client.on('login', (id) => { this.emit('login', id) })
      client.on('disconnect', (err) => { this.emit('disconnect', err) })
      client.on('attemptFailed', (err) => { this.emit('attemptFailed', err) })
    }
    this.#clients.push(client)
    return client
  }

  /**
   * Another connection of this client took over connection `index`'s session: both reached one
   * relay (two addresses of one relay, in fleet.servers or serverAddr's records). That address is
   * avoided from now on; a connection other than the first with nowhere else to go stops, so two
   * connections never take one relay from each other in turn.
   */
  #replaced (index: number): void {
    const at = this.#inUse.get(index)
    if (at === undefined) return
    const dups = this.#duplicates[index] ?? new Set<string>()
    dups.add(at)
    const free = this.#targets.filter((t) => !dups.has(formatHostPort(t.host, t.port)) && ![...this.#inUse].some(([i, u]) => i !== index && u === formatHostPort(t.host, t.port)))
    if (index > 0 && free.length === 0) {
      this.#log.warn({ connection: index, relay: at }, 'fleet: this connection reached a relay another connection of this client already uses, and no other relay is left: it stops (fewer connections than fleet.connections)')
      this.#inUse.delete(index)
      this.#clients[index]?.close(0)
      return
    }
    this.#log.warn({ connection: index, relay: at }, 'fleet: another connection of this client reached the same relay (two addresses of one relay?): this one moves to another')
  }

  /** The next relay for connection `index`: round robin from where it last was, skipping those the others use and those found to be another's. */
  #pick (index: number): FleetTarget {
    const own: FleetTarget = { host: this.#config.serverAddr, port: this.#config.serverPort }
    const targets = this.#targets.length > 0 ? this.#targets : [own]
    const used = new Set([...this.#inUse].filter(([i]) => i !== index).map(([, t]) => t))
    for (const d of this.#duplicates[index] ?? []) used.add(d)
    const start = this.#next[index] ?? 0
    let chosen: FleetTarget = targets[start % targets.length] ?? own
    let at = start
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(start + k) % targets.length] ?? own
      if (!used.has(formatHostPort(t.host, t.port))) { chosen = t; at = start + k; break }
    }
    this.#next[index] = at + 1
    this.#inUse.set(index, formatHostPort(chosen.host, chosen.port))
    return chosen
  }

  /** fleet.servers, or every address of serverAddr (at serverPort); serverAddr itself when it does not resolve. */
  async #resolveTargets (): Promise<FleetTarget[]> {
    const { serverAddr, serverPort, fleet } = this.#config
    if (fleet !== null && fleet.servers.length > 0) return fleet.servers.map((s) => ({ ...s }))
    try {
      const all = await lookup(serverAddr, { all: true })
      const seen = new Set<string>()
      return all.filter((a) => !seen.has(a.address) && seen.add(a.address)).map((a) => ({ host: a.address, port: serverPort }))
    } catch {
      return [{ host: serverAddr, port: serverPort }]
    }
  }

  /** Runs every connection until close(); rejects (after closing the others) when one fails permanently. */
  async run (): Promise<void> {
    this.#targets = await this.#resolveTargets()
    const wanted = Math.max(1, Math.min(this.#config.fleet?.connections ?? 1, this.#targets.length))
    this.#log.info({ relays: this.#targets.map((t) => formatHostPort(t.host, t.port)), connections: wanted }, 'fleet: attaching to several relays')
    const runs: Array<Promise<void>> = [this.#guard(this.primary.run())]
    await this.#firstResults()
    for (let i = 1; i < wanted && !this.#stopped.signal.aborted; i++) {
      const c = this.#connection(i, { ...this.#config, visitors: [] })
      runs.push(this.#guard(c.run()))
    }
    await Promise.all(runs)
  }

  /** A connection that fails for good stops the others (and the failure is run()'s). */
  async #guard (run: Promise<void>): Promise<void> {
    try {
      await run
    } catch (err) {
      this.close(0)
      throw err
    }
  }

  /** The first connection's login and one result per proxy, or FLEET_FIRST_RESULTS_MS, or close(), whichever comes first. */
  async #firstResults (): Promise<void> {
    const primary = this.primary
    const waiting = new Set(this.#config.proxies.map((p) => wireName(this.#config.user, p)))
    let onProxy: (r: { name: string }) => void = () => {}
    let onLogin: () => void = () => {}
    let onClose: () => void = () => {}
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      if (this.#stopped.signal.aborted) { resolve(); return }
      onProxy = (r) => { waiting.delete(r.name); if (waiting.size === 0) resolve() }
      onLogin = () => { if (waiting.size === 0) resolve() }
      onClose = () => { resolve() }
      timer = setTimeout(resolve, FLEET_FIRST_RESULTS_MS)
      primary.on('proxy', onProxy)
      primary.on('login', onLogin)
      this.#stopped.signal.addEventListener('abort', onClose, { once: true })
    })
    clearTimeout(timer)
    primary.off('proxy', onProxy)
    primary.off('login', onLogin)
    this.#stopped.signal.removeEventListener('abort', onClose)
  }

  /** Applies `next` on every connection (visitors on the first only); the first's outcome is the answer. */
  async reload (next: ClientConfig): Promise<ReloadOutcome> {
    const [first, ...rest] = this.#clients
    if (first === undefined) throw new Error('no connection')
    const outcome = await first.reload(next)
    const others = await Promise.all(rest.map(async (c) => await c.reload({ ...next, visitors: [] })))
    others.forEach((o, i) => {
      if (o.status !== 'applied') this.#log.warn({ connection: i + 1, status: o.status, errors: o.errors.map((e) => `${e.proxy ?? '-'}: ${e.message} (${e.code})`) }, 'fleet: a reload did not fully apply on another connection')
    })
    return outcome
  }

  /** Graceful stop of every connection. */
  close (graceMs?: number): void {
    this.#stopped.abort()
    for (const c of this.#clients) c.close(graceMs)
  }
}
