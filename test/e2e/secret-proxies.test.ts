// Secret proxies (stcp) and visitors through the real CLI on loopback (issue 15's acceptance):
// a relay, a home client with an stcp proxy, a visitor client with a matching `visitors:` entry.
// 50 MB each way byte-exact and 200 concurrent connections; no public port on the relay;
// wrong secretKey / serverName / user all refused alike while the home client's other proxies
// go on; a restarted home client reached again without restarting the visitor; frp's own
// example blocks verified; visitors added and removed by a reload; status and metrics.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { statusReportSchema } from '../../shared/admin/status.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, spawnCli, startClient, startRelay, TEST_TOKEN, type CliHandle, type LogLine, type RelayHandle } from '../helpers/cli.js'
import {
  closeServices, connectTo, echoOnce, exchange, getFreePort, parseSinkReply, probePort, readAll,
  startEchoServer, startHashSinkServer, startSourceServer,
} from '../helpers/services.js'

const MB = 1024 * 1024
const BULK_BYTES = 50 * MB
const CONCURRENT = 200
const SECRET = 'e2e-secret-key-of-some-length'
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'frp-stcp')

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

function clientFile (port: number, user: string, body: string, extra = ''): string {
  return [`serverAddr: 127.0.0.1`, `serverPort: ${port}`, `user: ${user}`, 'auth:', `  token: ${JSON.stringify(TEST_TOKEN)}`, extra, body].join('\n') + '\n'
}

/** A home client (user home) with `proxies` (YAML flow mappings); resolves once each is registered. */
async function startHome (relay: RelayHandle, proxies: string[], extra = ''): Promise<CliHandle> {
  const c = await startClient(clientFile(relay.port, 'home', ['proxies:', ...proxies.map((p) => `  - ${p}`)].join('\n'), extra), { waitFor: 'login' })
  for (const p of proxies) {
    const name = /name: ([\w.-]+)/.exec(p)?.[1] ?? ''
    await c.handle.waitForLog(logMsg('proxy registered', { proxy: `home.${name}` }))
  }
  return c.handle
}

/** A visitor client of `user` with `visitors`; resolves once logged in with every visitor listening. */
async function startVisitor (relay: RelayHandle, user: string, visitors: string[], extra = ''): Promise<{ handle: CliHandle, configPath: string }> {
  const c = await startClient(clientFile(relay.port, user, ['visitors:', ...visitors.map((v) => `  - ${v}`)].join('\n'), extra), { waitFor: 'login' })
  for (const v of visitors) {
    const name = /name: ([\w.-]+)/.exec(v)?.[1] ?? ''
    await c.handle.waitForLog(logMsg('visitor listening', { visitor: name }))
  }
  return { handle: c.handle, configPath: c.configPath }
}

const stcpVisitor = (name: string, bindPort: number, overrides = ''): string =>
  `{ name: ${name}, type: stcp, serverUser: home, serverName: ${name}, secretKey: ${SECRET}, bindPort: ${bindPort}${overrides} }`

/** TCP and UDP ports a process listens on (its socket inodes in /proc/PID/fd, looked up in /proc/net). */
function listeningPorts (pid: number): { tcp: number[], udp: number[] } {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m?.[1] !== undefined) inodes.add(m[1])
    } catch { /* closed meanwhile */ }
  }
  const ports = (files: string[], listenOnly: boolean): number[] => files.flatMap((f) => {
    let text: string
    try { text = readFileSync(f, 'utf8') } catch { return [] }
    return text.split('\n').slice(1).flatMap((line) => {
      const cols = line.trim().split(/\s+/)
      if (cols.length < 10 || !inodes.has(cols[9] ?? '')) return []
      if (listenOnly && cols[3] !== '0A') return []
      return [parseInt((cols[1] ?? ':0').split(':')[1] ?? '0', 16)]
    })
  }).sort((a, b) => a - b)
  return { tcp: ports(['/proc/net/tcp', '/proc/net/tcp6'], true), udp: ports(['/proc/net/udp', '/proc/net/udp6'], false) }
}

/** The error code a connection through `port` ends with ('end' after a clean close). */
async function outcome (port: number, payload = 'hello'): Promise<string> {
  const socket = await connectTo(port)
  const reply = readAll(socket, { timeoutMs: 10_000 })
  socket.end(payload)
  return (await reply).closedBy
}

