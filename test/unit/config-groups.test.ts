// frpc.yml's loadBalancer, healthCheck, metadatas and tcpmux proxies, frps.yml's tcpmux port and
// httpPlugins: loading with frp's defaults, the errors that name their place, the warnings, the
// TOML form of frp's own examples, and what the relay is sent.
import { describe, expect, it } from 'vitest'
import { proxySpec } from '../../client/proxy/proxy-spec.js'
import { relayChanged } from '../../client/proxy/proxy-diff.js'
import { parseClientConfig, parseServerConfig, type ProxyConfig } from '../../shared/config/index.js'
import { PROXY_SPEC_SCHEMAS } from '../../shared/wire/proxy-spec.js'
import { configErrorLines } from '../helpers/config-errors.js'

const client = (text: string, file = 'frpc.yml'): ReturnType<typeof parseClientConfig> => parseClientConfig(text, file, {})
const server = (text: string, file = 'frps.yml'): ReturnType<typeof parseServerConfig> => parseServerConfig(text, file, {})

const issues = configErrorLines

const one = (yaml: string): ProxyConfig => {
  const p = client(`proxies:\n${yaml}`).config.proxies[0]
  if (p === undefined) throw new Error('no proxy')
  return p
}

describe('frpc.yml groups and health checks', () => {
  it('loads loadBalancer, healthCheck (frp\'s defaults, 0 meaning the default) and metadatas', () => {
    const p = one('  - { name: a, type: tcp, localPort: 1, remotePort: 6000, loadBalancer: { group: web, groupKey: k }, healthCheck: { type: tcp, timeoutSeconds: 0 }, metadatas: { id: "7" } }')
    expect(p).toMatchObject({ loadBalancer: { group: 'web', groupKey: 'k' }, healthCheck: { type: 'tcp', timeoutSeconds: 3, maxFailed: 1, intervalSeconds: 10, path: '', httpHeaders: [] }, metadatas: { id: '7' } })
    const h = one('  - { name: h, type: http, localPort: 1, customDomains: [a.test], healthCheck: { type: http, path: /healthz, intervalSeconds: 2, maxFailed: 3, httpHeaders: [{ name: Host, value: a.test }] } }')
    expect(h.healthCheck).toEqual({ type: 'http', timeoutSeconds: 3, maxFailed: 3, intervalSeconds: 2, path: '/healthz', httpHeaders: [{ name: 'Host', value: 'a.test' }] })
    expect(one('  - { name: plain, type: tcp, localPort: 1 }')).not.toHaveProperty('loadBalancer')
    expect(client('metadatas: { token: t }\nproxies: []').config.metadatas).toEqual({ token: 't' })
  })

  it('lets members of one group in one file share a remotePort and a domain', () => {
    const { config } = client([
      'proxies:',
      '  - { name: a, type: tcp, localPort: 1, remotePort: 6000, loadBalancer: { group: g, groupKey: k } }',
      '  - { name: b, type: tcp, localPort: 2, remotePort: 6000, loadBalancer: { group: g, groupKey: k } }',
      '  - { name: c, type: http, localPort: 3, customDomains: [a.test], loadBalancer: { group: h, groupKey: k } }',
      '  - { name: d, type: http, localPort: 4, customDomains: [a.test], loadBalancer: { group: h, groupKey: k } }',
    ].join('\n'))
    expect(config.proxies).toHaveLength(4)
  })

  it('refuses groups and checks where they do not apply, and members of one group that disagree, each at its place', () => {
    const found = issues(() => client([
      'proxies:',
      '  - { name: u, type: udp, localPort: 1, loadBalancer: { group: g } }',
      '  - { name: s, type: https, localPort: 1, customDomains: [a.test], healthCheck: { type: tcp } }',
      '  - { name: h, type: tcp, localPort: 1, healthCheck: { type: http } }',
      '  - { name: t, type: tcp, localPort: 1, healthCheck: { type: tcp, path: /x } }',
      '  - { name: a, type: tcp, localPort: 1, remotePort: 6000, loadBalancer: { group: g2, groupKey: k } }',
      '  - { name: b, type: tcp, localPort: 1, remotePort: 6001, loadBalancer: { group: g2, groupKey: k } }',
      '  - { name: c, type: tcp, localPort: 1, remotePort: 6000, loadBalancer: { group: g2, groupKey: other } }',
      '  - { name: m, type: tcp, localPort: 1, multiplexer: httpconnect }',
      '  - { name: r, type: https, localPort: 1, customDomains: [r.test], routeByHTTPUser: x }',
      '  - { name: x, type: tcp, localPort: 1, healthCheck: { type: ping } }',
      '  - { name: p, type: http, localPort: 1, customDomains: [p.test], loadBalancer: { group: pp, groupKey: k }, transport: { proxyProtocolVersion: v2 } }',
      '  - { name: q, type: http, localPort: 2, customDomains: [p.test], loadBalancer: { group: pp, groupKey: k } }',
    ].join('\n')))
    const has = (line: number, text: string): void => { expect(found.find((l) => l.startsWith(`frpc.yml:${line}:`))).toContain(text) }
    has(2, 'loadBalancer is offered on tcp, http and tcpmux proxies, not on udp')
    has(3, 'healthCheck is offered on tcp, http and tcpmux proxies, not on https')
    has(4, 'an http health check needs path')
    has(5, 'path applies only to http health checks')
    has(7, 'group g2 is also used by proxies[4] with another remotePort')
    has(8, 'group g2 has another groupKey in proxies[4]')
    has(9, 'multiplexer: it applies only to type tcpmux proxies')
    has(10, 'routeByHTTPUser: it applies only to type http and tcpmux proxies')
    has(11, 'proxies[9].healthCheck.type')
    has(13, 'group pp is also used by proxies[10], which sends a PROXY header: the http members of one group all set transport.proxyProtocolVersion or none does')
  })

  it('warns about a group without a key (only this client can join it)', () => {
    const { warnings } = client('proxies:\n  - { name: a, type: tcp, localPort: 1, loadBalancer: { group: web } }')
    expect(warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('loadBalancer.group web has no groupKey: only proxies of this client'))
  })
})

