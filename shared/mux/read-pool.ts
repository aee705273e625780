// Socket reads without a fresh 64 KiB allocation each (issue 21, memory under load).
//
// A socket created with a PooledReader's `onread` reads into one buffer shared by every such socket
// of the process (reads are delivered one at a time on the event loop, and each is copied out
// before its callback returns, so sharing is safe). A large read is copied into a block from a
// small free list instead of a new ArrayBuffer; the block goes back to the list once every byte
// copied into it has been released, which the mux does when an encrypted wire has sealed the
// bytes into a record (the cipher copies them; see Wire.copiesOnWrite). Bytes that are never
// released (a plaintext wire keeps references until the kernel takes them) simply leave their
// block to the garbage collector, as an ordinary read buffer would be.
//
// The rule that keeps bytes intact: release a piece only when nothing will read it again, and
// every byte exactly once (a piece's bytes are counted against its block).
import type { OnReadOpts, Socket } from 'node:net'

/** The shared read buffer: one socket read at most (libuv reads TCP in 64 KiB pieces, as stream.ts's SOCKET_READ_BYTES). */
export const READ_BUFFER_BYTES = 64 * 1024
/** Reads at least this large go into a pooled block; smaller ones into a fresh small buffer (Node's slab pool). */
export const POOLED_READ_MIN_BYTES = 16 * 1024
/** Free blocks kept for reuse, process-wide: at most this × READ_BUFFER_BYTES held while idle. */
export const MAX_FREE_READ_BLOCKS = 32

const shared = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)
/** Bytes of each pooled block still in use; a block missing here is not pooled (or was dropped). */
const outstanding = new WeakMap<ArrayBufferLike, number>()
const free: ArrayBuffer[] = []

/** Counters for tests and diagnostics. */
export const readPoolStats = { blocksAllocated: 0, blocksReused: 0, released: 0, adopted: 0 }

/** A copy of the first `n` bytes of `src`: in a pooled block when large, else a small fresh buffer. */
export function copyRead (src: Uint8Array, n: number): Buffer {
  if (n < POOLED_READ_MIN_BYTES || n > READ_BUFFER_BYTES) return Buffer.from(src.subarray(0, n))
  let block = free.pop()
  if (block === undefined) {
    block = new ArrayBuffer(READ_BUFFER_BYTES)
    readPoolStats.blocksAllocated++
  } else {
    readPoolStats.blocksReused++
  }
  const out = Buffer.from(block, 0, n)
  out.set(src.subarray(0, n))
  outstanding.set(block, n)
  return out
}

/**
 * The caller will never read `piece` again (nor anyone else): its bytes count against their
 * block, and a block with none left in use returns to the free list. A piece that is not from a
 * pooled block is ignored.
 */
export function releaseRead (piece: Buffer): void {
  const block = piece.buffer
  const left = outstanding.get(block)
  if (left === undefined) return
  const rest = left - piece.length
  if (rest > 0) { outstanding.set(block, rest); return }
  outstanding.delete(block)
  readPoolStats.released++
  if (free.length < MAX_FREE_READ_BLOCKS && block instanceof ArrayBuffer) free.push(block)
}

/** Receives the reads of a socket made with a PooledReader's onread; it pauses the socket as usual (socket.pause()). */
export type ReadHandler = (chunk: Buffer) => void

/**
 * `onread` options for net.connect, and the place to plug the consumer in (attach, or emitTo). Reads that arrive
 * before attach() are kept (copied) and delivered by it. (net.Server has no onread option: a
 * socket it accepted is switched over by adoptPooledReads.)
 */
export class PooledReader {
  #handler: ReadHandler | undefined
  #early: Buffer[] = []
  /** The read callback of `onread`, a function of its own (adoptPooledReads installs it as it is). */
  readonly callback = (n: number, buf: Uint8Array): boolean => {
    const chunk = copyRead(buf, n)
    if (this.#handler === undefined) this.#early.push(chunk)
    else this.#handler(chunk)
    // Pausing is the handler's business (socket.pause() stops reading a socket with onread too).
    return true
  }

  readonly onread: OnReadOpts = { buffer: shared, callback: this.callback }

  /** Delivers what came early, then every read. */
  attach (handler: ReadHandler): void {
    this.#handler = handler
    const early = this.#early
    this.#early = []
    for (const chunk of early) handler(chunk)
  }

  /**
   * Delivers the reads as 'data' events of `socket`, for code that reads a socket the usual way
   * (the handshake reader, then the record wire). A read that comes while the socket has no
   * 'data' listener is kept, with the socket paused, and emitted once a listener is added.
   */
  emitTo (socket: Socket): void {
    const waiting: Buffer[] = []
    socket.on('newListener', (event: string | symbol) => {
      if (event !== 'data' || waiting.length === 0) return
      // After the listener is in place ('newListener' comes before it is added).
      process.nextTick(() => {
        for (const chunk of waiting.splice(0)) socket.emit('data', chunk)
      })
    })
    this.attach((chunk) => {
      if (socket.listenerCount('data') > 0) { socket.emit('data', chunk); return }
      waiting.push(chunk)
      socket.pause()
    })
  }
}

/** The fields Node 20's net.Socket keeps an `onread` option in (lib/net.js; found by their descriptions). */
const ONREAD_BUFFER_FIELD = 'kBuffer'
const ONREAD_CALLBACK_FIELD = 'kBufferCb'
const ONREAD_GENERATOR_FIELD = 'kBufferGen'

/**
 * Switches a socket that net.Server accepted to reading through a new PooledReader, as if it had
 * been created with its `onread` (issue 21: the relay's visitor reads were a fresh 64 KiB each, half
 * of what it allocated per tunnelled byte). Node 20 offers `onread` only to sockets it creates
 * (net.connect, new net.Socket); an accepted socket is switched through what that option sets: the
 * socket's buffer and callback fields (found by their symbols' descriptions) and its handle's
 * useUserBuffer(). Returns undefined, and the socket reads as usual, when those are not there (another
 * Node) or when it already holds bytes read the usual way (they would come before the reader's);
 * call it before the socket's first read is delivered, e.g. in the 'connection' listener.
 * Feed the reader to bridge() ({ reader }) or attach() it; until then its reads are kept.
 */
export function adoptPooledReads (socket: Socket): PooledReader | undefined {
  if (socket.destroyed || socket.readableLength > 0) return undefined
  // Node's private fields: this is the one place that reaches into them, and tests hold it on Node 20.
  const fields = socket as unknown as Record<symbol, unknown> & { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null }
  const symbols = Object.getOwnPropertySymbols(socket)
  const bufferField = symbols.find((sym) => sym.description === ONREAD_BUFFER_FIELD)
  const callbackField = symbols.find((sym) => sym.description === ONREAD_CALLBACK_FIELD)
  const generatorField = symbols.find((sym) => sym.description === ONREAD_GENERATOR_FIELD)
  const handle = fields._handle
  if (bufferField === undefined || callbackField === undefined || generatorField === undefined || typeof handle?.useUserBuffer !== 'function') return undefined
  // Already reading into a buffer of its own (made with onread): leave it. Node reads the generator
  // field after every read and calls it unless it is null, so it must stay null.
  if (fields[bufferField] !== null || fields[generatorField] !== null) return undefined
  const reader = new PooledReader()
  fields[bufferField] = shared
  // The reader's callback itself (it always returns true: keep reading), not a closure around it.
  fields[callbackField] = reader.callback
  handle.useUserBuffer(shared)
  readPoolStats.adopted++
  return reader
}
