// Two mux sessions joined by a real loopback TCP connection, for mux tests.
import { createServer, connect, type Socket, type AddressInfo } from 'node:net'
import { Session, type SessionOptions } from '../../shared/mux/session.js'
import { socketWire } from '../../shared/mux/wire.js'
import { silentLogger } from '../../shared/log.js'

export interface MuxPair {
  server: Session
  client: Session
  serverSocket: Socket
  clientSocket: Socket
  close: () => void
}

/** `clientOpts` (default `opts`) sets the client side's options apart from the server's. */
export async function muxPair (opts: Partial<SessionOptions> = {}, clientOpts: Partial<SessionOptions> = opts): Promise<MuxPair> {
  const listener = createServer({ noDelay: true })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const port = (listener.address() as AddressInfo).port
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve))
  const clientSocket = connect({ host: '127.0.0.1', port, noDelay: true })
  await new Promise<void>((resolve) => clientSocket.once('connect', resolve))
  const serverSocket = await accepted
  listener.close()
  serverSocket.setNoDelay(true)
  const logger = silentLogger()
  const server = new Session(socketWire(serverSocket), { role: 'server', logger, ...opts })
  const client = new Session(socketWire(clientSocket), { role: 'client', logger, ...clientOpts })
  return {
    server,
    client,
    serverSocket,
    clientSocket,
    close: () => { server.close(); client.close(); serverSocket.destroy(); clientSocket.destroy() },
  }
}
