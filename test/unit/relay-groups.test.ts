// Load-balancing groups on an in-process relay: tcp members from raw clients (each its own client
// key) taking visitors in turn, health reports taking a member out and back, refusals by code, the
// group's port closing with its last member and staying reserved for the group after a crash; http
// members from real clients taking requests in turn, keep-alive included, and a health check that
// fails taking one out; http groups owning their domains as any proxy does (TUN_DOMAIN_OWNED).
import { afterEach, describe, expect, it } from 'vitest'
import { MessageType } from '../../shared/wire/index.js'
import { closeHttp, httpRequest, keepAliveRequests, seenOf, startHttpService, type Seen } from '../helpers/http.js'
import { clientConfig, closeInProcess, rawControl, startClientInProcess, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closeServices, connectTo, getFreePort, probePort, readAll } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closeHttp()
})

async function register (raw: RawControl, spec: Record<string, unknown>, id: number): Promise<Record<string, unknown>> {
  raw.send({ type: MessageType.REGISTER, proxies: [spec], id })
  return await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.id === id)
}

/** One visitor: sends a byte and waits for the echo (raw clients echo); true when it came back. */
async function visit (port: number): Promise<boolean> {
  const s = await connectTo(port).catch(() => undefined)
  if (s === undefined) return false
  s.end('x')
  return (await readAll(s, { keep: true })).data?.toString() === 'x'
}

const member = (name: string, remotePort: number, more: Record<string, unknown> = {}): Record<string, unknown> => ({ name, type: 'tcp', remotePort, group: 'g', groupKey: 'k', ...more })

describe('tcp groups', () => {
  it('give members of two clients one port and new visitors in turn; a member reported unhealthy gets none until reported healthy', async () => {
    const { port } = await startRelayInProcess()
    const remotePort = await getFreePort()
    const a = await rawControl(port, 'a')
    const b = await rawControl(port, 'b')
    expect(await register(a, member('a1', remotePort), 1)).toMatchObject({ ok: true, remotePort })
    expect(await register(b, member('b1', remotePort), 1)).toMatchObject({ ok: true, remotePort })
    for (let i = 0; i < 10; i++) expect(await visit(remotePort)).toBe(true)
    expect([a.streams.length, b.streams.length]).toEqual([5, 5])
    b.send({ type: MessageType.PROXY_HEALTH, name: 'b1', healthy: false })
    // Handled in order with the session's requests: a register answered after it sees it applied.
    await register(b, { name: 'sync', type: 'tcp', remotePort: 0 }, 2)
    for (let i = 0; i < 6; i++) expect(await visit(remotePort)).toBe(true)
    expect([a.streams.length, b.streams.length]).toEqual([11, 5])
    a.send({ type: MessageType.PROXY_HEALTH, name: 'a1', healthy: false })
    await register(a, { name: 'sync', type: 'tcp', remotePort: 0 }, 3)
    // No healthy member: the visitor is reset at once.
    expect(await visit(remotePort)).toBe(false)
    b.send({ type: MessageType.PROXY_HEALTH, name: 'b1', healthy: true })
    await register(b, { name: 'sync2', type: 'tcp', remotePort: 0 }, 4)
    expect(await visit(remotePort)).toBe(true)
    expect(b.streams.length).toBe(6)
  })

  it('start a member registered unhealthy out of service, and a lone proxy too', async () => {
    const { port } = await startRelayInProcess()
    const remotePort = await getFreePort()
    const lone = await getFreePort()
    const a = await rawControl(port, 'a')
    await register(a, member('a1', remotePort, { healthy: false }), 1)
    await register(a, { name: 'lone', type: 'tcp', remotePort: lone, healthy: false }, 2)
    expect(await visit(remotePort)).toBe(false)
    expect(await visit(lone)).toBe(false)
    a.send({ type: MessageType.PROXY_HEALTH, name: 'lone', healthy: true })
    await register(a, { name: 'sync', type: 'tcp', remotePort: 0 }, 3)
    expect(await visit(lone)).toBe(true)
    expect(a.streams).toHaveLength(1)
  })

  it('refuse a wrong key, another port, and a keyless group of another client key, each by code', async () => {
    const { port } = await startRelayInProcess()
    const remotePort = await getFreePort()
    const a = await rawControl(port, 'a')
    const b = await rawControl(port, 'b')
    await register(a, member('a1', remotePort), 1)
    expect(await register(b, member('b1', remotePort, { groupKey: 'nope' }), 1)).toMatchObject({ ok: false, code: 'TUN_GROUP_KEY' })
    expect(await register(b, member('b2', remotePort, { groupKey: undefined }), 2)).toMatchObject({ ok: false, code: 'TUN_GROUP_KEY' })
    expect(await register(b, member('b3', await getFreePort()), 3)).toMatchObject({ ok: false, code: 'TUN_GROUP_MISMATCH' })
    // A group without a key is its opener's alone, but the opener may add members.
    const open = await getFreePort()
    await register(a, { name: 'solo1', type: 'tcp', remotePort: open, group: 'mine' }, 2)
    expect(await register(a, { name: 'solo2', type: 'tcp', remotePort: open, group: 'mine' }, 3)).toMatchObject({ ok: true, remotePort: open })
    const stolen = await register(b, { name: 'steal', type: 'tcp', remotePort: open, group: 'mine' }, 4)
    expect(stolen).toMatchObject({ ok: false, code: 'TUN_GROUP_KEY' })
    expect(String(stolen.message)).toContain('belongs to another client key')
    // A plain proxy cannot take a group's port.
    expect(await register(b, { name: 'plain', type: 'tcp', remotePort }, 5)).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
  })

  it('close the port with the last member, and keep it for the group (not for strangers) after a crash', async () => {
    const { port } = await startRelayInProcess()
    const remotePort = await getFreePort()
    const a = await rawControl(port, 'a')
    const b = await rawControl(port, 'b')
    await register(a, member('a1', remotePort), 1)
    await register(b, member('b1', remotePort), 1)
    b.send({ type: MessageType.UNREGISTER, name: 'b1', id: 2 })
    await b.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT && m.id === 2)
    expect(await visit(remotePort)).toBe(true)
    // a crashes (no goodbye): the group closes and its port is reserved for the group's key.
    a.session.close()
    await a.closed
    await expect.poll(async () => await probePort(remotePort)).toBe('refused')
    const stranger = await rawControl(port, 'c')
    expect(await register(stranger, { name: 'take', type: 'tcp', remotePort }, 1)).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    expect(await register(stranger, member('c1', remotePort, { groupKey: 'guess' }), 2)).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    expect(await register(b, member('b2', remotePort), 3)).toMatchObject({ ok: true, remotePort })
  })
})

