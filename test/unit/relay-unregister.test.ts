// The relay's side of a reload: unregister closes one proxy of the asking session (its port,
// visitors and flows) and frees the name; bogus requests (unknown name, another client's proxy)
// are refused without touching anything; malformed ones end only the sender's session; requests
// run in arrival order and results carry the request's id.
import { afterEach, describe, expect, it } from 'vitest'
import { Flag } from '../../shared/wire/frame.js'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, rawSession, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closeServices, connectTo, getFreePort, probePort, readAll } from '../helpers/services.js'
import { closeUdp, udpVisitor } from '../helpers/udp.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closeUdp()
})

type Msg = Record<string, unknown>

const result = (type: string, name: string, id?: number) => (m: Msg): boolean =>
  m.type === type && m.name === name && (id === undefined || m.id === id)

async function register (raw: RawControl, name: string, id: number, extra: Msg = {}): Promise<Msg> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, id, proxies: [{ name, type: 'tcp', remotePort: 0, ...extra }] })
  return await raw.waitFor(result(MessageType.PROXY_RESULT, name, id), from)
}

async function unregister (raw: RawControl, name: string, id: number): Promise<Msg> {
  const from = raw.messages.length
  raw.session.sendControl({ type: MessageType.UNREGISTER, name, id })
  return await raw.waitFor(result(MessageType.UNREGISTER_RESULT, name, id), from)
}

/** Sends `text` through the proxy and reads the echo (the raw client echoes every stream). */
async function roundTrip (port: number, text: string): Promise<string> {
  const socket = await connectTo(port)
  const reply = readAll(socket, { keep: true, timeoutMs: 5_000 })
  socket.end(text)
  return (await reply).data?.toString('utf8') ?? ''
}

describe('relay: unregister on a live session', () => {
  it('closes the proxy port and resets its visitors, keeps the sibling and its visitor, and frees the name', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const one = await register(a, 'one', 1)
    const two = await register(a, 'two', 2)
    expect(one).toMatchObject({ ok: true, id: 1 })
    const onePort = one.remotePort as number
    const twoPort = two.remotePort as number

    const visitorOne = await connectTo(onePort)
    const visitorTwo = await connectTo(twoPort)
    const oneClosed = readAll(visitorOne, { timeoutMs: 5_000 })
    visitorOne.write('hello')
    visitorTwo.write('ping ')
    await expect.poll(() => a.streams.length).toBe(2)

    expect(await unregister(a, 'one', 3)).toEqual({ type: MessageType.UNREGISTER_RESULT, name: 'one', ok: true, id: 3 })
    expect((await oneClosed).closedBy).not.toBe('end') // reset, not a clean end
    expect(await probePort(onePort)).toBe('refused')
    const streamOne = a.streams.find((s) => s.open?.proxy === 'one')
    await expect.poll(() => streamOne?.closed).toBe(true)

    // The sibling's visitor is untouched: its bytes still echo through, end to end.
    const echoed = readAll(visitorTwo, { keep: true, timeoutMs: 5_000 })
    visitorTwo.end('pong')
    expect((await echoed).data?.toString('utf8')).toBe('ping pong')
    expect(await roundTrip(twoPort, 'again')).toBe('again')

    // The name is free for another client now.
    const b = await rawControl(port, 'client-b')
    expect(await register(b, 'one', 1)).toMatchObject({ ok: true })
  })

  it('refuses an unregister for an unknown name or another client\'s proxy, and changes nothing', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const b = await rawControl(port, 'client-b')
    const aProxy = await register(a, 'mine', 1)
    expect(await unregister(b, 'mine', 7)).toMatchObject({ ok: false, code: 'TUN_PROXY_UNKNOWN', id: 7 })
    expect(await unregister(b, 'nobody', 8)).toMatchObject({ ok: false, code: 'TUN_PROXY_UNKNOWN', id: 8 })
    expect(await unregister(a, 'nobody', 9)).toMatchObject({ ok: false, code: 'TUN_PROXY_UNKNOWN', id: 9 })
    // A's proxy still serves; B's session is still usable; the name is still A's.
    expect(await roundTrip(aProxy.remotePort as number, 'still here')).toBe('still here')
    expect(await register(b, 'mine', 2)).toMatchObject({ ok: false, code: 'TUN_PROXY_EXISTS' })
    expect(await register(b, 'other', 3)).toMatchObject({ ok: true })
    expect(b.session.closed).toBe(false)
  })

  it('ends only the sender\'s session on a malformed unregister; others go on', async () => {
    const { relay, port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const aProxy = await register(a, 'mine', 1)
    // Each raw client has a key of its own, and a clientID stays reserved for the key that held it (ownershipGrace): one id each.
    for (const [i, bad] of [{ type: MessageType.UNREGISTER }, { type: MessageType.UNREGISTER, name: 42 }, { type: MessageType.UNREGISTER, name: 'x', id: -1 }, { type: MessageType.UNREGISTER, name: 'x'.repeat(300) }].entries()) {
      const b = await rawControl(port, `client-b${i}`)
      await register(b, `b-proxy${i}`, 1)
      b.send(bad)
      await b.closed
      expect(b.session.remoteGoAway).toBeDefined()
    }
    expect(relay.sessionCount).toBe(1)
    expect(await roundTrip(aProxy.remotePort as number, 'unaffected')).toBe('unaffected')
  })

  it('ends only the sender\'s session on a control message of an unknown type', async () => {
    const { relay, port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const aProxy = await register(a, 'mine', 1)
    for (const [i, bad] of [{ type: 'frobnicate', name: 'x' }, { type: 42 }, { name: 'no type' }, ['not', 'an', 'object']].entries()) {
      const b = await rawControl(port, `client-b${i}`)
      b.send(bad)
      await b.closed
      expect(b.session.remoteGoAway).toBeDefined()
    }
    expect(relay.sessionCount).toBe(1)
    expect(await roundTrip(aProxy.remotePort as number, 'unaffected')).toBe('unaffected')
  })

  it('handles requests in arrival order: unregister + register re-opens the same port, register + unregister leaves it closed', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const fixed = await getFreePort()
    expect(await register(a, 'p', 1, { remotePort: fixed })).toMatchObject({ ok: true, remotePort: fixed })
    const from = a.messages.length
    a.send({ type: MessageType.UNREGISTER, name: 'p', id: 2 })
    a.send({ type: MessageType.REGISTER, id: 3, proxies: [{ name: 'p', type: 'tcp', remotePort: fixed }] })
    expect(await a.waitFor(result(MessageType.UNREGISTER_RESULT, 'p', 2), from)).toMatchObject({ ok: true })
    expect(await a.waitFor(result(MessageType.PROXY_RESULT, 'p', 3), from)).toMatchObject({ ok: true, remotePort: fixed })
    expect(await roundTrip(fixed, 'reopened')).toBe('reopened')

    const from2 = a.messages.length
    a.send({ type: MessageType.REGISTER, id: 4, proxies: [{ name: 'q', type: 'tcp', remotePort: 0 }] })
    a.send({ type: MessageType.UNREGISTER, name: 'q', id: 5 })
    const q = await a.waitFor(result(MessageType.PROXY_RESULT, 'q', 4), from2)
    expect(await a.waitFor(result(MessageType.UNREGISTER_RESULT, 'q', 5), from2)).toMatchObject({ ok: true })
    expect(await probePort(q.remotePort as number)).toBe('refused')
  })

  it('gives the port back to the maxPortsPerClient count', async () => {
    const { port } = await startRelayInProcess('maxPortsPerClient: 1\n')
    const a = await rawControl(port, 'client-a')
    expect(await register(a, 'first', 1)).toMatchObject({ ok: true })
    expect(await register(a, 'second', 2)).toMatchObject({ ok: false, code: 'TUN_PORT_NOT_ALLOWED' })
    await unregister(a, 'first', 3)
    expect(await register(a, 'second', 4)).toMatchObject({ ok: true })
  })

  it('closes a udp proxy\'s flows with a FIN to the client', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a')
    const opened: number[] = []
    const finned: number[] = []
    a.session.on('datagram', (id, flags) => {
      if ((flags & Flag.FIN) !== 0) finned.push(id)
      else if ((flags & Flag.SYN) !== 0) opened.push(id)
    })
    const r = await register(a, 'dns', 1, { type: 'udp', idleTimeout: 60, maxFlows: 8 })
    const visitor = await udpVisitor(r.remotePort as number)
    visitor.send('query')
    await expect.poll(() => opened.length).toBe(1)
    expect(await unregister(a, 'dns', 2)).toMatchObject({ ok: true })
    await expect.poll(() => finned).toEqual(opened)
  })
})

