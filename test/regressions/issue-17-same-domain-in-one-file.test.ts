// Issue 17 (found by the frp corpus): frp's own frpc_full_example.toml has two https proxies on
// test.yourdomain.com; frp's verify accepts it and its relay refuses the second at registration.
// Ours refused the whole file. Now a domain claimed twice in one file is a warning naming both
// proxies; the relay still refuses the second alone (TUN_VHOST_CONFLICT, tested in
// vhost-inprocess.test.ts), so the rest of the file runs.
import { describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'

const FRP_EXAMPLE = `auth.token = "12345678"

[[proxies]]
name = "web02"
type = "https"
localPort = 8000
customDomains = ["test.yourdomain.com"]

[[proxies]]
name = "web03"
type = "https"
localPort = 8443
customDomains = ["test.yourdomain.com"]
`

describe('issue 17: one domain on two proxies of a file', () => {
  it('loads both proxies and warns at the second claim', () => {
    const { config, warnings } = parseClientConfig(FRP_EXAMPLE, 'frpc.toml', {})
    expect(config.proxies.map((p) => p.name)).toEqual(['web02', 'web03'])
    expect(warnings.map((w) => `${w.location.line} ${w.location.path} ${w.message}`)).toEqual([
      '13 proxies[1].customDomains[0] test.yourdomain.com is also claimed by proxies[0]: the relay serves it by the first proxy to register and refuses the other (TUN_VHOST_CONFLICT); give each domain and location one proxy',
    ])
  })
})
