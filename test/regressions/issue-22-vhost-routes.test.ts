// Issue 22, finding 2: about 1.9 MB of register messages made one client's session hold 1,591
// http proxies and 6.5M routes (64 domains x 64 locations each); the relay's RSS went from 100 to
// 516 MB, its event loop stalled 8.6 s, and dropping the routes blocked it 57 s. Now every client
// session, and every login `user` over all its sessions, has caps on proxies, http/https
// proxies, domains and (domain, location) routes: a proxy past one is refused alone
// (TUN_CLIENT_LIMIT) and the session goes on. Raw hostile clients from the project's own modules.
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_CAPABILITIES, CONTROL_PROTOCOL_VERSION, MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, rawSession, type RawControl } from '../helpers/in-process.js'
import { startVhostRelayInProcess } from '../helpers/vhost-in-process.js'

afterEach(async () => { await closeInProcess() })

/** An http proxy spec of `domains` x `locations` (distinct per name). */
function wide (name: string, domains: number, locations: number): Record<string, unknown> {
  return {
    name,
    type: 'http',
    customDomains: Array.from({ length: domains }, (_, j) => `${name}-d${j}.flood.test`),
    locations: Array.from({ length: locations }, (_, k) => `/l${k}`),
  }
}

/** Specs per register message: 10 of 64 x 64 stay under the 64 KiB control frame. */
const SPECS_PER_MESSAGE = 10

/** Sends registers of `specs` and waits for one proxyResult each, in order. */
async function register (raw: RawControl, specs: ReadonlyArray<Record<string, unknown>>): Promise<Array<Record<string, unknown>>> {
  const from = raw.messages.length
  for (let i = 0; i < specs.length; i += SPECS_PER_MESSAGE) raw.send({ type: MessageType.REGISTER, proxies: specs.slice(i, i + SPECS_PER_MESSAGE) })
  const last = String(specs.at(-1)?.name)
  await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === last, from)
  return raw.messages.slice(from).filter((m) => m.type === MessageType.PROXY_RESULT)
}

async function loginAs (port: number, clientId: string, user: string): Promise<RawControl> {
  const raw = await rawSession(port, clientId)
  raw.send({ type: MessageType.LOGIN, version: CONTROL_PROTOCOL_VERSION, capabilities: [...ALL_CAPABILITIES], clientId, user, hostname: 'test' })
  const login = await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT)
  expect(login.ok).toBe(true)
  return raw
}

