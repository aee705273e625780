// Bytes through the real CLI: 100 MB each way byte-exact, 1,000 concurrent visitors, half-close.
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, clientYaml, startClient, startRelay } from '../helpers/cli.js'
import {
  closeServices,
  connectTo,
  exchange,
  parseSinkReply,
  readAll,
  sha256,
  startEchoServer,
  startHashSinkServer,
  startSourceServer,
} from '../helpers/services.js'

const MB = 1024 * 1024
const BULK_BYTES = 100 * MB
const VISITORS = 1_000
/** Connects in flight at once; established connections stay open until all have echoed. */
const CONNECT_CONCURRENCY = 200

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

async function tunnelTo (localPort: number): Promise<number> {
  const relay = await startRelay()
  const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'svc', localPort, remotePort: 0 }] }))
  const port = client.ports.get('svc')
  if (port === undefined) throw new Error(`proxy svc refused: ${client.refused.get('svc') ?? '?'}`)
  return port
}

describe('tcp transfer through the tunnel', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('carries 100 MB from the visitor to the service byte-exact', async () => {
    const sink = await startHashSinkServer()
    const port = await tunnelTo(sink.port)
    const started = performance.now()
    const { sent, reply } = await exchange(port, BULK_BYTES, { keep: true, timeoutMs: 20_000 })
    const ms = performance.now() - started
    expect(sent.bytes).toBe(BULK_BYTES)
    expect(reply.closedBy).toBe('end')
    const { digest } = parseSinkReply(reply.data ?? Buffer.alloc(0))
    expect(digest).toEqual({ bytes: BULK_BYTES, sha256: sent.sha256 })
    expect(await sink.received[0]).toEqual({ ...sent, reply: undefined })
    console.info(`visitor→service 100 MB in ${ms.toFixed(0)} ms`)
  })

  it('carries 100 MB from the service to the visitor byte-exact', async () => {
    const source = await startSourceServer(BULK_BYTES)
    const port = await tunnelTo(source.port)
    const started = performance.now()
    const socket = await connectTo(port)
    socket.end()
    const reply = await readAll(socket, { timeoutMs: 20_000 })
    const ms = performance.now() - started
    expect(source.sent).toHaveLength(1)
    const sent = await source.sent[0]
    expect(sent?.bytes).toBe(BULK_BYTES)
    expect(reply.closedBy).toBe('end')
    expect({ bytes: reply.bytes, sha256: reply.sha256 }).toEqual(sent)
    console.info(`service→visitor 100 MB in ${ms.toFixed(0)} ms`)
  })

  it('serves 1,000 concurrent visitors, each getting back exactly its own data', async () => {
    const echo = await startEchoServer()
    const port = await tunnelTo(echo.port)
    let open = 0
    let peakOpen = 0
    let echoed = 0
    let releaseAll = (): void => {}
    const allEchoed = new Promise<void>((resolve) => { releaseAll = resolve })
    const connectSlots = new Semaphore(CONNECT_CONCURRENCY)

    // Each visitor sends its payload, waits for its echo, then holds the connection open until
    // every visitor got its echo (so all 1,000 are open at once), sends it again and half-closes.
    // The reply must be payload + payload, in order, on its own connection.
    const visit = async (i: number): Promise<boolean> => {
      const payload = Buffer.concat([Buffer.from(`visitor ${i}\n`), randomBytes(2048 + (i % 7) * 512)])
      await connectSlots.acquire()
      let socket: Socket
      try {
        socket = await connectTo(port)
      } finally {
        connectSlots.release()
      }
      open++
      peakOpen = Math.max(peakOpen, open)
      socket.once('close', () => { open-- })
      const parts: Buffer[] = []
      let received = 0
      let counted = false
      socket.on('data', (chunk: Buffer) => {
        parts.push(chunk)
        received += chunk.length
        if (!counted && received >= payload.length) {
          counted = true
          if (++echoed === VISITORS) releaseAll()
        }
      })
      const closed = new Promise<string>((resolve) => {
        let how = 'close'
        socket.once('end', () => { how = 'end' })
        socket.once('error', (err: NodeJS.ErrnoException) => { how = err.code ?? 'error' })
        socket.once('close', () => { resolve(how) })
      })
      socket.write(payload)
      await Promise.race([allEchoed, closed])
      socket.end(payload)
      const how = await closed
      return how === 'end' && Buffer.concat(parts).equals(Buffer.concat([payload, payload]))
    }

    const started = performance.now()
    const results = await withTimeout(Promise.all(Array.from({ length: VISITORS }, async (_, i) => await visit(i))), 20_000,
      () => `visitors: ${echoed} of ${VISITORS} echoed, ${open} open`)
    const ms = performance.now() - started
    const failed = results.flatMap((ok, i) => (ok ? [] : [i]))
    expect(failed).toEqual([])
    expect(peakOpen).toBe(VISITORS)
    expect(echo.connections).toBe(VISITORS)
    console.info(`1,000 concurrent visitors in ${ms.toFixed(0)} ms (peak open ${peakOpen})`)
  })

  it('delivers the whole reply to a visitor that half-closed after its request', async () => {
    const replyBytes = 4 * MB
    const sink = await startHashSinkServer(replyBytes)
    const port = await tunnelTo(sink.port)
    const request = randomBytes(64 * 1024)
    const { reply } = await exchange(port, request, { keep: true, timeoutMs: 10_000 })
    expect(reply.closedBy).toBe('end')
    const { digest, rest } = parseSinkReply(reply.data ?? Buffer.alloc(0))
    expect(digest).toEqual({ bytes: request.length, sha256: sha256(request) })
    expect(sink.received).toHaveLength(1)
    const served = await sink.received[0]
    expect(served?.reply?.bytes).toBe(replyBytes)
    expect({ bytes: rest.length, sha256: sha256(rest) }).toEqual(served?.reply)
  })
})

/** A counting semaphore: at most `limit` holders at once. */
class Semaphore {
  #free: number
  readonly #waiting: Array<() => void> = []
  constructor (limit: number) { this.#free = limit }
  async acquire (): Promise<void> {
    if (this.#free > 0) { this.#free--; return }
    await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
  }

  release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#free++
  }
}

async function withTimeout<T> (p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what()}`)) }, ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}
