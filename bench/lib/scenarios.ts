// The workloads. Each runs once against a target (direct services or the tunnel's public ports)
// and returns its metrics plus the work done, so CPU time can be given per byte / per request.
import { fileURLToPath } from 'node:url'
import { bulk } from './load-bulk.js'
import { httpCloseLoad, httpLoad } from './load-http.js'
import { holdIdle } from './load-idle.js'
import { requestResponse } from './load-rr.js'
import { udpRate, udpRequestResponse } from './load-udp.js'
import { wrk } from './load-wrk.js'
import type { BenchOptions, ScenarioName } from './options.js'
import { readMemory } from './proc-stats.js'
import type { ProcessGroup } from './procs.js'
import { VHOST_HOST, type TargetPorts } from './targets.js'

const MIB = 1024 * 1024
/** Extra time a run may take past its time cap before it is failed. */
const RUN_SLACK_MS = 20_000
/**
 * Byte cap of each bulk slice of the flood scenario: far above what a slice moves, so its time
 * cap decides (a slice cut short by --mib would overlap the flood for a moment only).
 */
const FLOOD_SLICE_MAX_BYTES = 64 * 1024 * MIB
const FLOOD_JS = fileURLToPath(new URL('../flood.js', import.meta.url))
const FLOOD_READY_MS = 15_000

export interface MetricSpec {
  key: string
  label: string
  /** Unit of the stored value. */
  /** '%' values are fractions (0.98 = 98 %); 'B' bytes; 'n' a count. */
  unit: 'B/s' | 'µs' | '1/s' | '%' | 'B' | 'n'
  /** Rates: true (ratio = tunnel/direct). Latencies: false (ratio = direct/tunnel). */
  higherIsBetter: boolean
}

export interface Measurement {
  metrics: Record<string, number>
  /** Work done between the CPU snapshots, in the scenario's work unit (for CPU per unit). */
  work: number
  /** Free-form notes (e.g. wrk's socket errors). */
  notes?: string[]
}

export interface Target {
  host: string
  ports: TargetPorts
  /** Whose memory the idle scenario reads: the relay and the client (direct: the services process, twice). */
  memoryPids: { relay: number, client: number }
}

/** Settling time after the idle connections are up, before their memory is read. */
const IDLE_SETTLE_MS = 1_000

export interface Scenario {
  name: ScenarioName
  description: string
  workUnit: 'B' | 'round trip' | 'request' | 'connection'
  metrics: MetricSpec[]
  run: (target: Target) => Promise<Measurement>
}

export interface ScenarioSizes {
  seconds: number
  mib: number
  rrCount: number
  rrWarmup: number
}

