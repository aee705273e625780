// The client's proxy manager against a relay that serves fewer proxy types than the client has:
// the capabilities agreed at login decide, a proxy of a missing type is refused on the client
// with the reason (never sent), and the rest run. Plus a reload whose file cannot be read, and a
// refusal that may heal (a port another client holds) registered again with backoff.
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { reloadFromFile } from '../../client/index.js'
import { tcpProxyKind } from '../../server/proxy/tcp.js'
import { clientConfig, closeInProcess, memoryLogger, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

describe('client proxies and the relay\'s capabilities', () => {
  it('refuses on the client a proxy whose type the relay lacks, with the reason, and runs the others', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess('', undefined, 0, { proxyKinds: [tcpProxyKind] })
    const c = await startClientInProcess(clientConfig(port, `proxies:\n  - name: t\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n  - name: w\n    type: http\n    localPort: ${echo.port}\n    customDomains: [w.test]\n`))
    expect(c.client.capabilities.has('proxy.tcp')).toBe(true)
    expect(c.client.capabilities.has('proxy.http')).toBe(false)
    const t = await c.result('t')
    expect(t.ok).toBe(true)
    expect(await echoOnce(t.remotePort as number)).toBe(true)
    expect(await c.result('w')).toMatchObject({ ok: false, code: 'TUN_PROXY_INVALID', message: expect.stringMatching(/does not serve http proxies \(it lacks capability proxy\.http\)/) })
    expect(c.client.proxyEntries().map((e) => [e.wireName, e.phase, e.problem?.code ?? null])).toEqual([['t', 'running', null], ['w', 'refused', 'TUN_PROXY_INVALID']])
  })

  it('refuses a reload whose file cannot be read, with TUN_CONFIG_READ, and keeps running', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, `proxies:\n  - name: t\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`))
    const file = join(tmpdir(), `tunnel-gone-${process.pid}.yml`)
    await writeFile(file, 'x')
    await rm(file)
    const { log } = memoryLogger()
    const outcome = await reloadFromFile(c.client, file, log)
    expect(outcome).toMatchObject({ status: 'refused', errors: [{ proxy: null, code: 'TUN_CONFIG_READ' }] })
    expect(c.client.proxyEntries()[0]?.phase).toBe('running')
  })

  it('registers a proxy refused for a port another client holds again, with backoff, and gets the port once it is free; a refusal that cannot heal is not retried', async () => {
    const echo = await startEchoServer()
    const fixed = await getFreePort()
    const { port } = await startRelayInProcess(`allowPorts:\n  - single: ${fixed}\n`)
    const holder = await startClientInProcess(clientConfig(port, `clientID: holder\nproxies:\n  - name: a\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: ${fixed}\n`))
    expect((await holder.result('a')).ok).toBe(true)
    const { log, lines } = memoryLogger()
    // random() = 0: the retry comes after the fixed half-base (1 s), the least backoff there is.
    const waiting = await startClientInProcess(clientConfig(port, `clientID: waiting\nproxies:\n  - name: b\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: ${fixed}\n  - name: bad\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 1\n`), log, { random: () => 0 })
    expect(lines.find((l) => l.proxy === 'b' && l.code === 'TUN_PORT_IN_USE')?.retryInMs).toBe(1_000)
    const bad = lines.find((l) => l.proxy === 'bad' && l.code === 'TUN_PORT_NOT_ALLOWED')
    expect(bad).toBeDefined()
    expect(bad).not.toHaveProperty('retryInMs')
    // The holder leaves (its goaway frees the port at once): the retry gets the port.
    holder.client.close(0)
    const from = waiting.results.findIndex((r) => r.name === 'b') + 1
    expect(await waiting.result('b', from)).toMatchObject({ ok: true, remotePort: fixed })
    expect(lines.filter((l) => l.msg === 'registering a refused proxy again').map((l) => l.proxy)).toEqual(['b'])
    expect(waiting.client.proxyEntries().map((e) => [e.wireName, e.phase])).toEqual([['b', 'running'], ['bad', 'refused']])
    expect(await echoOnce(fixed)).toBe(true)
  })
})
