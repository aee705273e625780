// The socks5 plugin's other paths and the splice behind it, fed with real mux streams: a whole
// handshake, data and FIN sent at once (the service still answers, then the tunnel ends), a
// target by name and by IPv6 address, and the refusals: an open proxy offered only
// user/password, a malformed RFC 1929 message, an address type it does not know, a visitor that
// leaves in the middle of the handshake.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Secret } from '../../shared/secret.js'
import { closePluginMux, echoService, exchange, pluginHarness } from '../helpers/plugin-mux.js'

const servers: Server[] = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map(async (s) => { await new Promise((resolve) => { s.close(resolve) }) }))
  await closePluginMux()
})

/** An echo service on ::1 (undefined where the machine has no IPv6 loopback). */
async function echoService6 (): Promise<number | undefined> {
  const server = createNetServer((s) => { sockets.push(s); s.on('error', () => {}); s.write('echo6:'); s.pipe(s) })
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => { resolve(false) })
    server.listen(0, '::1', () => { resolve(true) })
  })
  if (!ok) return undefined
  servers.push(server)
  return (server.address() as AddressInfo).port
}

const port2 = (port: number): number[] => [port >> 8, port & 0xff]

describe('socks5 plugin, more paths', () => {
  it('carries bytes sent with the handshake and a FIN right behind them: the service answers, then the tunnel ends', async () => {
    const port = await echoService()
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const all = Buffer.concat([Buffer.from([5, 1, 0]), Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, ...port2(port)]), Buffer.from('all at once')])
    const r = await exchange(visit(), all, Infinity, true)
    // Method choice (2), success reply (10), then the service's answer.
    expect([...r.data.subarray(0, 4)]).toEqual([5, 0, 5, 0])
    expect(r.data.subarray(12).toString()).toBe('echo:all at once')
    expect(r.closed).toBe(true)
    await expect.poll(() => forwarder.traffic().active).toBe(0)
  })

  it('connects to a target given by name, and to one given as an IPv6 address', async () => {
    const port = await echoService()
    const { visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    const name = Buffer.from('localhost')
    const reply = await exchange(d, Buffer.from([5, 1, 0, 3, name.length, ...name, ...port2(port)]), 10 + 5)
    expect(reply.data[1]).toBe(0)
    expect(reply.data.subarray(10).toString()).toBe('echo:')
    const port6 = await echoService6()
    if (port6 === undefined) return
    const e = visit()
    await exchange(e, Buffer.from([5, 1, 0]), 2)
    const v6 = await exchange(e, Buffer.from([5, 1, 0, 4, ...Array<number>(15).fill(0), 1, ...port2(port6)]), 22 + 6)
    // The reply carries the IPv6 address the connection left from (22 bytes).
    expect([v6.data[1], v6.data[3]]).toEqual([0, 4])
    expect(v6.data.subarray(v6.data.length - 6).toString()).toBe('echo6:')
  })

  it('answers "no acceptable method" when an open proxy is offered only user/password', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const r = await exchange(visit(), Buffer.from([5, 1, 2]))
    expect([...r.data]).toEqual([5, 0xff])
    expect(r.closed).toBe(true)
    expect(forwarder.traffic().refused).toBe(1)
  })

  it('answers an RFC 1929 failure to a malformed user/password message', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: { user: 'u', password: new Secret(Buffer.from('p')) } })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 2]), 2)
    const r = await exchange(d, Buffer.from([1, 0, 0]))
    expect([...r.data]).toEqual([1, 1])
    expect(r.closed).toBe(true)
    expect(forwarder.traffic().refused).toBe(1)
  })

  it('answers "address type not supported" to an unknown address type and "host unreachable" to a name with odd characters', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    expect((await exchange(d, Buffer.from([5, 1, 0, 9, 0, 0]))).data[1]).toBe(8)
    const e = visit()
    await exchange(e, Buffer.from([5, 1, 0]), 2)
    const odd = Buffer.from('a b')
    expect((await exchange(e, Buffer.from([5, 1, 0, 3, odd.length, ...odd, 0, 80]))).data[1]).toBe(4)
    expect(forwarder.traffic()).toMatchObject({ refused: 2, dialFailures: 0 })
  })

  it('closes a visitor that ends in the middle of the handshake, and counts it', async () => {
    const { forwarder, visit } = await pluginHarness({ type: 'socks5', credentials: null })
    const d = visit()
    await exchange(d, Buffer.from([5, 1, 0]), 2)
    const r = await exchange(d, Buffer.from([5, 1, 0]), Infinity, true)
    expect(r.closed).toBe(true)
    await expect.poll(() => forwarder.traffic().refused).toBe(1)
    await expect.poll(() => forwarder.traffic().active).toBe(0)
  })
})
