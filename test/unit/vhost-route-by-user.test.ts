// routeByHTTPUser on the http vhost in one process (issue 17): the request's basic-auth user
// (Proxy-Authorization for absolute-form requests) picks among the proxies of one domain, before
// the proxy for any user; the route's own credentials are checked after.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TcpForwarder } from '../../client/tcp-forwarder.js'
import { Vhosts } from '../../server/vhost/vhosts.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'
import { silentLogger } from '../../shared/log.js'
import { ResetCode } from '../../shared/wire/frame.js'
import type { HttpProxySpec } from '../../shared/wire/proxy-spec.js'
import { closeHttp, httpRequest, seenOf, startHttpService } from '../helpers/http.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeServices } from '../helpers/services.js'

const log = silentLogger()
const beds: Array<{ pair: MuxPair, vhosts: Vhosts }> = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const b of beds.splice(0)) { b.vhosts.destroy(); b.pair.close() }
  await closeHttp()
  await closeServices()
})

const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })
const http = (name: string, customDomains: string[], more: Partial<HttpProxySpec> = {}): HttpProxySpec => ({ name, type: 'http', customDomains, locations: [], ...more })

async function bed () {
  const pair = await muxPair()
  const vhosts = new Vhosts({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, subDomainHost: 'example.test', responseHeaderTimeoutMs: 10_000, custom404Page: null }, log)
  await vhosts.start()
  beds.push({ pair, vhosts })
  const forwarders = new Map<string, TcpForwarder>()
  pair.client.on('stream', (s) => {
    const f = s.open === undefined ? undefined : forwarders.get(s.open.proxy)
    if (f === undefined) s.reset(ResetCode.REFUSED)
    else f.handle(s)
  })
  const add = (spec: HttpProxySpec, localPort: number) => {
    forwarders.set(spec.name, new TcpForwarder(tcpTarget(localPort), log))
    return vhosts.open(spec, pair.server, log, 'the-client')
  }
  return { vhosts, add, port: vhosts.httpPort ?? 0 }
}

describe('http vhost routeByHTTPUser', () => {
  it('routes by the basic-auth user with routeByHTTPUser (Proxy-Authorization for absolute-form), others to the proxy for any user', async () => {
    const b = await bed()
    const one = await startHttpService('user1')
    const two = await startHttpService('user2')
    const any = await startHttpService('any')
    b.add(http('one', ['n.example.test'], { routeByHTTPUser: 'user1' }), one.port)
    b.add(http('two', ['n.example.test'], { routeByHTTPUser: 'user2', httpUser: 'user2', httpPassword: 'pw' }), two.port)
    b.add(http('any', ['n.example.test']), any.port)
    const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`
    const as = async (headers: Record<string, string>, path = '/'): Promise<string> => {
      const reply = await httpRequest(b.port, 'n.example.test', path, { headers })
      return reply.status === 200 ? seenOf(reply).service : String(reply.status)
    }
    expect(await as({ Authorization: basic('user1:') })).toBe('user1')
    expect(await as({ Authorization: basic('user2:pw') })).toBe('user2')
    // Routed by its user, then refused by that route's own credentials.
    expect(await as({ Authorization: basic('user2:wrong') })).toBe('401')
    expect(await as({ Authorization: basic('user3:x') })).toBe('any')
    expect(await as({})).toBe('any')
    // A proxy-style request: Proxy-Authorization names the user, and wins over Authorization.
    expect(await as({ 'Proxy-Authorization': basic('user1:') }, 'http://n.example.test/')).toBe('user1')
    expect(await as({ 'Proxy-Authorization': basic('user1:'), Authorization: basic('user3:') }, 'http://n.example.test/')).toBe('user1')
    expect(await as({ Authorization: basic('user1:') }, 'http://n.example.test/')).toBe('user1')
    // An origin-form request is routed by Authorization alone.
    expect(await as({ 'Proxy-Authorization': basic('user1:') })).toBe('any')
    expect(one.requests).toHaveLength(4)
  })
})
