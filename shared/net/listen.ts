// Opening TCP listeners: dual-stack '::' by default, falling back to 0.0.0.0 where the host
// has IPv6 turned off. Errors come back as TunnelError with the address in the message.
import type { AddressInfo, Server } from 'node:net'
import { TunnelError } from '../errors.js'
import { formatHostPort } from './address.js'

export const DEFAULT_BACKLOG = 511

export async function listenTcp (server: Server, host: string, port: number, backlog = DEFAULT_BACKLOG): Promise<AddressInfo> {
  try {
    return await listenOnce(server, host, port, backlog)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
      return await listenOnce(server, '0.0.0.0', port, backlog)
    }
    throw err
  }
}

function listenOnce (server: Server, host: string, port: number, backlog: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { server.off('listening', onListening); reject(err) }
    const onListening = (): void => {
      server.off('error', onError)
      resolve(server.address() as AddressInfo)
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host, port, backlog })
  })
}

/** Wraps a listen failure in an error that names the address and says what to do. */
export function listenError (err: unknown, host: string, port: number): TunnelError {
  const code = (err as NodeJS.ErrnoException).code
  const where = formatHostPort(host, port)
  if (code === 'EADDRINUSE') return new TunnelError('TUN_PORT_IN_USE', `${where} is already in use`, { cause: err })
  if (code === 'EACCES') return new TunnelError('TUN_LISTEN', `${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`, { cause: err })
  return new TunnelError('TUN_LISTEN', `cannot listen on ${where}: ${(err as Error).message}`, { cause: err })
}

/**
 * listenTcp for a server that is no use unbound: on failure it is closed and the error is a
 * TunnelError naming the address (TUN_PORT_IN_USE, TUN_LISTEN).
 */
export async function listenOrClose (server: Server, host: string, port: number): Promise<AddressInfo> {
  try {
    return await listenTcp(server, host, port)
  } catch (err) {
    server.close()
    throw listenError(err, host, port)
  }
}
