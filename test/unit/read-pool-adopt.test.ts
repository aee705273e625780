// Sockets a net.Server accepted read through the shared buffer and pooled blocks once adopted
// (shared/mux/read-pool.ts adoptPooledReads; issue 21, the relay's visitor reads): every byte
// arrives in order through the reader and none as a 'data' event, large reads land in pooled
// blocks, pausing stops the reads, and a socket that already holds unread bytes is left to read
// as usual. On Node 20 adoption must succeed: this test fails when Node's internals it uses move.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { adoptPooledReads, POOLED_READ_MIN_BYTES, PooledReader, readPoolStats } from '../../shared/mux/read-pool.js'
import { connectTo } from '../helpers/services.js'

const MB = 1024 * 1024
const TRANSFER_BYTES = 4 * MB
const WRITE_BYTES = 48 * 1024

const cleanup: Array<() => void> = []
afterEach(() => { for (const f of cleanup.splice(0)) f() })

/** A loopback server whose accepted sockets are handed to `onSocket`. */
async function listen (onSocket: (socket: Socket) => void): Promise<{ server: Server, port: number }> {
  const server = createServer({ allowHalfOpen: true }, onSocket)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup.push(() => { server.close() })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { server, port: address.port }
}

function pattern (n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 11)) & 0xff
  return b
}

describe('an accepted socket adopted into the read pool', () => {
  it('delivers every byte in order through the reader, and none as data events', async () => {
    const before = { ...readPoolStats }
    const got: Buffer[] = []
    let dataEvents = 0
    let total = 0
    const done = new Promise<void>((resolve) => {
      void listen((socket) => {
        const reader: PooledReader | undefined = adoptPooledReads(socket)
        expect(reader).toBeDefined()
        socket.on('data', () => { dataEvents++ })
        // Copy each read out: a pooled block may be reused after release (none released here).
        reader?.attach((chunk) => { got.push(Buffer.from(chunk)); total += chunk.length })
        socket.on('end', () => { socket.end(); resolve() })
      }).then(async ({ port }) => {
        const client = await connectTo(port)
        cleanup.push(() => { client.destroy() })
        const data = pattern(TRANSFER_BYTES)
        for (let off = 0; off < data.length; off += WRITE_BYTES) client.write(data.subarray(off, off + WRITE_BYTES))
        client.end()
      })
    })
    await done
    expect(total).toBe(TRANSFER_BYTES)
    expect(Buffer.concat(got).equals(pattern(TRANSFER_BYTES))).toBe(true)
    expect(dataEvents).toBe(0)
    expect(readPoolStats.adopted - before.adopted).toBe(1)
    // Large reads were copied into pooled blocks, not handed over as fresh read buffers.
    const blocks = (readPoolStats.blocksAllocated - before.blocksAllocated) + (readPoolStats.blocksReused - before.blocksReused)
    expect(blocks).toBeGreaterThan(0)
    expect(got.some((c) => c.length >= POOLED_READ_MIN_BYTES)).toBe(true)
  })

  it('stops reading while paused and reads the rest once resumed', async () => {
    let total = 0
    let readsWhilePaused = 0
    const data = pattern(TRANSFER_BYTES)
    await new Promise<void>((resolve) => {
      void listen((socket) => {
        const reader = adoptPooledReads(socket)
        expect(reader).toBeDefined()
        let paused = false
        let pausedOnce = false
        reader?.attach((chunk) => {
          if (paused) readsWhilePaused++
          total += chunk.length
          if (total >= 1 * MB && !pausedOnce) {
            paused = pausedOnce = true
            socket.pause()
            setTimeout(() => { paused = false; socket.resume() }, 50)
          }
        })
        socket.on('end', () => { socket.destroy(); resolve() })
      }).then(async ({ port }) => {
        const client = await connectTo(port)
        cleanup.push(() => { client.destroy() })
        client.end(data)
      })
    })
    expect(readsWhilePaused).toBe(0)
    expect(total).toBe(TRANSFER_BYTES)
  })

  it('is refused for a socket that already holds unread bytes, which then reads as usual', async () => {
    const before = readPoolStats.adopted
    const result = await new Promise<{ adopted: boolean, bytes: number }>((resolve) => {
      void listen((socket) => {
        // Let the first bytes arrive and wait unread in the socket's buffer.
        socket.pause()
        setTimeout(() => {
          const reader = adoptPooledReads(socket)
          let bytes = 0
          socket.on('data', (chunk: Buffer) => { bytes += chunk.length })
          socket.on('end', () => { socket.destroy(); resolve({ adopted: reader !== undefined, bytes }) })
          socket.resume()
        }, 100)
      }).then(async ({ port }) => {
        const client = await connectTo(port)
        cleanup.push(() => { client.destroy() })
        client.write('hello')
        setTimeout(() => client.end(' world'), 150)
      })
    })
    expect(result.adopted).toBe(false)
    expect(result.bytes).toBe(11)
    expect(readPoolStats.adopted).toBe(before)
  })

  it('is refused for a socket that already reads into a buffer of its own (made with onread)', async () => {
    const { port } = await listen((socket) => { socket.end() })
    const own = new PooledReader()
    const socket = connect({ host: '127.0.0.1', port, onread: own.onread })
    cleanup.push(() => { socket.destroy() })
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const before = readPoolStats.adopted
    expect(adoptPooledReads(socket)).toBeUndefined()
    expect(readPoolStats.adopted).toBe(before)
  })
})
