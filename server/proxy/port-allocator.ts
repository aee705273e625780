// Which public port a proxy gets: the one it asked for, if frps.yml's allowPorts has it, it is
// not one of the relay's own ports and not reserved for another client (a port its previous
// owner held stays reserved for the ownership grace after that owner's session ends); for
// `remotePort: 0`, a free one (the OS picks, or random candidates from allowPorts are tried until
// one binds).
import { Reservations } from '../reservations.js'
import { errorCode, TunnelError } from '../../shared/errors.js'
import type { PortRange } from '../../shared/config/index.js'
import { candidatePorts, describeRanges, isPortAllowed } from './ports.js'

export class PortAllocator {
  readonly #allow: readonly PortRange[]
  readonly #reserved: ReadonlySet<number>
  /** proxyBindAddr: where public listeners bind. */
  readonly host: string

  readonly #held: Reservations<number>

  /** `reserved`: the relay's own ports (control, vhost), read at each bind. `graceMs`: how long a port stays its owner's. */
  constructor (allowPorts: readonly PortRange[], host: string, reserved: ReadonlySet<number>, graceMs = 0, now?: () => number) {
    this.#allow = allowPorts
    this.host = host
    this.#reserved = reserved
    this.#held = new Reservations(graceMs, now)
  }

  /** `owner`'s session ended while it held `port`: nobody else binds it for the grace period. */
  reserve (port: number, owner: string): void {
    if (port > 0) this.#held.reserve(port, owner)
  }

  /**
   * Calls `bind(host, port)` for `remotePort`, or for candidates until one is free when it is 0.
   * Throws TUN_PORT_NOT_ALLOWED / TUN_PORT_IN_USE (or what bind throws).
   */
  async bind<T> (remotePort: number, owner: string, bind: (host: string, port: number) => Promise<T>): Promise<T> {
    if (remotePort !== 0) {
      if (!isPortAllowed(remotePort, this.#allow)) {
        throw new TunnelError('TUN_PORT_NOT_ALLOWED', `remotePort ${remotePort} is not in the relay's allowPorts (${describeRanges(this.#allow)})`)
      }
      if (this.#reserved.has(remotePort)) throw new TunnelError('TUN_PORT_IN_USE', `remotePort ${remotePort} is the relay's own port`)
      const heldMs = this.#held.blockedFor(remotePort, owner)
      if (heldMs > 0) throw new TunnelError('TUN_PORT_IN_USE', `remotePort ${remotePort} is reserved for the client that held it until ${Math.ceil(heldMs / 1000)} s from now (ownershipGrace)`)
      const bound = await bind(this.host, remotePort)
      this.#held.clear(remotePort)
      return bound
    }
    let last: unknown
    for (const port of candidatePorts(this.#allow, this.#reserved)) {
      if (port !== 0 && this.#held.blockedFor(port, owner) > 0) continue
      try {
        return await bind(this.host, port)
      } catch (err) {
        last = err
        if (errorCode(err, 'TUN_LISTEN') !== 'TUN_PORT_IN_USE') throw err
      }
    }
    throw new TunnelError('TUN_PORT_IN_USE', `no free port in allowPorts (${describeRanges(this.#allow)})`, { cause: last })
  }
}
