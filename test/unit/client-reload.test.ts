// Client.reload and reloadFromFile against a real relay, in one process: proxies come and go on
// the live session without a reconnect and without touching the others' connections; a changed
// proxy restarts; per-proxy refusals are reported; start-only settings and invalid files are
// refused with nothing applied; reloads while disconnected apply at the next login.
import { writeFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { reloadFromFile } from '../../client/index.js'
import { loadClientConfig } from '../../shared/config/index.js'
import { writeTempFile, cleanupCli } from '../helpers/cli.js'
import { clientConfig, closeInProcess, IN_PROCESS_TOKEN, memoryLogger, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, connectTo, echoOnce, getFreePort, holdPort, probePort, readAll, startEchoServer, startServer } from '../helpers/services.js'
import { closeUdp, startUdpEcho, udpVisitor } from '../helpers/udp.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closeUdp()
  await cleanupCli()
})

/** A TCP service that answers every connection with `banner` and closes. */
async function bannerServer (banner: string): Promise<number> {
  return (await startServer((socket) => { socket.end(banner) })).port
}

async function banner (port: number): Promise<string> {
  const socket = await connectTo(port)
  socket.end()
  return (await readAll(socket, { keep: true, timeoutMs: 5_000 })).data?.toString('utf8') ?? ''
}

const tcp = (name: string, localPort: number, remotePort = 0): string =>
  `  - { name: ${name}, type: tcp, localIP: 127.0.0.1, localPort: ${localPort}, remotePort: ${remotePort} }\n`

