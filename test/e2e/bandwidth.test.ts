// frp's transport.bandwidthLimit through the real CLI: a proxy limited to 512KB moves about
// 512 KiB per second (both directions together, as frp counts), byte-exact, whether the client
// (bandwidthLimitMode client, frp's default) or the relay (server) applies it.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, exchange, startEchoServer } from '../helpers/services.js'

const LIMIT = 512 * 1024
/** Each way through an echo service: 2 × 640 KiB = 1.25 MiB through the bucket, about 2.5 s. */
const BYTES_EACH_WAY = 640 * 1024
/** Generous band: timers on a busy shared machine run late (slower), the burst makes it faster. */
const MIN_RATIO = 0.5
const MAX_RATIO = 1.3

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('bandwidth limit', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a 512KB proxy moves about 512 KiB/s, data intact, in client mode and in server mode', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'by-client', localPort: echo.port, remotePort: 0, extra: { transport: '{ bandwidthLimit: 512KB }' } },
        { name: 'by-relay', localPort: echo.port, remotePort: 0, extra: { transport: '{ bandwidthLimit: 512KB, bandwidthLimitMode: server }' } },
        { name: 'free', localPort: echo.port, remotePort: 0 },
      ],
    }))
    const registered = (name: string): unknown => client.handle.logs.find((l) => l.msg === 'proxy registered' && l.proxy === name)
    expect(registered('by-client')).toMatchObject({ bandwidthLimit: '512KB', bandwidthLimitMode: 'client' })
    expect(registered('by-relay')).toMatchObject({ bandwidthLimit: '512KB', bandwidthLimitMode: 'server' })
    // Only the server-mode proxy is limited on the relay.
    const listening = async (name: string): Promise<unknown> => await relay.handle.waitForLog((l) => l.msg === 'proxy listening' && l.proxy === name)
    expect(await listening('by-relay')).toMatchObject({ bandwidthLimit: '512KB' })
    expect(await listening('by-client')).not.toHaveProperty('bandwidthLimit')

    const timed = async (name: string): Promise<{ rate: number, intact: boolean }> => {
      const started = performance.now()
      const { sent, reply } = await exchange(client.ports.get(name) ?? 0, BYTES_EACH_WAY, { timeoutMs: 20_000 })
      const seconds = (performance.now() - started) / 1000
      return { rate: (sent.bytes + reply.bytes) / seconds, intact: reply.sha256 === sent.sha256 && reply.bytes === sent.bytes }
    }
    const [byClient, byRelay, free] = await Promise.all([timed('by-client'), timed('by-relay'), timed('free')])
    const kib = (r: number): string => `${(r / 1024).toFixed(0)} KiB/s`
    console.info(`limit 512 KiB/s (both directions): client mode ${kib(byClient.rate)} (${(byClient.rate / LIMIT).toFixed(2)}x), server mode ${kib(byRelay.rate)} (${(byRelay.rate / LIMIT).toFixed(2)}x), unlimited ${kib(free.rate)}`)
    for (const r of [byClient, byRelay]) {
      expect(r.intact).toBe(true)
      expect(r.rate).toBeGreaterThan(LIMIT * MIN_RATIO)
      expect(r.rate).toBeLessThan(LIMIT * MAX_RATIO)
    }
    expect(free.intact).toBe(true)
    expect(free.rate).toBeGreaterThan(LIMIT * MAX_RATIO)

    // The relay's bucket for the server-mode proxy made sources wait; the client-mode proxy has none there.
    relay.handle.kill('SIGTERM')
    expect(await exitWithin(relay.handle, 15_000)).toEqual({ code: 0, signal: null })
    const closed = relay.handle.logs.find((l) => l.msg === 'proxy closed' && l.proxy === 'by-relay')
    expect(closed).toMatchObject({ bandwidthLimit: '512KB' })
    expect(Number(closed?.bandwidthWaits)).toBeGreaterThan(0)
    expect(relay.handle.logs.some((l) => l.msg === 'proxy closed' && l.proxy === 'by-client')).toBe(false)
  })
})
