// The fleet's side of forwarding a visitor: the relays that serve a domain's owner (routes.ts),
// tried in order over their links (links.ts) until one stream opens. A relay that cannot be
// reached is dropped from the cached route, so the next visitor asks the store again.
import type { Duplex } from 'node:stream'
import type { MuxDuplex, MuxStream } from '../../shared/mux/index.js'
import type { Endpoint, VisitBlock } from '../../shared/wire/index.js'
import { ForwardedDuplex, type FleetLinks } from './links.js'
import type { FleetRoutes } from './routes.js'

/** Relays tried for one visitor at most before it is given up (a 502). */
export const MAX_FORWARD_TRIES = 3

export class FleetForwarder {
  readonly #routes: FleetRoutes
  readonly #links: FleetLinks

  constructor (routes: FleetRoutes, links: FleetLinks) {
    this.#routes = routes
    this.#links = links
  }

  /** A stream to a relay serving `host`'s owner, or undefined when no other relay does. Throws the last failure when none could be reached. */
  async open (kind: 'http' | 'https', host: string, visitor: Endpoint, listener: Endpoint): Promise<MuxDuplex | undefined> {
    const nodes = await this.#routes.find(kind, host)
    if (nodes.length === 0) return undefined
    let last: unknown
    const down: string[] = []
    for (const node of nodes.slice(0, MAX_FORWARD_TRIES)) {
      try {
        const duplex = await this.#links.forward(node, kind, visitor, listener)
        for (const d of down) this.#routes.demote(kind, host, d)
        return duplex
      } catch (err) {
        last = err
        down.push(node)
      }
    }
    this.#routes.failed(kind, host)
    throw last
  }

  /** A visit stream to a relay serving secret proxy `name`'s client, or undefined when no other relay does. Throws the last failure when none could be reached. */
  async openVisit (name: string, visitor: Endpoint, listener: Endpoint, visit: VisitBlock): Promise<MuxStream | undefined> {
    const nodes = await this.#routes.findName(name)
    if (nodes.length === 0) return undefined
    let last: unknown
    const down: string[] = []
    for (const node of nodes.slice(0, MAX_FORWARD_TRIES)) {
      try {
        const stream = await this.#links.forwardVisit(node, name, visitor, listener, visit)
        for (const d of down) this.#routes.demote('name', name, d)
        return stream
      } catch (err) {
        last = err
        down.push(node)
      }
    }
    this.#routes.failedName(name)
    throw last
  }

  failedVisit (name: string): void {
    this.#routes.failedName(name)
  }

  failed (kind: 'http' | 'https', host: string): void {
    this.#routes.failed(kind, host)
  }

  forwarded (socket: Duplex): boolean {
    return socket instanceof ForwardedDuplex
  }
}
