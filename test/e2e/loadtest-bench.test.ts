// `tunnel bench` against `tunnel echo` (and a few misbehaving services) on loopback, through the
// real CLI: counts and percentiles on a known workload, coordinated omission at a fixed rate,
// error kinds, the duration and count bounds, thresholds and exit codes. Every report is
// validated against the documented shape (helpers/loadtest.ts).
import { spawn } from 'node:child_process'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, spawnCli, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, getFreePort, LOOPBACK, startServer } from '../helpers/services.js'
import { bench, startEcho } from '../helpers/loadtest.js'

// Latency is checked from below only: a fixed service delay is a floor a busy machine can only
// raise. Upper bounds on latency or elapsed time, and throughput floors, would measure the
// machine (bench/ measures speed; docs/bench.md).
/** Node's timers may fire up to about a millisecond early against performance.now(). */
const EARLY_MS = 1.5
/** "Finished at all" for a bench process that exits on its own (well under a second when idle). */
const EXIT_DEADLINE_MS = 15_000
const pythonPids = new Set<number>()

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  for (const pid of pythonPids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  pythonPids.clear()
})

const target = (port: number): string[] => ['--target', `${LOOPBACK}:${port}`]

describe('tunnel bench tcp', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('counts every request of a count-bounded run and puts p50 at the service\'s fixed delay', async () => {
    const echo = await startEcho(['--delay-ms', '40'])
    const { code, report } = await bench(['tcp', ...target(echo.tcpPort), '-c', '4', '-n', '60', '-d', '20'])
    expect(code).toBe(0)
    expect(report.stoppedBy).toBe('count')
    expect(report.counts).toEqual({ issued: 60, ok: 60, failed: 0, abandoned: 0 })
    expect(report.latencyMs?.count).toBe(60)
    expect(report.latencyMs?.p50).toBeGreaterThanOrEqual(40 - EARLY_MS)
    expect(report.latencyMs?.min).toBeGreaterThanOrEqual(40 - EARLY_MS)
    expect(report.throughput.bytesSent).toBe(60 * 64)
    expect(report.throughput.bytesReceived).toBe(60 * 64)
    // 4 connections, each request at least 40 ms: at most 100 requests per second (a ceiling a busy machine only lowers).
    expect(report.throughput.opsPerSecond).toBeLessThanOrEqual(4 * 1000 / (40 - EARLY_MS))
    expect(report.connectMs?.count).toBe(4)
  })

  it('stops at its duration, not at its count, and accounts for every request it issued', async () => {
    const echo = await startEcho()
    const { code, report } = await bench(['tcp', ...target(echo.tcpPort), '-c', '2', '-d', '1'])
    expect(code).toBe(0)
    expect(report.stoppedBy).toBe('duration')
    expect(report.settings.durationS).toBe(1)
    expect(report.elapsedS).toBeGreaterThanOrEqual(0.99)
    expect(report.counts.ok).toBeGreaterThan(0)
    expect(report.counts.issued).toBeLessThan(report.settings.maxOps)
    expect(report.counts.issued).toBe(report.counts.ok + report.counts.failed + report.counts.abandoned)
  })

  it('at a fixed rate measures from the scheduled send time (coordinated omission), unlike a closed loop', async () => {
    const echo = await startEcho(['--delay-ms', '100'])
    // One connection, 100 ms per reply, 20 requests asked for per second: the service serves 10/s,
    // so the k-th request waits about 50·k ms before it can even be sent.
    const open = await bench(['tcp', ...target(echo.tcpPort), '-c', '1', '--rate', '20', '-d', '1.5'])
    const closed = await bench(['tcp', ...target(echo.tcpPort), '-c', '1', '-d', '1.5'])
    // A closed loop measures from the actual send: no schedule, no lag, the service's delay.
    expect(closed.report.settings.rate).toBeNull()
    expect(closed.report.sendLagMs).toBeNull()
    expect(closed.report.latencyMs?.p50).toBeGreaterThanOrEqual(100 - EARLY_MS)
    // The open loop counts the wait behind the stalled service (floors: a busy machine only adds).
    expect(open.report.latencyMs?.p50).toBeGreaterThan(200)
    expect(open.report.latencyMs?.p99).toBeGreaterThan(400)
    expect(open.report.settings.rate).toBe(20)
    expect(open.report.sendLagMs).not.toBeNull()
    expect(open.report.findings.some((f) => f.includes('cannot keep up'))).toBe(true)
  })

  it('keeps a fixed rate against a fast service: never more than rate × duration, and a count takes count / rate at least', async () => {
    const echo = await startEcho()
    const { report } = await bench(['tcp', ...target(echo.tcpPort), '-c', '4', '--rate', '200', '-d', '1'])
    expect(report.stoppedBy).toBe('duration')
    expect(report.counts.issued).toBeGreaterThan(0)
    expect(report.counts.issued).toBeLessThanOrEqual(200)
    expect(report.counts.failed).toBe(0)
    // 100 requests at 200/s: the last is due 495 ms after the first, however fast the machine.
    const counted = await bench(['tcp', ...target(echo.tcpPort), '-c', '4', '--rate', '200', '-n', '100', '-d', '30'])
    expect(counted.report.stoppedBy).toBe('count')
    expect(counted.report.counts).toEqual({ issued: 100, ok: 100, failed: 0, abandoned: 0 })
    expect(counted.report.elapsedS).toBeGreaterThanOrEqual(99 / 200 - EARLY_MS / 1000)
  })

  it('classifies a closed port as refused, and exits 3 when --max-error-rate is exceeded', async () => {
    const port = await getFreePort()
    const plain = await bench(['tcp', ...target(port), '-c', '2', '-n', '50'])
    expect(plain.code).toBe(0)
    expect(plain.report.errors.refused).toBe(50)
    expect(plain.report.counts.ok).toBe(0)
    expect(plain.report.errorExamples.refused).toBe('ECONNREFUSED')
    const gated = await bench(['tcp', ...target(port), '-n', '20', '--max-error-rate', '0.1'])
    expect(gated.code).toBe(3)
    expect(gated.report.thresholds.passed).toBe(false)
  })

  it('classifies a service that resets every connection as reset', async () => {
    const srv = await startServer((socket) => { socket.resetAndDestroy() })
    const { report } = await bench(['tcp', ...target(srv.port), '-c', '2', '-n', '40'])
    expect(report.errors.reset).toBeGreaterThan(0)
    expect(report.errors.reset + report.errors.closed).toBe(40)
    expect(report.counts.ok).toBe(0)
  })

  it('classifies a silent service (accepts, never answers) as timeout', async () => {
    const srv = await startServer((socket) => { socket.resume() })
    const { report } = await bench(['tcp', ...target(srv.port), '-c', '3', '-n', '6', '--timeout-ms', '200'])
    expect(report.errors.timeout).toBe(6)
    expect(report.errorExamples.timeout).toContain('200 ms')
    expect(report.connectTimeouts).toBe(0)
  })

  it('shows a full accept queue as connects of 1 s or more (SYN retransmits)', async (ctx) => {
    // A listener with backlog 1 that accepts one connection every 250 ms: the queue overflows.
    const script = 'import socket,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(1)\nprint(s.getsockname()[1],flush=True)\nend=time.time()+20\nwhile time.time()<end:\n  time.sleep(0.25);c,_=s.accept();c.close()\n'
    const py = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] })
    const started = await new Promise<number | undefined>((resolve) => {
      py.once('error', () => { resolve(undefined) })
      createInterface({ input: py.stdout }).once('line', (l) => { resolve(Number(l)) })
    })
    if (py.pid !== undefined) pythonPids.add(py.pid)
    if (started === undefined) {
      ctx.skip('python3 is not installed')
      return
    }
    const { report } = await bench(['tcp', ...target(started), '--mode', 'connect', '--size', '0', '-c', '6', '-d', '2.5', '--timeout-ms', '2000'])
    expect(report.slowConnects + report.connectTimeouts).toBeGreaterThan(0)
    expect(report.connectMs?.max).toBeGreaterThanOrEqual(1000)
    expect(report.findings.some((f) => f.includes('accept queue'))).toBe(true)
  })

  it('connect mode opens and closes connections with one round trip each', async () => {
    const echo = await startEcho()
    const { report } = await bench(['tcp', ...target(echo.tcpPort), '--mode', 'connect', '-c', '4', '-n', '200'])
    expect(report.counts).toEqual({ issued: 200, ok: 200, failed: 0, abandoned: 0 })
    expect(report.connectMs?.count).toBe(200)
    expect(report.throughput.bytesReceived).toBe(200)
  })

  it('bulk up to a sink: the sink\'s byte count verifies every stream', async () => {
    const sink = await startEcho(['--mode', 'sink', '--no-udp'])
    const { report } = await bench(['tcp', ...target(sink.tcpPort), '--mode', 'bulk', '--streams', '3', '-d', '0.5'])
    expect(report.counts.ok).toBe(3)
    expect(report.bulk?.streams).toHaveLength(3)
    expect(report.bulk?.streams.every((s) => s.verified && s.bytes > 0)).toBe(true)
    expect(report.bulk?.bitsPerSecond).toBeGreaterThan(0)
    expect(report.latencyMs).toBeNull()
  })

  it('bulk down from a source stops at --bytes', async () => {
    const source = await startEcho(['--mode', 'source', '--no-udp'])
    const { report } = await bench(['tcp', ...target(source.tcpPort), '--mode', 'bulk', '--direction', 'down', '--bytes', '3000000', '-d', '5'])
    expect(report.counts.ok).toBe(1)
    // It stopped at --bytes (one read past it at most), not at the 5 s duration.
    expect(report.bulk?.streams[0]?.bytes).toBeGreaterThanOrEqual(3_000_000)
    expect(report.bulk?.streams[0]?.bytes).toBeLessThanOrEqual(3_000_000 + 64 * 1024)
    expect(report.stoppedBy).not.toBe('duration')
  })

  it('exits 3 when --max-p99-ms is exceeded and 0 when it is not', async () => {
    const echo = await startEcho(['--delay-ms', '30'])
    const over = await bench(['tcp', ...target(echo.tcpPort), '-n', '20', '--max-p99-ms', '5'])
    expect(over.code).toBe(3)
    expect(over.report.thresholds.violations[0]).toContain('--max-p99-ms')
    const under = await bench(['tcp', ...target(echo.tcpPort), '-n', '20', '--max-p99-ms', '60000', '--max-error-rate', '0'])
    expect(under.code).toBe(0)
    expect(under.report.thresholds.passed).toBe(true)
  })

  it('exits 2 on usage errors: a bad target, a bound above its cap, a mode of another protocol', async () => {
    for (const args of [['tcp', '--target', 'nohost'], ['tcp', '--target', '127.0.0.1:1', '--duration', '99999'], ['udp', '--target', '127.0.0.1:1', '--mode', 'bulk'], ['tcp']]) {
      const h = spawnCli(['bench', ...args])
      expect(await exitWithin(h, EXIT_DEADLINE_MS)).toEqual({ code: 2, signal: null })
      expect(h.stdout()).toBe('')
    }
  })

  it('prints the partial report and exits 130 on SIGINT', async () => {
    const echo = await startEcho()
    const h = spawnCli(['bench', 'tcp', ...target(echo.tcpPort), '-d', '30', '--json', '--progress', 'json', '--log-format', 'json'])
    await h.waitForLog((l) => l.msg === 'bench progress')
    h.kill('SIGINT')
    expect(await exitWithin(h, EXIT_DEADLINE_MS)).toEqual({ code: 130, signal: null })
    const report = JSON.parse(h.stdout()) as { stoppedBy: string, counts: { ok: number } }
    expect(report.stoppedBy).toBe('aborted')
    expect(report.counts.ok).toBeGreaterThan(0)
  })
})

