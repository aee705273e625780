// A fleet client's status (in process, one real etcd started by the test): `tunnel status` lists
// every control connection with the relay it is attached to, its state and its load, and shows a
// connection that lost its relay as connecting until it is attached again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FleetClient } from '../../client/index.js'
import { ClientStatus } from '../../client/status.js'
import { renderStatus } from '../../shared/admin/index.js'
import { silentLogger } from '../../shared/log.js'
import { clientConfig, closeInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, startEchoServer } from '../helpers/services.js'
import { type EtcdCluster, fleetYaml, startEtcd } from '../helpers/etcd.js'
import { missingTool } from '../helpers/system-tools.js'

/** Polls `check` every 50 ms, 200 times at most. */
async function until (check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('condition not met in time')
}

describe.skipIf(missingTool('etcd', 'etcd-server'))('a fleet client\'s status', () => {
  let etcd: EtcdCluster

  beforeAll(async () => { etcd = await startEtcd(1) }, 30_000)
  afterAll(async () => { await etcd.close() }, 30_000)
  afterEach(async () => {
    await closeInProcess()
    await closeServices()
  })

  it('lists every fleet connection with its relay, state and streams, and a connection whose relay died as connecting', async () => {
    const fleet = (node: string): string => fleetYaml(etcd, node, '/status/')
    const r1 = await startRelayInProcess(fleet('s1'))
    const r2 = await startRelayInProcess(`proxyBindAddr: 127.0.0.2\n${fleet('s2')}`)
    const echo = await startEchoServer()
    const config = clientConfig(r1.port, `clientID: shown\nfleet:\n  servers: [127.0.0.1:${r1.port}, 127.0.0.1:${r2.port}]\nproxies:\n  - name: svc\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`)
    const agent = new FleetClient(config, silentLogger(), { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 } })
    const status = new ClientStatus(agent.primary, () => agent.connections)
    const running = agent.run()
    try {
      await until(async () => (await status.report()).fleetConnections?.filter((c) => c.state === 'attached').length === 2)
      const report = await status.report()
      expect(report.fleetConnections?.map((c) => [c.connection, c.relay, c.state])).toEqual([
        [1, `127.0.0.1:${r1.port}`, 'attached'],
        [2, `127.0.0.1:${r2.port}`, 'attached'],
      ])
      const text = renderStatus(report)
      expect(text).toContain('Fleet connections (2 of 2 attached)')
      expect(text).toContain(`127.0.0.1:${r2.port}`)
      // The second relay goes: that connection is connecting (its only other relay is taken by the first).
      r2.relay.destroy()
      await until(async () => (await status.report()).fleetConnections?.[1]?.state === 'connecting')
      const after = await status.report()
      expect(after.fleetConnections?.map((c) => c.state)).toEqual(['attached', 'connecting'])
      expect(renderStatus(after)).toContain('Fleet connections (1 of 2 attached)')
    } finally {
      agent.close(0)
      await running.catch(() => {})
    }
  }, 60_000)
})
