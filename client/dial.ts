// A TCP connection to the relay, bounded by a timeout and the caller's abort signal; every
// failure is a TUN_CONNECT error naming the address.
import { connect, type Socket } from 'node:net'
import { TunnelError } from '../shared/errors.js'
import { formatHostPort } from '../shared/net/index.js'
import type { PooledReader } from '../shared/mux/index.js'

/**
 * `localAddress`: the address the connection leaves from (transport.connectServerLocalIP); undefined = the system's choice.
 * `reader`: the socket reads through it (shared/mux/read-pool.ts), its reads emitted as 'data' events.
 */
export function dial (host: string, port: number, timeoutMs: number, signal: AbortSignal, localAddress?: string, reader?: PooledReader): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }), ...(reader === undefined ? {} : { onread: reader.onread }) })
    reader?.emitTo(socket)
    const fail = (err: Error): void => {
      cleanup()
      socket.destroy()
      reject(new TunnelError('TUN_CONNECT', `cannot connect to the relay at ${formatHostPort(host, port)}: ${err.message}`, { cause: err }))
    }
    const onAbort = (): void => { fail(new Error('stopped')) }
    const timer = setTimeout(() => { fail(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      socket.off('error', fail)
      signal.removeEventListener('abort', onAbort)
    }
    socket.once('error', fail)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => { cleanup(); resolve(socket) })
  })
}
