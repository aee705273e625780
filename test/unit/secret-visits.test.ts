// Secret proxies against visitors that hold the token but not the secret (every token holder is
// a possible attacker of other tenants), on a real relay and home client in this process, with
// raw visitor sessions built from the project's own modules.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../server/index.js'
import { VISIT_FAILURE_BURST } from '../../server/visit/index.js'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, getFreePort, holdPort, startEchoServer } from '../helpers/services.js'
import { closeUdp, startUdpEcho, udpVisitor } from '../helpers/udp.js'
import { openVisit, rawVisitor, visitBlock } from '../helpers/visit.js'

const SECRET = 'a-long-random-secret-for-tests'
const TARGET = 'ssh'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closeUdp()
})

interface Setup {
  relay: Relay
  port: number
  /** The home client's tcp proxy, beside the secret one. */
  webPort: number
  /** The failure budget's clock: frozen unless a test moves it. */
  clock: { now: number }
}

async function setup (extra: { maxPerSession?: number, maxPerHome?: number, stcpExtra?: string } = {}): Promise<Setup> {
  const clock = { now: 0 }
  const { relay, port } = await startRelayInProcess('', undefined, 0, { visits: { monotonic: () => clock.now, ...(extra.maxPerSession === undefined ? {} : { maxPerSession: extra.maxPerSession }), ...(extra.maxPerHome === undefined ? {} : { maxPerHome: extra.maxPerHome }) } })
  const echo = await startEchoServer()
  const home = await startClientInProcess(clientConfig(port, [
    'proxies:',
    `  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop]${extra.stcpExtra ?? ''} }`,
    `  - { name: web, type: tcp, localPort: ${echo.port}, remotePort: 0 }`,
  ].join('\n'), 'home.yml'))
  const web = home.results.find((r) => r.name === 'web')
  return { relay, port, webPort: web?.remotePort ?? 0, clock }
}

/** Sends `text` on a visit and resolves with what came back, once the relay closed it cleanly. */
async function echoThrough (visit: ReturnType<typeof openVisit>, text: string): Promise<string> {
  visit.stream.write(Buffer.from(text))
  visit.stream.end()
  const err = await visit.closed
  if (err !== undefined) throw err
  return visit.received().toString('utf8')
}

describe('secret proxies against hostile visitors', () => {
  it('answers a wrong secretKey, an unknown name and a user not in allowUsers the same way, and counts each reason', async () => {
    const { relay, port, webPort } = await setup()
    const laptop = await rawVisitor(port, 'laptop-1', 'laptop')
    const eve = await rawVisitor(port, 'eve-1', 'eve')
    const answers = await Promise.all([
      openVisit(laptop, TARGET, visitBlock({ target: TARGET, secret: 'wrong-secret', user: 'laptop' })).closed,
      openVisit(laptop, 'nope', visitBlock({ target: 'nope', secret: SECRET, user: 'laptop' })).closed,
      openVisit(eve, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'eve' })).closed,
    ])
    expect(answers.map((e) => e?.code)).toEqual(['TUN_VISIT_REFUSED', 'TUN_VISIT_REFUSED', 'TUN_VISIT_REFUSED'])
    // Nothing else reached the visitors: no control message beyond the login's answer.
    expect(laptop.messages.map((m) => m.type)).toEqual(['loginResult'])
    expect(eve.messages.map((m) => m.type)).toEqual(['loginResult'])
    expect(relay.visits.refusals).toMatchObject({ proof: 1, unknown: 1, user: 1 })
    // The right visitor gets through, and the home client's other proxy never noticed.
    expect(await echoThrough(openVisit(laptop, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })), 'hello')).toBe('hello')
    expect(await echoOnce(webPort)).toBe(true)
  })

  it('refuses a replayed proof, a stale one, and one made over another user than the session\'s', async () => {
    const { relay, port } = await setup()
    const laptop = await rawVisitor(port, 'laptop-1', 'laptop')
    const block = visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })
    expect(await echoThrough(openVisit(laptop, TARGET, block), 'first')).toBe('first')
    expect((await openVisit(laptop, TARGET, block).closed)?.code).toBe('TUN_VISIT_REFUSED')
    const stale = visitBlock({ target: TARGET, secret: SECRET, user: 'laptop', timestampMs: Date.now() - 10 * 60_000 })
    expect((await openVisit(laptop, TARGET, stale).closed)?.code).toBe('TUN_VISIT_REFUSED')
    // A session of user eve cannot borrow laptop's standing: the relay signs over the session's user.
    const eve = await rawVisitor(port, 'eve-1', 'eve')
    expect((await openVisit(eve, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })).closed)?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals).toMatchObject({ replay: 1, stale: 1, proof: 1 })
  })

  it('refuses every visit of a session that keeps failing, the right one too, until its budget refills; other sessions go on', async () => {
    const { relay, port, clock } = await setup()
    const guesser = await rawVisitor(port, 'guesser', 'laptop')
    for (let i = 0; i < VISIT_FAILURE_BURST; i++) {
      const guess = visitBlock({ target: TARGET, secret: randomBytes(8).toString('hex'), user: 'laptop' })
      expect((await openVisit(guesser, TARGET, guess).closed)?.code).toBe('TUN_VISIT_REFUSED')
    }
    const right = visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })
    expect((await openVisit(guesser, TARGET, right).closed)?.code).toBe('TUN_VISIT_RATE_LIMITED')
    expect(relay.visits.refusals).toMatchObject({ proof: VISIT_FAILURE_BURST, rateLimited: 1 })
    const other = await rawVisitor(port, 'laptop-2', 'laptop')
    expect(await echoThrough(openVisit(other, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })), 'mine')).toBe('mine')
    clock.now += 1_000
    expect(await echoThrough(openVisit(guesser, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })), 'later')).toBe('later')
  })

  it('caps the visits of one visitor session, of one home client and of one proxy, and frees a slot when a visit ends', async () => {
    const { relay, port, webPort } = await setup({ maxPerSession: 3, maxPerHome: 5 })
    const right = (): ReturnType<typeof visitBlock> => visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })
    const a = await rawVisitor(port, 'laptop-a', 'laptop')
    const held = [openVisit(a, TARGET, right()), openVisit(a, TARGET, right()), openVisit(a, TARGET, right())]
    expect((await openVisit(a, TARGET, right()).closed)?.code).toBe('TUN_TOO_MANY_STREAMS')
    const b = await rawVisitor(port, 'laptop-b', 'laptop')
    const heldB = [openVisit(b, TARGET, right()), openVisit(b, TARGET, right())]
    await expect.poll(() => relay.sessions().find((s) => s.clientId === 'laptop-b')?.session.streamCount).toBe(2)
    // Five visits reach the home client: its share is spent, whoever asks.
    expect((await openVisit(b, TARGET, right()).closed)?.code).toBe('TUN_TOO_MANY_STREAMS')
    expect(relay.visits.refusals).toMatchObject({ visitorLimit: 1, proxyLimit: 1 })
    // The home client's tcp proxy is not part of that share.
    expect(await echoOnce(webPort)).toBe(true)
    held[0]?.stream.end()
    await held[0]?.closed
    expect(await echoThrough(openVisit(b, TARGET, right()), 'room again')).toBe('room again')
    for (const v of [...held, ...heldB]) v.stream.reset()
  })

  it('holds an stcp proxy to its own maxVisitors', async () => {
    const { port } = await setup({ stcpExtra: ', maxVisitors: 1' })
    const a = await rawVisitor(port, 'laptop-a', 'laptop')
    const first = openVisit(a, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' }))
    expect((await openVisit(a, TARGET, visitBlock({ target: TARGET, secret: SECRET, user: 'laptop' })).closed)?.code).toBe('TUN_TOO_MANY_STREAMS')
    first.stream.reset()
  })
})

