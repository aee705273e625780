// Whole UDP datagrams over one mux stream (an sudp flow, on the visitor's side and on the home
// client's): each datagram goes on the stream length-prefixed (shared/visit), and every datagram
// that arrives is handed to `deliver` and credited back at once (a UDP send does not wait). UDP
// never queues: while the stream's send queue is over its mark (the far side is slow), datagrams
// are dropped and counted (`congested`) until it drains.
import type { TunnelError } from '../shared/errors.js'
import type { MuxStream } from '../shared/mux/index.js'
import type { UdpDropReason } from '../shared/udp/index.js'
import { DatagramReader, frameDatagram } from '../shared/visit/index.js'
import { ResetCode } from '../shared/wire/index.js'

/**
 * A visitor flow of an sudp visitor ends after this long without a datagram either way (the
 * udp proxies' default idleTimeout; RFC 4787 asks NATs for at least 2 minutes).
 */
export const SUDP_FLOW_IDLE_MS = 120_000

export interface DatagramPipeHooks {
  /** A datagram from the far side. */
  deliver: (datagram: Buffer) => void
  /** A datagram toward the far side was dropped. */
  dropped: (reason: UdpDropReason) => void
  /** The stream is gone (normally, by both FINs, when err is undefined). */
  closed: (err: TunnelError | undefined) => void
}

export class DatagramPipe {
  readonly stream: MuxStream
  readonly #reader = new DatagramReader()
  readonly #hooks: DatagramPipeHooks
  #blocked = false
  #closed = false
  /** Datagrams each way (in = sent on the stream, out = delivered from it) and their bytes. */
  sent = 0
  sentBytes = 0
  delivered = 0
  deliveredBytes = 0

  constructor (stream: MuxStream, hooks: DatagramPipeHooks) {
    this.stream = stream
    this.#hooks = hooks
    stream.attach({
      data: (chunk) => { this.#onData(chunk) },
      end: () => { stream.end() },
      drain: () => { this.#blocked = false },
      close: (err) => {
        this.#closed = true
        hooks.closed(err)
      },
    })
  }

  get closed (): boolean { return this.#closed }

  /** Puts one datagram on the stream, or drops it (counted) while the stream is congested. */
  send (datagram: Buffer): void {
    if (this.#closed) { this.#hooks.dropped('closed'); return }
    if (this.#blocked) { this.#hooks.dropped('congested'); return }
    let framed: Buffer
    try {
      framed = frameDatagram(datagram)
    } catch {
      this.#hooks.dropped('tooBig')
      return
    }
    if (!this.stream.write(framed)) this.#blocked = true
    this.sent++
    this.sentBytes += datagram.length
  }

  /** No more datagrams this way (FIN): the flow is over. */
  end (): void { this.stream.end() }

  #onData (chunk: Buffer): void {
    let datagrams: Buffer[]
    try {
      datagrams = this.#reader.push(chunk)
    } catch {
      // A length no datagram can have: the far side is broken; this flow alone ends.
      this.stream.reset(ResetCode.INTERNAL)
      return
    }
    this.stream.consume(chunk.length)
    for (const d of datagrams) {
      this.delivered++
      this.deliveredBytes += d.length
      this.#hooks.deliver(d)
    }
  }
}
