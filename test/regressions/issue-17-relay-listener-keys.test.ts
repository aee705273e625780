// Issue 17: kcpBindPort and quicBindPort refused a whole relay file (four real frps files among
// the 97 checked), where frp's relay merely adds a UDP listener we do not have. Now those keys,
// and sshTunnelGateway, are warned about ("not supported, this listener is not opened") and the
// relay runs everything else: `tunnel server -c` starts from such a file and logs the warnings.
import { afterEach, describe, expect, it } from 'vitest'
import { parseServerConfig } from '../../shared/config/index.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, spawnCli, TEST_TOKEN, writeTempFile } from '../helpers/cli.js'

afterEach(async () => {
  await cleanupCli()
})

const FRPS_TOML = `bindAddr = "127.0.0.1"
bindPort = 0
# udp port used for kcp protocol, it can be same with 'bindPort'.
kcpBindPort = 7000
quicBindPort = 7002
sshTunnelGateway.bindPort = 2200
sshTunnelGateway.privateKeyFile = "/home/frp-user/.ssh/id_rsa"
auth.token = "${TEST_TOKEN}"
`

describe('issue 17: relay keys that only add a listener we lack are warned about, not refused', () => {
  it('loads the file and warns once per key at its line', () => {
    const { config, warnings } = parseServerConfig(FRPS_TOML, 'frps.toml', {})
    expect(config.bindPort).toBe(0)
    expect(warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)).toEqual([
      '4:1 kcpBindPort is an frp setting this tunnel ignores: not supported, this listener is not opened (clients connect over tcp to bindPort)',
      '5:1 quicBindPort is an frp setting this tunnel ignores: not supported, this listener is not opened (clients connect over tcp to bindPort)',
      '6:1 sshTunnelGateway is an frp setting this tunnel ignores: not supported, this listener is not opened (the ssh tunnel gateway)',
    ])
  })

  it('still checks the values it ignores', () => {
    expect(() => parseServerConfig('kcpBindPort: 70000\n', 'frps.yml', {})).toThrow(/frps\.yml:1:14 kcpBindPort: 70000 is outside 0-65535/)
  })

  it('tunnel server starts from such a file and logs the warnings', { timeout: E2E_TEST_TIMEOUT_MS }, async () => {
    const file = await writeTempFile('frps.toml', FRPS_TOML)
    const relay = spawnCli(['server', '-c', file, '--log-format', 'json'])
    const listening = await relay.waitForLog(logMsg('relay listening'))
    expect(listening.port).toEqual(expect.any(Number))
    const warned = relay.logs.filter((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('this listener is not opened'))
    expect(warned.map((l) => l.path)).toEqual(['kcpBindPort', 'quicBindPort', 'sshTunnelGateway'])
  })
})
