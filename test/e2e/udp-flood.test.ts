// A UDP flood toward a slow local service while a TCP stream of the same client moves bulk data:
// datagrams are dropped and counted by reason (never queued without bound), every datagram is
// accounted for, relay and client memory stay bounded, the session stays up, and the TCP stream
// arrives byte-exact. How much TCP throughput the flood leaves is a speed figure, measured by
// the bench (`node dist/bench/run.js --scenarios flood`); that TCP gets its share is checked
// frame by frame in test/unit/mux-scheduler.test.ts.
import { createServer, type Server, type Socket, connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeUdp, FLOOD_SCRIPT, SLOW_SERVICE_SCRIPT, spawnScript, udpReceiveQueueBytes } from '../helpers/udp.js'

const MB = 1024 * 1024
const DATAGRAMS = 200_000
const DATAGRAM_BYTES = 1_200
/** 40 datagrams per ms = 40,000/s ≈ 384 Mbit/s offered: the 200,000 take 5 s of flood time. */
const RATE_PER_MS = 40
const CHUNK = Buffer.alloc(64 * 1024, 0x54)
/** RSS growth over the pre-flood baseline allowed per process. */
const MAX_RSS_GROWTH_BYTES = 100 * MB
const RSS_SAMPLE_MS = 200
/** Upper bound on the flood's 5 s, for a machine that runs it much slower ("did it finish at all"). */
const FLOOD_DEADLINE_MS = 20_000

let sink: Server | undefined

afterEach(async () => {
  await cleanupCli()
  await closeUdp()
  await new Promise<void>((resolve) => { if (sink === undefined) resolve(); else sink.close(() => { resolve() }) })
  sink = undefined
})

/** A TCP sink in this process: counts every byte it receives, replies the count after EOF. */
async function startCountingSink (): Promise<{ port: number, bytes: () => number }> {
  let total = 0
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let mine = 0
    socket.on('data', (d: Buffer) => { total += d.length; mine += d.length })
    socket.on('end', () => { socket.end(`${mine}\n`) })
    socket.on('error', () => {})
  })
  sink = server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  return { port: typeof addr === 'object' && addr !== null ? addr.port : 0, bytes: () => total }
}

/** One connection writing 64 KiB chunks with back-pressure until stop(); resolves with sent vs counted. */
function bulkWriter (port: number): { stop: () => Promise<{ sent: number, counted: number }> } {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true })
  let sent = 0
  let stopped = false
  let reply = ''
  const pump = (): void => {
    while (!stopped) {
      sent += CHUNK.length
      if (!socket.write(CHUNK)) { socket.once('drain', pump); return }
    }
  }
  socket.once('connect', pump)
  socket.on('data', (d: Buffer) => { reply += d.toString() })
  const ended = new Promise<void>((resolve) => socket.once('close', () => { resolve() }))
  socket.on('error', () => {})
  return {
    stop: async () => {
      stopped = true
      socket.end()
      await ended
      return { sent, counted: Number.parseInt(reply, 10) }
    },
  }
}