describe('Client.reload on a live session', () => {
  it('adds and removes proxies without disturbing an open connection of an untouched one', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('a', echo.port) + tcp('c', echo.port)))
    const aPort = (await c.result('a')).remotePort as number
    const cPort = (await c.result('c')).remotePort as number
    const open = await connectTo(aPort)
    const reply = readAll(open, { keep: true, timeoutMs: 10_000 })
    open.write('before ')

    const mark = c.results.length
    const outcome = await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('a', echo.port) + tcp('b', echo.port)))
    expect(outcome).toEqual({ status: 'applied', added: ['b'], removed: ['c'], changed: [], errors: [] })
    const bPort = (await c.result('b', mark)).remotePort as number
    expect(await echoOnce(bPort)).toBe(true)
    expect(await probePort(cPort)).toBe('refused')
    open.end('after')
    expect((await reply).data?.toString('utf8')).toBe('before after')
    expect(c.client.reconnects).toBe(0)
    expect(c.client.proxies.map((p) => p.name)).toEqual(['a', 'b'])
  })

  it('restarts a proxy whose localPort changed on the same public port, resetting its open connections', async () => {
    const one = await bannerServer('one')
    const slow = await startServer(() => { /* holds the connection open */ })
    const two = await bannerServer('two')
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('p', one) + tcp('q', slow.port)))
    const pPort = (await c.result('p')).remotePort as number
    expect(await banner(pPort)).toBe('one')
    const qPort = (await c.result('q')).remotePort as number
    const held = await connectTo(qPort)
    const heldClosed = readAll(held, { timeoutMs: 10_000 })
    await expect.poll(() => slow.connections).toBe(1)

    const outcome = await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('p', two) + tcp('q', two)))
    expect(outcome).toEqual({ status: 'applied', added: [], removed: [], changed: ['p', 'q'], errors: [] })
    expect(await banner(pPort)).toBe('two')
    expect(await banner(qPort)).toBe('two')
    expect((await heldClosed).closedBy).not.toBe('end')
  })

  it('re-opens a proxy whose remotePort changed on the new port and closes the old one', async () => {
    const echo = await startEchoServer()
    const [first, second] = [await getFreePort(), await getFreePort()]
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('p', echo.port, first)))
    expect(await echoOnce(first)).toBe(true)
    const mark = c.results.length
    const outcome = await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('p', echo.port, second)))
    expect(outcome).toEqual({ status: 'applied', added: [], removed: [], changed: ['p'], errors: [] })
    expect(await c.result('p', mark)).toMatchObject({ ok: true, remotePort: second })
    expect(await echoOnce(second)).toBe(true)
    expect(await probePort(first)).toBe('refused')
  })

  it('reports a proxy the relay refuses without holding back the others, and tries it again on the next reload', async () => {
    const echo = await startEchoServer()
    const busy = await holdPort()
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('a', echo.port)))
    const next = clientConfig(port, 'proxies:\n' + tcp('a', echo.port) + tcp('b', echo.port, busy.port) + tcp('c', echo.port))
    const outcome = await c.client.reload(next)
    expect(outcome.status).toBe('partial')
    expect(outcome.added).toEqual(['b', 'c'])
    expect(outcome.errors).toEqual([{ proxy: 'b', code: 'TUN_PORT_IN_USE', message: expect.stringContaining(String(busy.port)) }])
    expect(await echoOnce((await c.result('c')).remotePort as number)).toBe(true)

    await busy.close()
    const again = await c.client.reload(next)
    expect(again).toEqual({ status: 'applied', added: ['b'], removed: [], changed: [], errors: [] })
    expect(await echoOnce(busy.port)).toBe(true)
  })

  it('refuses a reload that changes a start-only setting and applies nothing', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const { log, lines } = memoryLogger()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('a', echo.port)), log)
    const next = clientConfig(port, 'user: bob\ntransport:\n  heartbeatInterval: 3\nproxies:\n' + tcp('b', echo.port))
    const outcome = await c.client.reload(next)
    expect(outcome.status).toBe('refused')
    expect(outcome.added).toEqual([])
    expect(outcome.errors).toEqual([{ proxy: null, code: 'TUN_RELOAD_REFUSED', message: expect.stringMatching(/^user, clientID, transport\.heartbeatInterval changed: .*restart/) }])
    expect(c.client.proxies.map((p) => p.name)).toEqual(['a'])
    expect(c.results.map((r) => r.name)).toEqual(['a'])
    expect(lines.some((l) => l.level === 50 && l.code === 'TUN_RELOAD_REFUSED')).toBe(true)
    expect(JSON.stringify(lines)).not.toContain(IN_PROCESS_TOKEN)
  })

  it('runs reloads one at a time: the second sees what the first applied', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('a', echo.port)))
    const order: string[] = []
    const first = c.client.reload(clientConfig(port, 'proxies:\n' + tcp('a', echo.port) + tcp('b', echo.port))).then((o) => { order.push('first'); return o })
    const second = c.client.reload(clientConfig(port, 'proxies:\n' + tcp('c', echo.port))).then((o) => { order.push('second'); return o })
    // Neither has started: a reload begins only after the one before it has finished.
    expect(c.client.proxies.map((p) => p.name)).toEqual(['a'])
    expect(await first).toEqual({ status: 'applied', added: ['b'], removed: [], changed: [], errors: [] })
    expect(await second).toEqual({ status: 'applied', added: ['c'], removed: ['a', 'b'], changed: [], errors: [] })
    expect(order).toEqual(['first', 'second'])
    expect(await echoOnce((await c.result('c')).remotePort as number)).toBe(true)
  })

  it('adds, restarts and removes udp proxies on a session that started without one', async () => {
    const echo1 = await startUdpEcho()
    const echo2 = await startUdpEcho()
    const tcpEcho = await startEchoServer()
    const relayLog = memoryLogger()
    const { port } = await startRelayInProcess('', relayLog.log)
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('t', tcpEcho.port)))
    const udp = (localPort: number): string => `  - { name: u, type: udp, localIP: 127.0.0.1, localPort: ${localPort}, remotePort: 0 }\n`
    let mark = c.results.length
    expect((await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('t', tcpEcho.port) + udp(echo1.port)))).added).toEqual(['u'])
    const uPort = (await c.result('u', mark)).remotePort as number
    const visitor = await udpVisitor(uPort)
    visitor.send('one')
    await visitor.waitFor(1)
    expect(echo1.received).toBe(1)

    mark = c.results.length
    expect((await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('t', tcpEcho.port) + udp(echo2.port)))).changed).toEqual(['u'])
    // The old flow closes on both sides (a datagram still on its way to it is lost: UDP); the
    // visitor's next datagrams open a flow toward echo2 on the same public port.
    for (let i = 0; i < 50 && echo2.received === 0; i++) {
      visitor.send('two')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(echo2.received).toBeGreaterThan(0)
    expect(echo1.received).toBe(1)
    expect(c.results.length).toBe(mark) // a local-only change: the relay kept the port
    // ...and the new forwarder still knows it (PROXY v2 headers name it as the destination).
    const entry = c.client.proxyEntries().find((e) => e.wireName === 'u')
    expect(entry?.local.kind === 'udp' ? entry.local.forwarder.publicPort : undefined).toBe(uPort)
    expect(entry?.phase).toBe('running')

    expect((await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('t', tcpEcho.port)))).removed).toEqual(['u'])
    await expect.poll(() => relayLog.lines.some((l) => l.msg === 'proxy closed' && l.proxy === 'u')).toBe(true)
    expect(await echoOnce((await c.result('t')).remotePort as number)).toBe(true)
  })
})

