// Relays of one fleet (in process, one real etcd started by the test): a client key owns its
// proxy names, ports and clientID across every relay; the same client is served by each relay it
// attaches to with the same remotePort; another key is refused what it owns, with the codes a
// single relay uses; a store that does not answer refuses new logins and proxies
// (TUN_FLEET_UNAVAILABLE) while running proxies keep serving.
import { writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../shared/transport/index.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { FleetClient, reloadFromFile } from '../../client/index.js'
import { relayStatus, type Relay } from '../../server/index.js'
import { renderFleet } from '../../shared/admin/index.js'
import { TunnelMetrics } from '../../shared/metrics/index.js'
import { silentLogger } from '../../shared/log.js'
import { FLEET_RETRY_POLICY } from '../../client/proxy/index.js'
import { clientConfig, closeInProcess, memoryLogger, rawControl, rawSession, startClientInProcess, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closeServices, echoOnce, getFreePort, holdPort, readAll, startEchoServer } from '../helpers/services.js'
import { type EtcdCluster, fleetYaml, startEtcd } from '../helpers/etcd.js'
import { missingTool } from '../helpers/system-tools.js'

type Msg = Record<string, unknown>

/** Race rounds: the acceptance asks for 50. */
const RACE_ROUNDS = 50

const result = (name: string, id: number) => (m: Msg): boolean => m.type === MessageType.PROXY_RESULT && m.name === name && m.id === id

async function register (raw: RawControl, name: string, id: number, remotePort: number): Promise<Msg> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, id, proxies: [{ name, type: 'tcp', remotePort }] })
  return await raw.waitFor(result(name, id), from)
}

/** True when `port` can be bound on each of `hosts` now (each bind is closed again at once). */
async function freeOn (port: number, hosts: readonly string[]): Promise<boolean> {
  for (const host of hosts) {
    const server = createServer()
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => { resolve(false) })
      server.listen(port, host, () => { resolve(true) })
    })
    if (ok) await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    if (!ok) return false
  }
  return true
}

