// A TCP proxy between a client and the relay for security e2e tests: it records every byte in
// both directions (tee), and can flip one bit of the client→relay stream at a chosen place in a
// chosen record (it follows the hello and the record lengths to find record boundaries).
// Everything it opens is closed by close().
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export const LOOPBACK = '127.0.0.1'

/** Where in a record to flip a bit. */
export type FlipPlace = 'length-high' | 'length-low' | 'first-ciphertext' | 'middle-ciphertext' | 'last-ciphertext' | 'first-tag' | 'middle-tag' | 'last-tag'

export interface Flip {
  place: FlipPlace
  bit: number
  /** Only a record at least this long (ciphertext + tag) is chosen; default 0. */
  minLength?: number
}

export interface FlipDone extends Flip {
  connection: number
  /** Offset of the flipped byte in that connection's client→relay stream. */
  offset: number
  recordLength: number
}

export interface TamperProxy {
  port: number
  /** Connections accepted so far. */
  connections: number
  /** Every byte client→relay and relay→client, all connections in order. */
  captured: () => { toRelay: Buffer, toClient: Buffer }
  /** The client→relay bytes of one connection (0-based). */
  toRelayOf: (connection: number) => Buffer
  /** Flips a bit in the next record (of at least minLength) that starts on the current connection. */
  arm: (flip: Flip) => Promise<FlipDone>
  close: () => Promise<void>
}

interface Pending { flip: Flip, resolve: (d: FlipDone) => void }

function placeOffset (place: FlipPlace, length: number): number {
  const ct = length - 16
  switch (place) {
    case 'length-high': return 0
    case 'length-low': return 1
    case 'first-ciphertext': return 2
    case 'middle-ciphertext': return 2 + Math.floor(ct / 2)
    case 'last-ciphertext': return 2 + ct - 1
    case 'first-tag': return 2 + ct
    case 'middle-tag': return 2 + ct + 8
    case 'last-tag': return 2 + length - 1
  }
}

/** Bytes of the hello from its first 11 bytes (see shared/transport/handshake.ts). */
function helloLength (head: Buffer): number | undefined {
  if (head.length < 11) return undefined
  return 11 + (head[10] as number) + 2 + 64 + 16
}

export async function startTamperProxy (targetPort: number): Promise<TamperProxy> {
  const toRelay: Buffer[] = []
  const toClient: Buffer[] = []
  const perConnection: Buffer[][] = []
  const sockets = new Set<Socket>()
  let pending: Pending | undefined
  let connections = 0

  const server: Server = createServer({ noDelay: true }, (client) => {
    const index = connections++
    const mine: Buffer[] = []
    perConnection.push(mine)
    const upstream = connect({ host: LOOPBACK, port: targetPort, noDelay: true })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.once('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    // Parser state for client→relay: bytes seen, where the next record starts (absolute).
    let seen = 0
    let head = Buffer.alloc(0)
    let prevLast = 0
    let nextRecord: number | undefined
    let target: { at: number, done: FlipDone, resolve: (d: FlipDone) => void } | undefined
    client.on('data', (chunk: Buffer) => {
      const data = Buffer.from(chunk)
      if (head.length < 11) head = Buffer.concat([head, data]).subarray(0, 11)
      nextRecord ??= helloLength(head)
      const byteAt = (abs: number): number => (abs >= seen ? data[abs - seen] as number : prevLast)
      // Walk the record boundaries in this chunk (original bytes); arm a pending flip on the
      // first record that starts here.
      while (nextRecord !== undefined && nextRecord + 2 <= seen + data.length) {
        const length = (byteAt(nextRecord) << 8) | byteAt(nextRecord + 1)
        if (pending !== undefined && target === undefined && nextRecord >= seen && length >= (pending.flip.minLength ?? 0)) {
          const at = nextRecord + placeOffset(pending.flip.place, length)
          target = { at, resolve: pending.resolve, done: { ...pending.flip, connection: index, offset: at, recordLength: length } }
          pending = undefined
        }
        nextRecord += 2 + length
      }
      prevLast = data[data.length - 1] ?? prevLast
      if (target !== undefined && target.at >= seen && target.at < seen + data.length) {
        data[target.at - seen] = (data[target.at - seen] as number) ^ (1 << target.done.bit)
        target.resolve(target.done)
      }
      seen += data.length
      mine.push(data)
      toRelay.push(data)
      upstream.write(data)
    })
    upstream.on('data', (chunk: Buffer) => {
      toClient.push(Buffer.from(chunk))
      client.write(chunk)
    })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    get connections () { return connections },
    captured: () => ({ toRelay: Buffer.concat(toRelay), toClient: Buffer.concat(toClient) }),
    toRelayOf: (connection) => Buffer.concat(perConnection[connection] ?? []),
    arm: (flip) => new Promise((resolve) => { pending = { flip, resolve } }),
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