/** A TCP relay between client and relay whose relay→client direction can be stopped. */
async function stallableLink (target: number): Promise<{ port: number, stall: () => void }> {
  let stalled = false
  const srv = await startServer((down) => {
    down.pause()
    void connectTo(target).then((up) => {
      down.on('data', (chunk: Buffer) => { up.write(chunk) })
      up.on('data', (chunk: Buffer) => { if (!stalled) down.write(chunk) })
      up.once('close', () => { down.destroy() })
      down.once('close', () => { up.destroy() })
      down.resume()
    }, () => { down.destroy() })
  })
  return { port: srv.port, stall: () => { stalled = true } }
}

describe('Client.reload when the relay does not answer', () => {
  it('reports TUN_RELOAD_TIMEOUT for each proxy it waited for, and keeps the new list', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const link = await stallableLink(port)
    const c = await startClientInProcess(clientConfig(link.port, 'proxies:\n' + tcp('a', echo.port)), undefined, { reloadAnswerTimeoutMs: 300 })
    link.stall()
    const outcome = await c.client.reload(clientConfig(link.port, 'proxies:\n' + tcp('b', echo.port)))
    expect(outcome).toMatchObject({ status: 'partial', added: ['b'], removed: ['a'], changed: [] })
    expect(outcome.errors).toHaveLength(2)
    for (const e of outcome.errors) expect(e).toMatchObject({ proxy: expect.stringMatching(/^[ab]$/), code: 'TUN_RELOAD_TIMEOUT', message: expect.stringMatching(/^the relay did not answer within 300 ms/) })
    expect(c.client.proxies.map((p) => p.name)).toEqual(['b'])
  })
})

describe('Client.reload while disconnected', () => {
  it('keeps the new list for the next login, which registers exactly it', async () => {
    const echo = await startEchoServer()
    const { relay, port } = await startRelayInProcess()
    const c = await startClientInProcess(clientConfig(port, 'proxies:\n' + tcp('a', echo.port)))
    const lost = new Promise((resolve) => { c.client.once('disconnect', resolve) })
    relay.destroy()
    await lost
    const outcome = await c.client.reload(clientConfig(port, 'proxies:\n' + tcp('b', echo.port)))
    expect(outcome).toEqual({ status: 'applied', added: ['b'], removed: ['a'], changed: [], errors: [] })
    const mark = c.results.length
    await startRelayInProcess('', undefined, port)
    const b = await c.result('b', mark)
    expect(b.ok).toBe(true)
    expect(await echoOnce(b.remotePort as number)).toBe(true)
    expect(c.results.slice(mark).map((r) => r.name)).toEqual(['b'])
  })
})

describe('reloadFromFile', () => {
  it('refuses an invalid file with its errors at file:line:col, logs them at error level, and changes nothing', async () => {
    const echo = await startEchoServer()
    const { port } = await startRelayInProcess()
    const head = `serverAddr: 127.0.0.1\nserverPort: ${port}\nauth:\n  token: ${IN_PROCESS_TOKEN}\nproxies:\n`
    const file = await writeTempFile('frpc-reload.yml', head + tcp('a', echo.port))
    const { log, lines } = memoryLogger()
    const c = await startClientInProcess((await loadClientConfig(file, {})).config, log)

    await writeFile(file, head + tcp('a', echo.port) + '  - name: b\n\ttype: tcp\n')
    const syntax = await reloadFromFile(c.client, file, log)
    expect(syntax).toMatchObject({ status: 'refused', added: [], removed: [], changed: [] })
    expect(syntax.errors).toEqual([{ proxy: null, code: 'TUN_CONFIG_SYNTAX', message: `${file}:8:1 tabs cannot indent YAML; use spaces` }])

    await writeFile(file, head + tcp('a', echo.port) + tcp('b', echo.port, 70000))
    const schema = await reloadFromFile(c.client, file, log)
    expect(schema).toMatchObject({ status: 'refused', added: [], removed: [], changed: [] })
    expect(schema.errors).toContainEqual({ proxy: null, code: 'TUN_CONFIG_RANGE', message: expect.stringMatching(new RegExp(`^${file}:7:\\d+ proxies\\[1\\]\\.remotePort: `)) })
    const errorLines = lines.filter((l) => l.level === 50 && l.file === file && typeof l.line === 'number')
    expect(errorLines.map((l) => l.line)).toEqual([8, 7])
    expect(c.client.proxies.map((p) => p.name)).toEqual(['a'])

    await writeFile(file, head + tcp('a', echo.port) + tcp('b', echo.port))
    expect(await reloadFromFile(c.client, file, log)).toEqual({ status: 'applied', added: ['b'], removed: [], changed: [], errors: [] })
    expect(lines.some((l) => l.msg === 'reloaded')).toBe(true)
  })
})
