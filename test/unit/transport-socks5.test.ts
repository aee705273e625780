// The client's way through a SOCKS5 proxy (transport.proxyURL socks5://), against a scripted
// proxy on loopback: the bytes it sends (RFC 1928 greeting, RFC 1929 credentials, CONNECT by
// IPv4, IPv6 or name) and what it makes of every answer: success with bytes behind the reply,
// each refusal with its RFC meaning and our error code, a proxy that is not SOCKS5, one that
// hangs up, one that does not answer before the deadline.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { socks5Connect } from '../../client/transport/socks5.js'
import type { ProxyUrl } from '../../shared/config/index.js'
import { Secret } from '../../shared/secret.js'

const servers: Server[] = []
const sockets: Socket[] = []
const controllers: AbortController[] = []

afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort()
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(servers.splice(0).map(async (s) => { await new Promise((resolve) => { s.close(resolve) }) }))
})

/** After the client has sent `after` bytes in all, the proxy writes `reply` (null: hangs up; undefined: stays silent). */
type Step = [after: number, reply: Buffer | null | undefined]

/** A scripted SOCKS5 proxy; `received()` is every byte a client sent it. */
async function scriptedProxy (steps: readonly Step[]): Promise<{ port: number, received: () => Buffer }> {
  let got = Buffer.alloc(0)
  const server = createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
    let next = 0
    const run = (): void => {
      while (next < steps.length) {
        const step = steps[next]
        if (step === undefined || got.length < step[0]) return
        next++
        if (step[1] === null) { s.end(); return }
        if (step[1] !== undefined) s.write(step[1])
      }
    }
    s.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); run() })
    run()
  })
  servers.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return { port: (server.address() as AddressInfo).port, received: () => got }
}

function proxyUrl (port: number, user = '', password: string | null = null): ProxyUrl {
  return { scheme: 'socks5', host: '127.0.0.1', port, user, password: password === null ? null : new Secret(Buffer.from(password)), source: 'transport.proxyURL' }
}

async function through (port: number, host: string, targetPort: number, url: ProxyUrl, abortAfterMs?: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  sockets.push(socket)
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const controller = new AbortController()
  controllers.push(controller)
  if (abortAfterMs !== undefined) setTimeout(() => { controller.abort() }, abortAfterMs).unref()
  await socks5Connect(socket, host, targetPort, url, controller.signal)
  return socket
}

const OK_V4 = Buffer.from([5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90])

