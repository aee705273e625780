// routeByHTTPUser on http proxies through the real CLI (issue 17): two clients of one owner (one
// client key, two clientIDs) serve the same domain for different users, a third proxy takes
// every other user; requests are routed by their basic-auth user (Proxy-Authorization for
// proxy-style absolute-form requests), as frp does. A client with another key cannot add a
// user's route to a domain it does not own.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, startClient } from '../helpers/cli.js'
import { closeHttp, httpRequest, seenOf, startHttpService } from '../helpers/http.js'
import { closeServices } from '../helpers/services.js'
import { startVhostRelay, vhostClientYaml } from '../helpers/vhost.js'

const dirs: string[] = []

afterEach(async () => {
  await cleanupCli()
  await closeHttp()
  await closeServices()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`

/** frpc.yml of one client: the shared key file, its clientID, one proxy. */
function yaml (serverPort: number, keyFile: string, clientID: string, name: string, localPort: number, extra: string[]): string {
  const base = vhostClientYaml(serverPort, [{ name, type: 'http', localPort, extra: ['customDomains: [normal.example.test]', ...extra] }])
  return base.replace('proxies:\n', `  clientKeyFile: ${JSON.stringify(keyFile)}\nclientID: ${clientID}\nproxies:\n`)
}

describe('routeByHTTPUser on http proxies', () => {
  it('routes one domain\'s requests by their user to the proxies of two clients, and the other users to the proxy for any user', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tunnel-route-user-'))
    dirs.push(dir)
    const keyFile = join(dir, 'shared.key')
    const relay = await startVhostRelay()
    const foo = await startHttpService('foo')
    const bar = await startHttpService('bar')
    const other = await startHttpService('other')
    const one = await startClient(yaml(relay.port, keyFile, 'web-1', 'foo', foo.port, ['routeByHTTPUser: user1']))
    const two = await startClient(yaml(relay.port, keyFile, 'web-2', 'bar', bar.port, ['routeByHTTPUser: user2', 'httpUser: user2', 'httpPassword: pw2']))
    const three = await startClient(yaml(relay.port, keyFile, 'web-3', 'catchAll', other.port, []))
    expect([one.ports.get('foo'), two.ports.get('bar'), three.ports.get('catchAll')]).toEqual([relay.http, relay.http, relay.http])

    const as = async (headers: Record<string, string>, path = '/'): Promise<string> => {
      const reply = await httpRequest(relay.http, 'normal.example.test', path, { headers })
      return reply.status === 200 ? seenOf(reply).service : String(reply.status)
    }
    expect(await as({ Authorization: basic('user1:') })).toBe('foo')
    expect(await as({ Authorization: basic('user2:pw2') })).toBe('bar')
    expect(await as({ Authorization: basic('user2:nope') })).toBe('401')
    expect(await as({ Authorization: basic('user3:') })).toBe('other')
    expect(await as({})).toBe('other')
    expect(await as({ 'Proxy-Authorization': basic('user1:') }, 'http://normal.example.test/')).toBe('foo')
    expect(foo.requests).toHaveLength(2)

    // Another client key may not put a user's route on that domain (it would get user1's requests).
    const thief = await startClient(vhostClientYaml(relay.port, [{ name: 'thief', type: 'http', localPort: other.port, extra: ['customDomains: [normal.example.test]', 'routeByHTTPUser: user9'] }]))
    expect(thief.refused.get('thief')).toBe('TUN_DOMAIN_OWNED')

    // user1's client leaves: its user falls back to the proxy for any user.
    one.handle.kill('SIGTERM')
    await one.handle.exit
    expect(await as({ Authorization: basic('user1:') })).toBe('other')
  }, E2E_TEST_TIMEOUT_MS)
})
