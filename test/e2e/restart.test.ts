// Crashes: a relay SIGKILLed and restarted on its port gets the client back with its proxies;
// a client SIGKILLed and restarted at once serves its port again (the relay frees the old
// session's port when its connection drops, not after the 90 s heartbeat timeout). Both take
// about a second on an idle machine; the deadlines are generous "finished at all" bounds. The
// reconnect waits themselves are checked exactly in test/unit/client-backoff.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, DEFAULT_WAIT_MS, E2E_TEST_TIMEOUT_MS, clientYaml, exitWithin, logMsg, pollUntil, startClient, startRelay, waitForProxyResult } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, probePort, startEchoServer } from '../helpers/services.js'

const RELAY_RESTART_DEADLINE_MS = 15_000
const CLIENT_RESTART_DEADLINE_MS = 15_000

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('restarts', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('re-registers the proxies and serves a visitor after the relay is SIGKILLed and restarted', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort }] }))
    expect(client.ports.get('echo')).toBe(remotePort)
    expect(await echoOnce(remotePort)).toBe(true)

    const mark = client.handle.logs.length
    relay.handle.kill('SIGKILL')
    expect(await exitWithin(relay.handle, DEFAULT_WAIT_MS)).toEqual({ code: null, signal: 'SIGKILL' })
    // No graceful go-away: the client must notice the loss by itself.
    await client.handle.waitForLog(logMsg('reconnecting'), DEFAULT_WAIT_MS, mark)
    expect(await probePort(remotePort)).toBe('refused')

    const restartedAt = performance.now()
    const again = await startRelay({ bindPort: relay.port })
    expect(again.port).toBe(relay.port)
    const result = await waitForProxyResult(client.handle, 'echo', mark, RELAY_RESTART_DEADLINE_MS)
    expect(result.ok && result.remotePort).toBe(remotePort)
    const served = await pollUntil(async () => ((await echoOnce(remotePort, undefined, 1_000)) ? true : undefined), {
      timeoutMs: Math.max(100, RELAY_RESTART_DEADLINE_MS - (performance.now() - restartedAt)),
      intervalMs: 50,
    })
    const ms = performance.now() - restartedAt
    expect(served).toBe(true)
    expect(ms).toBeLessThan(RELAY_RESTART_DEADLINE_MS)
    // Exactly one registration per proxy on the new relay (no duplicates).
    expect(again.handle.logs.filter(logMsg('proxy listening', { proxy: 'echo' }))).toHaveLength(1)
    console.info(`relay restart → visitor served in ${ms.toFixed(0)} ms`)
  })

  it('serves the same port again when the client is SIGKILLed and restarted at once', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort }] }))
    expect(await echoOnce(remotePort)).toBe(true)

    client.handle.kill('SIGKILL')
    expect(await exitWithin(client.handle, DEFAULT_WAIT_MS)).toEqual({ code: null, signal: 'SIGKILL' })
    const restartedAt = performance.now()
    const again = await startClient('', { configPath: client.configPath, waitFor: 'none' })
    const served = await pollUntil(async () => ((await echoOnce(remotePort, undefined, 1_000)) ? true : undefined), {
      timeoutMs: CLIENT_RESTART_DEADLINE_MS,
      intervalMs: 20,
    })
    const ms = performance.now() - restartedAt
    expect(served).toBe(true)
    expect(ms).toBeLessThan(CLIENT_RESTART_DEADLINE_MS)
    const result = await waitForProxyResult(again.handle, 'echo', 0)
    expect(result.ok && result.remotePort).toBe(remotePort)
    console.info(`client restart → visitor served in ${ms.toFixed(0)} ms`)
  })
})
