// A UDP flood toward a slow local service while a TCP stream of the same client moves bulk data:
// datagrams are dropped and counted (never queued without bound), relay and client memory stay
// bounded, the session stays up, and the TCP stream keeps at least half of its solo throughput.
// Solo and flooded slices alternate (solo, flood, solo, flood, ..., solo) and each flooded slice is
// compared with the solo slices on either side, so background load on the machine hits both alike.
import { createServer, type Server, type Socket } from 'node:net'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeUdp, FLOOD_SCRIPT, SLOW_SERVICE_SCRIPT, spawnScript } from '../helpers/udp.js'

const MB = 1024 * 1024
const DATAGRAMS = 200_000
const DATAGRAM_BYTES = 1_200
const ROUNDS = 5
/** 40 datagrams per ms = 40,000/s ≈ 384 Mbit/s offered: the 200,000 take 5 s of flood time. */
const RATE_PER_MS = 40
const SLICE_MS = 700
const SETTLE_MS = 150
const CHUNK = Buffer.alloc(64 * 1024, 0x54)
/** RSS growth over the pre-flood baseline allowed per process. */
const MAX_RSS_GROWTH_BYTES = 100 * MB
const RSS_SAMPLE_MS = 200

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] ?? NaN : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

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

// A throughput ratio on a 2-core machine: when something outside the suite loads the CPUs during
// the measurement, the relay's one thread is the bottleneck and the ratio sags (0.4-0.5 measured
// with another bench running; 0.65-0.8 on a quiet machine). One retry absorbs such an episode; a
// real regression (UDP starving TCP) fails both attempts.
describe('udp flood', { timeout: E2E_TEST_TIMEOUT_MS, retry: 1 }, () => {
  it('drops and counts datagrams, keeps memory bounded and the session up, and leaves TCP at least half its throughput', async () => {
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
    await sleep(300) // windows grow, buffers settle
    const baseline = { relay: relay.handle.rss(), client: client.handle.rss() }
    const maxRss = { ...baseline }
    const sampler = setInterval(() => {
      maxRss.relay = Math.max(maxRss.relay, relay.handle.rss())
      maxRss.client = Math.max(maxRss.client, client.handle.rss())
    }, RSS_SAMPLE_MS)
    const slice = async (): Promise<number> => {
      const b0 = tcpSink.bytes()
      const t0 = performance.now()
      await sleep(SLICE_MS)
      return (tcpSink.bytes() - b0) / ((performance.now() - t0) / 1000)
    }
    const solo: number[] = []
    const flooded: number[] = []
    const started = performance.now()
    let floodSent = 0
    for (let round = 0; round < ROUNDS; round++) {
      solo.push(await slice())
      const burstDone = flood.waitForLine((l) => l.sent === (round + 1) * (DATAGRAMS / ROUNDS), 15_000)
      flood.command(`send ${DATAGRAMS / ROUNDS}`)
      await sleep(SETTLE_MS)
      flooded.push(await slice())
      floodSent = Number((await burstDone).sent)
      await sleep(SETTLE_MS)
    }
    solo.push(await slice())
    const floodMs = performance.now() - started
    clearInterval(sampler)
    const tcp = await writer.stop()

    const mbps = (xs: number[]): string => xs.map((x) => (x / 1e6).toFixed(0)).join(' ')
    const ratios = flooded.map((f, i) => f / (((solo[i] ?? NaN) + (solo[i + 1] ?? NaN)) / 2))
    console.info(`TCP MB/s solo [${mbps(solo)}] during flood [${mbps(flooded)}]; ratios [${ratios.map((r) => r.toFixed(2)).join(' ')}]; ` +
      `${floodSent} datagrams in ${ROUNDS} bursts (${DATAGRAMS / RATE_PER_MS / 1000} s of flooding within ${(floodMs / 1000).toFixed(1)} s); RSS relay ${(baseline.relay / MB).toFixed(0)} → max ${(maxRss.relay / MB).toFixed(0)} MB, client ${(baseline.client / MB).toFixed(0)} → max ${(maxRss.client / MB).toFixed(0)} MB`)

    // The TCP stream was byte-exact and kept at least half of its solo throughput.
    expect(tcp.counted).toBe(tcp.sent)
    expect(median(ratios)).toBeGreaterThanOrEqual(0.5)
    // Memory stayed bounded.
    expect(maxRss.relay - baseline.relay).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    expect(maxRss.client - baseline.client).toBeLessThan(MAX_RSS_GROWTH_BYTES)
    // The session never dropped.
    expect(floodSent).toBe(DATAGRAMS)
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting' || l.msg === 'lost the relay: reconnecting')).toBe(false)
    expect(relay.handle.logs.some((l) => l.msg === 'client session closed')).toBe(false)

    // A graceful stop makes both sides log their totals; the drops were counted.
    const relayFrom = relay.handle.logs.length
    client.handle.kill('SIGTERM')
    const relaySummary = await relay.handle.waitForLog(logMsg('udp proxy closed', { proxy: 'flood' }), 10_000, relayFrom)
    const clientSummary = await client.handle.waitForLog(logMsg('udp proxy closed', { proxy: 'flood' }))
    slow.command('count')
    const serviceGot = Number((await slow.waitForLine((l) => typeof l.received === 'number')).received)
    const drops = (line: Record<string, unknown>): number => Object.values(line.drops as Record<string, number>).reduce((a, b) => a + b, 0)
    const relayIn = Number(relaySummary.datagramsIn)
    const clientIn = Number(clientSummary.datagramsIn)
    console.info(`flood: sent ${floodSent}, relay forwarded ${relayIn} dropped ${drops(relaySummary)} ${JSON.stringify(relaySummary.drops)}, ` +
      `client delivered ${clientIn} dropped ${drops(clientSummary)} ${JSON.stringify(clientSummary.drops)}, slow service read ${serviceGot}`)
    expect(drops(relaySummary) + drops(clientSummary)).toBeGreaterThan(0)
    // Every datagram is accounted for: forwarded, or dropped (by us or, counted, by the kernel).
    expect(relayIn + drops(relaySummary)).toBe(floodSent)
    expect(clientIn).toBeLessThanOrEqual(relayIn)
    expect(serviceGot).toBeLessThanOrEqual(clientIn)
  })
})