/** Sends `text` to host:port (the raw client echoes every stream) and reads the echo. */
async function roundTrip (host: string, port: number, text: string): Promise<string> {
  const socket = connect({ host, port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const reply = readAll(socket, { keep: true, timeoutMs: 5_000 })
  socket.end(text)
  return (await reply).data?.toString('utf8') ?? ''
}

describe.skipIf(missingTool('etcd', 'etcd-server'))('relays of one fleet', () => {
  let etcd: EtcdCluster
  let fleets = 0
  let lastRelays: Relay[] = []

  beforeAll(async () => { etcd = await startEtcd(1) }, 30_000)
  afterAll(async () => { await etcd.close() }, 30_000)
  afterEach(async () => {
    await closeInProcess()
    await closeServices()
  })

  /** Two relays of a fresh fleet; the second one's proxies listen on 127.0.0.2, so both can hold one port. */
  async function twoRelays (requestTimeout = 2, bindAddrs: readonly [string, string] = ['127.0.0.1', '127.0.0.2']): Promise<[number, number]> {
    const prefix = `/f${++fleets}/`
    const fleet = (node: string): string => `fleet:\n  nodeName: ${node}\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [${etcd.endpoints.join(', ')}]\n    prefix: ${prefix}\n    requestTimeout: ${requestTimeout}\n`
    const r1 = await startRelayInProcess(`proxyBindAddr: ${bindAddrs[0]}\n${fleet('r1')}`)
    const r2 = await startRelayInProcess(`proxyBindAddr: ${bindAddrs[1]}\n${fleet('r2')}`)
    lastRelays = [r1.relay, r2.relay]
    return [r1.port, r2.port]
  }

  it('serves one client on two relays with the same remotePort, and refuses another client key that name and that port on either relay', async () => {
    const [p1, p2] = await twoRelays()
    const port = await getFreePort()
    const a1 = await rawControl(p1, 'alpha')
    const a2 = await rawControl(p2, 'alpha')
    expect(await register(a1, 'web', 1, port)).toMatchObject({ ok: true, remotePort: port })
    expect(await register(a2, 'web', 1, port)).toMatchObject({ ok: true, remotePort: port })
    expect(await roundTrip('127.0.0.1', port, 'via relay one')).toBe('via relay one')
    expect(await roundTrip('127.0.0.2', port, 'via relay two')).toBe('via relay two')
    const b = await rawControl(p2, 'beta')
    expect(await register(b, 'web', 1, 0)).toMatchObject({ ok: false, code: 'TUN_PROXY_EXISTS' })
    expect(await register(b, 'other', 2, port)).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    const b1 = await rawControl(p1, 'beta')
    expect(await register(b1, 'web', 1, 0)).toMatchObject({ ok: false, code: 'TUN_PROXY_EXISTS' })
  })

  it('reports the fleet\'s relays with their attached clients in the relay\'s status, and prints them for status --fleet', async () => {
    const [p1, p2] = await twoRelays()
    await rawControl(p1, 'iota')
    await rawControl(p2, 'iota')
    await rawControl(p2, 'kappa')
    const relay = lastRelays[0]
    if (relay === undefined) throw new Error('no relay')
    const report = await relayStatus(relay)
    expect(report.fleet?.nodeName).toBe('r1')
    expect(report.fleet?.relays?.map((r) => [r.nodeName, r.clients])).toEqual([['r1', 1], ['r2', 2]])
    expect(report.fleet?.store.claims).toBeGreaterThan(0)
    const text = renderFleet(report)
    expect(text).toMatch(/r1 \(this\)/)
    expect(text).toMatch(/2 relays, 3 client attachments/)
    const metrics = await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(report))
    expect(metrics).toMatch(/^tunnel_fleet_relay_clients\{relay="r2"\} 2$/m)
    expect(metrics).toMatch(/^tunnel_fleet_claims_total [1-9]/m)
  })

  it('gives a name, and a remotePort, registered at the same moment by two clients on two relays to exactly one of them, 50 times', async () => {
    // The relays' proxies listen on 127.0.0.2 and .3; each round's port is held on 127.0.0.1 by
    // the test, so no other test running at the same time is given it.
    const [p1, p2] = await twoRelays(2, ['127.0.0.2', '127.0.0.3'])
    const a = await rawControl(p1, 'race-a')
    const b = await rawControl(p2, 'race-b')
    const used = new Set<number>()
    let id = 0
    for (let i = 0; i < RACE_ROUNDS; i++) {
      const [ra, rb] = await Promise.all([register(a, `same-${i}`, ++id, 0), register(b, `same-${i}`, ++id, 0)])
      expect([ra.ok, rb.ok].filter((ok) => ok === true)).toHaveLength(1)
      expect([ra, rb].find((r) => r.ok !== true)).toMatchObject({ code: 'TUN_PROXY_EXISTS' })
      // Held on 127.0.0.1 until the test ends (closeServices), never one an earlier round's winner
      // listens on, and free on both relays' addresses a moment ago (other processes share this machine).
      let held = await holdPort()
      while (used.has(held.port) || !await freeOn(held.port, ['127.0.0.2', '127.0.0.3'])) held = await holdPort()
      used.add(held.port)
      const [pa, pb] = await Promise.all([register(a, `port-a-${i}`, ++id, held.port), register(b, `port-b-${i}`, ++id, held.port)])
      expect([pa.ok, pb.ok].filter((ok) => ok === true)).toHaveLength(1)
      expect([pa, pb].find((r) => r.ok !== true)).toMatchObject({ code: 'TUN_PORT_IN_USE' })
    }
  }, 60_000)

  it('refuses a login whose clientID another client key holds on another relay of the fleet', async () => {
    const [p1, p2] = await twoRelays()
    await rawControl(p1, 'gamma')
    const impostor = await rawSession(p2, 'gamma', undefined, { key: generateKeyPair() })
    impostor.session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId: 'gamma', user: '', hostname: 'test' })
    expect(await impostor.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toMatchObject({ ok: false, code: 'TUN_CLIENT_ID_IN_USE' })
  })

  it('frees a name fleet-wide when its owner unregisters it', async () => {
    const [p1, p2] = await twoRelays()
    const a = await rawControl(p1, 'delta')
    expect(await register(a, 'site', 1, 0)).toMatchObject({ ok: true })
    const from = a.messages.length
    a.session.sendControl({ type: MessageType.UNREGISTER, name: 'site', id: 2 })
    await a.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT && m.id === 2, from)
    const b = await rawControl(p2, 'epsilon')
    expect(await register(b, 'site', 1, 0)).toMatchObject({ ok: true })
  })

  it('refuses new logins and proxies with TUN_FLEET_UNAVAILABLE while etcd is stopped, keeps a running proxy serving, and registers again once it is back', async () => {
    const [p1] = await twoRelays(1)
    const a = await rawControl(p1, 'zeta')
    const port = await getFreePort()
    expect(await register(a, 'kept', 1, port)).toMatchObject({ ok: true })
    await etcd.stop()
    try {
      expect(await register(a, 'fresh', 2, 0)).toMatchObject({ ok: false, code: 'TUN_FLEET_UNAVAILABLE' })
      expect(await roundTrip('127.0.0.1', port, 'still flowing')).toBe('still flowing')
      const late = await rawSession(p1, 'eta')
      late.session.sendControl({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId: 'eta', user: '', hostname: 'test' })
      expect(await late.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toMatchObject({ ok: false, code: 'TUN_FLEET_UNAVAILABLE' })
    } finally {
      await etcd.start()
    }
    let answer: Msg = {}
    for (let id = 3; id < 3 + 20; id++) {
      answer = await register(a, `fresh-${id}`, id, 0)
      if (answer.ok === true) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(answer).toMatchObject({ ok: true })
    expect(await roundTrip('127.0.0.1', port, 'and after')).toBe('and after')
  }, 60_000)

  it('has the client register a proxy refused while etcd was away again within seconds, and it comes up once etcd is back', async () => {
    const [p1] = await twoRelays(1)
    const echo = await startEchoServer()
    const proxy = (name: string): string => `  - name: ${name}\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`
    const { log, lines } = memoryLogger()
    // random() = 1: the longest delay the fleet policy allows.
    const c = await startClientInProcess(clientConfig(p1, `clientID: theta\nproxies:\n${proxy('one')}`), log, { random: () => 1 })
    expect((await c.result('one')).ok).toBe(true)
    const file = join(tmpdir(), `tunnel-fleet-${process.pid}.yml`)
    await writeFile(file, `serverAddr: 127.0.0.1\nserverPort: ${p1}\nauth:\n  token: in-process-token\nclientID: theta\nproxies:\n${proxy('one')}${proxy('two')}`)
    await etcd.stop()
    try {
      await reloadFromFile(c.client, file, log)
      expect(await c.result('two')).toMatchObject({ ok: false, code: 'TUN_FLEET_UNAVAILABLE' })
      const retry = lines.find((l) => l.proxy === 'two' && l.code === 'TUN_FLEET_UNAVAILABLE')?.retryInMs
      expect(retry).toBeGreaterThan(0)
      expect(retry).toBeLessThanOrEqual(FLEET_RETRY_POLICY.capMs + FLEET_RETRY_POLICY.baseMs / 2)
      const one = c.results.find((r) => r.name === 'one')
      expect(await echoOnce(one?.remotePort as number)).toBe(true)
    } finally {
      await etcd.start()
    }
    const from = c.results.findIndex((r) => r.name === 'two') + 1
    let up = await c.result('two', from)
    for (let i = 0; i < 10 && up.ok !== true; i++) up = await c.result('two', c.results.lastIndexOf(up) + 1)
    expect(up).toMatchObject({ ok: true })
    expect(await echoOnce(up.remotePort as number)).toBe(true)
  }, 60_000)
})

describe.skipIf(missingTool('etcd', 'etcd-server'))('a client attached to several relays of a fleet', () => {
  let etcd: EtcdCluster

  beforeAll(async () => { etcd = await startEtcd(1) }, 30_000)
  afterAll(async () => { await etcd.close() }, 30_000)
  afterEach(async () => {
    await closeInProcess()
    await closeServices()
  })

  it('registers its proxy on two relays with the same remotePort, keeps serving through one when the other dies, and moves that connection to the third relay', async () => {
    const fleet = (node: string): string => fleetYaml(etcd, node, '/attach/')
    const r1 = await startRelayInProcess(fleet('r1'))
    const r2 = await startRelayInProcess(`proxyBindAddr: 127.0.0.2\n${fleet('r2')}`)
    const r3 = await startRelayInProcess(`proxyBindAddr: 127.0.0.3\n${fleet('r3')}`)
    const echo = await startEchoServer()
    const config = clientConfig(r1.port, `clientID: many\nfleet:\n  servers: [127.0.0.1:${r1.port}, 127.0.0.1:${r2.port}, 127.0.0.1:${r3.port}]\nproxies:\n  - name: svc\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`)
    expect(config.fleet).toEqual({ servers: [{ host: '127.0.0.1', port: r1.port }, { host: '127.0.0.1', port: r2.port }, { host: '127.0.0.1', port: r3.port }], connections: 2 })
    const agent = new FleetClient(config, silentLogger(), { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 } })
    const running = agent.run()
    try {
      const results = (relay: Relay): number[] => relay.sessions().flatMap((s) => s.proxies().map((p) => p.describe().remotePort))
      await until(() => results(r1.relay).length === 1 && results(r2.relay).length === 1)
      const port = results(r1.relay)[0] as number
      expect(results(r2.relay)).toEqual([port])
      expect(await roundTrip('127.0.0.1', port, 'one')).toBe('one')
      expect(await roundTrip('127.0.0.2', port, 'two')).toBe('two')
      r1.relay.destroy()
      expect(await roundTrip('127.0.0.2', port, 'two carries on')).toBe('two carries on')
      await until(() => results(r3.relay).length === 1)
      expect(results(r3.relay)).toEqual([port])
      expect(await roundTrip('127.0.0.3', port, 'three took over')).toBe('three took over')
      expect(agent.connections.map((c) => c.relay).sort()).toEqual([`127.0.0.1:${r2.port}`, `127.0.0.1:${r3.port}`].sort())
    } finally {
      agent.close(0)
      await running.catch(() => {})
    }
  }, 60_000)
})


