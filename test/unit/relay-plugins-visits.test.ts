// frp's relay plugins get NewUserConn for every user connection of a proxy, stcp and sudp visits
// included (the proxy owner's user, the proxy's name and type, the visitor client's address). A
// visit that passed the relay's own checks is asked about last; a plugin that rejects it, or
// cannot be asked, refuses it (fail closed) with the same answer as any refusal, counted as
// `plugin`. xtcp visits carry only the introduction and are not asked (as in frp).
import { afterEach, describe, expect, it } from 'vitest'
import { connect as tlsConnect } from 'node:tls'
import { MessageType, VisitKind } from '../../shared/wire/index.js'
import { clientConfig, closeInProcess, rawControl, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closePluginServices, startPluginService, type PluginReply, type PluginRequest } from '../helpers/plugin-service.js'
import { closeServices, getFreePort, startEchoServer } from '../helpers/services.js'
import { closeUdp, startUdpEcho } from '../helpers/udp.js'
import { openVisit, rawVisitor, visitBlock } from '../helpers/visit.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closePluginServices()
  await closeUdp()
})

const SECRET = 'a-long-random-secret-for-tests'
/** Plugin calls give up after this here (PLUGIN_TIMEOUT_MS is 5 s). */
const TIMEOUT_MS = 400

async function setup (decide: (r: PluginRequest) => PluginReply): Promise<{ port: number, relay: Awaited<ReturnType<typeof startRelayInProcess>>['relay'], plugin: Awaited<ReturnType<typeof startPluginService>> }> {
  const plugin = await startPluginService(decide)
  const { relay, port } = await startRelayInProcess(`httpPlugins:\n  - { name: guard, addr: "127.0.0.1:${plugin.port}", path: /handler, ops: [NewUserConn] }`, undefined, 0, { pluginTimeoutMs: TIMEOUT_MS })
  const echo = await startEchoServer()
  const dns = await startUdpEcho()
  await startClientInProcess(clientConfig(port, [
    'proxies:',
    `  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
    `  - { name: dns, type: sudp, localPort: ${dns.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
  ].join('\n'), 'home.yml'))
  return { port, relay, plugin }
}

describe('NewUserConn for visits to secret proxies', () => {
  it('is sent for an stcp visit in frp\'s shape, and the plugin\'s rejection refuses it while an accepted visit goes through', async () => {
    let allow = false
    const { port, relay, plugin } = await setup((r) => ({ json: r.op !== 'NewUserConn' || allow ? { unchange: true } : { reject: true, reject_reason: 'closed today' } }))
    const laptop = await rawVisitor(port, 'laptop-1', 'laptop')
    const refused = await openVisit(laptop, 'ssh', visitBlock({ target: 'ssh', secret: SECRET, user: 'laptop' })).closed
    expect(refused?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals.plugin).toBe(1)
    expect(relay.visits.accepted).toBe(0)
    const seen = plugin.requests.filter((r) => r.op === 'NewUserConn')
    expect(seen).toHaveLength(1)
    // The proxy owner's user (none here), as frp's content: the visit's target, its type, the visitor client's address.
    expect(seen[0]?.body.content).toMatchObject({ user: { user: '' }, proxy_name: 'ssh', proxy_type: 'stcp' })
    expect(String(seen[0]?.body.content?.remote_addr)).toMatch(/^127\.0\.0\.1:\d+$/)

    allow = true
    const visit = openVisit(laptop, 'ssh', visitBlock({ target: 'ssh', secret: SECRET, user: 'laptop' }))
    visit.stream.write(Buffer.from('hello'))
    visit.stream.end()
    expect(await visit.closed).toBeUndefined()
    expect(visit.received().toString()).toBe('hello')
    expect(relay.visits.accepted).toBe(1)
    expect(plugin.requests.filter((r) => r.op === 'NewUserConn')).toHaveLength(2)
  })

  it('is sent for an sudp visit (proxy_type sudp), and refuses it when the plugin rejects', async () => {
    const { port, relay, plugin } = await setup((r) => ({ json: r.op === 'NewUserConn' && r.body.content?.proxy_type === 'sudp' ? { reject: true, reject_reason: 'no dns' } : { unchange: true } }))
    const laptop = await rawVisitor(port, 'laptop-1', 'laptop')
    const refused = await openVisit(laptop, 'dns', visitBlock({ target: 'dns', secret: SECRET, user: 'laptop', kind: VisitKind.SUDP })).closed
    expect(refused?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals.plugin).toBe(1)
    expect(plugin.requests.filter((r) => r.op === 'NewUserConn').map((r) => [r.body.content?.proxy_name, r.body.content?.proxy_type])).toEqual([['dns', 'sudp']])
  })

  it('refuses the visit when the plugin service cannot answer (fail closed), and asks nothing about a visit the relay refused itself', async () => {
    const { port, relay, plugin } = await setup((r) => (r.op === 'NewUserConn' ? { status: 500 } : { json: { unchange: true } }))
    const laptop = await rawVisitor(port, 'laptop-1', 'laptop')
    expect((await openVisit(laptop, 'ssh', visitBlock({ target: 'ssh', secret: SECRET, user: 'laptop' })).closed)?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals.plugin).toBe(1)
    // A wrong secret is refused by the relay before any plugin is asked.
    expect((await openVisit(laptop, 'ssh', visitBlock({ target: 'ssh', secret: 'wrong-secret', user: 'laptop' })).closed)?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals.proof).toBe(1)
    expect(plugin.requests.filter((r) => r.op === 'NewUserConn')).toHaveLength(1)
  })
})

describe('NewUserConn for https visitors', () => {
  it('is sent for each TLS connection to an https proxy (proxy_type https), and a rejection resets it before the client sees a stream', async () => {
    let allow = false
    const plugin = await startPluginService((r) => ({ json: r.op !== 'NewUserConn' || allow ? { unchange: true } : { reject: true, reject_reason: 'not now' } }))
    const httpsPort = await getFreePort()
    const { port } = await startRelayInProcess(`vhostHTTPSPort: ${httpsPort}\nhttpPlugins:\n  - { name: guard, addr: "127.0.0.1:${plugin.port}", path: /handler, ops: [NewUserConn] }`, undefined, 0, { pluginTimeoutMs: TIMEOUT_MS })
    const raw = await rawControl(port, 'web-client')
    raw.send({ type: MessageType.REGISTER, proxies: [{ name: 'site', type: 'https', customDomains: ['site.example.test'] }], id: 1 })
    expect(await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.id === 1)).toMatchObject({ ok: true })
    const visit = async (): Promise<void> => await new Promise((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: httpsPort, servername: 'site.example.test', rejectUnauthorized: false })
      s.on('error', () => { resolve() })
      s.on('close', () => { resolve() })
      s.setTimeout(2_000, () => { s.destroy() })
    })
    await visit()
    expect(raw.streams).toHaveLength(0)
    const seen = plugin.requests.filter((r) => r.op === 'NewUserConn')
    expect(seen.map((r) => [r.body.content?.proxy_name, r.body.content?.proxy_type])).toEqual([['site', 'https']])
    expect(String(seen[0]?.body.content?.remote_addr)).toMatch(/^127\.0\.0\.1:\d+$/)
    allow = true
    await visit()
    // Admitted: the TLS bytes reach the client as a stream (this raw client echoes them, so the handshake itself fails).
    expect(raw.streams).toHaveLength(1)
  })
})
