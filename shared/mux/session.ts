// A mux session over one connection: stream table (relay opens even ids, client odd), a send
// scheduler that puts control frames first and round-robins streams, batches everything queued
// in one event-loop turn into one write, ping/RTT, heartbeat timeout and go-away.
//
// Backpressure toward the peer: every byte we queue for it (control frames not yet written plus
// what the wire holds, data frames included) counts against one budget. A peer that does not
// read cannot make us queue without bound by asking for replies (PINGs, DATA for unknown
// streams): past PEER_QUEUE_PAUSE_BYTES we stop reading from it, so it can ask for nothing more,
// and resume once it has taken our bytes. A peer that takes nothing at all for
// PEER_NOT_READING_TIMEOUT_MS while we have bytes for it is dropped (TUN_PEER_NOT_READING),
// paused or not. One slow stream never triggers any of this: each stream is bounded by its own
// window and the scheduler writes data frames only while the wire holds < SEND_BUDGET_BYTES.
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { ProtocolError, TunnelError } from '../errors.js'
import { FrameDecoder, encodeHeader, Flag, FrameType, GoAwayCode, HEADER_BYTES, MAX_DATA_BYTES, ResetCode, type FrameHeader, decodeOpen, encodeOpen, type OpenHeader, decodeControlMessage, encodeControlMessage, MESSAGE_SENDER, type ClientMessage, type ControlMessage, type RelayMessage } from '../wire/index.js'
import { INITIAL_WINDOW_BYTES, MuxStream, type StreamHost } from './stream.js'
import { SESSION_WINDOW_BUDGET_BYTES } from './window.js'
import { RttFilter } from './rtt-filter.js'
import { DatagramQueue, type DatagramQueueLimits, type DatagramQueueStats, type QueueDropReason } from './datagram-queue.js'
import type { Wire } from './wire.js'
import { releaseRead } from './read-pool.js'

/**
 * Streams open at once on one session unless transport.maxStreams says otherwise: enough for
 * 10,000 visitors of one client (issue 21). Each idle stream costs a few KiB of user space on
 * either side; its buffers are bounded by its window (see stream.ts).
 */
export const DEFAULT_MAX_STREAMS = 16_384
/** The most transport.maxStreams may be: stream ids are 31-bit, and every stream costs an fd on each side. */
export const MAX_STREAMS_LIMIT = 1_048_576
/** Frames go to the wire only while it holds less than this (keeps our own queue shallow). */
export const SEND_BUDGET_BYTES = 256 * 1024
/**
 * Bytes queued toward the peer (control frames not yet written plus everything the wire holds)
 * at which the session stops reading from the peer. Honest traffic stays far below: data frames
 * are written only while the wire holds < SEND_BUDGET_BYTES, datagrams while it holds < 1 MiB.
 */
export const PEER_QUEUE_PAUSE_BYTES = 2 * 1024 * 1024
/** Reading resumes once the queue toward the peer is at most this (looked at when the wire drains). */
export const PEER_QUEUE_RESUME_BYTES = 512 * 1024
/** A peer that takes none of our bytes for this long while we have some for it is dropped (TUN_PEER_NOT_READING). */
export const PEER_NOT_READING_TIMEOUT_MS = 30_000
/**
 * Past this the session closes at once, paused or not: what we still queue ourselves while the
 * peer does not read (stream opens and resets for visitors, flow closes) must stay bounded too.
 */
export const PEER_QUEUE_CLOSE_BYTES = 8 * 1024 * 1024
/**
 * Bytes all streams of a session may hold in their send queues (on a relay: read from visitors,
 * not yet sent) before a stream reads only what its credit lets it send at once. frps.yml's
 * maxBufferedBytesPerClient sets it on the relay.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024
const DRAIN_POLL_MS = 50
/** Wire bytes of datagrams sent per turn of the scheduler (the datagram queue is one participant). */
export const DATAGRAM_QUANTUM_BYTES = 64 * 1024