describe('a fleet client whose two relay addresses lead to one relay', () => {
  afterEach(async () => {
    await closeInProcess()
    await closeServices()
  })

  it('stops the second connection instead of letting the two take the relay from each other in turn, and keeps serving', async () => {
    const relay = await startRelayInProcess()
    const echo = await startEchoServer()
    const { log, lines } = memoryLogger()
    const config = clientConfig(relay.port, `clientID: twice\nfleet:\n  servers: [127.0.0.1:${relay.port}, "localhost:${relay.port}"]\nproxies:\n  - name: one\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`)
    const agent = new FleetClient(config, log, { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 } })
    const running = agent.run()
    try {
      await until(() => lines.some((l) => typeof l.msg === 'string' && l.msg.includes('no other relay is left')))
      // Settled: the relay keeps one session of this client, its proxy serves, and replacements stopped.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const replaced = relay.relay.stats.replaced
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(relay.relay.stats.replaced).toBe(replaced)
      expect(relay.relay.sessions()).toHaveLength(1)
      const port = relay.relay.sessions()[0]?.proxies()[0]?.describe().remotePort
      expect(await echoOnce(port as number)).toBe(true)
    } finally {
      agent.close(0)
      await running.catch(() => {})
    }
  }, 30_000)
})

/** Waits (bounded: 200 polls, 50 ms apart) until `check` holds; throws if it never does. */
async function until (check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('condition not met in time')
}
