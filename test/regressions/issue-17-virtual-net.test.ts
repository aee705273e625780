// Issue 17: frp's experimental virtual network (the virtual_net plugin on an stcp proxy and on a visitor,
// behind frp's VirtualNet feature gate, with virtualNet.address): not supported here. A file that
// uses it loads with a warning per proxy/visitor, those are not started, and the client starts
// and serves the file's other proxies.
import { afterEach, describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { closeInProcess, IN_PROCESS_TOKEN, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

const file = (port: number, localPort: number): string => `serverAddr = "127.0.0.1"
serverPort = ${port}
auth.token = "${IN_PROCESS_TOKEN}"
featureGates = { VirtualNet = true }
virtualNet.address = "100.86.1.1/24"

[[proxies]]
name = "web"
type = "tcp"
localPort = ${localPort}
remotePort = 0

[[proxies]]
name = "vnet-server"
type = "stcp"
secretKey = "a-long-random-secret-for-tests"
[proxies.plugin]
type = "virtual_net"

[[visitors]]
name = "vnet-visitor"
type = "stcp"
serverName = "vnet-server"
secretKey = "a-long-random-secret-for-tests"
bindPort = -1
[visitors.plugin]
type = "virtual_net"
destinationIP = "100.86.0.1"
`

describe('issue 17: frp\'s virtual_net', () => {
  it('loads with a warning for featureGates, virtualNet and each proxy and visitor with the plugin, which are left out', () => {
    const { config, warnings } = parseClientConfig(file(7000, 22), 'frpc.toml', {})
    expect(config.proxies.map((p) => p.name)).toEqual(['web'])
    expect(config.visitors).toEqual([])
    const said = warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)
    expect(said).toEqual(expect.arrayContaining([
      '4:1 featureGates is an frp setting this tunnel ignores: frp\'s experimental features (VirtualNet) are not supported',
      expect.stringMatching(/^5:1 virtualNet is an frp setting this tunnel ignores: virtual_net is frp's experimental virtual network: not supported/),
      '18:8 proxies[1].plugin virtual_net is frp\'s experimental virtual network: not supported, this proxy is not started (the rest of the file runs)',
      '27:8 visitors[0].plugin virtual_net is frp\'s experimental virtual network: not supported, this visitor is not started (the rest of the file runs)',
    ]))
    // Its secretKey and bindPort -1 are not worth warnings of their own: the entry does not run.
    expect(said.filter((w) => /secretKey|bindPort -1/.test(w))).toEqual([])
  })

  it('starts the client, which serves the other proxies and registers none of the virtual_net ones', async () => {
    const { relay, port } = await startRelayInProcess()
    const echo = await startEchoServer()
    const { results } = await startClientInProcess(parseClientConfig(file(port, echo.port), 'frpc.toml', {}).config)
    expect(results.map((r) => [r.name, r.ok])).toEqual([['web', true]])
    const web = results[0]?.remotePort ?? 0
    expect(await echoOnce(web)).toBe(true)
    expect(relay.visits.directory.get('vnet-server')).toBeUndefined()
  })
})