describe('frpc.yml tcpmux proxies', () => {
  it('loads with multiplexer httpconnect by default, domains, credentials and routeByHTTPUser', () => {
    const p = one('  - { name: ssh, type: tcpmux, localPort: 22, customDomains: [ssh.test], subdomain: box, httpUser: u, httpPassword: p, routeByHTTPUser: alice, transport: { proxyProtocolVersion: v2 } }')
    expect(p).toMatchObject({ type: 'tcpmux', multiplexer: 'httpconnect', customDomains: ['ssh.test'], subdomain: 'box', httpUser: 'u', routeByHTTPUser: 'alice', proxyProtocolVersion: 'v2' })
    expect(p).not.toHaveProperty('remotePort')
  })

  it('needs domains and has no remotePort, locations or udp keys', () => {
    const found = issues(() => client([
      'proxies:',
      '  - { name: a, type: tcpmux, localPort: 1 }',
      '  - { name: b, type: tcpmux, localPort: 1, customDomains: [b.test], remotePort: 6000 }',
      '  - { name: c, type: tcpmux, localPort: 1, customDomains: [c.test], locations: [/x] }',
      '  - { name: d, type: tcpmux, localPort: 1, customDomains: [d.test], maxFlows: 3 }',
      '  - { name: e, type: tcpmux, localPort: 1, customDomains: [e.test], multiplexer: other }',
    ].join('\n')))
    expect(found.join('\n')).toContain('a tcpmux proxy needs customDomains')
    expect(found.join('\n')).toContain('a tcpmux proxy has no port of its own')
    expect(found.join('\n')).toContain('locations applies only to type http proxies')
    expect(found.join('\n')).toContain('maxFlows applies only to type udp proxies')
    expect(found.join('\n')).toContain('proxies[4].multiplexer')
  })
})

describe('what the relay is sent', () => {
  it('carries group, groupKey, the health state and metas in specs the relay\'s schemas accept', () => {
    const { config } = client([
      'proxies:',
      '  - { name: t, type: tcp, localPort: 1, remotePort: 6000, loadBalancer: { group: g, groupKey: k }, healthCheck: { type: tcp }, metadatas: { id: "1" } }',
      '  - { name: h, type: http, localPort: 1, customDomains: [a.test], loadBalancer: { group: w } }',
      '  - { name: m, type: tcpmux, localPort: 1, customDomains: [m.test], httpUser: u, httpPassword: p, routeByHTTPUser: u, loadBalancer: { group: s, groupKey: k } }',
    ].join('\n'))
    const specs = config.proxies.map((p) => proxySpec('bob', p, true))
    expect(specs[0]).toEqual({ name: 'bob.t', type: 'tcp', remotePort: 6000, group: 'g', groupKey: 'k', healthy: true, metas: { id: '1' } })
    expect(specs[1]).toMatchObject({ name: 'bob.h', group: 'w' })
    expect(specs[1]).not.toHaveProperty('groupKey')
    expect(specs[1]).not.toHaveProperty('healthy')
    expect(specs[2]).toEqual({ name: 'bob.m', type: 'tcpmux', multiplexer: 'httpconnect', customDomains: ['m.test'], httpUser: 'u', httpPassword: 'p', routeByHTTPUser: 'u', group: 's', groupKey: 'k' })
    for (const s of specs) expect(PROXY_SPEC_SCHEMAS[s.type].parse(s)).toEqual(s)
  })

  it('re-opens a proxy on the relay when its group, key or health check comes or goes, not when only the check\'s timing changes', () => {
    const t = (extra: string): ProxyConfig => one(`  - { name: t, type: tcp, localPort: 1, remotePort: 6000${extra} }`)
    expect(relayChanged(t(''), t(', loadBalancer: { group: g }'))).toBe(true)
    expect(relayChanged(t(', loadBalancer: { group: g, groupKey: a }'), t(', loadBalancer: { group: g, groupKey: b }'))).toBe(true)
    expect(relayChanged(t(''), t(', healthCheck: { type: tcp }'))).toBe(true)
    expect(relayChanged(t(', healthCheck: { type: tcp }'), t(', healthCheck: { type: tcp, intervalSeconds: 3 }'))).toBe(false)
  })
})

