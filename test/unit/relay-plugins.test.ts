// Relay plugins (frp's server plugin protocol): the answer reader, our events as frp's contents
// and back, the call bound, and against an in-process relay with a plugin service on loopback:
// rejections with their reasons, fail-closed logins/proxies/visitors when the service is down,
// errs or does not answer (without holding up other sessions), NewProxy changes checked again,
// CloseProxy notices and a Ping rejection that ends the session.
import { afterEach, describe, expect, it } from 'vitest'
import { CallLimit, newProxyContent, parsePluginAnswer, specFromContent, type PluginUser } from '../../server/plugin/index.js'
import { MessageType, type ProxySpec } from '../../shared/wire/index.js'
import { closeInProcess, rawControl, rawSession, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closePluginServices, startPluginService, type PluginReply, type PluginRequest } from '../helpers/plugin-service.js'
import { closeServices, connectTo, getFreePort, readAll } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
  await closePluginServices()
})

const user: PluginUser = { user: 'bob', metas: { team: 'ops' }, runId: 'abcd' }
/** Plugin calls in these tests give up after this (PLUGIN_TIMEOUT_MS is 5 s). */
const TIMEOUT_MS = 400

describe('plugin answers', () => {
  it('reads reject with its reason, unchange, and content, as frp documents them (string booleans included)', () => {
    expect(parsePluginAnswer('{"reject": true, "reject_reason": "invalid user"}')).toEqual({ reject: true, reason: 'invalid user' })
    expect(parsePluginAnswer('{"reject": "true"}')).toEqual({ reject: true, reason: '' })
    expect(parsePluginAnswer('{"reject": false, "unchange": true}')).toEqual({ reject: false, content: undefined })
    expect(parsePluginAnswer('{"unchange": "false", "content": {"remote_port": 7001}}')).toEqual({ reject: false, content: { remote_port: 7001 } })
    // No content and no unchange: kept (frp would zero the content).
    expect(parsePluginAnswer('{}')).toEqual({ reject: false, content: undefined })
  })

  it('calls anything else unreadable', () => {
    for (const text of ['', 'nope', '[]', '42', '{"reject": 1}', '{"reject": "maybe"}', '{"unchange": false, "content": [1]}', '{"unchange": {}}']) {
      expect(parsePluginAnswer(text)).toHaveProperty('error')
    }
  })
})

describe('NewProxy content', () => {
  const spec: ProxySpec = { name: 'bob.web', type: 'http', customDomains: ['a.test'], locations: ['/'], httpUser: 'u', httpPassword: 'p', requestHeaders: { 'X-A': '1' }, group: 'g', groupKey: 'k', metas: { id: '7' } }

  it('is frp\'s NewProxy with the user, snake_case keys, and no empty fields', () => {
    expect(newProxyContent(user, spec)).toEqual({
      user: { user: 'bob', metas: { team: 'ops' }, run_id: 'abcd' },
      proxy_name: 'bob.web',
      proxy_type: 'http',
      use_encryption: true,
      group: 'g',
      group_key: 'k',
      metas: { id: '7' },
      custom_domains: ['a.test'],
      locations: ['/'],
      http_user: 'u',
      http_pwd: 'p',
      headers: { 'X-A': '1' },
    })
    expect(newProxyContent(user, { name: 't', type: 'tcp', remotePort: 6000, bandwidthLimit: 1024 * 1024 })).toMatchObject({ remote_port: 6000, bandwidth_limit: '1MB', bandwidth_limit_mode: 'server' })
  })

  it('comes back as our spec: changed fields of the type applied, the name and type kept, left-out fields kept', () => {
    const { spec: next, changed } = specFromContent(spec, { proxy_name: 'evil', proxy_type: 'tcp', custom_domains: ['b.test'], subdomain: 'x', remote_port: 1 })
    expect(next).toMatchObject({ name: 'bob.web', type: 'http', customDomains: ['b.test'], subdomain: 'x', httpUser: 'u', group: 'g' })
    expect(next).not.toHaveProperty('remotePort')
    expect(changed.sort()).toEqual(['customDomains', 'subdomain'])
    const tcp = specFromContent({ name: 't', type: 'tcp', remotePort: 6000 }, { remote_port: 6001, bandwidth_limit: '512KB' })
    expect(tcp.spec).toMatchObject({ remotePort: 6001, bandwidthLimit: 512 * 1024 })
  })
})

