// Issue 17: frp's full example has proxies whose plugin takes the connections and that have no
// localPort ("if plugin is defined, localIP and localPort is useless"); they were refused with a
// misleading "localPort is missing". With a plugin, localPort is not needed; without one it still is.
import { describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'

// frp's conf/frpc_full_example.toml, its unix_domain_socket and http_proxy proxies as they are.
const FRP_EXAMPLE = `serverAddr = "127.0.0.1"

[[proxies]]
name = "plugin_unix_domain_socket"
type = "tcp"
remotePort = 6003
# if plugin is defined, localIP and localPort is useless
# plugin will handle connections got from frps
[proxies.plugin]
type = "unix_domain_socket"
unixPath = "/var/run/docker.sock"

[[proxies]]
name = "plugin_http_proxy"
type = "tcp"
remotePort = 6004
[proxies.plugin]
type = "http_proxy"
httpUser = "abc"
httpPassword = "abc"
`

describe('issue 17: a plugin proxy needs no localPort', () => {
  it('frp\'s plugin proxies without localPort load', () => {
    const { config } = parseClientConfig(FRP_EXAMPLE, 'frpc.toml', {})
    expect(config.proxies.map((p) => [p.name, p.type !== 'udp' && p.type !== 'sudp' ? p.plugin?.type : undefined])).toEqual([
      ['plugin_unix_domain_socket', 'unix_domain_socket'],
      ['plugin_http_proxy', 'http_proxy'],
    ])
  })

  it('a proxy without a plugin still needs localPort, and the message says a plugin would do too', () => {
    try {
      parseClientConfig('serverAddr = "127.0.0.1"\n[[proxies]]\nname = "ssh"\ntype = "tcp"\nremotePort = 6000\n', 'frpc.toml', {})
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).issues.map((i) => [i.location.path, i.message])).toEqual([['proxies[0].localPort', 'is missing: add the port of the local service (or a plugin, which takes the connections instead)']])
    }
  })
})
