// Which public port a proxy gets: the one it asked for, if frps.yml's allowPorts has it and it
// is not one of the relay's own ports; for `remotePort: 0`, a free one (the OS picks, or random
// candidates from allowPorts are tried until one binds).
import { errorCode, TunnelError } from '../../shared/errors.js'
import type { PortRange } from '../../shared/config/index.js'
import { candidatePorts, describeRanges, isPortAllowed } from './ports.js'

export class PortAllocator {
  readonly #allow: readonly PortRange[]
  readonly #reserved: ReadonlySet<number>
  /** proxyBindAddr: where public listeners bind. */
  readonly host: string

  /** `reserved`: the relay's own ports (control, vhost), read at each bind. */
  constructor (allowPorts: readonly PortRange[], host: string, reserved: ReadonlySet<number>) {
    this.#allow = allowPorts
    this.host = host
    this.#reserved = reserved
  }

  /**
   * Calls `bind(host, port)` for `remotePort`, or for candidates until one is free when it is 0.
   * Throws TUN_PORT_NOT_ALLOWED / TUN_PORT_IN_USE (or what bind throws).
   */
  async bind<T> (remotePort: number, bind: (host: string, port: number) => Promise<T>): Promise<T> {
    if (remotePort !== 0) {
      if (!isPortAllowed(remotePort, this.#allow)) {
        throw new TunnelError('TUN_PORT_NOT_ALLOWED', `remotePort ${remotePort} is not in the relay's allowPorts (${describeRanges(this.#allow)})`)
      }
      if (this.#reserved.has(remotePort)) throw new TunnelError('TUN_PORT_IN_USE', `remotePort ${remotePort} is the relay's own port`)
      return await bind(this.host, remotePort)
    }
    let last: unknown
    for (const port of candidatePorts(this.#allow, this.#reserved)) {
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
