// routeByHTTPUser on the http vhost in one process (issue 17): the request's basic-auth user
// (Proxy-Authorization for absolute-form requests) picks among the proxies of one domain, before
// the proxy for any user; the route's own credentials are checked after.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { closeHttp, httpRequest, seenOf, startHttpService } from '../helpers/http.js'
import { closeVhostBeds, httpSpec as http, vhostBed as bed } from '../helpers/vhost-bed.js'
import { closeServices } from '../helpers/services.js'

const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  closeVhostBeds()
  await closeHttp()
  await closeServices()
})

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
