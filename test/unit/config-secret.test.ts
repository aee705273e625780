// frpc.yml's secret proxies (stcp, sudp) and visitors: frp's keys and defaults, the refusals a
// file can earn with their places, the warnings, and the secret never in a message.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../shared/errors.js'
import { detectConfigKind, parseClientConfig } from '../../shared/config/index.js'

const client = (text: string): ReturnType<typeof parseClientConfig> => parseClientConfig(`auth: { token: t }\n${text}`, 'frpc.yml', {})
function issuesOf (text: string): ConfigError {
  try {
    client(text)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}
const SECRET = 'a-secret-of-twenty-two'

describe('secret proxies and visitors in frpc.yml', () => {
  it('loads stcp and sudp proxies with frp\'s keys, the secret masked', () => {
    const { config } = client(`proxies:\n  - { name: ssh, type: stcp, localPort: 22, secretKey: ${SECRET}, allowUsers: ["*"], maxVisitors: 4 }\n  - { name: dns, type: sudp, localPort: 53, secretKey: ${SECRET}, transport: { proxyProtocolVersion: v2 } }`)
    expect(config.proxies).toMatchObject([
      { name: 'ssh', type: 'stcp', localIP: '127.0.0.1', localPort: 22, allowUsers: ['*'], maxVisitors: 4, proxyProtocolVersion: null, bandwidthLimit: 0 },
      { name: 'dns', type: 'sudp', localPort: 53, allowUsers: [], proxyProtocolVersion: 'v2' },
    ])
    expect(JSON.stringify(config)).not.toContain(SECRET)
    const p = config.proxies[0]
    expect(p?.type === 'stcp' && Buffer.from(p.secretKey.reveal()).toString()).toBe(SECRET)
  })

  it('loads visitors with frp\'s defaults (bindAddr 127.0.0.1, serverUser: this client\'s user), and a client with only visitors does not warn "no proxies"', () => {
    const { config, warnings } = client(`visitors:\n  - { name: v, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: 6000 }\n  - { name: d, type: sudp, serverUser: home, serverName: dns, secretKey: ${SECRET}, bindAddr: "::1", bindPort: 5353 }\n  - { name: off, type: stcp, serverName: x, secretKey: ${SECRET}, bindPort: 1, enabled: false }`)
    expect(config.visitors).toMatchObject([
      { name: 'v', type: 'stcp', serverName: 'ssh', serverUser: '', bindAddr: '127.0.0.1', bindPort: 6000 },
      { name: 'd', type: 'sudp', serverName: 'dns', serverUser: 'home', bindAddr: '::1', bindPort: 5353 },
    ])
    expect(warnings).toEqual([])
    expect(JSON.stringify(config)).not.toContain(SECRET)
  })

  it('refuses what does not fit a secret proxy, each at its place', () => {
    const e = issuesOf([
      'proxies:',
      '  - { name: a, type: stcp, localPort: 22, allowUsers: ["*"] }',
      `  - { name: b, type: stcp, localPort: 22, secretKey: ${SECRET}, remotePort: 6000 }`,
      `  - { name: c, type: sudp, localPort: 53, secretKey: ${SECRET}, idleTimeout: 30, maxVisitors: 2, transport: { proxyProtocolVersion: v1 } }`,
      `  - { name: d, type: tcp, localPort: 80, secretKey: ${SECRET} }`,
    ].join('\n'))
    expect(e.issues.map((i) => `${i.location.line} ${i.location.path}`)).toEqual([
      '3 proxies[0].type',
      '4 proxies[1].remotePort',
      '5 proxies[2].idleTimeout',
      '5 proxies[2].maxVisitors',
      '5 proxies[2].transport.proxyProtocolVersion',
      '6 proxies[3].secretKey',
    ])
    expect(e.message).toContain('an stcp proxy that allowUsers opens to other users ("*") needs a secretKey')
    expect(e.message).toContain('the relay opens none')
    expect(e.message).not.toContain(SECRET)
  })

  it('refuses visitors without what they need, duplicates, and frp\'s xtcp-only keys with a reason', () => {
    const e = issuesOf([
      'visitors:',
      '  - { name: v, type: stcp, serverName: ssh, bindPort: 6000 }',
      `  - { name: v, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: 6000 }`,
      `  - { name: w, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: 0 }`,
      `  - { name: x, type: sudp, serverName: dns, secretKey: ${SECRET}, bindPort: -1 }`,
      `  - { name: y, type: stcp, serverName: ssh, secretKey: ${SECRET}, bindPort: 6001, fallbackTo: v, plugin: { type: tun } }`,
    ].join('\n'))
    expect(e.issues.map((i) => `${i.location.line} ${i.location.path} ${i.code}`)).toEqual([
      '4 visitors[1].name TUN_CONFIG_INVALID',
      '4 visitors[1].bindPort TUN_CONFIG_INVALID',
      '5 visitors[2].bindPort TUN_CONFIG_INVALID',
      '6 visitors[3].bindPort TUN_CONFIG_INVALID',
      '7 visitors[4].fallbackTo TUN_CONFIG_INVALID',
      '7 visitors[4].plugin TUN_CONFIG_UNKNOWN_KEY',
    ])
    expect(e.message).toContain('fallbackTo applies only to type xtcp visitors')
  })

  it('loads an xtcp proxy and visitor with frp\'s keys and defaults, its stcp fallback, and the STUN server key', () => {
    const { config, warnings } = client([
      'natHoleStunServer: 127.0.0.1:3478',
      'proxies:',
      `  - { name: p2p, type: xtcp, localPort: 22, secretKey: ${SECRET}, allowUsers: ['*'] }`,
      'visitors:',
      `  - { name: p, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9001, fallbackTo: relayed, protocol: quic }`,
      `  - { name: q, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9002, keepTunnelOpen: true, maxRetriesAnHour: 3, minRetryInterval: 5, fallbackTimeoutMs: 500 }`,
      `  - { name: relayed, type: stcp, serverName: p2p-relay, secretKey: ${SECRET}, bindPort: -1 }`,
    ].join('\n'))
    expect(config.natHoleStunServer).toBe('127.0.0.1:3478')
    expect(config.proxies[0]).toMatchObject({ type: 'xtcp', localPort: 22, allowUsers: ['*'] })
    expect(config.visitors[0]).toMatchObject({ type: 'xtcp', keepTunnelOpen: false, maxRetriesAnHour: 8, minRetryInterval: 90, fallbackTo: 'relayed', fallbackTimeoutMs: 2000 })
    expect(config.visitors[1]).toMatchObject({ keepTunnelOpen: true, maxRetriesAnHour: 3, minRetryInterval: 5, fallbackTo: '', fallbackTimeoutMs: 500 })
    // protocol (frp's quic/kcp) is ignored with a warning; the stcp fallback without a listener is not warned about.
    expect(warnings.map((w) => w.message).join('\n')).toContain('udx')
    expect(warnings.map((w) => w.message).join('\n')).not.toContain('nothing reaches it')
    expect(client(`visitors:\n  - { name: p, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9001, enabled: false, keepTunnelOpen: true }`).config.visitors).toEqual([])
  })

  it('loads frp\'s natTraversal.disableAssistedAddrs on xtcp proxies and visitors (default false), and refuses natTraversal on a tcp proxy', () => {
    const { config } = client([
      'proxies:',
      `  - { name: p2p, type: xtcp, localPort: 22, secretKey: ${SECRET}, natTraversal: { disableAssistedAddrs: true } }`,
      `  - { name: p2q, type: xtcp, localPort: 22, secretKey: ${SECRET}, natTraversal: {} }`,
      'visitors:',
      `  - { name: p, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9001, natTraversal: { disableAssistedAddrs: true } }`,
      `  - { name: q, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9002 }`,
    ].join('\n'))
    expect(config.proxies.map((p) => (p.type === 'xtcp' ? p.disableAssistedAddrs : undefined))).toEqual([true, false])
    expect(config.visitors.map((v) => v.disableAssistedAddrs)).toEqual([true, false])
    const e = issuesOf('proxies:\n  - { name: a, type: tcp, localPort: 1, natTraversal: { disableAssistedAddrs: true } }\n  - { name: b, type: xtcp, localPort: 1, secretKey: ' + SECRET + ', natTraversal: { other: 1 } }')
    expect(e.issues.map((i) => `${i.location.path} ${i.code}`)).toEqual([
      'proxies[0].natTraversal TUN_CONFIG_INVALID',
      'proxies[1].natTraversal.other TUN_CONFIG_UNKNOWN_KEY',
    ])
    expect(e.message).toContain('natTraversal applies only to type xtcp proxies')
  })

  it('refuses an xtcp fallbackTo that names no stcp visitor, an xtcp visitor without a port, and natTraversal on a visitor of another type', () => {
    const e = issuesOf([
      'visitors:',
      `  - { name: p, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9001, fallbackTo: nobody }`,
      `  - { name: q, type: xtcp, serverName: p2p, secretKey: ${SECRET}, bindPort: -1, fallbackTo: u }`,
      `  - { name: u, type: sudp, serverName: dns, secretKey: ${SECRET}, bindPort: 9003 }`,
      `  - { name: r, type: stcp, serverName: p2p, secretKey: ${SECRET}, bindPort: 9004, natTraversal: { disableAssistedAddrs: true } }`,
    ].join('\n'))
    expect(e.issues.map((i) => `${i.location.path} ${i.code}`)).toEqual([
      'visitors[0].fallbackTo TUN_CONFIG_INVALID',
      'visitors[1].bindPort TUN_CONFIG_INVALID',
      'visitors[1].fallbackTo TUN_CONFIG_INVALID',
      'visitors[3].natTraversal TUN_CONFIG_INVALID',
    ])
    expect(e.message).toContain('fallbackTo must name an stcp visitor; u is of type sudp')
  })

  it('warns about a short secretKey, a visitor without a listener and frp\'s ignored visitor keys', () => {
    const { warnings } = client('proxies:\n  - { name: ssh, type: stcp, localPort: 22, secretKey: abcdefg }\nvisitors:\n  - { name: v, type: stcp, serverName: ssh, secretKey: abcdefg, bindPort: -1, transport: { useEncryption: true } }')
    expect(warnings.map((w) => `${w.location.line} ${w.message.split(':')[0] ?? ''}`).sort()).toEqual([
      '3 secretKey has 7 characters',
      '5 bindPort -1',
      '5 secretKey has 7 characters',
      '5 visitors[0].transport.useEncryption is an frp setting this tunnel ignores',
    ])
    expect(warnings.map((w) => w.message).join('\n')).not.toContain('abcdefg')
  })

  it('reads frp\'s TOML visitors and tells a visitors-only file is a client\'s', () => {
    const text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'frp-stcp', 'frpc-stcp-visitor.toml'), 'utf8')
    expect(detectConfigKind(text, 'x.toml')).toBe('client')
    const { config } = parseClientConfig(text, 'frpc.toml', {})
    expect(config.visitors).toMatchObject([{ name: 'secret_tcp_visitor', type: 'stcp', serverName: 'secret_tcp', bindAddr: '127.0.0.1', bindPort: 9000 }])
  })
})