describe('frps.yml tcpmux and httpPlugins', () => {
  it('are off by default and load as written, tlsVerify on by default', () => {
    expect(server('').config).toMatchObject({ tcpmuxHTTPConnectPort: 0, tcpmuxPassthrough: false, httpPlugins: [] })
    const { config } = server('tcpmuxHTTPConnectPort: 1337\ntcpmuxPassthrough: true\nhttpPlugins:\n  - { name: users, addr: "127.0.0.1:9000", path: /handler, ops: [Login, NewProxy, Login] }\n  - { name: ports, addr: "https://plugins.example:9001", path: /p, ops: [NewProxy], tlsVerify: false }')
    expect(config.tcpmuxHTTPConnectPort).toBe(1337)
    expect(config.tcpmuxPassthrough).toBe(true)
    expect(config.httpPlugins).toEqual([
      { name: 'users', addr: '127.0.0.1:9000', path: '/handler', ops: ['Login', 'NewProxy'], tlsVerify: true },
      { name: 'ports', addr: 'https://plugins.example:9001', path: '/p', ops: ['NewProxy'], tlsVerify: false },
    ])
  })

  it('refuses a tcpmux port shared with another port, passthrough without the port, a duplicate plugin, a bad address and an unknown op', () => {
    const found = issues(() => server([
      'bindPort: 7000',
      'vhostHTTPPort: 8080',
      'tcpmuxHTTPConnectPort: 8080',
      'httpPlugins:',
      '  - { name: a, addr: "127.0.0.1:9000", path: /h, ops: [Login] }',
      '  - { name: a, addr: "ftp://x", path: /h, ops: [Login] }',
      '  - { name: b, addr: "127.0.0.1:9000", path: /h, ops: [Login], tlsVerify: true }',
      '  - { name: c, addr: "127.0.0.1:9000", path: "/h?x=1", ops: [NewUser] }',
    ].join('\n')))
    const text = found.join('\n')
    expect(text).toContain('frps.yml:3:24 tcpmuxHTTPConnectPort: tcpmuxHTTPConnectPort 8080 is also vhostHTTPPort')
    expect(text).toContain('frps.yml:6:')
    expect(text).toContain('plugin name a is already used by httpPlugins[0]')
    expect(text).toContain('ftp: is not offered')
    expect(text).toContain('tlsVerify applies only to an https:// addr')
    expect(text).toContain('may not carry a query')
    expect(text).toContain('httpPlugins[3].ops[0]')
    expect(issues(() => server('tcpmuxPassthrough: true'))[0]).toContain('tcpmuxPassthrough needs tcpmuxHTTPConnectPort')
  })

  it('warns about a plugin reached over plain http beyond loopback', () => {
    const { warnings } = server('httpPlugins:\n  - { name: far, addr: "10.0.0.5:9000", path: /h, ops: [Login] }\n  - { name: near, addr: "127.0.0.1:9000", path: /h, ops: [Login] }')
    expect(warnings.map((w) => w.message).filter((m) => m.includes('plain http'))).toEqual([expect.stringContaining('httpPlugins far is reached over plain http on 10.0.0.5:9000')])
  })

  it('reads frp\'s TOML form of these keys', () => {
    const frps = server('bindPort = 7000\ntcpmuxHTTPConnectPort = 1337\n\n[[httpPlugins]]\nname = "user-manager"\naddr = "127.0.0.1:9000"\npath = "/handler"\nops = ["Login"]\n', 'frps.toml')
    expect(frps.config.httpPlugins[0]).toMatchObject({ name: 'user-manager', ops: ['Login'] })
    const frpc = client([
      'serverAddr = "127.0.0.1"',
      '[[proxies]]',
      'name = "test1"',
      'type = "tcp"',
      'localPort = 8080',
      'remotePort = 80',
      'loadBalancer.group = "web"',
      'loadBalancer.groupKey = "123"',
      'healthCheck.type = "tcp"',
      'healthCheck.timeoutSeconds = 3',
      'healthCheck.maxFailed = 3',
      'healthCheck.intervalSeconds = 10',
      '',
      '[[proxies]]',
      'name = "tcpmuxhttpconnect"',
      'type = "tcpmux"',
      'multiplexer = "httpconnect"',
      'localIP = "127.0.0.1"',
      'localPort = 10701',
      'customDomains = ["tunnel1"]',
      'routeByHTTPUser = "user1"',
    ].join('\n'), 'frpc.toml')
    expect(frpc.config.proxies.map((p) => [p.name, p.type, p.loadBalancer?.group ?? null])).toEqual([['test1', 'tcp', 'web'], ['tcpmuxhttpconnect', 'tcpmux', null]])
  })
})
