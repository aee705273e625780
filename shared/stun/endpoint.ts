// DatagramEndpoints for the NAT probe: over a node:dgram socket (`tunnel diag nat`), and the STUN
// server's address from a client's settings (natHoleStunServer, else the relay's own STUN server
// on UDP serverPort), resolved to an address.
import type { Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { networkInterfaces } from 'node:os'
import { TunnelError } from '../errors.js'
import { normalizeAddress, parseHostPort } from '../net/index.js'
import type { StunAddress } from './message.js'
import type { DatagramEndpoint } from './probe.js'

export function dgramEndpoint (socket: Socket): DatagramEndpoint {
  return {
    send: (m, port, host) => { socket.send(m, port, host) },
    onMessage: (cb) => {
      const h = (m: Buffer, r: { address: string, port: number }): void => { cb(m, { host: normalizeAddress(r.address), port: r.port }) }
      socket.on('message', h)
      return () => { socket.off('message', h) }
    },
    localPort: () => socket.address().port,
  }
}

/** The STUN server a client asks: natHoleStunServer (host:port), else the relay's (serverAddr, UDP serverPort); resolved. */
export async function stunServerFor (c: { natHoleStunServer: string, serverAddr: string, serverPort: number }): Promise<StunAddress> {
  let host = c.serverAddr
  let port = c.serverPort
  if (c.natHoleStunServer !== '') {
    const r = parseHostPort(c.natHoleStunServer)
    if ('error' in r) throw new TunnelError('TUN_CONFIG_INVALID', `natHoleStunServer ${c.natHoleStunServer}: ${r.error}`)
    host = r.host
    port = r.port
  }
  try {
    const a = await lookup(host)
    return { host: normalizeAddress(a.address), port }
  } catch (err) {
    throw new TunnelError('TUN_STUN_UNREACHABLE', `the STUN server's name ${host} does not resolve: ${(err as Error).message}`, { cause: err })
  }
}

/** This machine's own addresses (to tell "no NAT", and as candidates for a peer on the same network). */
export function localAddresses (): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => normalizeAddress(i.address)))
}