describe('secret proxies with real visitor clients', () => {
  it('carries stcp bytes and whole sudp datagrams (4,000 bytes) through visitors with the right secret', async () => {
    const { port } = await startRelayInProcess()
    const echo = await startEchoServer()
    const udpEcho = await startUdpEcho()
    await startClientInProcess(clientConfig(port, [
      'proxies:',
      `  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET} }`,
      `  - { name: dns, type: sudp, localPort: ${udpEcho.port}, secretKey: ${SECRET} }`,
    ].join('\n'), 'home.yml'))
    const tcpPort = await getFreePort()
    const visitorYaml = [
      'visitors:',
      `  - { name: ssh, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: ${tcpPort} }`,
      `  - { name: dns, type: sudp, serverName: dns, secretKey: ${SECRET}, bindPort: ${tcpPort} }`,
    ].join('\n')
    const visitor = await startClientInProcess(clientConfig(port, visitorYaml, 'laptop.yml'))
    await expect.poll(() => visitor.client.visitorEntries().map((e) => e.phase)).toEqual(['running', 'running'])
    expect(await echoOnce(tcpPort)).toBe(true)
    const app = await udpVisitor(tcpPort)
    const big = randomBytes(4000)
    app.send(big)
    await app.waitFor(1)
    expect(app.received[0]?.equals(big)).toBe(true)
    expect(udpEcho.received).toBe(1)
  })

  it('marks a visitor whose port is taken refused (TUN_PORT_IN_USE) and runs the client\'s other visitors', async () => {
    const { port } = await startRelayInProcess()
    const echo = await startEchoServer()
    await startClientInProcess(clientConfig(port, `proxies:\n  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET} }`, 'home.yml'))
    const taken = await holdPort()
    const free = await getFreePort()
    const visitor = await startClientInProcess(clientConfig(port, [
      'visitors:',
      `  - { name: busy, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: ${taken.port} }`,
      `  - { name: fine, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: ${free} }`,
    ].join('\n'), 'laptop.yml'))
    await expect.poll(() => visitor.client.visitorEntries().map((e) => [e.config.name, e.phase, e.problem?.code])).toEqual([['busy', 'refused', 'TUN_PORT_IN_USE'], ['fine', 'running', undefined]])
    expect(await echoOnce(free)).toBe(true)
  })
})