describe('the SOCKS5 transport', () => {
  it('offers user/password, sends the URL\'s credentials and an IPv4 CONNECT, and hands back the bytes behind the reply', async () => {
    const proxy = await scriptedProxy([[4, Buffer.from([5, 2])], [4 + 2 + 1 + 1 + 6, Buffer.from([1, 0])], [4 + 9 + 10, Buffer.concat([OK_V4, Buffer.from('relay-first')])]])
    const socket = await through(proxy.port, '192.0.2.7', 7000, proxyUrl(proxy.port, 'u', 'secret'))
    expect([...proxy.received()]).toEqual([5, 2, 0, 2, 1, 1, 117, 6, ...Buffer.from('secret'), 5, 1, 0, 1, 192, 0, 2, 7, 0x1b, 0x58])
    const first = await new Promise<string>((resolve) => { socket.once('data', (c: Buffer) => { resolve(c.toString()) }); socket.resume() })
    expect(first).toBe('relay-first')
  })

  it('sends a name for the proxy to resolve, and an IPv6 literal as 16 bytes (its zone dropped)', async () => {
    const named = await scriptedProxy([[3, Buffer.from([5, 0])], [3 + 5 + 'relay.example'.length + 2, Buffer.from([5, 0, 0, 3, 3, 0x61, 0x62, 0x63, 0, 80])]])
    await through(named.port, 'relay.example', 443, proxyUrl(named.port))
    expect([...named.received().subarray(3)]).toEqual([5, 1, 0, 3, 13, ...Buffer.from('relay.example'), 1, 0xbb])
    const v6 = await scriptedProxy([[3, Buffer.from([5, 0])], [3 + 4 + 16 + 2, Buffer.concat([Buffer.from([5, 0, 0, 4]), Buffer.alloc(16), Buffer.from([0, 80])])]])
    await through(v6.port, 'fe80::1:2%eth0', 80, proxyUrl(v6.port))
    expect([...v6.received().subarray(3)]).toEqual([5, 1, 0, 4, 0xfe, 0x80, ...Array<number>(10).fill(0), 0, 1, 0, 2, 0, 80])
  })

  it('refuses a relay name longer than SOCKS5 carries before sending it', async () => {
    const proxy = await scriptedProxy([[3, Buffer.from([5, 0])]])
    await expect(through(proxy.port, `${'a'.repeat(250)}.example`, 80, proxyUrl(proxy.port))).rejects.toMatchObject({ code: 'TUN_CONNECT' })
    expect(proxy.received().length).toBe(3)
  })

  it('names each refusal: wrong credentials, no acceptable method (with and without credentials), a method not offered', async () => {
    const cases: Array<[Step[], ProxyUrl | ((port: number) => ProxyUrl), string, RegExp]> = [
      [[[4, Buffer.from([5, 2])], [12, Buffer.from([1, 1])]], (p) => proxyUrl(p, 'u', 'secret'), 'TUN_PROXY_URL_AUTH', /refused the user name and password .*status 1/],
      [[[3, Buffer.from([5, 0xff])]], (p) => proxyUrl(p), 'TUN_PROXY_URL_AUTH', /wants authentication and the URL has no credentials/],
      [[[4, Buffer.from([5, 0xff])]], (p) => proxyUrl(p, 'u', 'x'), 'TUN_PROXY_URL_AUTH', /accepts none of our methods/],
      [[[3, Buffer.from([5, 1])]], (p) => proxyUrl(p), 'TUN_PROXY_URL_REFUSED', /chose method 1, which we did not offer/],
    ]
    for (const [steps, url, code, message] of cases) {
      const proxy = await scriptedProxy(steps)
      const u = typeof url === 'function' ? url(proxy.port) : url
      const err = await through(proxy.port, '127.0.0.1', 7000, u).then(() => undefined, (e: unknown) => e)
      expect(err).toMatchObject({ code })
      expect(String((err as Error).message)).toMatch(message)
      expect(String((err as Error).message)).not.toContain('secret')
    }
  })

  it('gives the RFC meaning of a CONNECT refusal, or its number when it has none', async () => {
    for (const [code, text] of [[5, 'connection refused'], [2, 'connection not allowed by ruleset'], [9, 'reply 9']] as const) {
      const proxy = await scriptedProxy([[3, Buffer.from([5, 0])], [13, Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0])]])
      await expect(through(proxy.port, '127.0.0.1', 7000, proxyUrl(proxy.port))).rejects.toThrow(new RegExp(`refused to connect to the relay: ${text}`))
    }
  })

  it('refuses a proxy that is not SOCKS5, that answers CONNECT oddly, or that hangs up', async () => {
    const cases: Array<[Step[], RegExp]> = [
      [[[3, Buffer.from([4, 0])]], /is not a SOCKS5 proxy \(it answered version 4\)/],
      [[[3, Buffer.from([5, 0])], [13, Buffer.from([4, 0, 0, 1, 0, 0, 0, 0, 0, 0])]], /answered CONNECT with version 4/],
      [[[3, Buffer.from([5, 0])], [13, Buffer.from([5, 0, 0, 9, 0, 0, 0, 0, 0, 0])]], /answered CONNECT with address type 9/],
      [[[3, null]], /closed the connection/],
    ]
    for (const [steps, message] of cases) {
      const proxy = await scriptedProxy(steps)
      const err = await through(proxy.port, '127.0.0.1', 7000, proxyUrl(proxy.port)).then(() => undefined, (e: unknown) => e)
      expect(err).toMatchObject({ code: 'TUN_PROXY_URL_REFUSED' })
      expect(String((err as Error).message)).toMatch(message)
      expect(String((err as Error).message)).toContain(`socks5://127.0.0.1:${proxy.port}`)
    }
  })

  it('gives up with TUN_CONNECT when the proxy does not answer before the deadline', async () => {
    const proxy = await scriptedProxy([[3, undefined]])
    const err = await through(proxy.port, '127.0.0.1', 7000, proxyUrl(proxy.port), 50).then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ code: 'TUN_CONNECT' })
    expect(String((err as Error).message)).toMatch(/did not answer in time/)
  })
})
