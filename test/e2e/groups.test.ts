// Load-balancing groups with health checks through the real CLI (issue 17): two clients in one
// group behind one public port share the visitors; when one client's service stops, its health
// check takes it out and every new visitor reaches the other. Counts, never timings.
import { afterEach, describe, expect, it } from 'vitest'
import type { StatusReport } from '../../shared/admin/status.js'
import { rawRequest } from '../helpers/admin.js'
import { bannerAt, startBannerServer } from '../helpers/banner.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, startClient, startRelay, TEST_TOKEN } from '../helpers/cli.js'
import { closeServices, getFreePort } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

/** Visitor connections of the acceptance test, and those after the member is taken out. */
const VISITORS = 200
const AFTER_FAILOVER = 50

function memberYaml (relayPort: number, name: string, localPort: number, remotePort: number, groupKey: string): string {
  return [
    'serverAddr: 127.0.0.1',
    `serverPort: ${relayPort}`,
    `auth: { token: ${JSON.stringify(TEST_TOKEN)} }`,
    'proxies:',
    `  - name: ${name}`,
    '    type: tcp',
    `    localPort: ${localPort}`,
    `    remotePort: ${remotePort}`,
    `    loadBalancer: { group: web, groupKey: ${JSON.stringify(groupKey)} }`,
    '    healthCheck: { type: tcp, intervalSeconds: 1, timeoutSeconds: 1, maxFailed: 1 }',
  ].join('\n') + '\n'
}

async function relayStatus (adminPort: number): Promise<StatusReport> {
  return (await rawRequest(adminPort)).json as StatusReport
}

describe('load-balancing groups', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('spreads 200 visitors over two clients of one group, and sends every new visitor to the other once one service stops', async () => {
    const a = await startBannerServer('service-a')
    const b = await startBannerServer('service-b')
    const port = await getFreePort()
    const adminPort = await getFreePort()
    const relay = await startRelay({ extraYaml: `webServer: { addr: 127.0.0.1, port: ${adminPort} }` })
    const one = await startClient(memberYaml(relay.port, 'web-a', a.port, port, 'shared secret'))
    const two = await startClient(memberYaml(relay.port, 'web-b', b.port, port, 'shared secret'))
    expect(one.ports.get('web-a')).toBe(port)
    expect(two.ports.get('web-b')).toBe(port)
    // Both members are served once their first check passed (bounded wait, no sleep).
    await pollUntil(async () => {
      const s = await relayStatus(adminPort)
      return s.proxies.every((p) => p.health === 'healthy') && s.proxies.length === 2 ? true : undefined
    }, { timeoutMs: 15_000, intervalMs: 100 })

    const counts = new Map<string, number>()
    for (let i = 0; i < VISITORS; i++) {
      const banner = await bannerAt(port) ?? 'none'
      counts.set(banner, (counts.get(banner) ?? 0) + 1)
    }
    expect(counts.get('none')).toBeUndefined()
    expect((counts.get('service-a') ?? 0) + (counts.get('service-b') ?? 0)).toBe(VISITORS)
    // Round-robin over two healthy members: each gets its turn.
    expect(counts.get('service-a')).toBeGreaterThanOrEqual(VISITORS / 4)
    expect(counts.get('service-b')).toBeGreaterThanOrEqual(VISITORS / 4)
    const before = await relayStatus(adminPort)
    expect(before.proxies.map((p) => p.group).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
      { name: 'web', members: 2, healthy: 2 },
      { name: 'web', members: 2, healthy: 2 },
    ])

    // Service A stops: its client's check fails and the relay takes web-a out.
    await a.close()
    await relay.handle.waitForLog(logMsg('proxy unhealthy: it takes no visitors until its client reports it healthy', { proxy: 'web-a' }), 15_000)
    await one.handle.waitForLog(logMsg('health check fails: the proxy takes no visitors until it passes again'))
    for (let i = 0; i < AFTER_FAILOVER; i++) expect(await bannerAt(port)).toBe('service-b')
    const after = await relayStatus(adminPort)
    expect(after.proxies.find((p) => p.name === 'web-a')).toMatchObject({ health: 'unhealthy', group: { name: 'web', members: 2, healthy: 1 } })
    expect(after.proxies.find((p) => p.name === 'web-b')).toMatchObject({ health: 'healthy' })
  })

  it('refuses a member with the wrong groupKey or another port, each with its code, while the group keeps serving', async () => {
    const a = await startBannerServer('service-a')
    const port = await getFreePort()
    const other = await getFreePort()
    const relay = await startRelay()
    await startClient(memberYaml(relay.port, 'web-a', a.port, port, 'right'))
    const wrongKey = await startClient(memberYaml(relay.port, 'web-x', a.port, port, 'not-the-key-7f3a'))
    expect(wrongKey.refused.get('web-x')).toBe('TUN_GROUP_KEY')
    const wrongPort = await startClient(memberYaml(relay.port, 'web-y', a.port, other, 'right'))
    expect(wrongPort.refused.get('web-y')).toBe('TUN_GROUP_MISMATCH')
    await pollUntil(async () => (await bannerAt(port)) === 'service-a' ? true : undefined, { timeoutMs: 10_000, intervalMs: 100 })
    // The refused key never reaches a log.
    expect(relay.handle.stderr()).not.toContain('not-the-key-7f3a')
  })
})
