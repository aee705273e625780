// Relay plugins through the real CLI (issue 17): a plugin service that rejects NewProxy for one
// name and changes nothing else; that proxy is refused with the plugin's reason, the others come
// up, and the service saw frp's request shape.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, startClient, startRelay } from '../helpers/cli.js'
import { closePluginServices, startPluginService } from '../helpers/plugin-service.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  await closePluginServices()
})

describe('relay plugins (httpPlugins)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('refuses the proxy a NewProxy plugin rejects, with its reason, and brings up the others', async () => {
    const echo = await startEchoServer()
    const plugin = await startPluginService((r) => r.body.content?.proxy_name === 'forbidden'
      ? { json: { reject: true, reject_reason: 'forbidden is reserved for the operator' } }
      : { json: { reject: false, unchange: true } })
    const relay = await startRelay({ extraYaml: `httpPlugins:\n  - { name: guard, addr: "127.0.0.1:${plugin.port}", path: /handler, ops: [NewProxy] }` })
    const client = await startClient(clientYaml({
      serverPort: relay.port,
      extraYaml: 'metadatas: { team: ops }',
      proxies: [
        { name: 'ok1', localPort: echo.port, remotePort: 0 },
        { name: 'forbidden', localPort: echo.port, remotePort: 0 },
        { name: 'ok2', localPort: echo.port, remotePort: 0 },
      ],
    }))
    expect(client.refused.get('forbidden')).toBe('TUN_PLUGIN_REJECTED')
    const line = client.handle.logs.find((l) => l.proxy === 'forbidden' && l.code === 'TUN_PLUGIN_REJECTED')
    expect(line?.msg).toContain('forbidden is reserved for the operator')
    for (const name of ['ok1', 'ok2']) expect(await echoOnce(client.ports.get(name) ?? 0)).toBe(true)
    // frp's request: POST path?version=0.1.0&op=NewProxy with {version, op, content} and X-Frp-Reqid.
    expect(plugin.requests.map((r) => r.body.content?.proxy_name)).toEqual(['ok1', 'forbidden', 'ok2'])
    const first = plugin.requests[0]
    expect(first?.query).toEqual({ version: '0.1.0', op: 'NewProxy' })
    expect(first?.reqid).toMatch(/^[0-9a-f]{16}$/)
    expect(first?.body).toMatchObject({ version: '0.1.0', op: 'NewProxy', content: { proxy_type: 'tcp', user: { user: '', metas: { team: 'ops' } } } })
    expect(typeof (first?.body.content?.user as { run_id?: unknown } | undefined)?.run_id).toBe('string')
  })
})