describe('issue 22: vhost registration cannot make the relay hold unbounded routes', () => {
  it('refuses, one by one, the 64 x 64 proxies of a register flood past the default caps, and the session goes on', async () => {
    const { relay, port } = await startVhostRelayInProcess()
    const raw = await rawControl(port, 'flooder')
    // 40 specs of 4,096 routes each: 163,840 routes asked for; the default cap is 1,024 per client.
    const results = await register(raw, Array.from({ length: 40 }, (_, i) => wide(`w${i}`, 64, 64)))
    expect(results).toHaveLength(40)
    expect(results.filter((r) => r.ok === true)).toHaveLength(0)
    expect(new Set(results.map((r) => r.code))).toEqual(new Set(['TUN_CLIENT_LIMIT']))
    expect(String(results[0]?.message)).toContain('maxLocationsPerClient 1024')
    expect(relay.vhostTables?.http).toEqual({ routes: 0, domains: 0, reserved: 0 })
    // The session goes on: a proxy within the caps is served.
    const [ok] = await register(raw, [wide('fits', 4, 4)])
    expect(ok).toMatchObject({ ok: true })
    expect(relay.vhostTables?.http.routes).toBe(16)
  })

  it('counts proxies, http/https proxies, domains and routes per client, and gives them back on unregister', async () => {
    const { relay, port } = await startVhostRelayInProcess('maxProxiesPerClient: 5\nmaxVhostProxiesPerClient: 4\nmaxDomainsPerClient: 6\nmaxLocationsPerClient: 21\n')
    const raw = await rawControl(port, 'counted')
    const results = await register(raw, [
      wide('a', 2, 4), // 2 domains, 8 routes
      wide('b', 2, 4), // 4 domains, 16 routes
      wide('c', 2, 4), // would be 24 routes
      wide('d', 3, 1), // would be 7 domains
      wide('e', 2, 2), // 6 domains, 20 routes
      wide('f', 0, 1), // no domain at all: invalid, not a cap
      { name: 'g', type: 'https', customDomains: ['e-d0.flood.test'] }, // a 4th http/https proxy, no new domain
    ])
    expect(results.map((r) => [r.name, r.ok, r.code])).toEqual([
      ['a', true, undefined],
      ['b', true, undefined],
      ['c', false, 'TUN_CLIENT_LIMIT'],
      ['d', false, 'TUN_CLIENT_LIMIT'],
      ['e', true, undefined],
      ['f', false, 'TUN_PROXY_INVALID'],
      ['g', true, undefined],
    ])
    expect(String(results[2]?.message)).toContain('maxLocationsPerClient 21')
    expect(String(results[3]?.message)).toContain('maxDomainsPerClient 6')
    const [h] = await register(raw, [{ name: 'h', type: 'https', customDomains: ['b-d0.flood.test'] }])
    expect(h).toMatchObject({ ok: false, code: 'TUN_CLIENT_LIMIT', message: expect.stringContaining('maxVhostProxiesPerClient 4') })
    expect(relay.vhostTables?.http.routes).toBe(20)
    expect(relay.vhostTables?.https.routes).toBe(1)
    // An unregister gives its share back at once.
    raw.send({ type: MessageType.UNREGISTER, name: 'a' })
    await raw.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT && m.name === 'a')
    const [c] = await register(raw, [wide('c', 2, 4)])
    expect(c).toMatchObject({ ok: true })
    const [t1, t2] = await register(raw, [{ name: 't1', type: 'tcp', remotePort: 0 }, { name: 't2', type: 'tcp', remotePort: 0 }])
    expect(t1).toMatchObject({ ok: true })
    expect(t2).toMatchObject({ ok: false, code: 'TUN_CLIENT_LIMIT', message: expect.stringContaining('maxProxiesPerClient 5') })
  })

  it('counts the caps of one user over all its sessions, and not across users', async () => {
    const { relay, port } = await startVhostRelayInProcess('maxLocationsPerClient: 100\nmaxLocationsPerUser: 12\n')
    const one = await loginAs(port, 'bob-laptop', 'bob')
    const two = await loginAs(port, 'bob-desktop', 'bob')
    const eve = await loginAs(port, 'eve-1', 'eve')
    expect(await register(one, [wide('bob.a', 2, 4)])).toMatchObject([{ ok: true }])
    expect(await register(two, [wide('bob.b', 2, 4)])).toMatchObject([{ ok: false, code: 'TUN_CLIENT_LIMIT', message: expect.stringContaining('maxLocationsPerUser 12') }])
    expect(await register(two, [wide('bob.c', 1, 4)])).toMatchObject([{ ok: true }])
    expect(await register(eve, [wide('eve.a', 3, 4)])).toMatchObject([{ ok: true }])
    // When bob's first session ends, its share goes with it.
    one.session.close()
    await expect.poll(() => relay.sessions().length).toBe(2)
    expect(await register(two, [wide('bob.d', 2, 4)])).toMatchObject([{ ok: true }])
  })

  it('keeps no per-user table for users whose proxies were all refused', async () => {
    const { relay, port } = await startVhostRelayInProcess('maxLocationsPerUser: 4\n', undefined, { gate: { ratePerSecond: 1_000, burst: 1_000 } })
    for (let i = 0; i < 20; i++) {
      const raw = await loginAs(port, `drifter-${i}`, `user-${i}`)
      expect(await register(raw, [wide(`u${i}.a`, 2, 4)])).toMatchObject([{ ok: false, code: 'TUN_CLIENT_LIMIT' }])
      raw.session.close()
    }
    const kept = await loginAs(port, 'keeper', 'kept')
    expect(await register(kept, [wide('kept.a', 1, 4)])).toMatchObject([{ ok: true }])
    expect(relay.userTables).toBe(1)
  })
})
