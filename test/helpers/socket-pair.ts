// Two ends of one loopback TCP connection for tests that bridge or pipe real sockets.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

/** Both ends (allowHalfOpen), each also pushed to `keep`, which the test destroys after each case. */
export async function loopbackSocketPair (keep: Socket[]): Promise<[Socket, Socket]> {
  const listener = createServer({ allowHalfOpen: true })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve))
  const a = connect({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, allowHalfOpen: true })
  const b = await accepted
  listener.close()
  keep.push(a, b)
  return [a, b]
}
