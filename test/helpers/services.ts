// Loopback TCP services and visitors for e2e tests: echo, a source that sends N bytes, a hash
// sink that replies after EOF, free/held ports, and a visitor that sends and checksums the
// reply. Everything opened here is tracked and closed by closeServices().
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export const LOOPBACK = '127.0.0.1'
export const CHUNK_BYTES = 64 * 1024

const servers = new Set<Server>()
const sockets = new Set<Socket>()

function track (socket: Socket): Socket {
  sockets.add(socket)
  // Resets are part of what the tests look at; they are read through 'close' and readAll().
  socket.on('error', () => {})
  socket.once('close', () => { sockets.delete(socket) })
  return socket
}

/** Destroys every socket and closes every server opened through this module. For afterEach. */
export async function closeServices (): Promise<void> {
  for (const s of sockets) s.destroy()
  sockets.clear()
  const list = [...servers]
  servers.clear()
  await Promise.all(list.map(async (srv) => {
    await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
  }))
}

// ---- checksums ----

export function sha256 (data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Incremental sha256 with a byte count. */
export class Checksum {
  readonly #hash: Hash = createHash('sha256')
  bytes = 0

  update (chunk: Buffer): void {
    this.#hash.update(chunk)
    this.bytes += chunk.length
  }

  digest (): string { return this.#hash.digest('hex') }
}

export interface Digest {
  bytes: number
  sha256: string
}

// ---- servers ----

export interface TestServer {
  server: Server
  port: number
  /** Connections accepted so far. */
  connections: number
  close: () => Promise<void>
}

/** A loopback TCP server whose connections go to `onConnection`; allowHalfOpen is on. */
export async function startServer (onConnection: (socket: Socket) => void): Promise<TestServer> {
  const server = createServer({ allowHalfOpen: true, noDelay: true })
  servers.add(server)
  const result: TestServer = {
    server,
    port: 0,
    connections: 0,
    close: async () => {
      servers.delete(server)
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    },
  }
  server.on('connection', (socket) => {
    result.connections++
    track(socket)
    onConnection(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, LOOPBACK, () => { server.off('error', reject); resolve() })
  })
  result.port = (server.address() as AddressInfo).port
  return result
}

/** Echoes every byte back; ends its side after the peer's FIN. */
export function startEchoServer (): Promise<TestServer> {
  return startServer((socket) => { socket.pipe(socket) })
}

export interface SourceServer extends TestServer {
  /** One promise per connection: what the source wrote before ending. */
  sent: Array<Promise<Digest>>
}

/** Sends `totalBytes` of random data on every connection, then ends. */
export async function startSourceServer (totalBytes: number): Promise<SourceServer> {
  const sent: Array<Promise<Digest>> = []
  const srv = await startServer((socket) => {
    socket.resume() // ignore anything the visitor sends
    sent.push(writeRandom(socket, totalBytes, { end: true }))
  })
  return Object.assign(srv, { sent })
}

export interface SinkResult extends Digest {
  /** The random bytes sent after the digest line (replyBytes > 0). */
  reply: Digest | undefined
}

export interface HashSinkServer extends TestServer {
  /** One promise per connection: what the sink received before EOF, and what it replied. */
  received: Array<Promise<SinkResult>>
}

/**
 * Reads to EOF, then replies with a line `<sha256 hex> <byte count>\n` followed by `replyBytes`
 * random bytes, then ends.
 */
export async function startHashSinkServer (replyBytes = 0): Promise<HashSinkServer> {
  const received: Array<Promise<SinkResult>> = []
  const srv = await startServer((socket) => { received.push(hashSink(socket, replyBytes)) })
  return Object.assign(srv, { received })
}

/** The hash-sink behaviour on one socket (for servers that dispatch per connection). */
export function hashSink (socket: Socket, replyBytes = 0, first?: Buffer): Promise<SinkResult> {
  const p = new Promise<SinkResult>((resolve, reject) => {
    const sum = new Checksum()
    if (first !== undefined) sum.update(first)
    socket.on('data', (chunk: Buffer) => { sum.update(chunk) })
    socket.once('error', reject)
    socket.once('end', () => {
      const digest = { bytes: sum.bytes, sha256: sum.digest() }
      socket.write(`${digest.sha256} ${digest.bytes}\n`)
      if (replyBytes === 0) {
        socket.end()
        resolve({ ...digest, reply: undefined })
        return
      }
      writeRandom(socket, replyBytes, { end: true }).then((reply) => { resolve({ ...digest, reply }) }, reject)
    })
  })
  // A test that does not await this promise must not see a reset as an unhandled rejection.
  p.catch(() => {})
  return p
}

// ---- writing with back-pressure ----

export interface WriteOptions {
  end?: boolean
  /** Stop early (bounded loops): checked before every chunk. */
  stop?: () => boolean
  /** Called with the running total after every accepted chunk. */
  progress?: (bytes: number) => void
}

/**
 * Writes `totalBytes` of random data, waiting for 'drain' whenever write() returns false.
 * Resolves with what was written (all of it, unless `stop` or the socket closing cut it short).
 */
export function writeRandom (socket: Socket, totalBytes: number, options: WriteOptions = {}): Promise<Digest> {
  return new Promise<Digest>((resolve) => {
    const sum = new Checksum()
    // One random block, rotated per chunk so the stream does not repeat with a short period.
    const block = randomBytes(CHUNK_BYTES * 2)
    let offset = 0
    let finished = false
    const finish = (): void => {
      if (finished) return
      finished = true
      socket.off('drain', pump)
      socket.off('close', finish)
      if (options.end === true && !socket.destroyed) socket.end()
      resolve({ bytes: sum.bytes, sha256: sum.digest() })
    }
    const pump = (): void => {
      while (sum.bytes < totalBytes) {
        if (socket.destroyed || options.stop?.() === true) { finish(); return }
        const n = Math.min(CHUNK_BYTES, totalBytes - sum.bytes)
        const start = (offset * 7919) % CHUNK_BYTES
        offset++
        const chunk = Buffer.from(block.subarray(start, start + n)) // a copy: the block is reused
        chunk.writeUInt32BE(offset >>> 0, 0)
        sum.update(chunk)
        options.progress?.(sum.bytes)
        if (!socket.write(chunk)) return // resumes on 'drain'
      }
      finish()
    }
    socket.on('drain', pump)
    socket.once('close', finish)
    pump()
  })
}

// ---- ports ----

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function getFreePort (): Promise<number> {
  const held = await holdPort()
  const port = held.port
  await held.close()
  return port
}

/** Listens on a free loopback port and keeps it until close(). */
export async function holdPort (): Promise<TestServer> {
  return await startServer((socket) => { socket.destroy() })
}

/** 'open' when a TCP connect succeeds, 'refused' on ECONNREFUSED, else the error code. */
export function probePort (port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = track(connect({ host: LOOPBACK, port }))
    const timer = setTimeout(() => { socket.destroy(); resolve('timeout') }, timeoutMs)
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve('open') })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : (err.code ?? 'error'))
    })
  })
}

