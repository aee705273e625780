// The proxy types a relay serves, keyed by their `type`: the one place a new type is added.
import type { ProxyKind } from './relay-proxy.js'
import { httpProxyKind } from './http.js'
import { httpsProxyKind } from './https.js'
import { stcpProxyKind } from './stcp.js'
import { sudpProxyKind } from './sudp.js'
import { tcpProxyKind } from './tcp.js'
import { tcpmuxProxyKind } from './tcpmux.js'
import { udpProxyKind } from './udp.js'

export const BUILTIN_PROXY_KINDS: readonly ProxyKind[] = [
  tcpProxyKind,
  udpProxyKind,
  httpProxyKind,
  httpsProxyKind,
  tcpmuxProxyKind,
  stcpProxyKind,
  sudpProxyKind,
]

export class ProxyKinds {
  readonly #byType = new Map<string, ProxyKind>()

  constructor (kinds: readonly ProxyKind[] = BUILTIN_PROXY_KINDS) {
    for (const k of kinds) {
      if (this.#byType.has(k.type)) throw new Error(`proxy type ${k.type} is registered twice`)
      this.#byType.set(k.type, k)
    }
  }

  get (type: string): ProxyKind | undefined { return this.#byType.get(type) }

  /** The capability names of every type, for the login's negotiation. */
  capabilities (): string[] { return [...this.#byType.values()].map((k) => k.capability) }

  types (): string[] { return [...this.#byType.keys()] }
}
