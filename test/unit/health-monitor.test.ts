// The client's health check of a proxy's service (frp's healthCheck), on fake timers: the state
// machine, the loop (one check at a time, every interval, each bounded by the timeout), and the
// checks themselves against real loopback services.
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { HealthMonitor, httpCheck, nextHealth, tcpCheck, type HealthState } from '../../client/health/index.js'
import { silentLogger } from '../../shared/log.js'
import { closeServices, getFreePort, startEchoServer } from '../helpers/services.js'

describe('health state machine', () => {
  it('is healthy after one pass, and unhealthy after maxFailed failures in a row', () => {
    let s = nextHealth({ state: 'starting', failures: 0 }, true, 3)
    expect(s).toEqual({ state: 'healthy', failures: 0 })
    s = nextHealth(s, false, 3)
    s = nextHealth(s, false, 3)
    expect(s).toEqual({ state: 'healthy', failures: 2 })
    s = nextHealth(s, false, 3)
    expect(s).toEqual({ state: 'unhealthy', failures: 3 })
    s = nextHealth(s, false, 3)
    expect(s).toEqual({ state: 'unhealthy', failures: 4 })
    expect(nextHealth(s, true, 3)).toEqual({ state: 'healthy', failures: 0 })
  })

  it('counts failures in a row: a pass in between starts the count again', () => {
    let s = nextHealth({ state: 'healthy', failures: 0 }, false, 2)
    s = nextHealth(s, true, 2)
    s = nextHealth(s, false, 2)
    expect(s.state).toBe('healthy')
  })

  it('takes a starting proxy straight to unhealthy on a failure (it was never served)', () => {
    expect(nextHealth({ state: 'starting', failures: 0 }, false, 5)).toEqual({ state: 'unhealthy', failures: 1 })
  })
})

describe('health monitor loop', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  function monitor (results: Array<boolean | 'hang'>, maxFailed = 2): { m: HealthMonitor, changes: HealthState[], calls: () => number, running: () => number } {
    const changes: HealthState[] = []
    let calls = 0
    let running = 0
    let maxRunning = 0
    const m = new HealthMonitor({
      intervalMs: 10_000,
      timeoutMs: 3_000,
      maxFailed,
      log: silentLogger(),
      onChange: (state) => { changes.push(state) },
      check: async (signal) => {
        const r = results[calls++] ?? true
        running++
        maxRunning = Math.max(maxRunning, running)
        try {
          if (r === 'hang') await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('aborted')) }) })
          else if (!r) throw new Error('refused')
        } finally {
          running--
        }
      },
    })
    return { m, changes, calls: () => calls, running: () => maxRunning }
  }

  it('checks at once, then every interval, and reports each change of state once', async () => {
    const t = monitor([true, true, false, false, false, true])
    t.m.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(t.changes).toEqual(['healthy'])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(t.calls()).toBe(2)
    await vi.advanceTimersByTimeAsync(10_000) // first failure: still healthy (maxFailed 2)
    expect(t.changes).toEqual(['healthy'])
    expect(t.m.failures).toBe(1)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(t.changes).toEqual(['healthy', 'unhealthy'])
    expect(t.m.healthy).toBe(false)
    await vi.advanceTimersByTimeAsync(10_000) // still failing: no new report
    await vi.advanceTimersByTimeAsync(10_000)
    expect(t.changes).toEqual(['healthy', 'unhealthy', 'healthy'])
    expect(t.calls()).toBe(6)
    expect(t.m.checks).toBe(6)
    t.m.stop()
  })

  it('counts a check that does not finish within the timeout as a failure, and never runs two at once', async () => {
    const t = monitor([true, 'hang', 'hang'], 2)
    t.m.start()
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(10_000) // the hanging check starts
    expect(t.m.failures).toBe(0)
    await vi.advanceTimersByTimeAsync(3_000) // its timeout
    expect(t.m.failures).toBe(1)
    expect(t.m.lastFailure).toMatch(/no answer within 3000 ms/)
    await vi.advanceTimersByTimeAsync(13_000)
    expect(t.changes).toEqual(['healthy', 'unhealthy'])
    expect(t.running()).toBe(1)
    t.m.stop()
  })

  it('stops: no check starts afterwards, one in flight is aborted and reports nothing', async () => {
    const t = monitor(['hang'])
    t.m.start()
    await vi.advanceTimersByTimeAsync(0)
    t.m.stop()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(t.calls()).toBe(1)
    expect(t.changes).toEqual([])
    expect(t.m.state).toBe('starting')
  })
})

describe('health checks against loopback services', () => {
  afterEach(async () => { await closeServices() })

  it('tcp: passes while something listens, fails when nothing does', async () => {
    const echo = await startEchoServer()
    await expect(tcpCheck('127.0.0.1', echo.port)(new AbortController().signal)).resolves.toBeUndefined()
    await expect(tcpCheck('127.0.0.1', await getFreePort())(new AbortController().signal)).rejects.toThrow(/ECONNREFUSED/)
  })

  it('http: passes on 2xx only, sends the path and headers (Host included)', async () => {
    const seen: Array<{ url: string | undefined, host: string | undefined, token: string | undefined }> = []
    const server = createHttpServer((req, res) => {
      seen.push({ url: req.url, host: req.headers.host, token: req.headers['x-token'] as string | undefined })
      res.writeHead(req.url === '/healthz' ? 204 : 503).end()
    })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    const port = (server.address() as AddressInfo).port
    try {
      await expect(httpCheck('127.0.0.1', port, '/healthz', [{ name: 'Host', value: 'app.test' }, { name: 'X-Token', value: 't' }])(new AbortController().signal)).resolves.toBeUndefined()
      await expect(httpCheck('127.0.0.1', port, 'broken', [])(new AbortController().signal)).rejects.toThrow(/answered 503, not 2xx/)
      expect(seen).toEqual([{ url: '/healthz', host: 'app.test', token: 't' }, { url: '/broken', host: `127.0.0.1:${port}`, token: undefined }])
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
