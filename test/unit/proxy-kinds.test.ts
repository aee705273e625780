// The relay's proxy layer is open for new types: a type is one file with its kind plus one line
// in the list the relay is given (test/helpers/toy-proxy.ts is such a file). The relay accepts
// the toy type's specs only from a client that announced its capability, starts it, reports it
// in its status like any other, and stops it on unregister and when the session ends.
import { afterEach, describe, expect, it } from 'vitest'
import { BUILTIN_PROXY_KINDS, relayStatus } from '../../server/index.js'
import { ALL_CAPABILITIES, MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closeServices, connectTo, probePort, readAll } from '../helpers/services.js'
import { toyProxyKind } from '../helpers/toy-proxy.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

async function register (raw: RawControl, spec: Record<string, unknown>, id: number): Promise<Record<string, unknown>> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, id, proxies: [spec] })
  return await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.id === id, from)
}

async function greeting (port: number): Promise<string> {
  const socket = await connectTo(port)
  const reply = readAll(socket, { keep: true, timeoutMs: 10_000 })
  socket.end()
  return (await reply).data?.toString('utf8') ?? ''
}

describe('proxy kinds', () => {
  it('a toy type added with one line is accepted, started, reported and stopped by the relay', async () => {
    const { relay, port } = await startRelayInProcess('', undefined, 0, { proxyKinds: [...BUILTIN_PROXY_KINDS, toyProxyKind] })
    const raw = await rawControl(port, 'toy-client', [...ALL_CAPABILITIES, 'proxy.toy'])
    const r = await register(raw, { name: 'hello', type: 'toy', remotePort: 0, greeting: 'hi there' }, 1)
    expect(r).toMatchObject({ ok: true, id: 1 })
    const toyPort = r.remotePort as number
    expect(await greeting(toyPort)).toBe('hi there')

    const status = await relayStatus(relay)
    expect(status.proxies).toEqual([expect.objectContaining({ name: 'hello', type: 'toy', phase: 'listening', clientId: 'toy-client', publicAddr: `127.0.0.1:${toyPort}`, bytesOut: 8, streams: { active: expect.any(Number), total: 1 } })])

    // A malformed toy spec refuses that proxy alone, with the kind's schema's reason.
    expect(await register(raw, { name: 'bad', type: 'toy', remotePort: 0 }, 2)).toMatchObject({ ok: false, code: 'TUN_PROXY_INVALID', message: expect.stringMatching(/greeting/) })

    const from = raw.messages.length
    raw.send({ type: MessageType.UNREGISTER, name: 'hello', id: 3 })
    expect(await raw.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT && m.id === 3, from)).toMatchObject({ ok: true })
    expect(await probePort(toyPort)).toBe('refused')
    expect((await relayStatus(relay)).proxies).toEqual([])

    // Started again, it goes with the session.
    const again = await register(raw, { name: 'hello', type: 'toy', remotePort: 0, greeting: 'bye' }, 4)
    raw.session.close()
    await raw.closed
    await expect.poll(async () => await probePort(again.remotePort as number)).toBe('refused')
  })

  it('refuses a type the relay does not serve, or one the client did not announce, and keeps the session', async () => {
    const { port } = await startRelayInProcess('', undefined, 0, { proxyKinds: [...BUILTIN_PROXY_KINDS, toyProxyKind] })
    const plain = await rawControl(port, 'no-toy')
    expect(await register(plain, { name: 'hello', type: 'toy', remotePort: 0, greeting: 'x' }, 1)).toMatchObject({ ok: false, code: 'TUN_PROXY_INVALID', message: expect.stringMatching(/not served/) })
    expect(await register(plain, { name: 'what', type: 'stcp', remotePort: 0 }, 2)).toMatchObject({ ok: false, code: 'TUN_PROXY_INVALID' })
    expect(await register(plain, { name: 'fine', type: 'tcp', remotePort: 0 }, 3)).toMatchObject({ ok: true })
    expect(plain.session.closed).toBe(false)
  })
})
