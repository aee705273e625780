// frp's transport.bandwidthLimit through the real CLI: a proxy limited to 512KB cannot move its
// bytes (both directions together, as frp counts) faster than the bucket allows, and moves them
// byte-exact, whether the client (bandwidthLimitMode client, frp's default) or the relay (server)
// applies it. Only that lower bound on time is checked: a busy machine makes a transfer slower,
// never faster. The exact pacing per simulated second is tested in bridge-limit.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { TokenBucket } from '../../shared/limit/token-bucket.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, exchange, startEchoServer } from '../helpers/services.js'

const LIMIT = 512 * 1024
/** Each way through an echo service: 2 × 640 KiB = 1.25 MiB through the bucket, about 2.5 s. */
const BYTES_EACH_WAY = 640 * 1024
/**
 * The least time the bucket allows for them: all but its burst and the debt its two sources (the
 * socket's reads and the stream's frames, 64 KiB at most each) may run into, at the rate.
 */
const MIN_SECONDS = (2 * BYTES_EACH_WAY - new TokenBucket(LIMIT).burst - 2 * 64 * 1024) / LIMIT

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('bandwidth limit', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a 512KB proxy moves its data intact and no faster than 512 KiB/s, in client mode and in server mode', async () => {
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

    const timed = async (name: string): Promise<{ seconds: number, intact: boolean }> => {
      const started = performance.now()
      const { sent, reply } = await exchange(client.ports.get(name) ?? 0, BYTES_EACH_WAY, { timeoutMs: 20_000 })
      const seconds = (performance.now() - started) / 1000
      return { seconds, intact: reply.sha256 === sent.sha256 && reply.bytes === sent.bytes }
    }
    const [byClient, byRelay, free] = await Promise.all([timed('by-client'), timed('by-relay'), timed('free')])
    const kib = (r: { seconds: number }): string => `${(2 * BYTES_EACH_WAY / r.seconds / 1024).toFixed(0)} KiB/s`
    console.info(`limit 512 KiB/s (both directions), at least ${MIN_SECONDS.toFixed(2)} s: client mode ${byClient.seconds.toFixed(2)} s (${kib(byClient)}), server mode ${byRelay.seconds.toFixed(2)} s (${kib(byRelay)}), unlimited ${free.seconds.toFixed(2)} s (${kib(free)})`)
    for (const r of [byClient, byRelay]) {
      expect(r.intact).toBe(true)
      expect(r.seconds).toBeGreaterThanOrEqual(MIN_SECONDS)
    }
    expect(free.intact).toBe(true)

    // The relay's bucket for the server-mode proxy made sources wait; the client-mode proxy has none there.
    relay.handle.kill('SIGTERM')
    expect(await exitWithin(relay.handle, 15_000)).toEqual({ code: 0, signal: null })
    const closed = relay.handle.logs.find((l) => l.msg === 'proxy closed' && l.proxy === 'by-relay')
    expect(closed).toMatchObject({ bandwidthLimit: '512KB' })
    expect(Number(closed?.bandwidthWaits)).toBeGreaterThan(0)
    expect(relay.handle.logs.some((l) => l.msg === 'proxy closed' && l.proxy === 'by-client')).toBe(false)
  })
})