describe('udp flood', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('drops and counts datagrams, accounts for every one, keeps memory bounded and the session up, and delivers TCP byte-exact', async () => {
    const slow = spawnScript(SLOW_SERVICE_SCRIPT)
    const slowPort = Number((await slow.waitForLine((l) => typeof l.port === 'number')).port)
    const tcpSink = await startCountingSink()
    const relay = await startRelay()
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'flood', type: 'udp', localPort: slowPort, remotePort: 0 },
        { name: 'bulk', localPort: tcpSink.port, remotePort: 0 },
      ],
    }))
    const udpPort = client.ports.get('flood') ?? 0
    const tcpPort = client.ports.get('bulk') ?? 0
    const flood = spawnScript(FLOOD_SCRIPT, [String(udpPort), String(RATE_PER_MS), String(DATAGRAM_BYTES)])
    await flood.waitForLine((l) => l.ready === true)

    const writer = bulkWriter(tcpPort)
    // The TCP stream is moving before the flood starts (and before the memory baseline).
    await waitFor(() => tcpSink.bytes() >= 4 * MB)
    const baseline = { relay: relay.handle.rss(), client: client.handle.rss() }
    const maxRss = { ...baseline }
    const sampler = setInterval(() => {
      try {
        maxRss.relay = Math.max(maxRss.relay, relay.handle.rss())
        maxRss.client = Math.max(maxRss.client, client.handle.rss())
      } catch {
        clearInterval(sampler) // a process gone (the test failed and cleaned up): nothing to sample
      }
    }, RSS_SAMPLE_MS)
    const tcpBefore = tcpSink.bytes()
    let floodSent: number
    let tcpDuring: number
    try {
      flood.command(`send ${DATAGRAMS}`)
      floodSent = Number((await flood.waitForLine((l) => l.sent === DATAGRAMS, FLOOD_DEADLINE_MS)).sent)
      tcpDuring = tcpSink.bytes() - tcpBefore
      // Every datagram is now in the relay's socket queue or counted in its kernel drops; once the
      // relay has read the queue empty, each one is counted by the relay (forwarded or dropped).
      await waitFor(() => udpReceiveQueueBytes(udpPort) === 0)
    } finally {
      clearInterval(sampler)
    }
    const tcp = await writer.stop()
    console.info(`flood of ${floodSent} datagrams; TCP moved ${(tcpDuring / MB).toFixed(0)} MB meanwhile (see the bench's flood scenario for the share); ` +
      `RSS relay ${(baseline.relay / MB).toFixed(0)} → max ${(maxRss.relay / MB).toFixed(0)} MB, client ${(baseline.client / MB).toFixed(0)} → max ${(maxRss.client / MB).toFixed(0)} MB`)

    // The TCP stream was byte-exact.
    expect(tcp.sent).toBeGreaterThan(0)
    expect(tcp.counted).toBe(tcp.sent)
    // Memory stayed bounded.
    expect(maxRss.relay - baseline.relay).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(maxRss.client - baseline.client).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    // The session never dropped.
    expect(floodSent).toBe(DATAGRAMS)
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting' || l.msg === 'lost the relay: reconnecting')).toBe(false)
    expect(relay.handle.logs.some((l) => l.msg === 'client session closed')).toBe(false)

    // A graceful stop makes both sides log their totals; the drops were counted, by reason.
    const relayFrom = relay.handle.logs.length
    client.handle.kill('SIGTERM')
    const relaySummary = await relay.handle.waitForLog(logMsg('udp proxy closed', { proxy: 'flood' }), 10_000, relayFrom)
    const clientSummary = await client.handle.waitForLog(logMsg('udp proxy closed', { proxy: 'flood' }))
    slow.command('count')
    const serviceGot = Number((await slow.waitForLine((l) => typeof l.received === 'number')).received)
    const dropsOf = (line: Record<string, unknown>): Record<string, number> => line.drops as Record<string, number>
    const drops = (line: Record<string, unknown>): number => Object.values(dropsOf(line)).reduce((a, b) => a + b, 0)
    const relayIn = Number(relaySummary.datagramsIn)
    const clientIn = Number(clientSummary.datagramsIn)
    console.info(`flood: sent ${floodSent}, relay forwarded ${relayIn} dropped ${drops(relaySummary)} ${JSON.stringify(relaySummary.drops)}, ` +
      `client delivered ${clientIn} dropped ${drops(clientSummary)} ${JSON.stringify(clientSummary.drops)}, slow service read ${serviceGot}`)
    for (const line of [relaySummary, clientSummary]) {
      for (const n of Object.values(dropsOf(line))) expect(Number.isInteger(n) && n >= 0).toBe(true)
    }
    expect(drops(relaySummary) + drops(clientSummary)).toBeGreaterThan(0)
    // Every datagram is accounted for: forwarded, or dropped (by us or, counted, by the kernel).
    expect(relayIn + drops(relaySummary)).toBe(floodSent)
    expect(clientIn).toBeLessThanOrEqual(relayIn)
    expect(serviceGot).toBeLessThanOrEqual(clientIn)
  })
})

/** Waits for `cond` (bytes arriving), for at most 10 s. */
async function waitFor (cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(cond()).toBe(true)
}
