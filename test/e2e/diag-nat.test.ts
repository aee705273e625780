import { afterEach, describe, expect, it } from 'vitest'
import { closeInProcess, IN_PROCESS_TOKEN, startRelayInProcess } from '../helpers/in-process.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, spawnCli, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeInProcess()
  await closeServices()
})

/** Attempts at a relay whose STUN ports bind: UDP on the TCP port it got, which another process may hold. */
const STUN_START_ATTEMPTS = 5

/** An in-process relay whose STUN server runs (UDP on its bindPort), retried when that UDP port was taken. */
async function relayWithStun (): ReturnType<typeof startRelayInProcess> {
  for (let attempt = 1; attempt < STUN_START_ATTEMPTS; attempt++) {
    const started = await startRelayInProcess()
    if (started.relay.stunPorts !== undefined) return started
    await started.relay.close(0)
  }
  return await startRelayInProcess()
}

describe('tunnel diag nat', () => {
  it('asks the relay\'s STUN server (UDP on its bindPort) and reports the mapping, filtering and port preservation, as JSON and text', async () => {
    const { relay, port } = await relayWithStun()
    expect(relay.stunPorts?.port).toBe(port)
    const frpc = await writeTempFile('frpc.yml', `serverAddr: 127.0.0.1\nserverPort: ${port}\nauth:\n  token: x\n`)
    const json = spawnCli(['diag', 'nat', '-c', frpc, '--json'])
    expect((await json.exit).code).toBe(0)
    const d = JSON.parse(json.stdout()) as { nat: { mapping: string, filtering: string, portPreserved: boolean, mapped: { host: string } }, advice: string, pair: null }
    // Loopback is one of this machine's own addresses: no NAT in between.
    expect(d.nat).toMatchObject({ mapping: 'none', filtering: 'address-dependent', portPreserved: true, mapped: { host: '127.0.0.1' } })
    expect(d.advice).toContain('no NAT')
    const peer = await writeTempFile('peer.json', JSON.stringify({ nat: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' } }))
    const text = spawnCli(['diag', 'nat', '--stun', `127.0.0.1:${port}`, '--peer', peer])
    expect((await text.exit).code).toBe(0)
    expect(text.stdout()).toContain('mapping          none')
    expect(text.stdout()).toContain('direct path      yes (direct)')
    expect(relay.stun.stats.answers).toBeGreaterThanOrEqual(6)
  })

  // Two clients and four `diag nat` runs, one after another: on a loaded machine (load 15 on 2
  // cores) that took over the usual 60 s guard, so this hang guard is three times it.
  it('judges a pair from a running client\'s xtcp visitor or xtcp proxy (--proxy): before the first punch it says the peer is not known yet, after it the verdict from the peer\'s NAT', { timeout: E2E_TEST_TIMEOUT_MS * 3 }, async () => {
    const { port } = await relayWithStun()
    const echo = await startEchoServer()
    const secret = 'a-long-random-secret-for-diag-tests'
    const homeAdmin = await getFreePort()
    const home = await writeTempFile('home.yml', `serverAddr: 127.0.0.1\nserverPort: ${port}\nuser: home\nauth:\n  token: ${IN_PROCESS_TOKEN}\nwebServer:\n  port: ${homeAdmin}\nproxies:\n  - { name: p2p, type: xtcp, localPort: ${echo.port}, secretKey: ${secret}, allowUsers: ['*'] }\n`)
    const h = spawnCli(['client', '-c', home, '--log-format', 'json'])
    await h.waitForLog((l) => l.msg === 'proxy registered', 15_000)
    const [visitorPort, adminPort] = [await getFreePort(), await getFreePort()]
    const laptop = await writeTempFile('laptop.yml', `serverAddr: 127.0.0.1\nserverPort: ${port}\nuser: laptop\nauth:\n  token: ${IN_PROCESS_TOKEN}\nwebServer:\n  port: ${adminPort}\nvisitors:\n  - { name: ssh, type: xtcp, serverUser: home, serverName: p2p, secretKey: ${secret}, bindPort: ${visitorPort} }\n`)
    const l = spawnCli(['client', '-c', laptop, '--log-format', 'json'])
    await l.waitForLog(logMsg('logged in'), 15_000)
    const before = spawnCli(['diag', 'nat', '-c', laptop, '--proxy', 'p2p', '--json'])
    expect((await before.exit).code, before.stderr()).toBe(0)
    const b = JSON.parse(before.stdout()) as { pair: null, pairNote: string }
    expect(b.pair).toBeNull()
    expect(b.pairNote).toContain('has not punched yet')
    expect(await echoOnce(visitorPort)).toBe(true)
    const after = spawnCli(['diag', 'nat', '-c', laptop, '--proxy', 'ssh'])
    expect((await after.exit).code, after.stderr()).toBe(0)
    expect(after.stdout()).toContain('peer             visitor ssh (home.p2p): mapping none')
    expect(after.stdout()).toContain('direct path      yes (direct)')
    // The home side names its xtcp proxy: the peer is its last visitor.
    const atHome = spawnCli(['diag', 'nat', '-c', home, '--proxy', 'p2p', '--json'])
    expect((await atHome.exit).code, atHome.stderr()).toBe(0)
    expect(JSON.parse(atHome.stdout())).toMatchObject({ pair: { source: 'proxy home.p2p (its last visitor)', peer: { mapping: 'none' }, verdict: { verdict: 'direct', canPunch: true } } })
    const unknown = spawnCli(['diag', 'nat', '-c', laptop, '--proxy', 'nope'])
    expect((await unknown.exit).code).toBe(2)
    expect(unknown.stderr()).toContain('visitor ssh -> home.p2p')
  })

  it('exits 1 with TUN_STUN_UNREACHABLE when no STUN server answers, and 2 without a server to ask', async () => {
    const { port } = await startRelayInProcess('stunBindPort: 0\n')
    const none = spawnCli(['diag', 'nat', '--stun', `127.0.0.1:${port}`])
    expect((await none.exit).code).toBe(1)
    expect(none.stderr()).toContain('TUN_STUN_UNREACHABLE')
    const usage = spawnCli(['diag', 'nat'])
    expect((await usage.exit).code).toBe(2)
  })
})
