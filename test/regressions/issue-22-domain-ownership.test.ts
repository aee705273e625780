// Issue 22, finding 5 (the ownership part): while bob served b.example.com at /, another client
// registered /login, /a, /i, /s on his domain and received /login, /index.html, /api/users,
// /static/app.js and /about; after bob's client restarted, another client won his domain in
// about 40 ms. Now a domain has one owner: nobody else can add locations to it
// (TUN_DOMAIN_OWNED), and when the owner's session ends the domain stays reserved for it for
// ownershipGrace. Bob is a real client; the other one a raw client of the project's modules.
import { afterEach, describe, expect, it } from 'vitest'
import { MessageType } from '../../shared/wire/control.js'
import { closeHttp, httpRequest, seenOf, startHttpService } from '../helpers/http.js'
import { clientConfig, closeInProcess, rawControl, startClientInProcess, type RawControl } from '../helpers/in-process.js'
import { startVhostRelayInProcess } from '../helpers/vhost-in-process.js'

afterEach(async () => {
  await closeInProcess()
  await closeHttp()
})

const BOB_DOMAIN = 'b.example.com'

async function register (raw: RawControl, spec: Record<string, unknown>): Promise<Record<string, unknown>> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, proxies: [spec] })
  return await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === spec.name, from)
}

const hijack = (name: string, locations: string[] = ['/login', '/a', '/i', '/s']): Record<string, unknown> => ({ name, type: 'http', customDomains: [BOB_DOMAIN], locations })

describe('issue 22: a domain has one owner', () => {
  it('refuses a second client\'s locations on a domain another client owns, and its visitors still reach the owner', async () => {
    const { port, http } = await startVhostRelayInProcess()
    const bobService = await startHttpService('bob')
    await startClientInProcess(clientConfig(port, `clientID: bob\nproxies:\n  - { name: site, type: http, localPort: ${bobService.port}, customDomains: [${BOB_DOMAIN}] }\n`))
    const other = await rawControl(port, 'mallory')
    const refused = await register(other, hijack('grab'))
    expect(refused).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED', message: expect.stringContaining(BOB_DOMAIN) })
    // Not a location of his, not his root, not with another spelling of the name.
    expect(await register(other, hijack('root', ['/']))).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    expect(await register(other, { ...hijack('upper'), customDomains: ['B.Example.COM.'] })).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    for (const path of ['/login', '/index.html', '/api/users', '/static/app.js', '/about']) {
      const reply = await httpRequest(http, BOB_DOMAIN, path)
      expect(reply.status, path).toBe(200)
      expect(seenOf(reply).service, path).toBe('bob')
    }
    expect(bobService.requests).toHaveLength(5)
  })

  it('keeps an ended session\'s domain for its owner through the grace period: its reconnect gets it back, nobody else can take it', async () => {
    let now = 1_700_000_000_000
    const { relay, port } = await startVhostRelayInProcess('ownershipGrace: 60\n', undefined, { reservationClock: () => now })
    const bob = await rawControl(port, 'bob')
    expect(await register(bob, hijack('site', ['/']))).toMatchObject({ ok: true })
    bob.session.close()
    await expect.poll(() => relay.sessions().length).toBe(0)
    expect(relay.vhostTables?.http).toEqual({ routes: 0, domains: 1, reserved: 1 })
    const other = await rawControl(port, 'mallory')
    expect(await register(other, hijack('grab'))).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    now += 59_000
    expect(await register(other, hijack('grab2', ['/']))).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    // Bob's client comes back (same identity) within the grace period: the domain is his again.
    const back = await rawControl(port, 'bob')
    expect(await register(back, hijack('site', ['/']))).toMatchObject({ ok: true })
    expect(relay.vhostTables?.http).toEqual({ routes: 1, domains: 1, reserved: 0 })
    // Once he is gone for longer than the grace period, it is free.
    back.session.close()
    await expect.poll(() => relay.sessions().length).toBe(1)
    now += 60_001
    expect(await register(other, hijack('grab3'))).toMatchObject({ ok: true })
    expect(relay.vhostTables?.http).toEqual({ routes: 4, domains: 1, reserved: 0 })
  })

  it('frees a domain at once when its owner unregisters the proxy, and lets a restarted owner take over its own routes at once', async () => {
    const { relay, port } = await startVhostRelayInProcess()
    const bob = await rawControl(port, 'bob')
    expect(await register(bob, hijack('site', ['/']))).toMatchObject({ ok: true })
    // A newer session of bob replaces the old one while it is still up.
    const restarted = await rawControl(port, 'bob')
    expect(await register(restarted, hijack('site', ['/']))).toMatchObject({ ok: true })
    await expect.poll(() => relay.sessions().length).toBe(1)
    const from = restarted.messages.length
    restarted.send({ type: MessageType.UNREGISTER, name: 'site' })
    await restarted.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT, from)
    expect(relay.vhostTables?.http).toEqual({ routes: 0, domains: 0, reserved: 0 })
    const other = await rawControl(port, 'alice')
    expect(await register(other, hijack('now-hers', ['/']))).toMatchObject({ ok: true })
  })
})