describe('http groups', () => {
  const web = (name: string, domain: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({ name, type: 'http', customDomains: [domain], locations: [], ...more })

  it('own their domains like any proxy: never another client\'s domain, and a member of another client gains no domain of its own by joining', async () => {
    const vhostPort = await getFreePort()
    const { port } = await startRelayInProcess(`vhostHTTPPort: ${vhostPort}`)
    const a = await rawControl(port, 'a')
    const b = await rawControl(port, 'b')
    const c = await rawControl(port, 'c')
    expect(await register(a, web('mine', 'owned.test', { locations: ['/a'] }), 1)).toMatchObject({ ok: true })
    // A group cannot take a domain another client owns, with or without a key.
    expect(await register(b, web('g1', 'owned.test', { locations: ['/b'], group: 'g', groupKey: 'k' }), 1)).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    expect(await register(b, web('g2', 'owned.test', { locations: ['/b'], group: 'g' }), 2)).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    // A keyed group owns its domain: members of other clients join with the key, and only join.
    expect(await register(b, web('s1', 'site.test', { group: 'site', groupKey: 'k' }), 3)).toMatchObject({ ok: true })
    expect(await register(c, web('s2', 'site.test', { group: 'site', groupKey: 'k' }), 1)).toMatchObject({ ok: true })
    expect(await register(c, web('s3', 'site.test', { group: 'site', groupKey: 'guess' }), 2)).toMatchObject({ ok: false, code: 'TUN_GROUP_KEY' })
    expect(await register(c, web('side', 'site.test', { locations: ['/side'] }), 3)).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    expect(await register(b, web('side', 'site.test', { locations: ['/side'] }), 4)).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    // Both members crash: the domain stays reserved for the group (ownershipGrace), not for strangers.
    b.session.close()
    c.session.close()
    await b.closed
    await c.closed
    const d = await rawControl(port, 'd')
    expect(await register(d, web('take', 'site.test'), 1)).toMatchObject({ ok: false, code: 'TUN_DOMAIN_OWNED' })
    expect(await register(d, web('back', 'site.test', { group: 'site', groupKey: 'k' }), 2)).toMatchObject({ ok: true })
  })

  it('refuse a member that differs from its group in sending the service PROXY headers (transport.proxyProtocolVersion)', async () => {
    const vhostPort = await getFreePort()
    const { port } = await startRelayInProcess(`vhostHTTPPort: ${vhostPort}`)
    const a = await rawControl(port, 'a')
    expect(await register(a, web('p1', 'pp.test', { group: 'pp', groupKey: 'k', proxyProtocol: true }), 1)).toMatchObject({ ok: true })
    expect(await register(a, web('p2', 'pp.test', { group: 'pp', groupKey: 'k' }), 2)).toMatchObject({ ok: false, code: 'TUN_GROUP_MISMATCH' })
    expect(await register(a, web('p3', 'pp.test', { group: 'pp', groupKey: 'k', proxyProtocol: true }), 3)).toMatchObject({ ok: true })
  })

  const served = (r: Awaited<ReturnType<typeof httpRequest>>): string => (r.status === 200 ? seenOf(r).service : String(r.status))

  it('take requests in turn, on fresh and keep-alive connections, and skip a member whose health check fails', async () => {
    const vhostPort = await getFreePort()
    const { port } = await startRelayInProcess(`vhostHTTPPort: ${vhostPort}`)
    const a = await startHttpService('a')
    const b = await startHttpService('b')
    const proxy = (name: string, localPort: number): string => `proxies:\n  - { name: ${name}, type: http, localPort: ${localPort}, customDomains: [site.test], loadBalancer: { group: site, groupKey: k }, healthCheck: { type: tcp, intervalSeconds: 1, timeoutSeconds: 1 } }\n`
    await startClientInProcess(clientConfig(port, proxy('web-a', a.port), 'frpc-a.yml'))
    await startClientInProcess(clientConfig(port, proxy('web-b', b.port), 'frpc-b.yml'))
    // Both serve once their first check passed.
    await expect.poll(async () => new Set(await Promise.all([1, 2, 3, 4].map(async () => served(await httpRequest(vhostPort, 'site.test'))))).size, { timeout: 10_000 }).toBe(2)
    const fresh = await Promise.all(Array.from({ length: 20 }, async () => served(await httpRequest(vhostPort, 'site.test'))))
    expect(fresh.filter((s) => s === 'a').length + fresh.filter((s) => s === 'b').length).toBe(20)
    expect(fresh.filter((s) => s === 'a').length).toBeGreaterThanOrEqual(5)
    const req = 'GET / HTTP/1.1\r\nHost: site.test\r\n\r\n'
    const kept = (await keepAliveRequests(vhostPort, [req, req, req, req])).map((x) => (JSON.parse(x) as Seen).service)
    expect(new Set(kept)).toEqual(new Set(['a', 'b']))
    // Service a goes away; its check fails within a second or two and a gets no requests.
    a.server.closeAllConnections()
    a.server.close()
    await expect.poll(async () => served(await httpRequest(vhostPort, 'site.test')) === 'b' && served(await httpRequest(vhostPort, 'site.test')) === 'b', { timeout: 10_000 }).toBe(true)
    const after = await Promise.all(Array.from({ length: 10 }, async () => served(await httpRequest(vhostPort, 'site.test'))))
    expect(after).toEqual(Array.from({ length: 10 }, () => 'b'))
  })
})

describe('caps', () => {
  it('count group members and tcpmux proxies like any proxy (maxProxiesPerClient, maxVhostProxiesPerClient)', async () => {
    const vhostPort = await getFreePort()
    const muxPort = await getFreePort()
    const { port } = await startRelayInProcess(`vhostHTTPPort: ${vhostPort}\ntcpmuxHTTPConnectPort: ${muxPort}\nmaxVhostProxiesPerClient: 2\nmaxProxiesPerClient: 3`)
    const a = await rawControl(port, 'a')
    const mux = (name: string, domain: string): Record<string, unknown> => ({ name, type: 'tcpmux', multiplexer: 'httpconnect', customDomains: [domain] })
    expect(await register(a, { name: 'w1', type: 'http', customDomains: ['w.test'], locations: [], group: 'w', groupKey: 'k' }, 1)).toMatchObject({ ok: true })
    expect(await register(a, mux('m1', 'm.test'), 2)).toMatchObject({ ok: true })
    // A third vhost-like proxy (a group member on the same domain) passes maxVhostProxiesPerClient.
    const third = await register(a, { name: 'w2', type: 'http', customDomains: ['w.test'], locations: [], group: 'w', groupKey: 'k' }, 3)
    expect(third).toMatchObject({ ok: false, code: 'TUN_CLIENT_LIMIT' })
    expect(String(third.message)).toContain('maxVhostProxiesPerClient 2')
    const remotePort = await getFreePort()
    expect(await register(a, member('t1', remotePort), 4)).toMatchObject({ ok: true })
    expect(await register(a, member('t2', remotePort), 5)).toMatchObject({ ok: false, code: 'TUN_CLIENT_LIMIT' })
  })
})