export function makeScenarios (options: BenchOptions, group: ProcessGroup): Map<ScenarioName, (sizes: ScenarioSizes) => Scenario> {
  const timeoutMs = (s: ScenarioSizes): number => s.seconds * 1000 + RUN_SLACK_MS
  const bulkScenario = (name: 'tcp1' | 'tcp8', streams: number) => (s: ScenarioSizes): Scenario => ({
    name,
    description: streams === 1
      ? 'one bulk stream, 64 KiB writes with back-pressure, to a sink that replies its byte count'
      : `${streams} parallel bulk streams to the sink, aggregate`,
    workUnit: 'B',
    metrics: [{ key: name, label: streams === 1 ? 'tcp1 throughput' : `tcp${streams} aggregate`, unit: 'B/s', higherIsBetter: true }],
    run: async (t) => {
      const r = await bulk(t.host, t.ports.sink, streams, { maxBytes: s.mib * MIB, maxMs: s.seconds * 1000, timeoutMs: timeoutMs(s) })
      return { metrics: { [name]: r.bytes / r.seconds }, work: r.bytes }
    },
  })
  return new Map<ScenarioName, (sizes: ScenarioSizes) => Scenario>([
    ['tcp1', bulkScenario('tcp1', 1)],
    ['tcp8', bulkScenario('tcp8', options.streams)],
    ['rr', (s) => ({
      name: 'rr',
      description: `${options.rrSize} B request, ${options.rrSize} B reply, one connection, sequential, to an echo service`,
      workUnit: 'round trip',
      metrics: [
        { key: 'rr-p50', label: 'rr latency p50', unit: 'µs', higherIsBetter: false },
        { key: 'rr-p99', label: 'rr latency p99', unit: 'µs', higherIsBetter: false },
        { key: 'rr-rate', label: 'rr round trips', unit: '1/s', higherIsBetter: true },
      ],
      run: async (t) => {
        const r = await requestResponse(t.host, t.ports.echo, { size: options.rrSize, warmup: s.rrWarmup, maxCount: s.rrCount, maxMs: s.seconds * 1000, timeoutMs: timeoutMs(s) })
        return { metrics: { 'rr-p50': r.p50Us, 'rr-p99': r.p99Us, 'rr-rate': r.count / r.seconds }, work: r.total }
      },
    })],
    ['http', (s) => ({
      name: 'http',
      description: `keep-alive GET to a node:http server, ${options.httpConnections} connections, one request in flight each (raw-socket generator)`,
      workUnit: 'request',
      metrics: [{ key: 'http', label: 'http keep-alive', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const warmupMs = Math.min(500, s.seconds * 200)
        const r = await httpLoad(t.host, t.ports.http, { connections: options.httpConnections, warmupMs, maxMs: s.seconds * 1000, maxRequests: 50_000_000, timeoutMs: timeoutMs(s) })
        return { metrics: { http: r.count / r.seconds }, work: r.total }
      },
    })],
    ['vhost', (s) => ({
      name: 'vhost',
      description: `the http scenario by name (Host: ${VHOST_HOST}): direct to the service, or through the relay's vhostHTTPPort (an http proxy: the relay parses, routes and forwards every request)`,
      workUnit: 'request',
      metrics: [{ key: 'vhost', label: 'http via vhost', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const warmupMs = Math.min(500, s.seconds * 200)
        const r = await httpLoad(t.host, t.ports.vhost, { connections: options.httpConnections, warmupMs, maxMs: s.seconds * 1000, maxRequests: 50_000_000, timeoutMs: timeoutMs(s), hostHeader: VHOST_HOST })
        return { metrics: { vhost: r.count / r.seconds }, work: r.total }
      },
    })],
    ['httpclose', (s) => ({
      name: 'httpclose',
      description: `GET with Connection: close, a new connection per request, ${options.closeConnections} at once (raw-socket generator; the peers' http-close)`,
      workUnit: 'request',
      metrics: [{ key: 'httpclose', label: 'http, new connection each', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const warmupMs = Math.min(500, s.seconds * 200)
        const r = await httpCloseLoad(t.host, t.ports.http, { connections: options.closeConnections, warmupMs, maxMs: s.seconds * 1000, maxRequests: 50_000_000, timeoutMs: timeoutMs(s) })
        return { metrics: { httpclose: r.count / r.seconds }, work: r.total }
      },
    })],
    ['wrkvhost', (s) => ({
      name: 'wrkvhost',
      description: `wrk -t2 -c${options.httpConnections} -H 'Host: ${VHOST_HOST}' through the vhost port (direct: the same server by that name)`,
      workUnit: 'request',
      metrics: [{ key: 'wrkvhost', label: 'http via vhost (wrk)', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const r = await wrk(group, t.host, t.ports.vhost, { connections: options.httpConnections, threads: 2, seconds: s.seconds, headers: [`Host: ${VHOST_HOST}`] })
        return { metrics: { wrkvhost: r.requestsPerSecond }, work: r.requests, ...(r.socketErrors === undefined ? {} : { notes: [`wrk socket errors: ${r.socketErrors}`] }) }
      },
    })],
    ['wrkclose', (s) => ({
      name: 'wrkclose',
      description: `wrk -t2 -c${options.closeConnections} -H 'Connection: close' (a new tunnelled connection per request)`,
      workUnit: 'request',
      metrics: [{ key: 'wrkclose', label: 'http close (wrk)', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const r = await wrk(group, t.host, t.ports.http, { connections: options.closeConnections, threads: 2, seconds: s.seconds, headers: ['Connection: close'] })
        return { metrics: { wrkclose: r.requestsPerSecond }, work: r.requests, ...(r.socketErrors === undefined ? {} : { notes: [`wrk socket errors: ${r.socketErrors}`] }) }
      },
    })],
    ['idle', (s) => ({
      name: 'idle',
      description: `${options.idleStreams.toLocaleString('en-US')} connections to the echo held open at once (one byte echoed each, then idle), from loopback sources of at most 1,000 each: ` +
        'how many are held, and the RSS they add per connection to relay and client (direct: to the echo service)',
      workUnit: 'connection',
      metrics: [
        { key: 'idle-held', label: 'idle connections held', unit: 'n', higherIsBetter: true },
        { key: 'idle-relay', label: 'relay RSS per idle stream', unit: 'B', higherIsBetter: false },
        { key: 'idle-client', label: 'client RSS per idle stream', unit: 'B', higherIsBetter: false },
      ],
      run: async (t) => {
        const before = { relay: readMemory(t.memoryPids.relay).rssBytes, client: readMemory(t.memoryPids.client).rssBytes }
        const hold = await holdIdle(t.host, t.ports.echo, { count: options.idleStreams, timeoutMs: timeoutMs(s) + options.idleStreams * 5 })
        try {
          await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS))
          const after = { relay: readMemory(t.memoryPids.relay).rssBytes, client: readMemory(t.memoryPids.client).rssBytes }
          const per = (k: 'relay' | 'client'): number => Math.max(0, after[k] - before[k]) / Math.max(1, hold.held)
          const notes = hold.failed > 0 ? [`${hold.failed} of ${options.idleStreams} idle connections failed (refused, reset or silent)`] : []
          return { metrics: { 'idle-held': hold.held, 'idle-relay': per('relay'), 'idle-client': per('client') }, work: options.idleStreams, notes }
        } finally {
          await hold.release()
        }
      },
    })],
    ['udp', (s) => ({
      name: 'udp',
      description: `${options.udpSize} B datagrams offered at ${options.udpRate.toLocaleString('en-US')}/s (${(options.udpRate * options.udpSize * 8 / 1e6).toFixed(0)} Mbit/s) to a sink that counts what arrives`,
      workUnit: 'B',
      metrics: [
        { key: 'udp', label: 'udp received', unit: 'B/s', higherIsBetter: true },
        { key: 'udp-delivered', label: 'udp delivered (1 - loss)', unit: '%', higherIsBetter: true },
      ],
      run: async (t) => {
        const r = await udpRate(t.host, t.ports.udpSink, { ratePerSecond: options.udpRate, size: options.udpSize, maxMs: s.seconds * 1000, timeoutMs: timeoutMs(s) })
        const notes = r.skipped > 0 ? [`the generator could not offer ${r.skipped} of ${r.sent + r.skipped} datagrams in time (offered ${Math.round(r.sent / r.seconds).toLocaleString('en-US')}/s)`] : []
        return { metrics: { udp: r.receivedBytes / r.seconds, 'udp-delivered': r.received / Math.max(1, r.sent) }, work: r.receivedBytes, notes }
      },
    })],
    ['udprr', (s) => ({
      name: 'udprr',
      description: `${options.rrSize} B datagram to a udp echo and back, sequential, one flow`,
      workUnit: 'round trip',
      metrics: [
        { key: 'udprr-p50', label: 'udp rr latency p50', unit: 'µs', higherIsBetter: false },
        { key: 'udprr-p99', label: 'udp rr latency p99', unit: 'µs', higherIsBetter: false },
      ],
      run: async (t) => {
        const r = await udpRequestResponse(t.host, t.ports.udpEcho, { size: options.rrSize, warmup: s.rrWarmup, maxCount: s.rrCount, maxMs: s.seconds * 1000, timeoutMs: timeoutMs(s) })
        return { metrics: { 'udprr-p50': r.p50Us, 'udprr-p99': r.p99Us }, work: r.total, ...(r.lost > 0 ? { notes: [`${r.lost} round trips lost (resent after 200 ms)`] } : {}) }
      },
    })],
    ['flood', (s) => ({
      name: 'flood',
      description: `tcp1's bulk stream alone, then while ${options.udpSize} B datagrams are offered at ${options.udpRate.toLocaleString('en-US')}/s to the udp sink, ` +
        'then alone again (each slice for the time cap): TCP throughput during the flood over the mean of the two solo slices of the same run',
      workUnit: 'B',
      metrics: [
        { key: 'flood-share', label: 'tcp share during a udp flood', unit: '%', higherIsBetter: true },
        { key: 'flood-tcp', label: 'tcp during a udp flood', unit: 'B/s', higherIsBetter: true },
      ],
      run: async (t) => {
        const limits = { maxBytes: FLOOD_SLICE_MAX_BYTES, maxMs: s.seconds * 1000, timeoutMs: timeoutMs(s) }
        const before = await bulk(t.host, t.ports.sink, 1, limits)
        // The generator is its own process, started and connected before the slice begins.
        const flood = group.spawn('flood', process.execPath, [FLOOD_JS, t.host, String(t.ports.udpSink), String(options.udpRate), String(options.udpSize), String(s.seconds * 1000)], { stdinPipe: true })
        let offered: Record<string, unknown>
        let during: Awaited<ReturnType<typeof bulk>>
        try {
          await flood.waitFor((json) => (json?.['msg'] === 'flood ready' ? true : undefined), FLOOD_READY_MS, 'the "flood ready" line')
          const done = flood.waitFor((json) => (json?.['msg'] === 'flood done' ? json : undefined), timeoutMs(s), 'the "flood done" line')
          flood.process.stdin?.write('go\n')
          during = await bulk(t.host, t.ports.sink, 1, limits)
          offered = await done
        } finally {
          await group.stop(flood, 1_000)
        }
        const after = await bulk(t.host, t.ports.sink, 1, limits)
        const rate = (r: { bytes: number, seconds: number }): number => r.bytes / r.seconds
        const alone = (rate(before) + rate(after)) / 2
        const sent = Number(offered['sent'])
        const skipped = Number(offered['skipped'])
        const notes = skipped > 0 ? [`the flood generator could not offer ${skipped} of ${sent + skipped} datagrams in time (offered ${Math.round(sent / Number(offered['seconds'])).toLocaleString('en-US')}/s)`] : []
        return { metrics: { 'flood-share': rate(during) / alone, 'flood-tcp': rate(during) }, work: before.bytes + during.bytes + after.bytes, notes }
      },
    })],
    ['wrk', (s) => ({
      name: 'wrk',
      description: `wrk -t2 -c${options.httpConnections} against the same node:http server`,
      workUnit: 'request',
      metrics: [{ key: 'wrk', label: 'http keep-alive (wrk)', unit: '1/s', higherIsBetter: true }],
      run: async (t) => {
        const r = await wrk(group, t.host, t.ports.http, { connections: options.httpConnections, threads: 2, seconds: s.seconds })
        return { metrics: { wrk: r.requestsPerSecond }, work: r.requests, ...(r.socketErrors === undefined ? {} : { notes: [`wrk socket errors: ${r.socketErrors}`] }) }
      },
    })],
  ])
}