export interface SessionOptions {
  role: 'client' | 'server'
  logger: Logger
  maxStreams?: number
  /** Milliseconds between pings; 0 disables. */
  heartbeatIntervalMs?: number
  /** Milliseconds without any frame before the session fails; 0 disables. */
  heartbeatTimeoutMs?: number
  /** Bounds of the datagram send queue (tests shrink them). */
  datagramLimits?: DatagramQueueLimits
  /** Monotonic milliseconds for RTT, silence and window tuning (tests inject one); default performance.now. */
  now?: () => number
  /** Bytes queued toward the peer at which reading from it pauses (default PEER_QUEUE_PAUSE_BYTES; tests shrink it). */
  peerQueuePauseBytes?: number
  /** Milliseconds a peer may take none of our bytes while we have some for it (default PEER_NOT_READING_TIMEOUT_MS). */
  peerNotReadingTimeoutMs?: number
  /** The streams' send queues together (default DEFAULT_MAX_BUFFERED_BYTES; see stream.ts). */
  maxBufferedBytes?: number
}

export interface SessionEvents<In extends ControlMessage = ControlMessage> {
  stream: [stream: MuxStream]
  /** A control message from the peer, checked (shared/wire/control.ts) and sent by the peer's role. */
  control: [message: In]
  /** A DGRAM frame: `flags` SYN = flow-open block first, FIN = the flow is closed. */
  datagram: [id: number, flags: number, payload: Buffer]
  goaway: [code: number]
  close: [err: TunnelError | undefined]
  /** The peer's heartbeat (a PING request; already answered). */
  ping: []
}

/**
 * `In` and `Out` are the control messages this side receives and sends: the relay runs a
 * `Session<ClientMessage, RelayMessage>`, the client the reverse (RelaySession, ClientSession).
 */
export class Session<In extends ControlMessage = ControlMessage, Out extends ControlMessage = ControlMessage> extends EventEmitter<SessionEvents<In>> {
  readonly #wire: Wire
  readonly #log: Logger
  readonly #role: 'client' | 'server'
  readonly #maxStreams: number
  readonly #decoder: FrameDecoder
  readonly #streams = new Map<number, MuxStream>()
  readonly #host: StreamHost
  #nextId: number
  #control: Buffer[] = []
  #controlBytes = 0
  #ready: MuxStream[] = []
  readonly #dgrams: DatagramQueue
  /** Stream frames sent since the datagram queue's last turn (persists across flushes). */
  #streamTurnsSinceDgram = 0
  #flushScheduled = false
  #waitingDrain = false
  #windowGrowth = 0
  #pings = new Map<number, { sent: number, resolve: (rttMs: number) => void }>()
  #pingSeq = 0
  #timers: NodeJS.Timeout[] = []
  readonly #peerQueuePauseBytes: number
  readonly #peerNotReadingTimeoutMs: number
  #readPaused = false
  /** Armed while the wire holds bytes for the peer: fires the TUN_PEER_NOT_READING close if it took none meanwhile. */
  #stallTimer: NodeJS.Timeout | undefined
  /** The wire's takenBytes() when the stall timer was armed. */
  #takenMark = 0
  /** Times reading from the peer was paused because it did not take our bytes. */
  readPauses = 0
  readonly bufferLimitBytes: number
  #buffered = 0
  /** Times a stream paused its source because the streams held the session's buffer cap. */
  bufferPauses = 0
  /** The most bytes the streams' send queues ever held together. */
  bufferedMaxBytes = 0
  /** The most bytes ever queued toward the peer (control frames plus what the wire held). */
  peerQueuedMaxBytes = 0
  #closed = false
  #goAwaySent = false
  remoteGoAway: number | undefined
  lastRttMs = NaN
  /** Smallest RTT seen in the session's life (diagnostics); tuning uses #rtt instead. */
  minRttMs = Infinity
  readonly #rtt = new RttFilter()
  #probing = false
  /** Pings sent because window tuning needed a fresh RTT (not heartbeats). */
  rttProbes = 0
  readonly #now: () => number
  /** When the last bytes arrived, on the session's clock. */
  lastReceivedAt: number
  bytesIn = 0
  bytesOut = 0

