// The UDP side of `tunnel echo`: echo sends every datagram back to its sender (after
// --delay-ms); sink counts and drops; source answers each datagram with --udp-burst datagrams
// of the same size and content. Bound dual-stack ('::', IPv4 senders arrive mapped) unless an
// address is given; falls back to 0.0.0.0 where IPv6 is off.
import { createSocket, type Socket } from 'node:dgram'
import { isIP } from 'node:net'
import type { Logger } from '../shared/log.js'
import type { EchoCounters, EchoMode } from './echo-stats.js'

/** Datagrams waiting out --delay-ms at most; beyond this they are dropped (and counted). */
const MAX_DELAYED_DATAGRAMS = 100_000
export const MAX_UDP_BURST = 1_000

export interface UdpEchoOptions {
  mode: EchoMode
  delayMs: number
  burst: number
}

function bindOnce (host: string, port: number): Promise<Socket> {
  const socket = isIP(host) === 6 ? createSocket({ type: 'udp6', ipv6Only: false }) : createSocket({ type: 'udp4' })
  return new Promise((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject)
      resolve(socket)
    })
  })
}

export async function bindUdpEcho (host: string, port: number): Promise<Socket> {
  try {
    return await bindOnce(host, port)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) return await bindOnce('0.0.0.0', port)
    throw err
  }
}

export function serveUdpEcho (socket: Socket, o: UdpEchoOptions, c: EchoCounters, log: Logger): void {
  let delayed = 0
  const reply = (msg: Buffer, port: number, address: string): void => {
    const copies = o.mode === 'source' ? o.burst : 1
    for (let i = 0; i < copies; i++) {
      socket.send(msg, port, address, (err) => {
        if (err === null || err === undefined) {
          c.datagramsOut++
          c.bytesOut += msg.length
        } else c.datagramErrors++
      })
    }
  }
  socket.on('message', (msg, rinfo) => {
    c.datagramsIn++
    c.bytesIn += msg.length
    if (o.mode === 'sink') return
    if (o.delayMs === 0) {
      reply(msg, rinfo.port, rinfo.address)
      return
    }
    if (delayed >= MAX_DELAYED_DATAGRAMS) {
      c.datagramErrors++
      return
    }
    delayed++
    setTimeout(() => {
      delayed--
      reply(msg, rinfo.port, rinfo.address)
    }, o.delayMs)
  })
  // An unconnected socket rarely reports errors, but an unhandled 'error' would end the process.
  socket.on('error', (err: NodeJS.ErrnoException) => { log.debug({ code: err.code }, 'echo udp socket error') })
}