describe('tunnel bench udp', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('counts sent and echoed datagrams, and latency follows the echo\'s delay', async () => {
    const echo = await startEcho(['--delay-ms', '30'])
    const { report } = await bench(['udp', ...target(echo.udpPort), '--rate', '500', '-n', '200', '-c', '2', '--size', '300'])
    const u = report.udp
    expect(report.stoppedBy).toBe('count')
    expect(u?.sent).toBe(200)
    expect(u?.received).toBeGreaterThanOrEqual(195) // loopback: loss only under extreme load
    expect(u?.lost).toBe((u?.sent ?? 0) - (u?.received ?? 0))
    expect(u?.duplicates).toBe(0)
    expect(report.errors.timeout).toBe(u?.lost)
    expect(report.latencyMs?.p50).toBeGreaterThanOrEqual(30 - EARLY_MS)
    expect(report.throughput.bytesSent).toBe(200 * 300)
  })

  it('reports a closed UDP port as refused (ICMP port unreachable)', async () => {
    const port = await getFreePort()
    const { report } = await bench(['udp', ...target(port), '--rate', '200', '-n', '50'])
    expect(report.errors.refused).toBeGreaterThan(0)
    expect(report.counts.ok).toBe(0)
  })
})

describe('tunnel bench http', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('counts keep-alive GETs, and 5xx answers as status errors', async () => {
    const server = createHttpServer((req, res) => {
      if (req.url === '/fail') res.writeHead(503).end('no')
      else setTimeout(() => { res.end('hello') }, 20)
    })
    await new Promise<void>((resolve) => { server.listen(0, LOOPBACK, resolve) })
    const port = (server.address() as AddressInfo).port
    try {
      const ok = await bench(['http', ...target(port), '-c', '4', '-n', '80'])
      expect(ok.report.counts).toEqual({ issued: 80, ok: 80, failed: 0, abandoned: 0 })
      expect(ok.report.connectMs?.count).toBe(4)
      expect(ok.report.latencyMs?.p50).toBeGreaterThanOrEqual(20 - EARLY_MS)
      const closing = await bench(['http', ...target(port), '-c', '2', '-n', '20', '--no-keep-alive'])
      expect(closing.report.counts.ok).toBe(20)
      expect(closing.report.connectMs?.count).toBe(20)
      const failing = await bench(['http', ...target(port), '-n', '10', '--path', '/fail'])
      expect(failing.report.errors.status).toBe(10)
      expect(failing.report.errorExamples.status).toBe('HTTP 503')
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})

describe('tunnel bench through the tunnel', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('loads a mapped port end to end: tunnel echo behind a client, bench against the relay', async () => {
    const echo = await startEcho(['--no-udp'])
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.tcpPort, remotePort: 0 }] }))
    const port = client.ports.get('echo') ?? 0
    const rr = await bench(['tcp', ...target(port), '-c', '8', '-n', '400'])
    expect(rr.report.counts).toEqual({ issued: 400, ok: 400, failed: 0, abandoned: 0 })
    const conn = await bench(['tcp', ...target(port), '--mode', 'connect', '-c', '4', '-n', '100'])
    expect(conn.report.counts.ok).toBe(100)
    expect(conn.report.slowConnects).toBe(0)
  })
})