  constructor (wire: Wire, options: SessionOptions) {
    super()
    this.#wire = wire
    this.#log = options.logger
    this.#role = options.role
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS
    this.#peerQueuePauseBytes = options.peerQueuePauseBytes ?? PEER_QUEUE_PAUSE_BYTES
    this.#peerNotReadingTimeoutMs = options.peerNotReadingTimeoutMs ?? PEER_NOT_READING_TIMEOUT_MS
    this.bufferLimitBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES
    this.#now = options.now ?? (() => performance.now())
    this.lastReceivedAt = this.#now()
    this.#nextId = options.role === 'client' ? 1 : 2
    this.#dgrams = new DatagramQueue(options.datagramLimits)
    this.#decoder = new FrameDecoder((h, p, final) => { this.#onFrame(h, p, final) })
    this.#host = this.#makeHost()
    wire.onData((chunk) => { this.#receive(chunk) })
    wire.onDrain(() => { this.#onDrain() })
    wire.onClose((err) => { this.close(err ?? new TunnelError('TUN_SESSION_CLOSED', 'the control connection closed')) })
    this.#startHeartbeat(options.heartbeatIntervalMs ?? 0, options.heartbeatTimeoutMs ?? 0)
  }

  get closed (): boolean { return this.#closed }
  get streamCount (): number { return this.#streams.size }
  /** Datagrams queued, sent and dropped by this session's send queue. */
  get datagramStats (): Readonly<DatagramQueueStats> { return this.#dgrams.stats }
  get datagramQueueBytes (): number { return this.#dgrams.bytes }
  /** Bytes queued toward the peer now: control frames not yet written plus what the wire holds. */
  get peerQueuedBytes (): number { return this.#controlBytes + this.#wire.pendingBytes() }
  /** Bytes the streams' send queues hold now (a relay: read from visitors, not sent yet). */
  get bufferedBytes (): number { return this.#buffered }
  /** Reading from the peer is paused: it has not taken what we queued for it. */
  get readPaused (): boolean { return this.#readPaused }

  /**
   * Queues one datagram of flow `id` (with its flow-open block on the first one), or drops it
   * when the wire is congested or the queue is full. Never throws, never blocks.
   */
  sendDatagram (id: number, payload: Buffer, open?: Buffer): 'queued' | QueueDropReason {
    if (this.#closed) return 'closed'
    const result = this.#dgrams.offer(id, payload, open, this.#wire.pendingBytes())
    if (result === 'queued' && !this.#waitingDrain) this.#scheduleFlush()
    return result
  }

  /** Tells the peer flow `id` is closed (DGRAM+FIN). Goes with the control frames: never dropped. */
  closeFlow (id: number): void {
    this.#queueControl(encodeHeader(FrameType.DGRAM, Flag.FIN, id, 0))
  }

  /** Opens a stream toward the peer (the relay does this for every visitor). */
  openStream (open: OpenHeader): MuxStream {
    if (this.#closed) throw new TunnelError('TUN_SESSION_CLOSED', 'session is closed')
    if (this.#streams.size >= this.#maxStreams) throw new TunnelError('TUN_TOO_MANY_STREAMS', `session has ${this.#streams.size} open streams (limit ${this.#maxStreams})`)
    if (this.readPaused) throw new TunnelError('TUN_PEER_NOT_READING', `the peer is not reading: ${this.peerQueuedBytes} bytes queued for it`)
    const id = this.#nextId
    this.#nextId += 2
    const stream = new MuxStream(this.#host, id)
    this.#streams.set(id, stream)
    const payload = encodeOpen(open)
    this.#queueControl(encodeHeader(FrameType.DATA, Flag.SYN, id, payload.length), payload)
    return stream
  }

  sendControl (message: Out): void {
    if (this.#closed) return
    const payload = encodeControlMessage(message)
    this.#queueControl(encodeHeader(FrameType.CONTROL, 0, 0, payload.length), payload)
  }

  /** Round-trip time in ms; rejects when the session closes first. */
  ping (): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed) { reject(new TunnelError('TUN_SESSION_CLOSED', 'session is closed')); return }
      const seq = (this.#pingSeq = (this.#pingSeq + 1) >>> 0)
      this.#pings.set(seq, { sent: this.#now(), resolve })
      this.#queueControl(encodeHeader(FrameType.PING, Flag.SYN, 0, seq))
    })
  }

  /** Stops heartbeat pings and the silence check (a NAT probe connection must stay idle). */
  stopHeartbeat (): void {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
  }

  /** Tells the peer no new streams will be opened; existing streams go on. */
  goAway (code: number = GoAwayCode.NORMAL): void {
    if (this.#closed || this.#goAwaySent) return
    this.#goAwaySent = true
    this.#queueControl(encodeHeader(FrameType.GOAWAY, 0, 0, code))
  }

  /**
   * Resolves when every stream has closed (or at once when none is open), or when the signal
   * aborts. The poll timer is not unref'd: a graceful stop must not end early because the
   * only handles left are paused sockets.
   */
  async drained (signal?: AbortSignal): Promise<void> {
    while (this.#streams.size > 0 && !this.#closed && signal?.aborted !== true) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS))
    }
  }

  /** Ends the session: streams fail with `err`, the connection is flushed and closed. */
  close (err?: TunnelError): void {
    this.#shutdown(err, false)
  }

  /** `abort`: drop what is queued instead of flushing it (a peer that does not read would never take it). */
  #shutdown (err: TunnelError | undefined, abort: boolean): void {
    if (this.#closed) return
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    clearTimeout(this.#stallTimer)
    this.#stallTimer = undefined
    for (const s of [...this.#streams.values()]) s.abort(err ?? new TunnelError('TUN_SESSION_CLOSED', 'session closed'))
    this.#streams.clear()
    this.#dgrams.clear()
    for (const p of this.#pings.values()) p.resolve(NaN)
    this.#pings.clear()
    if (abort) {
      this.#control = []
      this.#controlBytes = 0
    } else {
      this.#flushNow()
    }
    this.#wire.close(abort)
    this.emit('close', err)
  }

  // ---- receiving ----

  #receive (chunk: Buffer): void {
    if (this.#closed) return
    this.bytesIn += chunk.length
    this.lastReceivedAt = this.#now()
    try {
      this.#decoder.push(chunk)
    } catch (err) {
      this.#protocolFailure(err)
    }
  }

  #protocolFailure (err: unknown): void {
    const e = err instanceof TunnelError ? err : new ProtocolError('TUN_PROTOCOL', `internal error while handling a frame: ${String(err)}`, { cause: err })
    const messageType = e instanceof ProtocolError ? e.messageType : undefined
    this.#log.warn({ code: e.code, err: e.message, ...(messageType === undefined ? {} : { messageType }) }, 'closing session: peer broke the protocol')
    this.goAway(e instanceof ProtocolError ? GoAwayCode.PROTOCOL : GoAwayCode.INTERNAL)
    this.close(e)
  }

  #onFrame (h: FrameHeader, payload: Buffer, final: boolean): void {
    switch (h.type) {
      case FrameType.DATA: this.#onDataFrame(h, payload, final); break
      case FrameType.WINDOW_UPDATE: this.#onWindowUpdate(h); break
      case FrameType.PING: this.#onPing(h); break
      case FrameType.GOAWAY:
        this.remoteGoAway = h.length
        this.emit('goaway', h.length)
        break
      case FrameType.RESET: this.#streams.get(h.id)?.onReset(h.length); break
      case FrameType.CONTROL: this.#onControl(payload); break
      case FrameType.DGRAM: this.emit('datagram', h.id, h.flags, payload); break
      default: break
    }
  }

  #onDataFrame (h: FrameHeader, payload: Buffer, final: boolean): void {
    if ((h.flags & Flag.SYN) !== 0) { this.#onSyn(h, payload); return }
    const stream = this.#streams.get(h.id)
    if (stream === undefined) {
      // Late data for a stream we closed or never had: tell the peer once, at the end.
      if (final && !this.#isOwnId(h.id)) this.#queueControl(encodeHeader(FrameType.RESET, 0, h.id, ResetCode.CANCEL))
      return
    }
    if (!stream.onData(payload)) {
      this.#log.warn({ streamId: h.id, code: 'TUN_FLOW_CONTROL' }, 'peer sent beyond the stream window: resetting the stream')
      stream.reset(ResetCode.FLOW_CONTROL)
      return
    }
    if (final && (h.flags & Flag.FIN) !== 0) stream.onFin()
  }

  #onSyn (h: FrameHeader, payload: Buffer): void {
    if (this.#isOwnId(h.id) || this.#streams.has(h.id)) {
      throw new ProtocolError('TUN_PROTOCOL', `peer opened stream ${h.id}, an id it may not use or that is in use`)
    }
    const open = decodeOpen(payload)
    if (this.#streams.size >= this.#maxStreams || this.remoteGoAway !== undefined || this.#goAwaySent) {
      this.#queueControl(encodeHeader(FrameType.RESET, 0, h.id, ResetCode.TOO_MANY_STREAMS))
      return
    }
    const stream = new MuxStream(this.#host, h.id, open)
    this.#streams.set(h.id, stream)
    if ((h.flags & Flag.FIN) !== 0) stream.onFin()
    this.emit('stream', stream)
  }

  #onWindowUpdate (h: FrameHeader): void {
    const stream = this.#streams.get(h.id)
    if (stream === undefined || h.length === 0) return
    stream.onWindowUpdate(h.length)
  }

  #onPing (h: FrameHeader): void {
    if ((h.flags & Flag.SYN) !== 0) {
      this.#queueControl(encodeHeader(FrameType.PING, Flag.ACK, 0, h.length))
      this.emit('ping')
      return
    }
    const p = this.#pings.get(h.length)
    if (p === undefined) return
    this.#pings.delete(h.length)
    const now = this.#now()
    const rtt = now - p.sent
    this.lastRttMs = rtt
    this.minRttMs = Math.min(this.minRttMs, rtt)
    this.#rtt.add(rtt, now)
    p.resolve(rtt)
  }

  /** Checks the message once, here: a malformed one, or one only this side may send, ends the session. */
  #onControl (payload: Buffer): void {
    const message = decodeControlMessage(payload)
    const mine = this.#role === 'server' ? 'relay' : 'client'
    if (MESSAGE_SENDER[message.type] === mine) {
      throw new ProtocolError('TUN_PROTOCOL', `control message "${message.type}" may only be sent by the ${mine}, not to it`, { messageType: message.type })
    }
    this.emit('control', message as In)
  }

  #isOwnId (id: number): boolean {
    return (id % 2 === 1) === (this.#role === 'client')
  }

  // ---- sending ----

  #queueControl (header: Buffer, payload?: Buffer): void {
    if (this.#closed) return
    this.#control.push(header)
    this.#controlBytes += header.length
    if (payload !== undefined && payload.length > 0) {
      this.#control.push(payload)
      this.#controlBytes += payload.length
    }
    if (this.#checkPeerQueue()) this.#scheduleFlush()
  }

  /**
   * Pauses reading from the peer when what we queued for it passes the bound (so it cannot ask
   * for more replies), or closes the session when even that did not keep the queue bounded.
   * False when the session closed.
   */
  #checkPeerQueue (): boolean {
    if (this.#closed) return false
    const queued = this.peerQueuedBytes
    if (queued > this.peerQueuedMaxBytes) this.peerQueuedMaxBytes = queued
    if (queued >= PEER_QUEUE_CLOSE_BYTES) {
      this.#peerNotReading(`${queued} bytes queued for it`)
      return false
    }
    if (queued >= this.#peerQueuePauseBytes && !this.#readPaused) {
      this.#readPaused = true
      this.readPauses++
      this.#wire.pauseReading()
      this.#log.debug({ queuedBytes: queued }, 'peer is not taking our bytes: reading from it paused')
    }
    return true
  }

  /** The wire holds bytes for the peer: it must take some within the timeout (checked then, again and again while it does). */
  #watchStall (): void {
    if (this.#stallTimer !== undefined || this.#closed || this.#wire.pendingBytes() === 0) return
    this.#takenMark = this.#wire.takenBytes()
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined
      if (this.#closed || this.#wire.pendingBytes() === 0) return
      if (this.#wire.takenBytes() > this.#takenMark) { this.#watchStall(); return }
      this.#peerNotReading(`it took none of the ${this.peerQueuedBytes} bytes queued for it in ${this.#peerNotReadingTimeoutMs} ms`)
    }, this.#peerNotReadingTimeoutMs)
    this.#stallTimer.unref()
  }

  /** The wire drained (or a flush wrote): read from the peer again once the queue is low. */
  #maybeResumeReading (): void {
    if (!this.#readPaused || this.#closed || this.peerQueuedBytes > PEER_QUEUE_RESUME_BYTES) return
    this.#readPaused = false
    // The silence while paused was ours: the heartbeat timeout counts from now.
    this.lastReceivedAt = this.#now()
    this.#wire.resumeReading()
  }

  #peerNotReading (detail: string): void {
    const err = new TunnelError('TUN_PEER_NOT_READING', `closing the session: the peer is not reading (${detail})`)
    this.#log.warn({ code: err.code, queuedBytes: this.peerQueuedBytes, readPauses: this.readPauses }, err.message)
    this.#shutdown(err, true)
  }

  #scheduleFlush (): void {
    if (this.#flushScheduled || this.#closed) return
    this.#flushScheduled = true
    setImmediate(() => {
      this.#flushScheduled = false
      this.#flushNow()
    })
  }

  /**
   * One batch: every control frame, then stream frames round-robin while the wire has room. The
   * datagram queue takes one turn (a quantum) per round of the ready streams, so a UDP flood gets
   * one stream's share and cannot starve TCP, nor TCP starve UDP.
   */
  #flushNow (): void {
    const out = this.#control
    let bytes = this.#controlBytes
    this.#control = []
    this.#controlBytes = 0
    const budget = SEND_BUDGET_BYTES - this.#wire.pendingBytes()
    // Data payloads to release once the wire has copied them (read-pool.ts); none when it keeps references.
    const sealed: Buffer[] | undefined = this.#wire.copiesOnWrite === true ? [] : undefined
    while (bytes < budget) {
      if (!this.#dgrams.empty && this.#streamTurnsSinceDgram >= this.#ready.length) {
        bytes += this.#dgrams.take(out, Math.min(DATAGRAM_QUANTUM_BYTES, budget - bytes))
        this.#streamTurnsSinceDgram = 0
        continue
      }
      const stream = this.#ready.shift()
      if (stream === undefined) break
      this.#streamTurnsSinceDgram++
      stream.inReady = false
      const frame = stream.takeFrame(MAX_DATA_BYTES)
      if (frame !== undefined) {
        const len = frame.payload?.length ?? 0
        out.push(encodeHeader(FrameType.DATA, frame.fin ? Flag.FIN : 0, stream.id, len))
        if (frame.payload !== undefined) {
          out.push(frame.payload)
          sealed?.push(frame.payload)
        }
        bytes += HEADER_BYTES + len
      }
      if (stream.sendable()) {
        stream.inReady = true
        this.#ready.push(stream)
      }
    }
    if (out.length > 0) {
      this.bytesOut += bytes
      this.#wire.write(out)
      if (sealed !== undefined) for (const payload of sealed) releaseRead(payload)
      if (!this.#checkPeerQueue()) return
      this.#maybeResumeReading()
      this.#watchStall()
    }
    if ((this.#ready.length > 0 || !this.#dgrams.empty) && !this.#closed) {
      if (this.#wire.pendingBytes() >= SEND_BUDGET_BYTES) this.#waitingDrain = true
      else this.#scheduleFlush()
    }
  }

  #onDrain (): void {
    this.#maybeResumeReading()
    if (!this.#waitingDrain) return
    this.#waitingDrain = false
    this.#scheduleFlush()
  }

  #makeHost (): StreamHost {
    return {
      scheduleSend: (stream) => {
        if (stream.inReady || this.#closed) return
        stream.inReady = true
        this.#ready.push(stream)
        if (!this.#waitingDrain) this.#scheduleFlush()
      },
      sendWindowUpdate: (stream, delta, ack) => {
        this.#queueControl(encodeHeader(FrameType.WINDOW_UPDATE, ack ? Flag.ACK : 0, stream.id, delta))
      },
      sendReset: (stream, code) => {
        this.#queueControl(encodeHeader(FrameType.RESET, 0, stream.id, code))
      },
      streamClosed: (stream) => {
        this.#streams.delete(stream.id)
      },
      reserveWindow: (bytes) => {
        if (this.#windowGrowth + bytes > SESSION_WINDOW_BUDGET_BYTES) return false
        this.#windowGrowth += bytes
        return true
      },
      releaseWindow: (bytes) => { this.#windowGrowth -= bytes },
      tuningRttMs: () => this.#tuningRtt(),
      now: () => this.#now(),
      buffered: (delta) => {
        this.#buffered += delta
        if (this.#buffered > this.bufferedMaxBytes) this.bufferedMaxBytes = this.#buffered
      },
      bufferFull: () => this.#buffered >= this.bufferLimitBytes,
      bufferPaused: () => { this.bufferPauses++ },
    }
  }

  /** The RTT for window tuning; asks for a fresh sample (one probe at a time) when it is old. */
  #tuningRtt (): number {
    if (!this.#probing && !this.#closed && this.#rtt.stale(this.#now())) {
      this.#probing = true
      this.rttProbes++
      void this.ping().catch(() => {}).finally(() => { this.#probing = false })
    }
    return this.#rtt.min
  }

  // ---- liveness ----

  #startHeartbeat (intervalMs: number, timeoutMs: number): void {
    // One ping at once: the RTT feeds window tuning and diagnostics.
    void this.ping().catch(() => {})
    if (intervalMs > 0) {
      this.#timers.push(setInterval(() => { void this.ping().catch(() => {}) }, intervalMs).unref())
    }
    if (timeoutMs > 0) {
      this.#timers.push(setInterval(() => {
        // While reading is paused the silence is ours; the not-reading timeout covers the peer.
        if (this.readPaused) return
        const silent = this.#now() - this.lastReceivedAt
        if (silent > timeoutMs) {
          this.goAway(GoAwayCode.HEARTBEAT_TIMEOUT)
          this.close(new TunnelError('TUN_HEARTBEAT_TIMEOUT', `nothing received from the peer for ${Math.round(silent)} ms (heartbeatTimeout ${timeoutMs} ms)`))
        }
      }, silenceCheckMs(timeoutMs)).unref())
    }
  }
}

/**
 * How often the silence is checked for a heartbeat timeout: a session fails at the first check
 * after `timeoutMs` of silence, so at most this much later.
 */
export function silenceCheckMs (timeoutMs: number): number {
  return Math.max(100, Math.min(1000, timeoutMs / 4))
}

export { INITIAL_WINDOW_BYTES }

/** The relay's end of a control connection: receives the client's messages, sends its own. */
export type RelaySession = Session<ClientMessage, RelayMessage>
/** The client's end of a control connection. */
export type ClientSession = Session<RelayMessage, ClientMessage>
