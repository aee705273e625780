// A WebSocket (the ws library) as the byte stream of a control connection, on both sides: every
// write becomes one binary message (a batch of writes, one message each, sent together), every
// message read is pushed as bytes. Back-pressure holds both ways without buffering of its own: a
// write completes only when ws has handed the frame to the TCP socket (so writableLength counts
// what waits), and reading pauses the WebSocket (and its TCP socket) as soon as the consumer's
// buffer is full. WebSocket has no half-close: ending the stream sends a close frame.
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'

/** The path frp uses for its WebSocket transport (frp's FrpWebsocketPath); nginx locations match it. */
export const WEBSOCKET_PATH = '/~!frp'
/**
 * Largest WebSocket message accepted (ws closes the connection with 1009 beyond it). A message is
 * one write of the layer above: a record (at most 64 KiB) or a mux frame, so 1 MiB is far above
 * what a peer of ours sends and bounds what one message can make ws buffer.
 */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 1024 * 1024
/** WebSocket close code for a normal close (RFC 6455 §7.4.1). */
export const WEBSOCKET_CLOSE_NORMAL = 1000

/**
 * The members of a TCP socket that the handshake, the record layer and the sides use on a
 * control connection (with those of Duplex). A WebSocketStream has every one of them, delegated
 * to the TCP connection under the WebSocket, which is what makes asSocket() below sound; that a
 * Socket has them too is checked just below.
 */
export interface SocketLike {
  setNoDelay (noDelay?: boolean): this
  setKeepAlive (enable?: boolean, initialDelay?: number): this
  setTimeout (timeout: number, callback?: () => void): this
  resetAndDestroy (): this
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  readonly remoteFamily?: string | undefined
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
  readonly bytesWritten: number
  readonly bytesRead: number
}
/** A TCP socket seen as SocketLike; compiling it checks that these are Socket's own members and types. */
export function socketLike (socket: Socket): SocketLike {
  return socket
}

export class WebSocketStream extends Duplex implements SocketLike {
  readonly #ws: WebSocket
  readonly #tcp: Socket
  /** Bytes ws has handed to the TCP socket (the payload, without WebSocket framing). */
  #flushed = 0
  #received = 0

  /** `tcp` is the connection the WebSocket runs on (a TLSSocket for wss). */
  constructor (ws: WebSocket, tcp: Socket) {
    // allowHalfOpen false: when the peer closes, our side ends too (WebSocket cannot half-close).
    super({ allowHalfOpen: false })
    this.#ws = ws
    this.#tcp = tcp
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer) => {
      this.#received += data.length
      if (!this.push(data)) ws.pause()
    })
    ws.on('close', () => { this.push(null) })
    ws.on('error', (err) => { this.destroy(err) })
  }

  override _read (): void {
    if (this.#ws.isPaused) this.#ws.resume()
  }

  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#ws.send(chunk, { binary: true, compress: false }, (err) => {
      if (err === undefined) this.#flushed += chunk.length
      callback(err)
    })
  }

  override _writev (chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    const last = chunks.length - 1
    let bytes = 0
    chunks.forEach(({ chunk }, i) => {
      bytes += chunk.length
      // ws writes frames in order; the last one's callback covers the batch.
      this.#ws.send(chunk, { binary: true, compress: false }, i < last
        ? undefined
        : (err) => {
            if (err === undefined) this.#flushed += bytes
            callback(err)
          })
    })
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.#ws.close(WEBSOCKET_CLOSE_NORMAL)
    callback()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#ws.terminate()
    callback(err)
  }

  get remoteAddress (): string | undefined { return this.#tcp.remoteAddress }
  get remotePort (): number | undefined { return this.#tcp.remotePort }
  get remoteFamily (): string | undefined { return this.#tcp.remoteFamily }
  get localAddress (): string | undefined { return this.#tcp.localAddress }
  get localPort (): number | undefined { return this.#tcp.localPort }
  /** As on a socket: bytes written so far, those still waiting included. */
  get bytesWritten (): number { return this.#flushed + this.writableLength }
  get bytesRead (): number { return this.#received }

  setNoDelay (noDelay?: boolean): this {
    this.#tcp.setNoDelay(noDelay)
    return this
  }

  setKeepAlive (enable?: boolean, initialDelay?: number): this {
    this.#tcp.setKeepAlive(enable, initialDelay)
    return this
  }

  setTimeout (timeout: number, callback?: () => void): this {
    this.#tcp.setTimeout(timeout, callback)
    return this
  }

  resetAndDestroy (): this {
    this.#tcp.resetAndDestroy()
    this.destroy()
    return this
  }
}

/**
 * The handshake and the record layer are typed on net.Socket. A WebSocketStream implements
 * every Socket member they use (SocketLike, checked by the compiler on the class); extend
 * SocketLike when they start to use another.
 */
export function asSocket (stream: WebSocketStream): Socket {
  return stream as unknown as Socket
}