describe('relay: the login comes first, once, with the handshake\'s client id', () => {
  const login = { type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], user: '', hostname: 'test' }

  it('closes a session whose first message is not a login, or that logs in twice, or under another client id', async () => {
    const { relay, port } = await startRelayInProcess()
    const first = await rawSession(port, 'raw-a')
    first.send({ type: MessageType.REGISTER, proxies: [] })
    expect(await first.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toMatchObject({ ok: false, code: 'TUN_PROTOCOL', message: expect.stringMatching(/first control message must be a login, not "register"/) })
    await first.closed

    const twice = await rawSession(port, 'raw-b')
    twice.send({ ...login, clientId: 'raw-b' })
    expect(await twice.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toMatchObject({ ok: true })
    const from = twice.messages.length
    twice.send({ ...login, clientId: 'raw-b' })
    expect(await twice.waitFor((m) => m.type === MessageType.LOGIN_RESULT, from)).toMatchObject({ ok: false, code: 'TUN_PROTOCOL', message: expect.stringMatching(/second login/) })
    await twice.closed

    const other = await rawSession(port, 'raw-c')
    other.send({ ...login, clientId: 'someone-else' })
    expect(await other.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toMatchObject({ ok: false, code: 'TUN_PROTOCOL', message: expect.stringMatching(/names clientID someone-else but the handshake raw-c/) })
    await other.closed
    expect(relay.sessionCount).toBe(0)
  })

  it('answers the login with its version and the capabilities both sides have', async () => {
    const { port } = await startRelayInProcess()
    const raw = await rawSession(port, 'caps')
    raw.send({ ...login, clientId: 'caps', capabilities: ['proxy.tcp', 'diag', 'teleport'] })
    expect(await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT)).toEqual({ type: MessageType.LOGIN_RESULT, ok: true, version: CONTROL_PROTOCOL_VERSION, capabilities: ['proxy.tcp', 'diag'], sessionId: expect.any(String) })
    // A type outside the common set is refused alone; the session goes on.
    expect(await register(raw, 'u', 1, { type: 'udp', idleTimeout: 10, maxFlows: 4 })).toMatchObject({ ok: false, code: 'TUN_PROXY_INVALID' })
    expect(await register(raw, 't', 2)).toMatchObject({ ok: true })
  })
})
