// Who may open what: a wrong token exits 2 and opens nothing; ports outside allowPorts or
// already taken are refused per proxy while siblings work; remotePort 0; a refused local dial.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, clientYaml, exitWithin, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, connectTo, echoOnce, getFreePort, holdPort, probePort, readAll, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('authentication and port policy', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('exits 2 with TUN_AUTH_REFUSED on a wrong token and opens no proxy port', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay()
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      token: 'not-the-relay-token',
      proxies: [{ name: 'echo', localPort: echo.port, remotePort }],
    }), { waitFor: 'none' })
    expect(await exitWithin(client.handle, 10_000)).toEqual({ code: 2, signal: null })
    expect(client.handle.stderr()).toContain('TUN_AUTH_REFUSED')
    expect(await probePort(remotePort)).toBe('refused')
    expect(relay.handle.logs.some((l) => l.msg === 'proxy listening')).toBe(false)
    expect(relay.handle.logs.some((l) => l.msg === 'client logged in')).toBe(false)
    // The token never reaches the logs of either side.
    expect(client.handle.stderr()).not.toContain('not-the-relay-token')
    expect(relay.handle.stderr()).not.toContain('not-the-relay-token')
  })

  it('refuses a port outside allowPorts and a port already in use, each with its own code, while a sibling proxy works', async () => {
    const echo = await startEchoServer()
    const held = await holdPort()
    const okPort = await getFreePort()
    let outsidePort = await getFreePort()
    while (outsidePort === okPort || outsidePort === held.port) outsidePort = await getFreePort()
    const relay = await startRelay({ extraYaml: `allowPorts:\n  - { single: ${okPort} }\n  - { start: ${held.port}, end: ${held.port} }` })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'outside', localPort: echo.port, remotePort: outsidePort },
        { name: 'taken', localPort: echo.port, remotePort: held.port },
        { name: 'ok', localPort: echo.port, remotePort: okPort },
      ],
    }))
    expect(client.refused.get('outside')).toBe('TUN_PORT_NOT_ALLOWED')
    expect(client.refused.get('taken')).toBe('TUN_PORT_IN_USE')
    expect(client.ports.get('ok')).toBe(okPort)
    for (const name of ['outside', 'taken']) {
      const line = client.handle.logs.find((l) => l.proxy === name && l.code !== undefined)
      expect(line?.level).toBe(50)
      expect(line?.msg).toMatch(/^proxy refused by the relay/)
    }
    expect(await probePort(outsidePort)).toBe('refused')
    expect(await echoOnce(okPort)).toBe(true)
    // Our own listener still owns the taken port: connections reach it, not the tunnel.
    const before = held.connections
    expect(await probePort(held.port)).toBe('open')
    expect(held.connections).toBe(before + 1)
    expect(client.handle.exited).toBe(false)
  })

  it('gives remotePort 0 a port chosen by the relay that serves traffic', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'any', localPort: echo.port, remotePort: 0 }] }))
    const port = client.ports.get('any')
    expect(port).toBeGreaterThan(0)
    expect(port).not.toBe(relay.port)
    await relay.handle.waitForLog(logMsg('proxy listening', { proxy: 'any', remotePort: port }))
    expect(await echoOnce(port ?? 0)).toBe(true)
  })

  it('resets only the visitor when the local service refuses; the session and a second proxy stay up', async () => {
    const echo = await startEchoServer()
    const deadLocalPort = await getFreePort() // nothing listens here
    const relay = await startRelay()
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      proxies: [
        { name: 'dead', localPort: deadLocalPort, remotePort: 0 },
        { name: 'live', localPort: echo.port, remotePort: 0 },
      ],
    }))
    const deadPort = client.ports.get('dead') ?? 0
    const livePort = client.ports.get('live') ?? 0
    const mark = client.handle.logs.length

    const visitor = await connectTo(deadPort)
    visitor.write('hello?')
    const reply = await readAll(visitor, { timeoutMs: 5_000 })
    expect(reply.bytes).toBe(0)
    expect(['end', 'ECONNRESET', 'close']).toContain(reply.closedBy)
    await client.handle.waitForLog((l) => l.code === 'TUN_LOCAL_DIAL', 5_000, mark)

    expect(await echoOnce(livePort)).toBe(true)
    // The same proxy keeps answering (resetting) new visitors: its listener is still there.
    expect(await probePort(deadPort)).toBe('open')
    const logsSince = client.handle.logs.slice(mark)
    expect(logsSince.some((l) => l.msg === 'reconnecting' || l.msg === 'logged in')).toBe(false)
    expect(relay.handle.logs.some((l) => l.msg === 'client session closed')).toBe(false)
  })
})