// ---- visitors ----

export function connectTo (port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = track(connect({ host: LOOPBACK, port, noDelay: true, allowHalfOpen: options.allowHalfOpen ?? true }))
    socket.once('error', reject)
    socket.once('connect', () => { socket.off('error', reject); resolve(socket) })
  })
}

export interface Reply {
  /** The whole reply, when `keep` was set. */
  data: Buffer | undefined
  bytes: number
  sha256: string
  /** 'end' after a clean FIN, otherwise the error code (for example ECONNRESET). */
  closedBy: string
}

/** Reads a socket until it closes; hashes everything (and keeps it with `keep`). */
export function readAll (socket: Socket, options: { keep?: boolean, timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sum = new Checksum()
    const parts: Buffer[] = []
    let closedBy = 'close'
    const timeoutMs = options.timeoutMs ?? 30_000
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no end of reply within ${timeoutMs} ms (got ${sum.bytes} bytes)`))
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => {
      sum.update(chunk)
      if (options.keep === true) parts.push(chunk)
    })
    socket.once('end', () => { closedBy = 'end' })
    socket.once('error', (err: NodeJS.ErrnoException) => { closedBy = err.code ?? 'error' })
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ data: options.keep === true ? Buffer.concat(parts) : undefined, bytes: sum.bytes, sha256: sum.digest(), closedBy })
    })
  })
}

export interface ExchangeResult {
  sent: Digest
  reply: Reply
}

/**
 * Connects, sends `request` (a buffer, or a byte count of random data), half-closes, and
 * collects the reply until the server closes.
 */
export async function exchange (port: number, request: Buffer | number, options: { keep?: boolean, timeoutMs?: number } = {}): Promise<ExchangeResult> {
  const socket = await connectTo(port)
  const replyP = readAll(socket, options)
  let sent: Digest
  if (typeof request === 'number') {
    sent = await writeRandom(socket, request, { end: true })
  } else {
    socket.end(request)
    sent = { bytes: request.length, sha256: sha256(request) }
  }
  return { sent, reply: await replyP }
}

/** Sends `payload` to an echo service and resolves true when exactly it came back. */
export async function echoOnce (port: number, payload: Buffer = randomBytes(1024), timeoutMs = 5_000): Promise<boolean> {
  const { reply } = await exchange(port, payload, { keep: true, timeoutMs })
  return reply.data !== undefined && reply.data.equals(payload)
}

/** Parses the hash sink's first line `<sha256> <bytes>`; returns it and the rest. */
export function parseSinkReply (data: Buffer): { digest: Digest, rest: Buffer } {
  const nl = data.indexOf(0x0a)
  if (nl < 0) throw new Error(`sink reply has no digest line (${data.length} bytes)`)
  const [hex, count] = data.subarray(0, nl).toString('utf8').split(' ')
  return { digest: { sha256: hex ?? '', bytes: Number(count) }, rest: data.subarray(nl + 1) }
}

export interface Pump {
  /** Bytes written so far. */
  sent: () => number
  stop: () => void
}

/**
 * Writes to an echo (through the tunnel) at about `bytesPerSecond` until stopped, reading the
 * echo back and dropping it: traffic for a chart to show. Bounded in bytes and time whatever the
 * caller does.
 */
export function pumpEcho (socket: Socket, bounds: { maxBytes: number, maxMs: number, bytesPerSecond: number, chunkBytes?: number }): Pump {
  let sent = 0
  const started = Date.now()
  socket.resume()
  const chunk = Buffer.alloc(bounds.chunkBytes ?? CHUNK_BYTES, 7)
  const everyMs = Math.max(1, Math.round(chunk.length / bounds.bytesPerSecond * 1000))
  const timer = setInterval(() => {
    if (sent >= bounds.maxBytes || Date.now() - started >= bounds.maxMs || socket.destroyed) { clearInterval(timer); return }
    // A congested socket skips a beat rather than queueing without bound.
    if (socket.writableNeedDrain) return
    sent += chunk.length
    socket.write(chunk)
  }, everyMs)
  socket.on('error', () => { clearInterval(timer) })
  return { sent: () => sent, stop: () => { clearInterval(timer); socket.destroy() } }
}
