// The client reads its local services, and its control connection when it is plain TCP, and the
// relay its tcp visitors and a plain-TCP client's connection, through the shared read buffer and
// pooled blocks (shared/mux/read-pool.ts). Downloads from a service to
// several visitors at once, uploads from several visitors to a service, and an echo
// whose visitor reads slowly (so the relay's window fills and the client must stop reading and
// resume on credit), arrive byte for byte, over an encrypted session (blocks reused after
// sealing) and a plaintext one (blocks left to the garbage collector).
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { readPoolStats } from '../../shared/mux/read-pool.js'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, connectTo, exchange, readAll, sha256, startEchoServer, startHashSinkServer, startSourceServer, writeRandom } from '../helpers/services.js'

const MB = 1024 * 1024
const DOWNLOAD_BYTES = 8 * MB
const VISITORS = 4
const ECHO_BYTES = 4 * MB
/** The slow visitor reads this much, then pauses for a turn of I/O. */
const SLOW_READ_BYTES = 256 * 1024

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

const PLAINTEXT = 'transport:\n  insecurePlaintext: true\n'

async function tunnelTo (servicePort: number, plaintext: boolean): Promise<number> {
  const { port } = await startRelayInProcess(plaintext ? PLAINTEXT : '')
  const c = await startClientInProcess(clientConfig(port, `${plaintext ? PLAINTEXT : ''}proxies:\n  - name: s\n    type: tcp\n    localPort: ${servicePort}\n    remotePort: 0\n`))
  const result = await c.result('s')
  expect(result.ok).toBe(true)
  return result.remotePort as number
}

/** Reads everything, pausing after every SLOW_READ_BYTES so the tunnel's windows fill. */
function readSlowly (socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let sinceBreak = 0
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk)
      sinceBreak += chunk.length
      if (sinceBreak >= SLOW_READ_BYTES) {
        sinceBreak = 0
        socket.pause()
        setTimeout(() => socket.resume(), 5)
      }
    })
    socket.once('error', reject)
    socket.once('end', () => { resolve(Buffer.concat(parts)) })
  })
}

describe.each([
  { mode: 'encrypted', plaintext: false },
  { mode: 'plaintext', plaintext: true },
])('pooled reads of local services, $mode session', ({ plaintext }) => {
  it('carries downloads to several visitors at once byte for byte (the relay reads the client\'s connection into pooled blocks)', async () => {
    const source = await startSourceServer(DOWNLOAD_BYTES)
    const adopted = readPoolStats.adopted
    const port = await tunnelTo(source.port, plaintext)
    const blocksBefore = readPoolStats.blocksAllocated + readPoolStats.blocksReused
    const reused = readPoolStats.blocksReused
    const replies = await Promise.all(Array.from({ length: VISITORS }, async () => {
      const socket = await connectTo(port)
      socket.end()
      return await readAll(socket)
    }))
    const sent = await Promise.all(source.sent)
    expect(replies.map((r) => [r.bytes, r.closedBy]).sort()).toEqual(sent.map((s) => [s.bytes, 'end']))
    expect(replies.map((r) => r.sha256).sort()).toEqual(sent.map((s) => s.sha256).sort())
    // The reads went through the pool; only sealing returns blocks to it.
    expect(readPoolStats.blocksAllocated + readPoolStats.blocksReused).toBeGreaterThan(blocksBefore)
    if (!plaintext) expect(readPoolStats.blocksReused).toBeGreaterThan(reused)
    // The relay switched the client's control connection (plain TCP) and each visitor to pooled reads.
    expect(readPoolStats.adopted - adopted).toBe(1 + VISITORS)
  })

  it('carries uploads from several visitors at once byte for byte (the relay reads them into pooled blocks, the client from its control connection)', async () => {
    const sink = await startHashSinkServer()
    const port = await tunnelTo(sink.port, plaintext)
    const adopted = readPoolStats.adopted
    const results = await Promise.all(Array.from({ length: VISITORS }, async () => await exchange(port, DOWNLOAD_BYTES)))
    const received = await Promise.all(sink.received)
    expect(received.map((r) => `${r.sha256} ${r.bytes}`).sort()).toEqual(results.map((r) => `${r.sent.sha256} ${r.sent.bytes}`).sort())
    // Every visitor socket the relay accepted was switched to pooled reads (adoptPooledReads).
    expect(readPoolStats.adopted - adopted).toBe(VISITORS)
  })

  it('echoes to a visitor that reads slowly byte for byte (the client stops reading its service and resumes on credit)', async () => {
    const echo = await startEchoServer()
    const port = await tunnelTo(echo.port, plaintext)
    const socket = await connectTo(port)
    const reply = readSlowly(socket)
    const sent = await writeRandom(socket, ECHO_BYTES, { end: true })
    const got = await reply
    expect(got.length).toBe(sent.bytes)
    expect(sha256(got)).toBe(sent.sha256)
  })
})
