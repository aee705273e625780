// Issue 17: frp takes an stcp proxy and visitor without secretKey (an empty secret; its stcp is visited only
// by the proxy owner's own user unless allowUsers says otherwise). Ours too, with a warning, as
// long as allowUsers keeps the proxy to its owner's own user: the relay and the home client both
// check the visitor's user, which is then all a visit proves. A proxy without secret that
// allowUsers opens to other users stays refused (tests in config-secret.test.ts and below).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { configErrorLines } from '../helpers/config-errors.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'
import { openVisit, rawVisitor, visitBlock } from '../helpers/visit.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

describe('issue 17: an stcp proxy and visitor without secretKey', () => {
  it('work for the owner\'s own user (here: none), and a visitor of another user is refused by the relay', async () => {
    const { relay, port } = await startRelayInProcess()
    const echo = await startEchoServer()
    await startClientInProcess(clientConfig(port, `proxies:\n  - { name: ssh, type: stcp, localPort: ${echo.port} }\n`, 'home.yml'))
    const bindPort = await getFreePort()
    const visitor = clientConfig(port, `visitors:\n  - { name: ssh-visitor, type: stcp, serverName: ssh, bindAddr: 127.0.0.1, bindPort: ${bindPort} }\n`, 'laptop.yml')
    expect(visitor.visitors[0]?.secretKey.reveal().length).toBe(0)
    await startClientInProcess(visitor)
    await expect.poll(async () => await echoOnce(bindPort, undefined, 2_000), { timeout: 15_000, interval: 200 }).toBe(true)
    expect(relay.visits.accepted).toBeGreaterThan(0)

    // Another tenant (user eve) that knows the name and that the secret is empty: refused for its user.
    const eve = await rawVisitor(port, 'eve-1', 'eve')
    const refused = await openVisit(eve, 'ssh', visitBlock({ target: 'ssh', secret: '', user: 'eve' })).closed
    expect(refused?.code).toBe('TUN_VISIT_REFUSED')
    expect(relay.visits.refusals.user).toBe(1)
    // The same visit made by a session of the owner's user (none) gets through: the user was the only reason.
    const mine = await rawVisitor(port, 'mine-2', '')
    const visit = openVisit(mine, 'ssh', visitBlock({ target: 'ssh', secret: '', user: '' }))
    visit.stream.write(Buffer.from('mine'))
    visit.stream.end()
    expect(await visit.closed).toBeUndefined()
    expect(visit.received().toString()).toBe('mine')
  })

  it('is warned about in the config, and refused when allowUsers opens the proxy to other users', () => {
    const ok = parseClientConfig('user: alice\nproxies:\n  - { name: ssh, type: stcp, localPort: 22, allowUsers: [alice] }\nvisitors:\n  - { name: v, type: stcp, serverName: ssh, bindPort: 9000 }\n', 'frpc.yml', {})
    expect(ok.warnings.map((w) => `${w.location.line} ${w.message.slice(0, 60)}`)).toEqual(expect.arrayContaining([
      '3 proxies[0] (stcp) has no secretKey: a visit proves only its ',
      '5 visitors[0] has no secretKey: it reaches only a proxy withou',
    ]))
    for (const allow of ['["*"]', '[bob]', '[alice, bob]']) {
      const lines = configErrorLines(() => parseClientConfig(`user: alice\nproxies:\n  - { name: ssh, type: sudp, localPort: 53, allowUsers: ${allow} }\n`, 'frpc.yml', {}))
      expect(lines, allow).toHaveLength(1)
      expect(lines[0]).toMatch(/^frpc\.yml:3:\d+ proxies\[0\]\.type: an sudp proxy that allowUsers opens to other users \(.*\) needs a secretKey: .*\(TUN_CONFIG_INVALID\)$/)
    }
  })

  it('is judged against the including file\'s user in a file includes adds, and warned about there too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-no-secret-'))
    try {
      const main = join(dir, 'frpc.yml')
      writeFileSync(main, 'user: alice\nincludes: [./part.yml]\n')
      writeFileSync(join(dir, 'part.yml'), 'proxies:\n  - { name: ssh, type: stcp, localPort: 22, allowUsers: [alice] }\n')
      const ok = parseClientConfig('user: alice\nincludes: [./part.yml]\n', main, {})
      expect(ok.warnings.filter((w) => w.message.startsWith('proxies[0] (stcp) has no secretKey')).map((w) => `${w.location.file}:${w.location.line}`)).toEqual([`${join(dir, 'part.yml')}:2`])
      writeFileSync(join(dir, 'part.yml'), 'proxies:\n  - { name: ssh, type: stcp, localPort: 22, allowUsers: [bob] }\n')
      const lines = configErrorLines(() => parseClientConfig('user: alice\nincludes: [./part.yml]\n', main, {}))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain(`${join(dir, 'part.yml')}:2:`)
      expect(lines[0]).toContain('opens to other users ("bob") needs a secretKey')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
