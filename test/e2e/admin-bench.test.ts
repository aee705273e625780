// `tunnel bench --admin URL` through a real relay and client: the report's relay section counts
// what the relay carried for the proxy under load (streams, payload bytes each way), its RTT,
// and the human report shows it; an unreachable admin API stops the bench before any load.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, spawnCli, startClient, startRelay } from '../helpers/cli.js'
import { bench, startEcho } from '../helpers/loadtest.js'
import { closeServices, getFreePort } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

async function tunnelledEcho (): Promise<{ publicPort: number, admin: string }> {
  const echo = await startEcho()
  const relay = await startRelay({ extraYaml: 'webServer:\n  port: 0\n  token: bench-tok\n' })
  const line = await relay.handle.waitForLog(logMsg('admin listening'))
  const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.tcpPort, remotePort: 0 }] }))
  return { publicPort: client.ports.get('echo') ?? 0, admin: `http://127.0.0.1:${Number(line.port)}` }
}

describe('tunnel bench --admin', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('adds what the relay saw: the streams and payload bytes of the proxy under load, and the control RTT', async () => {
    const { publicPort, admin } = await tunnelledEcho()
    const { code, report } = await bench(['tcp', '--target', `127.0.0.1:${publicPort}`, '-c', '4', '-n', '60', '--admin', admin, '--admin-token', 'bench-tok'])
    expect(code).toBe(0)
    expect(report.counts.ok).toBe(60)
    const relay = report.relay
    expect(relay).not.toBeNull()
    expect(relay).toMatchObject({ admin, role: 'relay', proxies: ['echo'], sessions: 1, streams: 4, bytesIn: 60 * 64, visitorsRefused: 0, visitorsDropped: 0, udpDrops: {}, errors: {} })
    // The relay counts what it forwarded to the visitor; every echoed byte reached the bench.
    expect(relay?.bytesOut).toBe(report.throughput.bytesReceived)
    expect(relay?.controlRttMs.before).toBeGreaterThan(0)
    expect(relay?.controlRttMs.after).toBeGreaterThan(0)
    expect(relay?.listenOverflows).not.toBeNull()
  })

  it('prints the relay lines in the human report; without --admin the section is null', async () => {
    const { publicPort, admin } = await tunnelledEcho()
    const h = spawnCli(['bench', 'tcp', '--target', `127.0.0.1:${publicPort}`, '-c', '2', '-n', '20', '--progress', 'none', '--admin', admin, '--admin-token', 'bench-tok'])
    expect((await h.exit).code).toBe(0)
    expect(h.stdout()).toMatch(/^relay\s+proxy echo \(http:\/\/127\.0\.0\.1:\d+\): 2 stream\(s\), in 1\.3 KiB, out 1\.3 KiB, refused 0, dropped 0$/m)
    expect(h.stdout()).toMatch(/control RTT ms before [\d.]+, max during/)
    const plain = await bench(['tcp', '--target', `127.0.0.1:${publicPort}`, '-c', '1', '-n', '5'])
    expect(plain.report.relay).toBeNull()
  })

  it('an admin API that cannot be reached or refuses the token stops the bench before any load', async () => {
    const { publicPort, admin } = await tunnelledEcho()
    const away = spawnCli(['bench', 'tcp', '--target', `127.0.0.1:${publicPort}`, '-n', '5', '--admin', `http://127.0.0.1:${await getFreePort()}`, '--progress', 'none'])
    expect((await away.exit).code).toBe(1)
    expect(away.stderr()).toContain('TUN_ADMIN_UNREACHABLE')
    expect(away.stdout()).toBe('')
    const refused = spawnCli(['bench', 'tcp', '--target', `127.0.0.1:${publicPort}`, '-n', '5', '--admin', admin, '--admin-token', 'wrong', '--progress', 'none'])
    expect((await refused.exit).code).toBe(2)
    expect(refused.stderr()).toContain('TUN_ADMIN_AUTH')
    const badUrl = spawnCli(['bench', 'tcp', '--target', `127.0.0.1:${publicPort}`, '--admin', 'https://127.0.0.1:1'])
    expect((await badUrl.exit).code).toBe(2)
    expect(badUrl.stderr()).toContain('plain http')
  })
})
