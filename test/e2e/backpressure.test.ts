// A visitor that never reads while the local service tries to send 500 MB: memory in the relay
// and the client stays bounded, the service is back-pressured, and another visitor on the same
// proxy still moves 10 MB, byte-exact (how fast is the bench's business, not this test's).
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, clientYaml, pollUntil, startClient, startRelay } from '../helpers/cli.js'
import {
  closeServices,
  connectTo,
  exchange,
  hashSink,
  parseSinkReply,
  startServer,
  writeRandom,
  type Digest,
} from '../helpers/services.js'

const MB = 1024 * 1024
const FLOOD_BYTES = 500 * MB
const FLOOD_SECONDS = 10
const SAMPLE_EVERY_MS = 1_000
/** RSS growth over the pre-flood baseline allowed per process. */
const MAX_RSS_GROWTH_BYTES = 200 * MB
/** Growth between the middle and the end of the flood that still counts as a plateau. */
const MAX_PLATEAU_DRIFT_BYTES = 32 * MB
/** What the service may have handed to its socket while nobody reads (kernel + tunnel buffers). */
const MAX_FLOODED_BYTES = 100 * MB
const SECOND_VISITOR_BYTES = 10 * MB
/** "Finished at all": 10 MB takes well under a second on an idle machine. */
const SECOND_VISITOR_DEADLINE_MS = 15_000

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('back-pressure from a visitor that never reads', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('keeps relay and client memory bounded and still serves another visitor on the same proxy', async () => {
    // The service reads the first byte: 'F' = flood the visitor, 'S' = hash sink (reply after EOF).
    let stopFlood = false
    let floodedBytes = 0
    let floodStartedAt = 0
    const floods: Array<Promise<Digest>> = []
    const sinks: Array<Promise<Digest>> = []
    const service = await startServer((socket: Socket) => {
      socket.once('data', (first: Buffer) => {
        if (first[0] === 0x46 /* F */) {
          floodStartedAt = performance.now()
          floods.push(writeRandom(socket, FLOOD_BYTES, {
            stop: () => stopFlood,
            progress: (n) => { floodedBytes = n },
          }))
        } else {
          sinks.push(hashSink(socket, 0, first.subarray(1)))
        }
      })
    })
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'flood', localPort: service.port, remotePort: 0 }] }))
    const port = client.ports.get('flood')
    if (port === undefined) throw new Error(`proxy refused: ${client.refused.get('flood') ?? '?'}`)

    // Warm both processes up with one ordinary transfer so the baseline includes steady state.
    await exchange(port, Buffer.concat([Buffer.from('S'), Buffer.alloc(MB)]), { keep: true })
    const baseline = { relay: relay.handle.rss(), client: client.handle.rss() }

    const stuck = await connectTo(port)
    stuck.pause() // never read: the kernel buffers fill, then the tunnel must push back
    stuck.write('F')
    await pollUntil(async () => (floodedBytes > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 })

    const samples: Array<{ t: number, relay: number, client: number, flooded: number }> = []
    let second: { ms: number, ok: boolean } | undefined
    for (let i = 1; i <= FLOOD_SECONDS; i++) {
      await waitUntil(floodStartedAt + i * SAMPLE_EVERY_MS)
      samples.push({ t: i, relay: relay.handle.rss(), client: client.handle.rss(), flooded: floodedBytes })
      // Early, so its own buffers settle before the plateau is judged (first half against second).
      if (i === 2) second = await secondVisitor(port)
    }
    stopFlood = true
    stuck.destroy()
    await Promise.all(floods)

    const table = samples.map((s) => `${s.t}s relay +${mb(s.relay - baseline.relay)} client +${mb(s.client - baseline.client)} flooded ${mb(s.flooded)}`)
    console.info(`baseline relay ${mb(baseline.relay)} client ${mb(baseline.client)}\n${table.join('\n')}\nsecond visitor: 10 MB in ${second?.ms.toFixed(0) ?? '?'} ms`)

    const maxRelay = Math.max(...samples.map((s) => s.relay))
    const maxClient = Math.max(...samples.map((s) => s.client))
    expect(maxRelay - baseline.relay).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(maxClient - baseline.client).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    // Plateau: the second half of the flood adds (almost) nothing over the first half.
    const half = samples.slice(0, Math.floor(samples.length / 2))
    const rest = samples.slice(Math.floor(samples.length / 2))
    expect(Math.max(...rest.map((s) => s.relay)) - Math.max(...half.map((s) => s.relay))).toBeLessThan(MAX_PLATEAU_DRIFT_BYTES)
    expect(Math.max(...rest.map((s) => s.client)) - Math.max(...half.map((s) => s.client))).toBeLessThan(MAX_PLATEAU_DRIFT_BYTES)
    // The service was held back: far below 500 MB, and no progress during the second half.
    const last = samples.at(-1)
    const middle = samples[Math.floor(samples.length / 2) - 1]
    expect(last?.flooded ?? Infinity).toBeLessThan(MAX_FLOODED_BYTES)
    expect((last?.flooded ?? 0) - (middle?.flooded ?? 0)).toBeLessThan(MB)
    // Meanwhile the second visitor on the same proxy was served, byte-exact.
    expect(second?.ok).toBe(true)
    expect(sinks.length).toBe(2)
    // The session survived the whole episode.
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting')).toBe(false)
  })
})

/** 10 MB to the hash sink through the same proxy; true when the digest matches. */
async function secondVisitor (port: number): Promise<{ ms: number, ok: boolean }> {
  const started = performance.now()
  const socket = await connectTo(port)
  socket.write('S')
  const replyP = new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = []
    socket.on('data', (c: Buffer) => { parts.push(c) })
    socket.once('close', () => { resolve(Buffer.concat(parts)) })
  })
  const sent = await writeRandom(socket, SECOND_VISITOR_BYTES, { end: true })
  const reply = await Promise.race([replyP, new Promise<Buffer>((resolve) => setTimeout(() => { socket.destroy(); resolve(Buffer.alloc(0)) }, SECOND_VISITOR_DEADLINE_MS).unref())])
  const ms = performance.now() - started
  try {
    const { digest } = parseSinkReply(reply)
    return { ms, ok: digest.sha256 === sent.sha256 && digest.bytes === SECOND_VISITOR_BYTES }
  } catch {
    return { ms, ok: false }
  }
}

function mb (bytes: number): string { return `${(bytes / MB).toFixed(1)} MB` }

async function waitUntil (at: number): Promise<void> {
  const ms = at - performance.now()
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
}
