// UDP sockets: binding a public socket dual-stack ('::' with ipv6Only off, falling back to
// 0.0.0.0 where IPv6 is off), and the size limit of a datagram toward an address.
import { createSocket, type Socket, type SocketType } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { listenError } from './listen.js'

/** Largest UDP payload on any path without jumbograms: 65,535 − 8 (IPv6; IPv4 carries 65,507). */
export const MAX_UDP_PAYLOAD_BYTES = 65_527

/** Largest UDP payload IPv4 can carry: 65,535 − 20 (IP header) − 8 (UDP header). */
export const MAX_IPV4_DATAGRAM_BYTES = 65_507

/** Largest datagram that can be sent to `address` (IPv4 and IPv4-mapped: 65,507; IPv6: 65,527). */
export function maxDatagramBytesTo (address: string): number {
  if (isIP(address) === 4 || address.toLowerCase().startsWith('::ffff:')) return MAX_IPV4_DATAGRAM_BYTES
  return MAX_UDP_PAYLOAD_BYTES
}

/** The socket type for an address: udp6 for IPv6 literals, else udp4 (host names resolve as IPv4). */
export function udpTypeFor (address: string): SocketType {
  return isIP(address) === 6 ? 'udp6' : 'udp4'
}

export interface BindUdpOptions {
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max); default: the system's. */
  recvBufferSize?: number
}

/**
 * Binds a UDP socket on host:port (0 = a free port). '::' is dual-stack: IPv4 visitors arrive
 * as `::ffff:a.b.c.d`. Throws TunnelError TUN_PORT_IN_USE / TUN_LISTEN naming the address.
 * The owner must add an 'error' listener at once: an unhandled one would end the process.
 */
export async function bindUdp (host: string, port: number, options: BindUdpOptions = {}): Promise<Socket> {
  try {
    return await bindOnce(host, port, options)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      try {
        return await bindOnce('0.0.0.0', port, options)
      } catch (err4) {
        throw listenError(err4, '0.0.0.0', port)
      }
    }
    throw listenError(err, host, port)
  }
}

function bindOnce (host: string, port: number, options: BindUdpOptions): Promise<Socket> {
  const type = udpTypeFor(host)
  const socket = type === 'udp6' ? createSocket({ type, ipv6Only: false }) : createSocket({ type })
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      try { socket.close() } catch { /* never bound */ }
      reject(err)
    }
    socket.once('error', onError)
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off('error', onError)
      if (options.recvBufferSize !== undefined) {
        try { socket.setRecvBufferSize(options.recvBufferSize) } catch { /* keep the system's size */ }
      }
      resolve(socket)
    })
  })
}

/**
 * Datagrams the kernel dropped at an unconnected UDP socket bound to `port` (its receive buffer
 * was full: the process did not read fast enough), from the `drops` column of /proc/net/udp or
 * /proc/net/udp6. Cumulative since the socket was made; undefined where /proc is not available.
 * Reads the whole table (about 1 ms per thousand sockets): call it seldom.
 */
export function readKernelUdpDrops (family: 'IPv4' | 'IPv6', port: number): number | undefined {
  let text: string
  try {
    text = readFileSync(family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', 'latin1')
  } catch {
    return undefined
  }
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')} `
  let drops: number | undefined
  for (const line of text.split('\n')) {
    const at = line.indexOf(local)
    if (at < 0) continue
    // Only unconnected sockets (remote address and port all zeros): our public sockets.
    const fields = line.trim().split(/\s+/)
    const remote = fields[2] ?? ''
    if (!/^0+:0000$/.test(remote) || !(fields[1] ?? '').endsWith(local.trim())) continue
    const n = Number(fields[12])
    if (Number.isFinite(n)) drops = (drops ?? 0) + n
  }
  return drops
}