describe('stcp through the CLI', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('carries 50 MB from the visitor to the service byte-exact', async () => {
    const sink = await startHashSinkServer()
    const relay = await startRelay()
    await startHome(relay, [`{ name: sink, type: stcp, localPort: ${sink.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`])
    const bindPort = await getFreePort()
    await startVisitor(relay, 'laptop', [stcpVisitor('sink', bindPort)])
    const started = performance.now()
    const { sent, reply } = await exchange(bindPort, BULK_BYTES, { keep: true, timeoutMs: 25_000 })
    console.info(`stcp visitor→service 50 MB in ${(performance.now() - started).toFixed(0)} ms`)
    expect(sent.bytes).toBe(BULK_BYTES)
    expect(reply.closedBy).toBe('end')
    expect(parseSinkReply(reply.data ?? Buffer.alloc(0)).digest).toEqual({ bytes: BULK_BYTES, sha256: sent.sha256 })
  })

  it('carries 50 MB from the service to the visitor byte-exact', async () => {
    const source = await startSourceServer(BULK_BYTES)
    const relay = await startRelay()
    await startHome(relay, [`{ name: source, type: stcp, localPort: ${source.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`])
    const bindPort = await getFreePort()
    await startVisitor(relay, 'laptop', [stcpVisitor('source', bindPort)])
    const started = performance.now()
    const socket = await connectTo(bindPort)
    socket.end()
    const reply = await readAll(socket, { timeoutMs: 25_000 })
    console.info(`stcp service→visitor 50 MB in ${(performance.now() - started).toFixed(0)} ms`)
    const sent = await source.sent[0]
    expect(sent?.bytes).toBe(BULK_BYTES)
    expect(reply.closedBy).toBe('end')
    expect({ bytes: reply.bytes, sha256: reply.sha256 }).toEqual(sent)
  })

  it('completes 200 concurrent connections, each getting back its own data, and opens no public port for the secret proxy', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    await startHome(relay, [`{ name: echo, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`])
    const bindPort = await getFreePort()
    await startVisitor(relay, 'laptop', [stcpVisitor('echo', bindPort)])
    // The relay listens on its bindPort and nothing else: no TCP or UDP port for the secret proxy.
    expect(listeningPorts(relay.handle.pid)).toEqual({ tcp: [relay.port], udp: [] })

    let open = 0
    let peak = 0
    let echoed = 0
    let releaseAll = (): void => {}
    const allEchoed = new Promise<void>((resolve) => { releaseAll = resolve })
    const one = async (i: number): Promise<boolean> => {
      const payload = Buffer.from(`visitor ${i} `.repeat(200 + i))
      const socket: Socket = await connectTo(bindPort)
      open++
      peak = Math.max(peak, open)
      const parts: Buffer[] = []
      let got = 0
      let counted = false
      socket.on('data', (c: Buffer) => {
        parts.push(c)
        got += c.length
        if (!counted && got >= payload.length) { counted = true; if (++echoed === CONCURRENT) releaseAll() }
      })
      const reply = readAll(socket, { timeoutMs: 25_000 })
      socket.write(payload)
      await Promise.race([allEchoed, reply])
      socket.end(payload)
      const r = await reply
      open--
      return r.closedBy === 'end' && Buffer.concat(parts).equals(Buffer.concat([payload, payload]))
    }
    const results = await Promise.all(Array.from({ length: CONCURRENT }, async (_, i) => await one(i)))
    expect(results.filter((ok) => ok)).toHaveLength(CONCURRENT)
    expect(peak).toBe(CONCURRENT)
    expect(listeningPorts(relay.handle.pid)).toEqual({ tcp: [relay.port], udp: [] })
  })

  it('refuses a wrong secretKey, a wrong serverName and a user not in allowUsers alike, says why in the visitor\'s log, and leaves the home client\'s other proxies alone', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const home = await startHome(relay, [
      `{ name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
      `{ name: web, type: tcp, localPort: ${echo.port}, remotePort: 0 }`,
    ])
    const webPort = Number((await home.waitForLog(logMsg('proxy registered', { proxy: 'home.web' }))).remotePort)
    const [good, wrongKey, wrongName, eveKey] = await Promise.all([getFreePort(), getFreePort(), getFreePort(), getFreePort()])
    const laptop = await startVisitor(relay, 'laptop', [
      stcpVisitor('ssh', good),
      `{ name: wrong-key, type: stcp, serverUser: home, serverName: ssh, secretKey: not-the-secret, bindPort: ${wrongKey} }`,
      `{ name: wrong-name, type: stcp, serverUser: home, serverName: sssh, secretKey: ${SECRET}, bindPort: ${wrongName} }`,
    ])
    const eve = await startVisitor(relay, 'eve', [`{ name: eve, type: stcp, serverUser: home, serverName: ssh, secretKey: ${SECRET}, bindPort: ${eveKey} }`])

    expect(await outcome(wrongKey)).toBe('ECONNRESET')
    expect(await outcome(wrongName)).toBe('ECONNRESET')
    expect(await outcome(eveKey)).toBe('ECONNRESET')
    // Each visitor logs a clear reason; the relay's answer was the same for the three.
    const refusal = (h: CliHandle, visitor: string): Promise<LogLine> => h.waitForLog((l) => l.visitor === visitor && l.code === 'TUN_VISIT_REFUSED')
    const lines = await Promise.all([refusal(laptop.handle, 'wrong-key'), refusal(laptop.handle, 'wrong-name'), refusal(eve.handle, 'eve')])
    expect(lines.map((l) => l.reason)).toEqual(['refused', 'refused', 'refused'])
    for (const l of lines) expect(String(l.msg)).toMatch(/serverName and serverUser.*secretKey.*allowUsers/)
    expect(String(lines[0]?.msg)).not.toContain('not-the-secret')
    // The right visitor, and the home client's tcp proxy, go on; the home client never reconnected.
    expect(await echoOnce(good)).toBe(true)
    expect(await echoOnce(webPort)).toBe(true)
    expect(home.logs.filter((l) => l.msg === 'logged in')).toHaveLength(1)
    expect(home.logs.filter((l) => l.code === 'TUN_VISIT_REFUSED')).toEqual([])
    // The relay knows which was which, for its operator.
    const reasons = relay.handle.logs.filter((l) => l.msg === 'visit refused').map((l) => l.reason).sort()
    expect(reasons).toEqual(['proof', 'unknown', 'user'])
  })

  it('reaches a restarted home client on the visitor\'s next connection, without restarting the visitor', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const homeYaml = clientFile(relay.port, 'home', `proxies:\n  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`)
    const first = await startClient(homeYaml, { waitFor: 'login' })
    await first.handle.waitForLog(logMsg('proxy registered', { proxy: 'home.ssh' }))
    const bindPort = await getFreePort()
    const visitor = await startVisitor(relay, 'laptop', [stcpVisitor('ssh', bindPort)])
    expect(await echoOnce(bindPort)).toBe(true)

    first.handle.kill('SIGKILL')
    await first.handle.exit
    // While the home client is away, its visitors are refused like any unknown name.
    await pollUntil(async () => ((await outcome(bindPort)) === 'ECONNRESET' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 })
    expect(await outcome(bindPort)).toBe('ECONNRESET')
    const again = await startClient('', { configPath: first.configPath, waitFor: 'login' })
    await again.handle.waitForLog(logMsg('proxy registered', { proxy: 'home.ssh' }))
    // Its proxy is back: the visitor's next connection gets through within 5 s.
    const back = performance.now()
    await pollUntil(async () => ((await echoOnce(bindPort, undefined, 2_000).catch(() => false)) ? true : undefined), { timeoutMs: 5_000, intervalMs: 100 })
    console.info(`visitor through to the restarted home client ${(performance.now() - back).toFixed(0)} ms after its proxy was registered again`)
    expect(visitor.handle.exited).toBe(false)
    expect(visitor.handle.logs.filter((l) => l.msg === 'logged in')).toHaveLength(1)
  })

  it('accepts frp\'s own stcp proxy and visitor example blocks unchanged (tunnel verify exit 0)', async () => {
    for (const file of ['frpc-stcp-proxy.toml', 'frpc-stcp-visitor.toml']) {
      const h = spawnCli(['verify', '-c', join(FIXTURES, file)])
      expect((await h.exit).code, h.stderr()).toBe(0)
      expect(h.stdout()).toContain('is valid (client config)')
    }
  })

  it('adds and removes visitors on a reload, and keeps the others and their open visits', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    await startHome(relay, [
      `{ name: one, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
      `{ name: two, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
    ])
    const [p1, p2, p3] = await Promise.all([getFreePort(), getFreePort(), getFreePort()])
    const laptop = await startVisitor(relay, 'laptop', [stcpVisitor('one', p1), stcpVisitor('two', p2)])
    const held = await connectTo(p1)
    const heldReply = readAll(held, { keep: true })
    held.write('before ')
    const text = readFileSync(laptop.configPath, 'utf8').replace(stcpVisitor('two', p2), stcpVisitor('two', p3))
    await writeFile(laptop.configPath, text)
    const from = laptop.handle.logs.length
    laptop.handle.kill('SIGHUP')
    const line = await laptop.handle.waitForLog(logMsg('visitors reloaded'), undefined, from)
    expect(line).toMatchObject({ added: [], removed: [], changed: ['two'] })
    expect(await probePort(p2)).toBe('refused')
    expect(await echoOnce(p3)).toBe(true)
    held.end('after')
    expect((await heldReply).data?.toString()).toBe('before after')

    await writeFile(laptop.configPath, text.replace(`  - ${stcpVisitor('one', p1)}\n`, ''))
    const from2 = laptop.handle.logs.length
    laptop.handle.kill('SIGHUP')
    expect(await laptop.handle.waitForLog(logMsg('visitors reloaded'), undefined, from2)).toMatchObject({ removed: ['one'] })
    expect(await probePort(p1)).toBe('refused')
    expect(await echoOnce(p3)).toBe(true)
  })

  it('shows visitors, secret proxies and refusals by reason in tunnel status and the metrics', async () => {
    const echo = await startEchoServer()
    const relayAdmin = await getFreePort()
    const relay = await startRelay({ extraYaml: `webServer:\n  port: ${relayAdmin}\n  token: relay-tok\nenablePrometheus: true\n` })
    await startHome(relay, [`{ name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`])
    const [good, bad, admin] = await Promise.all([getFreePort(), getFreePort(), getFreePort()])
    const laptop = await startVisitor(relay, 'laptop', [
      stcpVisitor('ssh', good),
      `{ name: bad, type: stcp, serverUser: home, serverName: ssh, secretKey: wrong-secret-here, bindPort: ${bad} }`,
    ], `webServer:\n  port: ${admin}\n  token: laptop-tok\n`)
    expect(await echoOnce(good, Buffer.alloc(1000, 7))).toBe(true)
    expect(await outcome(bad)).toBe('ECONNRESET')

    const run = async (args: string[]): Promise<string> => {
      const h = spawnCli(args)
      expect((await h.exit).code, h.stderr()).toBe(0)
      return h.stdout()
    }
    const c = statusReportSchema.parse(JSON.parse(await run(['status', '-c', laptop.configPath, '--json'])))
    expect(c.visitors).toEqual([
      expect.objectContaining({ name: 'ssh', type: 'stcp', target: 'home.ssh', phase: 'running', local: `127.0.0.1:${good}`, streams: { active: 0, total: 1 }, bytesIn: 1000, bytesOut: 1000, refusals: {} }),
      expect.objectContaining({ name: 'bad', phase: 'running', streams: { active: 0, total: 1 }, refusals: { refused: 1 } }),
    ])
    const table = await run(['status', '-c', laptop.configPath])
    expect(table).toMatch(/Visitors \(2\)/)
    expect(table).toMatch(/bad\s+stcp\s+running\s+home\.ssh\s+127\.0\.0\.1:\d+\s+0\/1.*refused 1/)

    const r = statusReportSchema.parse(JSON.parse(await run(['status', '-c', relay.configPath, '--json'])))
    expect(r.proxies).toEqual([expect.objectContaining({ name: 'home.ssh', type: 'stcp', publicAddr: null, streams: { active: 0, total: 1 }, bytesIn: 1000, bytesOut: 1000, refused: 1, visitRefusals: { proof: 1 } })])
    expect(r.visits).toEqual({ accepted: 1, refusals: { proof: 1 } })
    const metrics = await (await fetch(`http://127.0.0.1:${relayAdmin}/metrics`, { headers: { authorization: 'Bearer relay-tok' } })).text()
    expect(metrics).toContain('tunnel_visit_refusals_total{reason="proof"} 1')
    expect(metrics).toContain('tunnel_proxy_visit_refusals_total{proxy="home.ssh",reason="proof"} 1')
  })
})

/** Reads exactly `n` bytes from `socket` (or fails when it closes first). */
function readBytes (socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.length < n) return
      socket.off('data', onData)
      socket.off('close', onClose)
      if (got.length > n) socket.unshift(got.subarray(n))
      resolve(got.subarray(0, n))
    }
    const onClose = (): void => { reject(new Error(`closed after ${got.length} of ${n} bytes`)) }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