describe('call bound', () => {
  it('admits a bounded number at once, queues a bounded number, refuses the rest at once', async () => {
    const limit = new CallLimit(2, 1)
    const signal = new AbortController().signal
    const r1 = await limit.acquire(signal)
    const r2 = await limit.acquire(signal)
    const third = limit.acquire(signal)
    expect(await limit.acquire(signal)).toBe(false)
    expect(limit.refused).toBe(1)
    expect([limit.inFlight, limit.waiting]).toEqual([2, 1])
    if (r1 === false || r2 === false) throw new Error('no slot')
    r1()
    r1() // a second release changes nothing
    const r3 = await third
    expect(typeof r3).toBe('function')
    expect([limit.inFlight, limit.waiting]).toEqual([2, 0])
  })

  it('lets a waiter whose deadline passes leave the queue', async () => {
    const limit = new CallLimit(1, 4)
    const taken = await limit.acquire(new AbortController().signal)
    const ac = new AbortController()
    const waiting = limit.acquire(ac.signal)
    ac.abort()
    expect(await waiting).toBe(false)
    expect(limit.waiting).toBe(0)
    expect(taken).not.toBe(false)
  })
})

async function relayWith (decide: (r: PluginRequest) => PluginReply, ops: string[]): Promise<{ port: number, plugin: Awaited<ReturnType<typeof startPluginService>> }> {
  const plugin = await startPluginService(decide)
  const { port } = await startRelayInProcess(`httpPlugins:\n  - { name: guard, addr: "127.0.0.1:${plugin.port}", path: /handler, ops: [${ops.join(', ')}] }`, undefined, 0, { pluginTimeoutMs: TIMEOUT_MS })
  return { port, plugin }
}

/** Logs in as `user` and resolves with the relay's loginResult. */
async function loginAs (port: number, clientId: string, loginUser: string): Promise<{ raw: RawControl, result: Record<string, unknown> }> {
  const raw = await rawSession(port, clientId)
  raw.send({ type: MessageType.LOGIN, version: 2, capabilities: ['proxy.tcp', 'unregister'], clientId, user: loginUser, hostname: 'h', metas: { token: 'from-client' } })
  return { raw, result: await raw.waitFor((m) => m.type === MessageType.LOGIN_RESULT) }
}

async function register (raw: RawControl, spec: Record<string, unknown>, id: number): Promise<Record<string, unknown>> {
  raw.send({ type: MessageType.REGISTER, proxies: [spec], id })
  return await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.id === id)
}

