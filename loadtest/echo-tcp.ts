// The TCP side of `tunnel echo`, one behaviour per mode:
// - echo: writes back every byte it reads (after --delay-ms), ends after the peer's FIN;
// - sink: reads and discards; after the peer's FIN replies "<bytes>\n" and ends (bulk uploads
//   check that count);
// - source: writes a repeating pattern as fast as the peer reads, until the peer closes or
//   --source-bytes; ignores what it reads.
// Delayed echo buffers at most MAX_DELAYED_BYTES per connection: past that it stops reading.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../shared/log.js'
import type { EchoCounters, EchoMode } from './echo-stats.js'

const MAX_DELAYED_BYTES = 4 * 1024 * 1024
const SOURCE_CHUNK = Buffer.alloc(64 * 1024, 0x73)

export interface TcpEchoOptions {
  mode: EchoMode
  delayMs: number
  /** source: bytes per connection at most; 0 = until the peer closes. */
  sourceBytes: number
}

function echo (socket: Socket, o: TcpEchoOptions, c: EchoCounters): void {
  let delayed = 0
  let ended = false
  const maybeEnd = (): void => { if (ended && delayed === 0) socket.end() }
  socket.on('data', (chunk: Buffer) => {
    c.bytesIn += chunk.length
    if (o.delayMs === 0) {
      c.bytesOut += chunk.length
      if (!socket.write(chunk)) {
        socket.pause()
        socket.once('drain', () => { socket.resume() })
      }
      return
    }
    delayed += chunk.length
    if (delayed > MAX_DELAYED_BYTES) socket.pause()
    setTimeout(() => {
      delayed -= chunk.length
      if (socket.destroyed) return
      c.bytesOut += chunk.length
      socket.write(chunk)
      if (delayed <= MAX_DELAYED_BYTES && socket.isPaused() && !ended) socket.resume()
      maybeEnd()
    }, o.delayMs)
  })
  socket.on('end', () => {
    ended = true
    maybeEnd()
  })
}

function sink (socket: Socket, o: TcpEchoOptions, c: EchoCounters): void {
  let bytes = 0
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    c.bytesIn += chunk.length
  })
  socket.on('end', () => {
    const reply = (): void => {
      const text = `${bytes}\n`
      c.bytesOut += text.length
      socket.end(text)
    }
    if (o.delayMs === 0) reply()
    else setTimeout(() => { if (!socket.destroyed) reply() }, o.delayMs)
  })
}

function source (socket: Socket, o: TcpEchoOptions, c: EchoCounters): void {
  let sent = 0
  let stopped = false
  const limit = o.sourceBytes === 0 ? Infinity : o.sourceBytes
  const pump = (): void => {
    while (!stopped && sent < limit) {
      const n = Math.min(SOURCE_CHUNK.length, limit - sent)
      sent += n
      c.bytesOut += n
      if (!socket.write(n === SOURCE_CHUNK.length ? SOURCE_CHUNK : SOURCE_CHUNK.subarray(0, n))) {
        socket.once('drain', pump)
        return
      }
    }
    if (!stopped) socket.end()
  }
  socket.on('data', (chunk: Buffer) => { c.bytesIn += chunk.length })
  socket.on('end', () => {
    stopped = true
    socket.end()
  })
  socket.on('close', () => { stopped = true })
  if (o.delayMs === 0) pump()
  else setTimeout(() => { if (!socket.destroyed) pump() }, o.delayMs)
}

const HANDLERS = { echo, sink, source } as const

export function createTcpEcho (o: TcpEchoOptions, counters: EchoCounters, log: Logger): Server {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    counters.connections++
    counters.openConnections++
    socket.on('error', (err: NodeJS.ErrnoException) => { log.debug({ code: err.code }, 'echo connection error') })
    socket.on('close', () => { counters.openConnections-- })
    HANDLERS[o.mode](socket, o, counters)
  })
  server.on('error', (err) => { log.error({ err }, 'echo tcp server error') })
  return server
}