describe('stcp with a client plugin (frp\'s stcp + socks5: a private SOCKS5 proxy into the home network)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a visitor reaches a home service through the socks5 plugin behind the secret; wrong credentials are refused', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    await startHome(relay, [`{ name: s5, type: stcp, secretKey: ${SECRET}, allowUsers: [laptop], plugin: { type: socks5, username: u, password: pw } }`])
    const bindPort = await getFreePort()
    await startVisitor(relay, 'laptop', [stcpVisitor('s5', bindPort)])
    const socks = async (user: string, password: string): Promise<{ socket: Socket, auth: Buffer }> => {
      const socket = await connectTo(bindPort)
      socket.write(Buffer.from([5, 1, 2]))
      expect([...await readBytes(socket, 2)]).toEqual([5, 2])
      socket.write(Buffer.concat([Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([password.length]), Buffer.from(password)]))
      return { socket, auth: await readBytes(socket, 2) }
    }
    const good = await socks('u', 'pw')
    expect([...good.auth]).toEqual([1, 0])
    good.socket.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, echo.port >> 8, echo.port & 0xff]))
    const reply = await readBytes(good.socket, 10)
    expect([reply[0], reply[1]]).toEqual([5, 0])
    good.socket.write('through the secret and the plugin')
    expect((await readBytes(good.socket, 33)).toString()).toBe('through the secret and the plugin')
    good.socket.destroy()
    const bad = await socks('u', 'wrong')
    expect(bad.auth[1]).not.toBe(0)
    bad.socket.destroy()
  })
})