describe('relay plugins against a relay', () => {
  it('refuses a login a Login plugin rejects, with its reason, and admits the others', async () => {
    const { port, plugin } = await relayWith((r) => ({ json: r.body.content?.user === 'mallory' ? { reject: true, reject_reason: 'mallory is banned' } : { unchange: true } }), ['Login'])
    const bad = await loginAs(port, 'm', 'mallory')
    expect(bad.result).toMatchObject({ ok: false, code: 'TUN_PLUGIN_REJECTED' })
    expect(String(bad.result.message)).toContain('mallory is banned')
    await bad.raw.closed
    expect((await loginAs(port, 'a', 'alice')).result).toMatchObject({ ok: true })
    expect(plugin.requests.map((r) => [r.op, r.body.content?.user, (r.body.content?.metas as Record<string, string> | undefined)?.token])).toEqual([['Login', 'mallory', 'from-client'], ['Login', 'alice', 'from-client']])
    expect(plugin.requests[0]?.body.content).not.toHaveProperty('privilege_key')
  })

  it('fails closed when the plugin errs, answers garbage or never answers, and does not hold up other logins meanwhile', async () => {
    const replies: Record<string, PluginReply> = { down: { status: 500 }, garbage: { json: 'not an object' }, slow: 'hang' }
    const { port } = await relayWith((r) => replies[String(r.body.content?.user)] ?? { json: { unchange: true } }, ['Login'])
    const slow = loginAs(port, 'slow', 'slow')
    // While the slow plugin call waits, another client logs in and serves a proxy.
    const fast = await loginAs(port, 'fast', 'fast')
    expect(fast.result).toMatchObject({ ok: true })
    expect(await register(fast.raw, { name: 'f', type: 'tcp', remotePort: 0 }, 1)).toMatchObject({ ok: true })
    for (const who of ['down', 'garbage']) {
      const r = await loginAs(port, who, who)
      expect(r.result).toMatchObject({ ok: false, code: 'TUN_PLUGIN_UNAVAILABLE' })
    }
    const s = await slow
    expect(s.result).toMatchObject({ ok: false, code: 'TUN_PLUGIN_UNAVAILABLE' })
    expect(String(s.result.message)).toContain(`no answer within ${TIMEOUT_MS} ms`)
  })

  it('opens a proxy as a NewProxy plugin changed it, and refuses one it changed into something unusable', async () => {
    const moved = await getFreePort()
    const { port, plugin } = await relayWith((r) => {
      const c = r.body.content ?? {}
      if (c.proxy_name === 'move') return { json: { unchange: false, content: { ...c, remote_port: moved } } }
      if (c.proxy_name === 'break') return { json: { unchange: false, content: { ...c, remote_port: 'not a port' } } }
      return { json: { unchange: true } }
    }, ['NewProxy', 'CloseProxy'])
    const raw = await rawControl(port, 'c')
    expect(await register(raw, { name: 'move', type: 'tcp', remotePort: 0 }, 1)).toMatchObject({ ok: true, remotePort: moved })
    expect(await register(raw, { name: 'break', type: 'tcp', remotePort: 0 }, 2)).toMatchObject({ ok: false, code: 'TUN_PLUGIN_UNAVAILABLE' })
    // An unregister is told to CloseProxy plugins.
    raw.send({ type: MessageType.UNREGISTER, name: 'move', id: 3 })
    await raw.waitFor((m) => m.type === MessageType.UNREGISTER_RESULT && m.id === 3)
    await expect.poll(() => plugin.requests.filter((r) => r.op === 'CloseProxy').map((r) => r.body.content?.proxy_name)).toEqual(['move'])
  })

  it('resets visitors a NewUserConn plugin rejects or cannot judge, and lets the others through', async () => {
    let allow = false
    const { port, plugin } = await relayWith((r) => (r.op !== 'NewUserConn' ? { json: { unchange: true } } : allow ? { json: { unchange: true } } : { json: { reject: true, reject_reason: 'closed today' } }), ['NewUserConn'])
    const raw = await rawControl(port, 'c')
    const result = await register(raw, { name: 'echo', type: 'tcp', remotePort: 0 }, 1)
    const remotePort = result.remotePort as number
    const refused = await connectTo(remotePort)
    refused.end('x')
    expect((await readAll(refused)).bytes).toBe(0)
    expect(raw.streams).toHaveLength(0)
    allow = true
    const ok = await connectTo(remotePort)
    ok.end('hello')
    expect((await readAll(ok, { keep: true })).data?.toString()).toBe('hello')
    expect(raw.streams).toHaveLength(1)
    const seen = plugin.requests.filter((r) => r.op === 'NewUserConn')
    expect(seen).toHaveLength(2)
    expect(seen[0]?.body.content).toMatchObject({ proxy_name: 'echo', proxy_type: 'tcp', user: { user: '' } })
    expect(String(seen[0]?.body.content?.remote_addr)).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('ends a session whose heartbeat a Ping plugin rejects', async () => {
    const { port } = await relayWith(() => ({ json: { reject: true, reject_reason: 'account expired' } }), ['Ping'])
    const raw = await rawControl(port, 'c')
    void raw.session.ping().catch(() => {})
    const err = await raw.closed
    expect(raw.session.remoteGoAway).toBeDefined()
    expect(err).toBeDefined()
  })
})
